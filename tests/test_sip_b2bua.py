"""The B2BUA with real SIP/RTP peers on loopback: our softphones as customer and agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kefu.audio.mixer import MixMode
from kefu.audio.recorder import LEFT
from kefu.audio.tones import has_tone
from kefu.audio.wavfile import read_stereo
from kefu.telephony.port import (
    CallEnded,
    Dtmf,
    HangupBy,
    HoldChanged,
    LegEnded,
    LegRole,
    SupervisionChanged,
)
from kefu.telephony.prompts import MOH_NOTES
from kefu.telephony.router import Router
from kefu.telephony.sip.auth import MemoryCredentials
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.cdr import CallRecord, Disposition
from kefu.telephony.sip.softphone import Softphone

pytestmark = [pytest.mark.timeout(30), pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


CUSTOMER_HZ, AGENT_HZ = 440.0, 1000.0


class Rig:
    """A switch with a router, a registered agent phone and a customer phone."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cdrs: list[CallRecord] = []
        creds = MemoryCredentials()
        for ext in ("8001", "8002", "9000"):
            creds.set_password(ext, "kefu", f"pw{ext}")
        self.config = SwitchConfig(port=free_port(), rtp_timeout=3.0)
        self.switch = SipSwitch(self.config, cdr_sink=self.cdrs.append, credentials=creds)
        self.router = Router(self.switch, {"4001": ["8001", "8002"]}, recordings=tmp, welcome=None)
        self.switch.sink = self.router
        self.addr = (self.config.host, self.config.port)
        self.phones: list[Softphone] = []

    async def phone(self, ext: str, **kw: object) -> Softphone:
        p = Softphone(ext, f"pw{ext}", self.addr, **kw)  # type: ignore[arg-type]
        await p.start(register=kw.get("send_audio", True) is not None)
        self.phones.append(p)
        return p

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.02)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path)
    await r.switch.start()
    yield r
    for p in r.phones:
        await p.stop()
    await r.switch.stop()


async def test_call_reaches_agent_records_stereo_and_cdr_says_who_hung_up(rig: Rig) -> None:
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    await asyncio.sleep(2.0)
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    await rig.wait_for(lambda: agent.bye_received)
    # each side heard the other's tone, and only that
    assert has_tone(agent.heard.between(), CUSTOMER_HZ)
    assert not has_tone(agent.heard.between(), AGENT_HZ)
    assert has_tone(customer.heard.between(), AGENT_HZ)
    cdr = rig.cdrs[0]
    assert (cdr.caller, cdr.dialed) == ("9000", "4001")
    assert cdr.disposition is Disposition.ANSWERED
    assert (cdr.hangup_by, cdr.hangup_role) == (HangupBy.REMOTE, LegRole.CUSTOMER)
    assert [lg.role for lg in cdr.legs] == [LegRole.CUSTOMER, LegRole.AGENT]
    assert cdr.legs[1].hangup_by is HangupBy.PEER_LEG and cdr.legs[1].peer == "8001"
    assert cdr.answered_at is not None and cdr.ended_at is not None
    # the recording: stereo, about as long as the call, customer left, agent right
    assert cdr.recording is not None
    left, right, rate = read_stereo(cdr.recording)
    assert rate == 8000 and 1.5 < len(left) / rate < 3.0
    assert has_tone(left, CUSTOMER_HZ) and not has_tone(left, AGENT_HZ)
    assert has_tone(right, AGENT_HZ) and not has_tone(right, CUSTOMER_HZ)
    assert LEFT == 0


async def test_agent_hangup_is_recorded_as_agent(rig: Rig) -> None:
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    await asyncio.sleep(0.3)
    agent.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    await rig.wait_for(lambda: customer.bye_received)
    cdr = rig.cdrs[0]
    assert (cdr.hangup_by, cdr.hangup_role) == (HangupBy.REMOTE, LegRole.AGENT)


async def test_busy_first_agent_rolls_to_second_and_transcodes(rig: Rig) -> None:
    await rig.phone("8001", busy=True)
    alaw_agent = await rig.phone("8002", tone_hz=AGENT_HZ, codecs=(8,))
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ, codecs=(0,))
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(alaw_agent.answered.wait(), 5)
    assert alaw_agent.codec == 8 and customer.codec == 0
    await asyncio.sleep(1.0)
    assert has_tone(alaw_agent.heard.between(), CUSTOMER_HZ)
    assert has_tone(customer.heard.between(), AGENT_HZ)
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    legs = rig.cdrs[0].legs
    assert [(lg.peer, lg.disposition) for lg in legs[1:]] == [
        ("8001", Disposition.BUSY),
        ("8002", Disposition.ANSWERED),
    ]
    assert legs[2].codec == "PCMA" and legs[0].codec == "PCMU"


