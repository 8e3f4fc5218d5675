"""One RTP endpoint per leg: a non-blocking UDP socket read by the event loop, header parsing
with struct.

The socket is our own, registered with `loop.add_reader` (not an asyncio datagram transport):
reading can then be handed to the native relay and back on any event loop (uvloop's UDP
transport cannot pause reading), each wake-up reads every waiting datagram rather than one,
and a send that would block drops the packet instead of queueing stale audio.

Packets are accepted only from the address the peer's SDP named (RTP from an unexpected
source is counted and ignored). RTCP is neither sent nor used: on this port (rtcp-mux) it is
recognised by its packet type and dropped; sent to port+1, it finds no socket or another
leg's endpoint, which drops it by its source. Outgoing packets carry our own SSRC, sequence
and timestamp: forwarded packets keep the source's timestamp spacing through an offset that
is re-based whenever the source changes (peer SSRC change, or after we played our own
audio), so the receiver sees one continuous stream.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

_HDR = struct.Struct("!BBHII")
PacketHandler = Callable[["RtpEndpoint", int, int, int, bool, bytes, float], None]


class RtpEndpoint:
    """A leg's RTP socket: `on_packet(endpoint, pt, timestamp, ssrc, marker, payload, now)`."""

    def __init__(self, on_packet: PacketHandler | None = None) -> None:
        self.on_packet = on_packet
        self.sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self.local: tuple[str, int] = ("0.0.0.0", 0)
        self.remote: tuple[str, int] | None = None
        self.ssrc = int.from_bytes(os.urandom(4), "big")
        self.seq = random.randrange(1 << 16)
        self.ts = random.randrange(1 << 32)
        self.last_rx = time.monotonic()
        self.rx_packets = 0
        self.tx_packets = 0
        self.ignored = 0
        self.rtcp = 0  # RTCP packets seen on this port (dropped: we neither need nor send RTCP)
        self._src_ssrc: int | None = None
        self._offset = 0
        self._fresh = True  # next forwarded packet re-bases the timestamp offset
        self.owner: Any = None
        # set while the native relay uses this socket: called before Python sends or closes
        self.reclaim: Callable[[], None] | None = None

    @classmethod
    async def open(
        cls, host: str, on_packet: PacketHandler | None = None, port: int = 0
    ) -> RtpEndpoint:
        """Bind a new endpoint on host:port (0 = any free port)."""
        ep = cls(on_packet)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        name = sock.getsockname()
        ep.sock, ep.local = sock, (str(name[0]), int(name[1]))
        ep._loop = asyncio.get_running_loop()
        ep.resume_reading()
        return ep

    @property
    def is_open(self) -> bool:
        """Whether the socket is still open."""
        return self.sock is not None

    def pause_reading(self) -> None:
        """Stop reading the socket (the native relay reads it meanwhile)."""
        if self._reading and self.sock is not None and self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
        self._reading = False

    def resume_reading(self) -> None:
        """Read the socket on the event loop again."""
        if not self._reading and self.sock is not None and self._loop is not None:
            self._loop.add_reader(self.sock.fileno(), self._readable)
            self._reading = True

    def _readable(self) -> None:
        sock = self.sock
        for _ in range(64):  # whatever is waiting, bounded so other sockets get their turn
            if sock is None or not self._reading:
                return
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # ICMP port unreachable while a peer goes away: not fatal
            self.datagram_received(data, addr)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.remote is None or (addr[0], addr[1]) != self.remote:
            self.ignored += 1
            return
        if len(data) >= 2 and 192 <= data[1] <= 223:  # RTCP on this port (RFC 5761 4)
            self.rtcp += 1
            return
        if len(data) < 12 or data[0] >> 6 != 2:
            self.ignored += 1
            return
        b0, b1, _seq, ts, ssrc = _HDR.unpack_from(data)
        off = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:  # header extension
            if len(data) < off + 4:
                self.ignored += 1
                return
            off += 4 + 4 * int.from_bytes(data[off + 2 : off + 4], "big")
        end = len(data)
        if b0 & 0x20:  # padding
            end -= data[-1]
        if off > end:
            self.ignored += 1
            return
        pt = b1 & 0x7F
        now = time.monotonic()
        self.last_rx = now
        self.rx_packets += 1
        if self.on_packet is not None:
            self.on_packet(self, pt, ts, ssrc, bool(b1 & 0x80), data[off:end], now)

    def send(self, pt: int, payload: bytes, samples: int = 160, marker: bool = False) -> None:
        """Send our own audio (prompts, MOH, mixer output); advances our timestamp."""
        if self.reclaim is not None:
            self.reclaim()
        self._fresh = True
        self._emit(pt, self.ts, marker, payload)
        self.ts = (self.ts + samples) & 0xFFFFFFFF

    def forward(self, pt: int, src_ssrc: int, src_ts: int, marker: bool, payload: bytes) -> None:
        """Relay a packet from the other leg, keeping its timing under our SSRC."""
        if self.reclaim is not None:
            self.reclaim()
        if self._fresh or src_ssrc != self._src_ssrc:
            self._offset = (self.ts - src_ts) & 0xFFFFFFFF
            self._src_ssrc = src_ssrc
            self._fresh = False
            marker = True
        ts = (src_ts + self._offset) & 0xFFFFFFFF
        self._emit(pt, ts, marker, payload)
        # next own packet continues after this one
        self.ts = (ts + (160 if pt in (0, 8, 9) else 0)) & 0xFFFFFFFF  # 9: G.722's 8 kHz clock

    def _emit(self, pt: int, ts: int, marker: bool, payload: bytes) -> None:
        if self.sock is None or self.remote is None:
            return
        self.seq = (self.seq + 1) & 0xFFFF
        hdr = _HDR.pack(0x80, pt | (0x80 if marker else 0), self.seq, ts, self.ssrc)
        try:
            self.sock.sendto(hdr + payload, self.remote)
        except OSError:  # full buffer (late audio is worthless) or ICMP from a peer going away
            return
        self.tx_packets += 1

    def close(self) -> None:
        """Close the socket."""
        if self.reclaim is not None:
            self.reclaim()
        if self.sock is not None:
            self.pause_reading()
            self.sock.close()
            self.sock = None
