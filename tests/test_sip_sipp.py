"""The B2BUA against sipp, a SIP peer we did not write: customer UAC and agent UAS.

sipp (Debian `sip-tester`) plays RTP from pcap files that the tests write: a 440 Hz μ-law
tone with RFC 4733 DTMF for the customer, a 1000 Hz tone for the agent.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kefu.audio.tones import has_tone
from kefu.audio.wavfile import read_stereo
from kefu.telephony.port import Dtmf, HangupBy, LegRole
from kefu.telephony.router import Router
from kefu.telephony.sip.auth import MemoryCredentials
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.cdr import CallRecord, Disposition
from kefu.telephony.sip.pcap import write_rtp_pcap
from kefu.telephony.sip.softphone import Softphone

pytestmark = [pytest.mark.timeout(60), pytest.mark.anyio]
SIPP_DIR = Path(__file__).parent / "sipp"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def media_port() -> int:
    """A base for sipp's media ports: it binds audio RTP/RTCP at p, p+1 and video at p+2,
    p+3. One free ephemeral port said nothing of p+2, and outgoing sockets take ephemeral
    ports, so the base comes from below the ephemeral range with all four free."""
    for _ in range(500):
        base = random.randrange(20000, 32000, 4)
        if all(_udp_free(base + i) for i in range(4)):
            return base
    raise RuntimeError("no four free UDP ports in 20000-32000")


async def run_sipp(*args: str, timeout: float = 30) -> tuple[int, str]:
    """Run sipp to completion; return its exit code and error output."""
    proc = await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        "-nostdin",
        "-trace_err",
        "-m",
        "1",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, err.decode(errors="replace")


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cdrs: list[CallRecord] = []
        creds = MemoryCredentials()
        creds.set_password("8001", "kefu", "pw8001")
        creds.set_password("8002", "kefu", "pw8002")
        self.config = SwitchConfig(port=free_port(), rtp_timeout=5.0, tcp=True)
        self.switch = SipSwitch(self.config, cdr_sink=self.cdrs.append, credentials=creds)
        self.router = Router(
            self.switch, {"4001": ["8001"], "4002": ["8002"]}, recordings=tmp, welcome=None
        )
        self.switch.sink = self.router
        self.target = f"{self.config.host}:{self.config.port}"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path)
    await r.switch.start()
    yield r
    await r.switch.stop()


def common(tmp: Path, name: str) -> list[str]:
    return [
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(media_port()),
        "-timeout",
        "25s",
        "-timeout_error",
        "-error_file",
        str(tmp / f"{name}.err"),
    ]


async def test_sipp_customer_to_softphone_agent_tone_dtmf_recording(rig: Rig) -> None:
    pcap = rig.tmp / "customer.pcap"
    write_rtp_pcap(pcap, 440.0, 3.0, dtmf=((1.0, "5"), (1.6, "9")))
    agent = Softphone("8001", "pw8001", (rig.config.host, rig.config.port), tone_hz=1000.0)
    await agent.start()
    try:
        code, err = await run_sipp(
            "-sf",
            str(SIPP_DIR / "uac_tone_dtmf.xml"),
            "-s",
            "4001",
            rig.target,
            "-key",
            "pcap",
            str(pcap),
            "-d",
            "3500",
            *common(rig.tmp, "uac"),
        )
        assert code == 0, err
        async with asyncio.timeout(5):
            while not rig.cdrs:
                await asyncio.sleep(0.05)
    finally:
        await agent.stop()
    cdr = rig.cdrs[0]
    assert (cdr.caller, cdr.dialed, cdr.disposition) == (
        "13800138000",
        "4001",
        Disposition.ANSWERED,
    )
    assert (cdr.hangup_by, cdr.hangup_role) == (HangupBy.REMOTE, LegRole.CUSTOMER)
    assert cdr.legs[1].peer == "8001" and agent.bye_received
    digits = [e.digit for e in rig.router.events if isinstance(e, Dtmf)]
    assert digits == ["5", "9"] and cdr.dtmf == ["5", "9"]
    assert has_tone(agent.heard.between(), 440.0)
    assert cdr.recording is not None
    left, right, rate = read_stereo(cdr.recording)
    assert 2.5 < len(left) / rate < 4.5
    assert has_tone(left, 440.0) and not has_tone(left, 1000.0)
    assert has_tone(right, 1000.0) and not has_tone(right, 440.0)


async def test_sipp_customer_to_sipp_agent_registered_with_digest(rig: Rig) -> None:
    cust_pcap, agent_pcap = rig.tmp / "c.pcap", rig.tmp / "a.pcap"
    write_rtp_pcap(cust_pcap, 440.0, 3.0)
    write_rtp_pcap(agent_pcap, 1000.0, 3.0)
    uas_port = free_port()
    uas = asyncio.create_task(
        run_sipp(
            "-sf",
            str(SIPP_DIR / "uas_tone.xml"),
            "-key",
            "pcap",
            str(agent_pcap),
            "-i",
            "127.0.0.1",
            "-p",
            str(uas_port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(media_port()),
            "-timeout",
            "25s",
            "-timeout_error",
            "-error_file",
            str(rig.tmp / "uas.err"),
        )
    )
    await asyncio.sleep(0.3)
    code, err = await run_sipp(
        "-sf",
        str(SIPP_DIR / "register.xml"),
        rig.target,
        "-key",
        "ext",
        "8002",
        "-key",
        "uas_port",
        str(uas_port),
        "-au",
        "8002",
        "-ap",
        "pw8002",
        *common(rig.tmp, "reg"),
    )
    assert code == 0, err
    assert rig.switch.registrar.lookup("8002") is not None
    code, err = await run_sipp(
        "-sf",
        str(SIPP_DIR / "uac_tone_dtmf.xml"),
        "-s",
        "4002",
        rig.target,
        "-key",
        "pcap",
        str(cust_pcap),
        "-d",
        "3500",
        *common(rig.tmp, "uac"),
    )
    assert code == 0, err
    ucode, uerr = await uas
    assert ucode == 0, uerr
    async with asyncio.timeout(5):
        while not rig.cdrs:
            await asyncio.sleep(0.05)
    cdr = rig.cdrs[0]
    assert cdr.disposition is Disposition.ANSWERED and cdr.legs[1].peer == "8002"
    assert cdr.recording is not None
    left, right, _ = read_stereo(cdr.recording)
    assert has_tone(left, 440.0) and has_tone(right, 1000.0)
    assert not has_tone(right, 440.0)


async def test_sipp_register_with_wrong_password_is_refused(rig: Rig) -> None:
    code, _ = await run_sipp(
        "-sf",
        str(SIPP_DIR / "register.xml"),
        rig.target,
        "-key",
        "ext",
        "8002",
        "-key",
        "uas_port",
        "5999",
        "-au",
        "8002",
        "-ap",
        "wrong",
        *common(rig.tmp, "bad"),
    )
    assert code != 0
    assert rig.switch.registrar.lookup("8002") is None


async def test_sipp_customer_over_tcp(rig: Rig) -> None:
    pcap = rig.tmp / "customer.pcap"
    write_rtp_pcap(pcap, 440.0, 2.0, dtmf=((0.8, "3"),))
    agent = Softphone("8001", "pw8001", (rig.config.host, rig.config.port), tone_hz=1000.0)
    await agent.start()
    try:
        code, err = await run_sipp(
            "-sf",
            str(SIPP_DIR / "uac_tone_dtmf.xml"),
            "-s",
            "4001",
            rig.target,
            "-t",
            "t1",
            "-key",
            "pcap",
            str(pcap),
            "-d",
            "2500",
            *common(rig.tmp, "tcp"),
        )
        assert code == 0, err
        async with asyncio.timeout(5):
            while not rig.cdrs:
                await asyncio.sleep(0.05)
    finally:
        await agent.stop()
    cdr = rig.cdrs[0]
    assert cdr.disposition is Disposition.ANSWERED and cdr.dtmf == ["3"]
    assert (cdr.hangup_by, cdr.hangup_role) == (HangupBy.REMOTE, LegRole.CUSTOMER)
    assert has_tone(agent.heard.between(), 440.0)
