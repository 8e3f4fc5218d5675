"""`kefu switch serve` as a user runs it: a real process, phones registering and calling."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from kefu.audio.tones import has_tone
from kefu.telephony.sip.b2bua import free_port
from kefu.telephony.sip.softphone import Softphone

pytestmark = [pytest.mark.timeout(40), pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_switch_serve_routes_a_call_and_prints_the_cdr(tmp_path: Path) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kefu.cli",
        "switch",
        "serve",
        "--port",
        str(port),
        "--route",
        "4001=8001",
        "--user",
        "8001:s3cret",
        "--recordings",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    lines: list[str] = []

    async def read_until(text: str) -> None:
        assert proc.stdout is not None
        async with asyncio.timeout(15):
            while not any(text in ln for ln in lines):
                lines.append((await proc.stdout.readline()).decode())

    agent = Softphone("8001", "s3cret", ("127.0.0.1", port), tone_hz=1000.0)
    customer = Softphone("13800138000", "", ("127.0.0.1", port), tone_hz=440.0)
    try:
        await read_until("kefu switch on udp:127.0.0.1")
        await agent.start()
        await customer.start(register=False)
        await customer.dial("4001", ("127.0.0.1", port))
        await asyncio.sleep(1.0)
        customer.hangup()
        await read_until("CDR ")
        assert has_tone(agent.heard.between(), 440.0)
        cdr = next(ln for ln in lines if ln.startswith("CDR "))
        assert "caller='13800138000'" in cdr and "dialed='4001'" in cdr
        assert "hangup_role=<LegRole.CUSTOMER" in cdr
        assert len(list(tmp_path.glob("*.wav"))) == 1
    finally:
        await agent.stop()
        await customer.stop()
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_switch_serve_rejects_a_bad_route_flag_in_one_line() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kefu.cli",
        "switch",
        "serve",
        "--route",
        "nonsense",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 2
    assert "--route" in err.decode() and "Traceback" not in err.decode()