async def test_dtmf_rfc4733_and_info_arrive_as_events(rig: Rig) -> None:
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    for d in "12#":
        customer.send_rfc4733(d)
        await asyncio.sleep(0.05)
    # RTP and SIP are separate paths with no order between them: INFO once the RTP keys are in
    await rig.wait_for(lambda: len([e for e in rig.router.events if isinstance(e, Dtmf)]) >= 3)
    customer.send_info_dtmf("7")
    agent.send_info_dtmf("*")
    await rig.wait_for(lambda: len([e for e in rig.router.events if isinstance(e, Dtmf)]) >= 5)
    got = [(e.digit, e.via) for e in rig.router.events if isinstance(e, Dtmf)]
    assert got == [
        ("1", "rfc4733"),
        ("2", "rfc4733"),
        ("#", "rfc4733"),
        ("7", "info"),
        ("*", "info"),
    ]
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    assert rig.cdrs[0].dtmf == ["1", "2", "#", "7", "*"]


async def test_agent_hold_plays_music_to_customer_then_resumes(rig: Rig) -> None:
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    await asyncio.sleep(0.8)
    loop = asyncio.get_running_loop()
    agent.reinvite("sendonly")
    await rig.wait_for(
        lambda: any(isinstance(e, HoldChanged) and e.held for e in rig.router.events)
    )
    t_hold = loop.time()
    await asyncio.sleep(2.0)
    # on a loaded machine the music may start late: wait for it (up to 8 s), then resume
    for _ in range(40):
        if any(has_tone(customer.heard.between(t_hold + 0.2), f) for f in MOH_NOTES):
            break
        await asyncio.sleep(0.2)
    agent.reinvite("sendrecv")
    await rig.wait_for(
        lambda: any(isinstance(e, HoldChanged) and not e.held for e in rig.router.events)
    )
    t_resume = loop.time()
    await asyncio.sleep(0.8)
    held = customer.heard.between(t_hold + 0.2, t_resume)
    after = customer.heard.between(t_resume + 0.2)
    assert any(has_tone(held, f) for f in MOH_NOTES) and not has_tone(held, AGENT_HZ)
    assert has_tone(after, AGENT_HZ)
    customer.hangup()
    await rig.wait_for(lambda: any(isinstance(e, CallEnded) for e in rig.router.events))


async def test_dead_call_ends_on_rtp_timeout(rig: Rig) -> None:
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", send_audio=False)
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    await rig.wait_for(lambda: bool(rig.cdrs), timeout=8)
    cdr = rig.cdrs[0]
    assert (cdr.hangup_by, cdr.hangup_role) == (HangupBy.TIMEOUT, LegRole.CUSTOMER)
    await rig.wait_for(lambda: agent.bye_received and customer.bye_received)


async def test_unknown_number_with_nobody_registered_hears_busy_and_is_hung_up(rig: Rig) -> None:
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)
    await rig.wait_for(lambda: customer.bye_received, timeout=15)
    assert len(customer.heard.between()) > 8000  # the busy and goodbye prompts
    await rig.wait_for(lambda: bool(rig.cdrs))
    assert rig.cdrs[0].disposition is Disposition.NO_ANSWER


SUP_HZ = 1600.0
HEARS = {  # mode -> (customer, agent, supervisor) hear these tones
    MixMode.LISTEN: ({AGENT_HZ}, {CUSTOMER_HZ}, {CUSTOMER_HZ, AGENT_HZ}),
    MixMode.WHISPER: ({AGENT_HZ}, {CUSTOMER_HZ, SUP_HZ}, {CUSTOMER_HZ, AGENT_HZ}),
    MixMode.BARGE: ({AGENT_HZ, SUP_HZ}, {CUSTOMER_HZ, SUP_HZ}, {CUSTOMER_HZ, AGENT_HZ}),
    MixMode.INTERCEPT: ({SUP_HZ}, set(), {CUSTOMER_HZ}),
}


def tones_in(pcm: object) -> set[float]:
    return {f for f in (CUSTOMER_HZ, AGENT_HZ, SUP_HZ) if has_tone(pcm, f)}  # type: ignore[arg-type]


