"""Click-to-dial on real SIP (issue 5, AG-07) and the outbound hours (SLA-03).

Peers on loopback: the agent's phone and the trunk's gateway are in-process softphones with
distinct tones (agent 1000 Hz, customer 2000 Hz); the switch plays ringback at 450 Hz. The
hours rule's clock is injected: the tests pin it to 10:00, 12:30 or 23:00 in Shanghai.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select

from kefu.audio.tones import has_tone
from kefu.audio.wavfile import read_stereo
from kefu.core.agent import AgentState
from kefu.core.calling_hours import CallingHours
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import AuditEntry, Call, CallLeg, Direction, Disposition, Party, Recording
from kefu.telephony.sip.line import DialRefused
from kefu.telephony.sip.softphone import Softphone
from test_sip_line import Site, close_site, listen, open_site, seed, until

pytestmark = [pytest.mark.timeout(90), pytest.mark.anyio]

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOMER = "13900001111"


def at(hour: int, minute: int = 0) -> float:
    """An epoch time that is `hour:minute` in Shanghai."""
    return dt.datetime(2026, 12, 4, hour, minute, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    seed(db)
    s = await open_site(tmp_path, db)
    s.line.hours = CallingHours()  # the seed's rule with the defaults of the settings
    s.line.wall_clock = lambda: at(10)
    s.line.dial_timeout = 8.0
    yield s
    await close_site(s)


async def gateway(site: Site, **kw: object) -> Softphone:
    """The trunk's gateway: whatever it is sent is 'the customer's phone' (2000 Hz)."""
    pstn = Softphone("gw", "", site.addr, tone_hz=2000.0, **kw)  # type: ignore[arg-type]
    await pstn.start(register=False)
    site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    site.line.trunk = "pstn"
    return pstn


def the_call(site: Site) -> tuple[Call, dict[Party, CallLeg]]:
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()
        legs = {leg.party: leg for leg in s.scalars(select(CallLeg))}
        s.expunge_all()
        return call, legs


async def test_agent_first_then_customer_talk_recording_cdr(site: Site) -> None:
    """The agent's phone rings first showing the customer's number; once it answers the
    trunk gets the bare number, the agent hears ringback, then both talk; recorded, CDR."""
    pstn = await gateway(site, answer_delay=2.5)
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0, answer_delay=0.3)
    await agent.start()
    site.center.agent_login(site.agent_id, ready=True)
    try:
        call_id = site.line.click_to_dial(site.agent_id, "139-0000 1111")
        view = site.center.agent_view(site.agent_id)
        assert (view.state, view.reason) == (AgentState.BUSY, "click_to_dial")  # ACD skips
        await until(lambda: agent.answered.is_set())
        assert CUSTOMER in agent.invites[0][1]  # the phone shows the customer's number
        ringback = await listen(agent, 0.8)  # the customer's phone rings meanwhile
        assert has_tone(ringback, 450.0) and not has_tone(ringback, 2000.0)
        await until(lambda: pstn.answered.is_set())
        # the order of the INVITEs: the trunk only after the agent's phone answered (0.3 s)
        assert pstn.invites[0][0] - agent.invites[0][0] >= 0.3
        _, from_, uri = pstn.invites[0]
        assert uri.startswith(f"sip:{CUSTOMER}@")  # the bare number, no outside prefix
        assert "8001" in from_  # the customer sees the agent's extension
        await asyncio.sleep(0.5)
        assert has_tone(await listen(agent), 2000.0) and has_tone(await listen(pstn), 1000.0)
        pstn.hangup()  # the customer hangs up
        await until(lambda: agent.bye_received and not site.line.calls)
        after = site.center.agent_view(site.agent_id)  # (before the phone unregisters)
    finally:
        for p in (agent, pstn):
            await p.stop()
    call, legs = the_call(site)
    assert call.id == call_id and call.direction is Direction.OUTBOUND
    assert (call.agent_id, call.caller, call.callee) == (site.agent_id, "8001", CUSTOMER)
    assert call.disposition is Disposition.ANSWERED and call.hangup_by is Party.CUSTOMER
    assert call.answered_at is not None and call.ended_at is not None
    assert legs[Party.AGENT].answered_at is not None
    assert legs[Party.AGENT].answered_at <= legs[Party.CUSTOMER].started_at  # type: ignore[operator]
    assert legs[Party.CUSTOMER].answered_at is not None
    assert site.line.dialled[-1] == (call_id, "answered")
    assert after.state is AgentState.IDLE  # the seat's state came back
    with site.db.session() as s:
        rec = s.scalars(select(Recording)).one()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action.like("agent.click%"))).one()
        assert audit.detail["outcome"] == "answered" and audit.target == CUSTOMER
    left, right, _ = read_stereo(Path(rec.path))  # the customer left, the agent right
    assert rec.channels == 2 and rec.call_id == call_id
    assert has_tone(left, 2000.0) and not has_tone(left, 1000.0)
    assert has_tone(right, 1000.0) and not has_tone(right, 2000.0)


async def test_busy_customer_the_agent_hears_why_and_the_cdr_says_so(site: Site) -> None:
    """The customer's line answers 486: the agent hears 'busy', then the call ends."""
    pstn = await gateway(site, busy=True)
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    await agent.start()
    site.center.agent_login(site.agent_id, ready=False)  # 示忙 stays 示忙
    try:
        call_id = site.line.click_to_dial(site.agent_id, CUSTOMER)
        await until(lambda: pstn.invites)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await until(lambda: agent.bye_received, timeout=30)  # message, goodbye, BYE
        heard = agent.heard.between(t0)
        await until(lambda: not site.line.calls)
        after = site.center.agent_view(site.agent_id)
    finally:
        for p in (agent, pstn):
            await p.stop()
    assert len(heard) > 8000  # more than a second of message
    assert np.abs(heard.astype(np.int32)).mean() > 50 and not has_tone(heard, 2000.0)
    call, legs = the_call(site)
    assert call.disposition is Disposition.BUSY and call.hangup_by is Party.CUSTOMER
    assert call.answered_at is None and legs[Party.CUSTOMER].answered_at is None
    assert site.line.dialled[-1] == (call_id, "busy")
    with site.db.session() as s:
        assert s.scalars(select(Recording)).first() is None  # nothing was said: no recording
    assert after.state is AgentState.BUSY and after.reason != "click_to_dial"


