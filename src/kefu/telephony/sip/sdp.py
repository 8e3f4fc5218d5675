"""The SDP we offer and answer: one audio stream, G.711 μ/A-law, G.722 and telephone-event."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiosipua import SdpMessage, parse_sdp

from kefu.audio.g711 import PCMA, PCMU
from kefu.audio.g722 import G722

# G.722's rtpmap says 8000 although it carries 16 kHz audio (RFC 3551 4.5.2)
CODEC_NAMES = {PCMU: "PCMU", PCMA: "PCMA", G722: "G722"}
NAME_TO_PT = {v: k for k, v in CODEC_NAMES.items()}


def choose_codec(ours: tuple[int, ...], offered: tuple[int, ...]) -> int | None:
    """The codec to answer with: the first of our preference order that the peer offers."""
    return next((c for c in ours if c in offered), None)


def parse_codecs(names: list[str] | tuple[str, ...], where: str) -> tuple[int, ...]:
    """Codec names (PCMU, PCMA, G722; any case) to payload types, in the given order."""
    out: list[int] = []
    for n in names:
        pt = NAME_TO_PT.get(n.strip().upper())
        if pt is None:
            raise ValueError(f"{where}: unknown codec {n!r}; use PCMU, PCMA or G722")
        if pt not in out:
            out.append(pt)
    if not out:
        raise ValueError(f"{where}: no codec given")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class MediaOffer:
    """What a peer's SDP says about its audio: address, codecs in preference, DTMF, direction."""

    addr: tuple[str, int]
    codecs: tuple[int, ...]
    dtmf_pt: int | None
    direction: str


def read_sdp(text: str | SdpMessage) -> MediaOffer | None:
    """Extract the audio offer/answer from SDP (text or parsed); None when unusable."""
    try:
        sdp: SdpMessage = parse_sdp(text) if isinstance(text, str) else text
    except Exception:
        return None
    audio, addr = sdp.audio, sdp.rtp_address
    if audio is None or addr is None:
        return None
    names = {c.payload_type: c.encoding_name.upper() for c in audio.codecs}
    codecs: list[int] = []
    dtmf: int | None = None
    for f in audio.formats:
        if not f.isdigit():
            continue
        pt = int(f)
        name = names.get(pt, CODEC_NAMES.get(pt, ""))
        if name in NAME_TO_PT:
            codecs.append(NAME_TO_PT[name])
        elif name == "TELEPHONE-EVENT":
            dtmf = pt
    direction = audio.direction
    if addr[0] == "0.0.0.0":  # RFC 2543 hold
        direction = "inactive"
    return MediaOffer(addr, tuple(codecs), dtmf, direction)


def build_sdp(
    ip: str,
    port: int,
    codecs: tuple[int, ...],
    dtmf_pt: int | None = 101,
    direction: str = "sendrecv",
    session_version: int = 1,
) -> str:
    """SDP text for one audio stream."""
    fmts = [str(c) for c in codecs] + ([str(dtmf_pt)] if dtmf_pt is not None else [])
    lines = [
        "v=0",
        f"o=kefu {int(time.time())} {session_version} IN IP4 {ip}",
        "s=kefu",
        f"c=IN IP4 {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(fmts)}",
    ]
    lines += [f"a=rtpmap:{c} {CODEC_NAMES[c]}/8000" for c in codecs]
    if dtmf_pt is not None:
        lines += [f"a=rtpmap:{dtmf_pt} telephone-event/8000", f"a=fmtp:{dtmf_pt} 0-16"]
    lines += ["a=ptime:20", f"a={direction}"]
    return "\r\n".join(lines) + "\r\n"


ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