async def test_supervisor_listen_whisper_barge_intercept_on_live_legs(rig: Rig) -> None:
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    sup = await rig.phone("8002", tone_hz=SUP_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    rig.router.routes["4001"] = ["8001"]
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    call_id = next(iter(rig.switch.calls))
    sup_leg = rig.switch.ring(call_id, "8002", role=LegRole.SUPERVISOR)
    await asyncio.wait_for(sup.answered.wait(), 5)
    await rig.wait_for(lambda: rig.switch.legs[sup_leg].answered)
    loop = asyncio.get_running_loop()
    for mode, (c_hears, a_hears, s_hears) in HEARS.items():
        rig.switch.supervise(call_id, sup_leg, mode)
        t0 = loop.time() + 0.3
        await asyncio.sleep(1.3)
        t1 = loop.time()
        assert tones_in(customer.heard.between(t0, t1)) == c_hears, mode
        assert tones_in(sup.heard.between(t0, t1)) == s_hears, mode
        if mode is MixMode.INTERCEPT:
            assert agent.bye_received  # the agent was dropped
        else:
            assert tones_in(agent.heard.between(t0, t1)) == a_hears, mode
    modes = [e.mode for e in rig.router.events if isinstance(e, SupervisionChanged)]
    assert modes == list(HEARS)
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    cdr = rig.cdrs[0]
    assert [lg.role for lg in cdr.legs] == [LegRole.CUSTOMER, LegRole.AGENT, LegRole.SUPERVISOR]
    assert cdr.legs[1].hangup_by is HangupBy.SWITCH


async def test_transfer_to_another_agent_then_force_hangup(rig: Rig) -> None:
    first = await rig.phone("8001", tone_hz=AGENT_HZ)
    second = await rig.phone("8002", tone_hz=SUP_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    rig.router.routes["4001"] = ["8001"]
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(first.answered.wait(), 5)
    call_id = next(iter(rig.switch.calls))
    first_leg = rig.switch.calls[call_id].bridged
    assert first_leg is not None
    new_leg = rig.switch.ring(call_id, "8002")  # consult: the customer still talks to 8001
    await asyncio.wait_for(second.answered.wait(), 5)
    await rig.wait_for(lambda: rig.switch.legs[new_leg].answered)
    rig.switch.bridge(call_id, new_leg)
    rig.switch.hangup(first_leg.leg_id)  # the first agent leaves: the call goes on
    await rig.wait_for(lambda: first.bye_received)
    t0 = asyncio.get_running_loop().time() + 0.3
    await asyncio.sleep(1.0)
    assert tones_in(customer.heard.between(t0)) == {SUP_HZ}
    assert CUSTOMER_HZ in tones_in(second.heard.between(t0))
    rig.switch.hangup_call(call_id)  # force hang-up (强制挂机)
    await rig.wait_for(lambda: bool(rig.cdrs))
    await rig.wait_for(lambda: customer.bye_received and second.bye_received)
    cdr = rig.cdrs[0]
    assert [lg.peer for lg in cdr.legs] == ["9000", "8001", "8002"]
    assert (cdr.hangup_by, cdr.hangup_role) == (HangupBy.SWITCH, LegRole.AGENT)
    assert cdr.legs[0].hangup_by is HangupBy.SWITCH


async def test_agents_call_each_other_and_busy_extension_sends_a_message(rig: Rig) -> None:
    callee = await rig.phone("8002", tone_hz=AGENT_HZ)
    caller = await rig.phone("8001", tone_hz=CUSTOMER_HZ)
    await caller.dial("8002", rig.addr)
    await asyncio.wait_for(callee.answered.wait(), 5)
    await asyncio.sleep(0.5)
    assert has_tone(callee.heard.between(), CUSTOMER_HZ)
    caller.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    assert (rig.cdrs[0].caller, rig.cdrs[0].dialed) == ("8001", "8002")
    callee.busy = True
    t0 = asyncio.get_running_loop().time()
    await caller.dial("8002", rig.addr)
    await rig.wait_for(lambda: caller.bye_received, timeout=15)
    assert len(caller.heard.between(t0)) > 16000  # 您拨打的分机正忙 + goodbye were played
    await rig.wait_for(lambda: len(rig.cdrs) == 2)
    assert rig.cdrs[1].legs[1].disposition is Disposition.BUSY


async def test_pickup_a_call_ringing_at_another_agent(rig: Rig) -> None:
    ringing = await rig.phone("8001", auto_answer=False)
    picker = await rig.phone("8002", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    rig.router.routes["4001"] = ["8001"]
    dial = asyncio.create_task(customer.dial("4001", rig.addr))
    await rig.wait_for(lambda: ringing.incoming is not None)
    await picker.dial("*88001", rig.addr)  # 抢接
    await dial
    await rig.wait_for(lambda: ringing.incoming is None)  # its ringing was cancelled
    await asyncio.sleep(1.0)
    assert has_tone(picker.heard.between(), CUSTOMER_HZ)
    assert has_tone(customer.heard.between(), AGENT_HZ)
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    cdr = rig.cdrs[0]
    assert [(lg.peer, lg.role, lg.disposition) for lg in cdr.legs] == [
        ("9000", LegRole.CUSTOMER, Disposition.ANSWERED),
        ("8001", LegRole.AGENT, Disposition.CANCELLED),
        ("8002", LegRole.AGENT, Disposition.ANSWERED),
    ]
    assert len(rig.cdrs) == 1


async def test_outside_line_through_trunk_needs_permission(rig: Rig) -> None:
    pstn = Softphone("gw", "", rig.addr, tone_hz=SUP_HZ)  # the trunk's gateway
    await pstn.start(register=False)
    rig.phones.append(pstn)
    rig.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    rig.router.trunk = "pstn"
    rig.router.outside_allowed = frozenset({"8001"})
    allowed = await rig.phone("8001", tone_hz=AGENT_HZ)
    denied = await rig.phone("8002", tone_hz=AGENT_HZ)
    with pytest.raises(RuntimeError, match="403"):
        await denied.dial("913900001111", rig.addr)
    await allowed.dial("913900001111", rig.addr)
    await asyncio.wait_for(pstn.answered.wait(), 5)
    assert pstn.last_invite_uri.startswith("sip:13900001111@")
    await asyncio.sleep(0.8)
    assert has_tone(pstn.heard.between(), AGENT_HZ)
    assert has_tone(allowed.heard.between(), SUP_HZ)
    pstn.hangup()
    await rig.wait_for(lambda: len(rig.cdrs) == 2)
    cdr = rig.cdrs[1]
    assert [(lg.peer, lg.role) for lg in cdr.legs] == [
        ("8001", LegRole.CUSTOMER),
        ("13900001111", LegRole.OUTSIDE),
    ]
    assert (cdr.disposition, cdr.hangup_role) == (Disposition.ANSWERED, LegRole.OUTSIDE)
    assert rig.cdrs[0].disposition is not Disposition.ANSWERED  # the refused attempt


async def test_survey_after_the_agent_hangs_up(rig: Rig) -> None:
    rig.router.survey = True
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    await asyncio.sleep(0.3)
    agent.hangup()
    await rig.wait_for(lambda: any(isinstance(e, LegEnded) for e in rig.router.events))
    t0 = asyncio.get_running_loop().time()
    await asyncio.sleep(1.0)
    assert len(customer.heard.between(t0)) > 4000  # the survey prompt is playing
    customer.send_rfc4733("1")
    await rig.wait_for(lambda: customer.bye_received, timeout=15)
    await rig.wait_for(lambda: bool(rig.cdrs))
    call_id = rig.cdrs[0].call_id
    assert rig.router.survey_results == {call_id: "1"}
    assert rig.cdrs[0].hangup_role is LegRole.AGENT and rig.cdrs[0].dtmf == ["1"]


async def test_caller_leaving_while_the_agent_rings_is_abandoned(rig: Rig) -> None:
    ringing = await rig.phone("8001", auto_answer=False)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)  # answered by the switch at once
    await rig.wait_for(lambda: ringing.incoming is not None)
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    await rig.wait_for(lambda: ringing.incoming is None)  # the ringing phone got CANCEL
    cdr = rig.cdrs[0]
    assert cdr.disposition is Disposition.ABANDONED
    assert cdr.legs[1].disposition is Disposition.CANCELLED
    assert cdr.legs[1].hangup_by is HangupBy.PEER_LEG


async def test_cancel_before_the_switch_answers(tmp_path: Path) -> None:
    from kefu.telephony.port import CallArrived, SwitchEvent

    events: list[SwitchEvent] = []
    cdrs: list[CallRecord] = []
    sw = SipSwitch(SwitchConfig(port=free_port()), sink=events.append, cdr_sink=cdrs.append)
    await sw.start()
    phone = Softphone("9000", "x", (sw.config.host, sw.config.port))
    await phone.start(register=False)
    try:
        dial = asyncio.create_task(phone.dial("4001", (sw.config.host, sw.config.port)))
        async with asyncio.timeout(3):
            while not events:
                await asyncio.sleep(0.01)
        assert isinstance(events[0], CallArrived)
        sw.ringback(events[0].call_id)
        await asyncio.sleep(0.2)
        phone.hangup()  # CANCEL
        dial.cancel()  # aiosipua drops the call on CANCEL: the 487 never reaches wait_answered
        async with asyncio.timeout(3):
            while not cdrs:
                await asyncio.sleep(0.01)
        assert cdrs[0].disposition is Disposition.CANCELLED
        assert cdrs[0].hangup_by is HangupBy.REMOTE and cdrs[0].answered_at is None
    finally:
        await phone.stop()
        await sw.stop()
