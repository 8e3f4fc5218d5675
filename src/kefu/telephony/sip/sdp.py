"""The SDP we offer and answer: one audio stream, G.711 μ/A-law and telephone-event."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiosipua import SdpMessage, parse_sdp

from kefu.audio.g711 import PCMA, PCMU

CODEC_NAMES = {PCMU: "PCMU", PCMA: "PCMA"}
NAME_TO_PT = {v: k for k, v in CODEC_NAMES.items()}


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
