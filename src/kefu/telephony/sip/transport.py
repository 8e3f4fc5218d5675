"""UDP SIP transport that works on Python 3.11.

aiosipua 0.7.1's `_UdpProtocol.connection_made` asserts `isinstance(transport,
asyncio.DatagramTransport)`, which is false for CPython 3.11's selector datagram transport
(it only inherits `Transport` there), so `UdpSipTransport.start()` raises AssertionError.
This subclass binds through its own protocol and reuses the rest of aiosipua's transport.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiosipua import UdpSipTransport


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpTransport) -> None:
        self.owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.owner._udp_transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.owner._dispatch(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        pass


class UdpTransport(UdpSipTransport):
    """aiosipua's UDP transport with a 3.11-safe bind."""

    async def start(self) -> None:
        """Bind and listen."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=self.local_addr
        )
        self._udp_transport = transport
