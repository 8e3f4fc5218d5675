"""CC-01 on loopback: 30 callers in the IVR at once each hear every prompt sample."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kefu.telephony.prompts import load_prompt
from kefu.telephony.router import Router
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.cdr import CallRecord
from kefu.telephony.sip.softphone import Softphone

pytestmark = [pytest.mark.timeout(60), pytest.mark.anyio, pytest.mark.slow]
CALLERS = 30


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_thirty_simultaneous_ivr_sessions_hear_complete_prompts(tmp_path: Path) -> None:
    cdrs: list[CallRecord] = []
    sw = SipSwitch(SwitchConfig(port=free_port()), cdr_sink=cdrs.append)
    # nobody is registered for 4001: each caller hears welcome, busy and goodbye, then BYE
    sw.sink = Router(sw, {"4001": ["8001"]}, recordings=tmp_path)
    await sw.start()
    addr = (sw.config.host, sw.config.port)
    phones = [Softphone(f"9{i:03d}", "x", addr, send_audio=False) for i in range(CALLERS)]
    try:
        for p in phones:
            await p.start(register=False)
        await asyncio.gather(*(p.dial("4001", addr) for p in phones))
        async with asyncio.timeout(40):
            while len(cdrs) < CALLERS:
                await asyncio.sleep(0.1)
        expected = sum(len(load_prompt(n)) for n in ("welcome", "extension_busy", "goodbye"))
        heard = [len(p.heard.between()) for p in phones]
        # every frame of every prompt reached every caller (a frame of slack at each end)
        assert all(expected - 480 <= h <= expected + 480 for h in heard), (expected, heard)
        assert all(p.bye_received for p in phones)
        # The media clock never fell 100 ms behind more than once: one such stall is the
        # shared 2-core machine descheduling us (seen once in ~20 runs); the frames above
        # still all arrived.
        assert sw.ticks_late <= 1
    finally:
        for p in phones:
            await p.stop()
        await sw.stop()