async def test_customer_never_answers_the_agent_hears_no_answer(site: Site) -> None:
    """The customer's phone rings out (the dial timeout): 'no answer', then the call ends."""
    site.line.dial_timeout = 3.0
    pstn = await gateway(site, auto_answer=False)
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    await agent.start()
    site.center.agent_login(site.agent_id, ready=True)
    try:
        call_id = site.line.click_to_dial(site.agent_id, CUSTOMER)
        await until(lambda: pstn.invites)
        await until(lambda: agent.bye_received, timeout=30)
        await until(lambda: not site.line.calls)
        after = site.center.agent_view(site.agent_id)
    finally:
        for p in (agent, pstn):
            await p.stop()
    call, legs = the_call(site)
    assert call.disposition is Disposition.NO_ANSWER and call.hangup_by is Party.SYSTEM
    assert call.answered_at is None and legs[Party.AGENT].answered_at is not None
    assert site.line.dialled[-1] == (call_id, "no_answer")
    assert after.state is AgentState.IDLE


async def test_agent_declines_and_the_customer_is_never_dialled(site: Site) -> None:
    pstn = await gateway(site)
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0, busy=True)
    await agent.start()
    site.center.agent_login(site.agent_id, ready=True)
    try:
        call_id = site.line.click_to_dial(site.agent_id, CUSTOMER)
        await until(lambda: not site.line.calls)
        await asyncio.sleep(0.5)
        after = site.center.agent_view(site.agent_id)
    finally:
        for p in (agent, pstn):
            await p.stop()
    assert agent.invites and not pstn.invites
    call, legs = the_call(site)
    assert call.disposition is Disposition.AGENT_NO_ANSWER and call.hangup_by is Party.AGENT
    assert Party.CUSTOMER not in legs and legs[Party.AGENT].answered_at is None
    assert site.line.dialled[-1] == (call_id, "agent_no_answer")
    assert after.state is AgentState.IDLE


async def test_outside_the_hours_nobody_is_dialled(site: Site) -> None:
    """SLA-03: at lunch and at night click-to-dial and the phone's 9 + number are refused."""
    pstn = await gateway(site)
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    await agent.start()
    site.center.agent_login(site.agent_id, ready=True)
    with site.db.session() as s:
        from kefu.store.models import Agent

        s.get(Agent, site.agent_id).may_transfer_outside = True  # type: ignore[union-attr]
    try:
        for when in (at(6, 59), at(12, 30), at(18, 0), at(22, 0)):
            site.line.wall_clock = lambda when=when: when  # type: ignore[misc]
            with pytest.raises(DialRefused, match="07:00-12:00, 14:00-18:00, 19:00-22:00") as e:
                site.line.click_to_dial(site.agent_id, CUSTOMER)
            assert e.value.reason == "outside-hours"
            with pytest.raises(RuntimeError, match="403"):
                await agent.dial(f"9{CUSTOMER}", site.addr)
            agent._stop_media()
        await asyncio.sleep(0.5)
        after = site.center.agent_view(site.agent_id)
    finally:
        for p in (agent, pstn):
            await p.stop()
    assert not agent.invites and not pstn.invites
    with site.db.session() as s:
        assert s.scalars(select(Call)).first() is None
    assert after.state is AgentState.IDLE


async def test_refusals_before_anything_rings(site: Site) -> None:
    """Bad number, no trunk, seat logged out, phone not registered, already on a call."""
    with pytest.raises(DialRefused, match="not a phone number") as e:
        site.line.click_to_dial(site.agent_id, "12ab")
    assert e.value.reason == "bad-number"
    with pytest.raises(DialRefused, match="KEFU_SIP_GATEWAY"):
        site.line.click_to_dial(site.agent_id, CUSTOMER)
    pstn = await gateway(site)
    try:
        with pytest.raises(DialRefused, match="log the seat in"):
            site.line.click_to_dial(site.agent_id, CUSTOMER)
        site.center.agent_login(site.agent_id, ready=True)
        with pytest.raises(DialRefused, match="not registered") as e:
            site.line.click_to_dial(site.agent_id, CUSTOMER)
        assert e.value.reason == "not-registered"
        agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0, auto_answer=False)
        await agent.start()
        try:
            site.line.click_to_dial(site.agent_id, CUSTOMER)
            with pytest.raises(DialRefused, match="already on a call"):
                site.line.click_to_dial(site.agent_id, "13900002222")
            await until(lambda: agent.invites)
        finally:
            await agent.stop()
        await until(lambda: not site.line.calls, timeout=20)
    finally:
        await pstn.stop()
    assert not pstn.invites
