"""Write RTP streams as pcap files, for sipp's `play_pcap_audio` (tests and the load bench)."""

from __future__ import annotations

import struct
from pathlib import Path

from kefu.audio.g711 import ulaw_encode
from kefu.audio.tones import sine

_DTMF_STEPS = ((False, 160), (False, 320), (False, 480), (True, 640), (True, 640), (True, 640))


def write_rtp_pcap(
    path: Path,
    tone_hz: float,
    seconds: float,
    dtmf: tuple[tuple[float, str], ...] = (),
    dtmf_pt: int = 101,
) -> None:
    """A pcap of 20 ms μ-law RTP packets of a tone, with RFC 4733 digits at given times."""
    pcm = sine(tone_hz, seconds)
    ssrc = 0x4B454655
    packets: list[tuple[float, int, int, bool, bytes]] = []  # time, pt, ts, marker, payload
    for i in range(len(pcm) // 160):
        packets.append((i * 0.02, 0, i * 160, False, ulaw_encode(pcm[i * 160 : (i + 1) * 160])))
    for at, digit in dtmf:
        code = "0123456789*#ABCD".index(digit)
        for k, (end, dur) in enumerate(_DTMF_STEPS):
            payload = struct.pack("!BBH", code, (0x80 if end else 0) | 10, dur)
            packets.append(
                (at + 0.02 * min(k, 3) + 0.001 * k, dtmf_pt, int(at * 8000), k == 0, payload)
            )
    packets.sort(key=lambda p: p[0])
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for seq, (t, pt, ts, marker, payload) in enumerate(packets, start=1):
        rtp = struct.pack("!BBHII", 0x80, pt | (0x80 if marker else 0), seq, ts, ssrc) + payload
        udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
        ip = (
            struct.pack(
                "!BBHHHBBH4s4s",
                0x45,
                0,
                20 + len(udp),
                0,
                0,
                64,
                17,
                0,
                bytes([127, 0, 0, 1]),
                bytes([127, 0, 0, 1]),
            )
            + udp
        )
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        usec = round(t * 1e6)
        out += struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))
