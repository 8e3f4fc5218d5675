"""Real SIP calls driven by the contact-center core (`Center` + `SipLine` + `SipSwitch`).

Peers on loopback: sipp is the customer (μ-law RTP tone + RFC 4733 DTMF from a pcap), the
agent is the in-process softphone (auto-answer, its own tone). The database is a real
SQLite file migrated like `kefu serve` does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from kefu.audio.tones import has_tone
from kefu.audio.wavfile import read_stereo
from kefu.core.agent import AgentState
from kefu.core.supervision import SupervisorAction
from kefu.security.password import sip_ha1
from kefu.services import reports, users
from kefu.services.call_scoring import TIMING_RULES, CallScorer
from kefu.services.center import Center
from kefu.services.live import LiveHub
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AuditEntry,
    Call,
    CallHold,
    CallLeg,
    Disposition,
    Number,
    NumberTarget,
    Party,
    QaResult,
    Queue,
    Recording,
    Role,
    SurveyResponse,
)
from kefu.store.models.routing import IvrFlow, IvrFlowVersion
from kefu.telephony.prompts import MOH_NOTES
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.line import AgentCredentials, SipLine
from kefu.telephony.sip.pcap import write_rtp_pcap
from kefu.telephony.sip.softphone import Softphone
from test_sip_sipp import SIPP_DIR, common, run_sipp

pytestmark = [pytest.mark.timeout(60), pytest.mark.anyio]

FLOW = """\
flow: main
version: 1
start: menu
nodes:
  menu:
    type: menu
    prompts: [welcome, menu]
    choices:
      "1": service
  service:
    type: queue
    queue: service
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Site:
    db: Database
    center: Center
    switch: SipSwitch
    line: SipLine
    tmp: Path
    agent_id: int

    @property
    def addr(self) -> tuple[str, int]:
        return (self.switch.config.host, self.switch.config.port)


def seed(db: Database) -> int:
    """A queue, an IVR on 4001 that sends key 1 to it, a queue number 4002, one agent."""
    uid = users.create_user(
        db, "agent8001", "Kefu-test-8001!", Role.AGENT, agent_no="1001", extension="8001"
    )
    with db.session() as s:
        agent = s.scalars(select(Agent).where(Agent.user_id == uid)).one()
        agent.sip_ha1 = sip_ha1("8001", "kefu", "pw8001")
        q = Queue(name="service", ring_timeout_s=10, max_wait_s=120)
        flow = IvrFlow(name="main", active_version=1)
        s.add_all([q, flow])
        s.flush()
        s.add(IvrFlowVersion(flow_id=flow.id, version=1, definition=FLOW))
        s.add(Number(number="4001", target=NumberTarget.IVR, ivr_flow_id=flow.id))
        s.add(Number(number="4002", target=NumberTarget.QUEUE, queue_id=q.id))
        return agent.id


async def open_site(tmp: Path, db: Database, rtp_timeout: float = 8.0) -> Site:
    center = Center(db, LiveHub())
    await center.start()
    switch = SipSwitch(
        SwitchConfig(port=free_port(), rtp_timeout=rtp_timeout), credentials=AgentCredentials(db)
    )
    line = SipLine(switch, center, recordings=tmp / "recordings")
    line.on_call_ended.append(CallScorer(db))
    line.attach()
    await switch.start()
    with db.session() as s:
        aid = s.scalars(select(Agent.id).where(Agent.extension == "8001")).one()
    return Site(db, center, switch, line, tmp, aid)


async def close_site(site: Site) -> None:
    site.line.detach()
    for cb in site.line.on_call_ended:  # the QA scorer's worker process
        cb.close()
    await site.switch.stop()
    await site.center.stop()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    seed(db)
    s = await open_site(tmp_path, db)
    yield s
    await close_site(s)


def qa_of(db: Database, call_id: str) -> QaResult | None:
    with db.session() as s:
        qa = s.scalars(select(QaResult).where(QaResult.call_id == call_id)).first()
        if qa is not None:
            _ = list(qa.findings), qa.conversation, qa.not_applicable
        return qa


async def until(cond: Callable[[], object], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.05)


def sipp_customer(site: Site, number: str, pcap: Path, pause_ms: int) -> list[str]:
    host, port = site.addr
    return [
        "-sf",
        str(SIPP_DIR / "uac_tone_dtmf.xml"),
        "-s",
        number,
        f"{host}:{port}",
        "-key",
        "pcap",
        str(pcap),
        "-d",
        str(pause_ms),
        *common(site.tmp, "uac"),
    ]


async def test_ivr_queue_agent_talk_hangup_cdr_recording_report(site: Site) -> None:
    """THE done-when call: IVR key 1 -> queue (announcement, MOH) -> agent phone -> talk."""
    pcap = site.tmp / "customer.pcap"
    write_rtp_pcap(pcap, 440.0, 9.0, dtmf=((1.0, "1"),))
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0, answer_delay=0.5)
    await agent.start()
    site.center.agent_login(site.agent_id, ready=False)  # busy: the caller has to wait
    try:
        sipp = asyncio.create_task(run_sipp(*sipp_customer(site, "4001", pcap, 9000)))
        await until(lambda: site.center.waiting_calls())  # key 1 took it to the queue
        await until(lambda: site.line.played)  # position and wait were announced
        site.center.set_state(site.agent_id, AgentState.IDLE)
        code, err = await sipp
        assert code == 0, err
        await until(lambda: not site.line.calls)
    finally:
        await agent.stop()
    assert has_tone(agent.heard.between(), 440.0)  # the agent heard the customer
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()
        assert (call.callee, call.caller) == ("4001", "13800138000")
        assert call.disposition is Disposition.ANSWERED
        assert call.hangup_by is Party.CUSTOMER
        assert call.agent_id == site.agent_id
        assert call.answered_at and call.ringing_at and call.ended_at and call.queued_at
        assert call.offered_at <= call.ringing_at <= call.answered_at <= call.ended_at
        assert (call.wait_seconds or 0) > 0.3
        assert s.get(Queue, call.queue_id).name == "service"  # type: ignore[union-attr]
        legs = {leg.party: leg for leg in s.scalars(select(CallLeg))}
        assert set(legs) == {Party.CUSTOMER, Party.AGENT}
        assert legs[Party.AGENT].address == "8001" and legs[Party.AGENT].answered_at
        assert all(leg.ended_at and leg.hangup_by is Party.CUSTOMER for leg in legs.values())
        rec = s.scalars(select(Recording)).one()
        assert rec.call_id == call.id and rec.channels == 2
        talk = (call.ended_at - call.answered_at).total_seconds()
        assert abs(rec.duration_s - talk) < 1.5
        start = call.offered_at - dt.timedelta(hours=1)
        period = reports.Period(start, start + dt.timedelta(hours=2))
        facts = reports.call_facts(s, period)
        assert [f.answered for f in facts] == [True] and facts[0].queue_name == "service"
    left, right, rate = read_stereo(Path(rec.path))
    assert 2.0 < len(left) / rate < 9.0
    # scored in a process of its own, started at the first ended call
    await until(lambda: qa_of(site.db, call.id) is not None, timeout=60.0)
    qa = qa_of(site.db, call.id)
    assert qa is not None and qa.agent_id == site.agent_id
    assert qa.conversation["transcribed"] is False
    voice = [u for u in qa.conversation["utterances"] if u["role"] in ("customer", "agent")]
    assert {u["role"] for u in voice} == {"customer", "agent"}  # both channels carry speech
    assert {f.rule for f in qa.findings} <= TIMING_RULES  # no text rule breached unheard
    assert "OPEN-GREETING" in qa.not_applicable
    assert "CLOSE-HANGUP-ORDER" not in {f.rule for f in qa.findings}  # the customer hung up
    assert has_tone(left, 440.0) and not has_tone(left, 1000.0)  # customer left
    assert has_tone(right, 1000.0) and not has_tone(right, 440.0)  # agent right


async def test_serve_app_runs_the_switch_and_a_restart_keeps_the_cdr(tmp_path: Path) -> None:
    """`kefu serve` with sip_enabled: a call to a queue number; the CDR outlives a restart."""
    from kefu.config import Settings
    from kefu.web.app import create_app

    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    aid = seed(db)
    settings = Settings(data_dir=tmp_path, database_url=url, sip_enabled=True, sip_port=free_port())
    pcap = tmp_path / "customer.pcap"
    write_rtp_pcap(pcap, 440.0, 3.0)
    ids: list[str] = []
    for round_ in range(2):  # the second round is the restarted server
        app = create_app(settings, Database.from_url(url))
        async with app.router.lifespan_context(app):
            line: SipLine = app.state.sip_line
            center: Center = app.state.center
            assert line.switch.tcp_uas is not None  # TCP too
            phone = Softphone("8001", "pw8001", (settings.sip_host, settings.sip_port))
            await phone.start()
            center.agent_login(aid, ready=True)
            try:
                site = Site(db, center, line.switch, line, tmp_path, aid)
                code, err = await run_sipp(*sipp_customer(site, "4002", pcap, 3000))
                assert code == 0, err
                await until(lambda s=site: not s.line.calls)
            finally:
                await phone.stop()
            with db.session() as s:
                ids = [c.id for c in s.scalars(select(Call).order_by(Call.offered_at))]
                assert len(ids) == round_ + 1
                call = s.get(Call, ids[-1])
                assert call is not None and call.disposition is Disposition.ANSWERED
    assert len(set(ids)) == 2  # the restarted switch did not reuse the first call's id
    with Database.from_url(url).session() as s:
        first = s.get(Call, ids[0])
        assert first is not None and first.ended_at is not None
        assert first.hangup_by is Party.CUSTOMER
        assert s.scalars(select(Recording).where(Recording.call_id == ids[0])).one()


async def test_an_unregistered_agent_is_not_rung(site: Site) -> None:
    """Logged in and idle but no phone registered: no INVITE; the call keeps waiting."""
    site.center.agent_login(site.agent_id, ready=True)
    pcap = site.tmp / "customer.pcap"
    write_rtp_pcap(pcap, 440.0, 3.0)
    sipp = asyncio.create_task(run_sipp(*sipp_customer(site, "4002", pcap, 3000)))
    await until(lambda: site.line.calls)
    call_id = next(iter(site.line.calls))
    await asyncio.sleep(1.0)
    sw_call = site.switch.calls[call_id]
    assert [leg.role.value for leg in sw_call.legs.values()] == ["customer"]
    code, err = await sipp
    assert code == 0, err
    await until(lambda: not site.line.calls)
    with site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is Disposition.ABANDONED
        assert call.answered_at is None and call.hangup_by is Party.CUSTOMER
        rings = s.scalars(select(CallLeg).where(CallLeg.party == Party.AGENT)).all()
        assert all(leg.answered_at is None for leg in rings)


async def listen(phone: Softphone, seconds: float = 1.2) -> np.ndarray[Any, Any]:
    """What the phone hears over the next `seconds` (after a short settling time)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.3)
    t0 = loop.time()
    await asyncio.sleep(seconds)
    return phone.heard.between(t0, loop.time())


async def test_hold_music_and_supervisor_listen_whisper_through_the_center(site: Site) -> None:
    """Hold: the customer hears music, not the agent. Listen, then whisper, by the Center API."""
    sup_uid = users.create_user(
        site.db, "sup8009", "Kefu-test-8009!", Role.SUPERVISOR, agent_no="1009", extension="8009"
    )
    with site.db.session() as s:
        sup_agent = s.scalars(select(Agent).where(Agent.user_id == sup_uid)).one()
        sup_agent.sip_ha1 = sip_ha1("8009", "kefu", "pw8009")
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    sup = Softphone("8009", "pw8009", site.addr, tone_hz=2000.0)
    customer = Softphone("13900000000", "x", site.addr, tone_hz=440.0)
    for p in (agent, sup):
        await p.start()
    await customer.start(register=False)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        await customer.dial("4002", site.addr)
        await until(lambda: any(lc.agent for lc in site.line.calls.values()))
        await asyncio.sleep(0.5)  # the bridge follows the answer
        talk = await listen(customer)
        assert has_tone(talk, 1000.0)

        site.center.hold(site.agent_id)
        held = await listen(customer)
        assert not has_tone(held, 1000.0)  # the agent is not heard on hold
        assert any(has_tone(held, f) for f in MOH_NOTES)  # music on hold
        site.center.resume(site.agent_id)
        assert has_tone(await listen(customer), 1000.0)

        site.center.supervise(sup_uid, Role.SUPERVISOR, SupervisorAction.LISTEN, site.agent_id)
        await until(lambda: sup.answered.is_set())
        await asyncio.sleep(0.5)
        sup_hears, cust_hears = await asyncio.gather(listen(sup), listen(customer))
        assert has_tone(sup_hears, 440.0) and has_tone(sup_hears, 1000.0)  # both sides
        assert not has_tone(cust_hears, 2000.0)  # nobody hears a listener
        site.center.supervise(sup_uid, Role.SUPERVISOR, SupervisorAction.WHISPER, site.agent_id)
        await asyncio.sleep(0.3)
        agent_hears, cust_hears = await asyncio.gather(listen(agent), listen(customer))
        assert has_tone(agent_hears, 2000.0)  # the agent is coached
        assert not has_tone(cust_hears, 2000.0)  # the customer does not hear the coach
        customer.hangup()
        await until(lambda: not site.line.calls)
    finally:
        for p in (customer, agent, sup):
            await p.stop()
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()
        assert call.held_seconds > 1.0 and call.hangup_by is Party.CUSTOMER
        assert s.scalars(select(CallHold)).one().ended_at is not None
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "supervisor.listen" in actions and "supervisor.whisper" in actions


@pytest.fixture
async def site_db(db: Database, tmp_path: Path) -> AsyncIterator[Site]:
    """A site on each database kind (SQLite and PostgreSQL)."""
    seed(db)
    s = await open_site(tmp_path, db)
    yield s
    await close_site(s)


async def test_agent_hanging_up_first_is_in_the_cdr_and_breaches_hangup_order(
    site_db: Site,
) -> None:
    site = site_db
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    customer = Softphone("13900000000", "x", site.addr, tone_hz=440.0)
    await agent.start()
    await customer.start(register=False)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        await customer.dial("4002", site.addr)
        await until(lambda: any(lc.agent for lc in site.line.calls.values()))
        await asyncio.sleep(1.5)
        agent.hangup()
        await until(lambda: customer.bye_received and not site.line.calls)
    finally:
        await customer.stop()
        await agent.stop()
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()
        assert call.disposition is Disposition.ANSWERED and call.hangup_by is Party.AGENT
        call_id = call.id
    await until(lambda: qa_of(site.db, call_id) is not None)
    qa = qa_of(site.db, call_id)
    assert qa is not None
    assert [f.rule for f in qa.findings if f.severity == "fatal"] == ["CLOSE-HANGUP-ORDER"]
    assert qa.score == 0 and not qa.passed


async def test_agent_phone_vanishing_mid_call_requeues_the_customer(tmp_path: Path) -> None:
    """No RTP from the agent's phone (no BYE): the customer goes back to the queue."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    seed(db)
    uid = users.create_user(
        db, "agent8002", "Kefu-test-8002!", Role.AGENT, agent_no="1002", extension="8002"
    )
    with db.session() as s:
        second = s.scalars(select(Agent).where(Agent.user_id == uid)).one()
        second.sip_ha1 = sip_ha1("8002", "kefu", "pw8002")
        second_id = second.id
    site = await open_site(tmp_path, db, rtp_timeout=1.5)
    first = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    other = Softphone("8002", "pw8002", site.addr, tone_hz=2000.0)
    customer = Softphone("13900000000", "x", site.addr, tone_hz=440.0)
    for p in (first, other):
        await p.start()
    await customer.start(register=False)
    site.center.agent_login(site.agent_id, ready=True)
    site.center.agent_login(second_id, ready=False)
    try:
        await customer.dial("4002", site.addr)
        await until(lambda: any(lc.agent for lc in site.line.calls.values()))
        site.center.set_state(second_id, AgentState.IDLE)
        first._stop_media()  # the phone is gone: no BYE, no RTP
        await until(lambda: other.answered.is_set(), timeout=20)
        await asyncio.sleep(0.5)
        assert has_tone(await listen(customer), 2000.0)  # now talking to the second agent
        customer.hangup()
        await until(lambda: not site.line.calls)
    finally:
        for p in (customer, first, other):
            await p.stop()
        await close_site(site)
    with db.session() as s:
        call = s.scalars(select(Call)).one()
        assert call.agent_id == second_id and call.disposition is Disposition.ANSWERED
        agents = [leg.agent_id for leg in s.scalars(select(CallLeg).order_by(CallLeg.id))]
        assert agents == [None, site.agent_id, second_id]  # customer, lost phone, second


def add_agent(db: Database, ext: str) -> int:
    uid = users.create_user(
        db, f"agent{ext}", f"Kefu-test-{ext}!", Role.AGENT, agent_no=f"1{ext}", extension=ext
    )
    with db.session() as s:
        agent = s.scalars(select(Agent).where(Agent.user_id == uid)).one()
        agent.sip_ha1 = sip_ha1(ext, "kefu", f"pw{ext}")
        return agent.id


async def test_extensions_call_each_other_and_a_busy_one_says_so(site: Site) -> None:
    """CC-14: 8001 dials 8002 and they talk; dialling a busy extension plays a message."""
    add_agent(site.db, "8002")
    add_agent(site.db, "8003")
    a = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    b = Softphone("8002", "pw8002", site.addr, tone_hz=2000.0)
    busy = Softphone("8003", "pw8003", site.addr, busy=True)
    for p in (a, b, busy):
        await p.start()
    try:
        await a.dial("8002", site.addr)
        await until(lambda: b.answered.is_set())
        await asyncio.sleep(0.5)
        assert has_tone(await listen(a), 2000.0) and has_tone(await listen(b), 1000.0)
        a.hangup()
        await until(lambda: b.bye_received and not site.line.calls)
        await a.dial("8003", site.addr)  # answered by the switch; 8003 answers 486
        await until(lambda: a.bye_received, timeout=20)  # after the busy message
        said = a.heard.between()
        assert len(said) > 8000 and np.abs(said.astype(np.int32)).mean() > 50
    finally:
        for p in (a, b, busy):
            await p.stop()
    with site.db.session() as s:
        calls = list(s.scalars(select(Call).order_by(Call.offered_at)))
        assert [c.direction.value for c in calls] == ["internal", "internal"]
        assert [c.callee for c in calls] == ["8002", "8003"]
        assert calls[0].answered_at is not None and calls[0].hangup_by is Party.CUSTOMER
        assert calls[1].answered_at is None and calls[1].disposition is Disposition.ABANDONED
        rec = s.scalars(select(Recording)).one()  # CC-04: the answered call is recorded
        assert rec.call_id == calls[0].id
    left, right, _ = read_stereo(Path(rec.path))  # the caller left, the callee right
    assert has_tone(left, 1000.0) and not has_tone(left, 2000.0)
    assert has_tone(right, 2000.0) and not has_tone(right, 1000.0)


async def test_an_extension_that_does_not_answer_says_so(site: Site) -> None:
    """CC-14: 8001 dials 8002, whose phone rings on unanswered: 8001 hears a message."""
    add_agent(site.db, "8002")
    site.line.extension_ring_s = 2.0
    a = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    b = Softphone("8002", "pw8002", site.addr, auto_answer=False)
    for p in (a, b):
        await p.start()
    try:
        await a.dial("8002", site.addr)
        await until(lambda: a.bye_received, timeout=20)  # after the no-answer message
        said = a.heard.between()
        assert len(said) > 8000 and np.abs(said.astype(np.int32)).mean() > 50
        assert not b.answered.is_set()
    finally:
        for p in (a, b):
            await p.stop()
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()
        assert (call.direction.value, call.callee) == ("internal", "8002")
        assert call.answered_at is None and call.disposition is Disposition.ABANDONED
    assert (call.id, ("extension_no_answer", "goodbye")) in site.line.played


async def test_outside_line_with_prefix_needs_the_agents_permission(site: Site) -> None:
    """CC-14/AG-08: 9 + number leaves through the trunk, for permitted agents only."""
    add_agent(site.db, "8002")
    with site.db.session() as s:
        s.scalars(select(Agent).where(Agent.extension == "8001")).one().may_transfer_outside = True
    pstn = Softphone("gw", "", site.addr, tone_hz=2000.0)  # the trunk's gateway
    await pstn.start(register=False)
    site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    site.line.trunk = "pstn"
    allowed = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    denied = Softphone("8002", "pw8002", site.addr, tone_hz=1000.0)
    for p in (allowed, denied):
        await p.start()
    try:
        with pytest.raises(RuntimeError, match="403"):
            await denied.dial("913900001111", site.addr)
        await allowed.dial("913900001111", site.addr)
        await until(lambda: pstn.answered.is_set())
        assert pstn.last_invite_uri.startswith("sip:13900001111@")
        await asyncio.sleep(0.5)
        assert has_tone(await listen(allowed), 2000.0) and has_tone(await listen(pstn), 1000.0)
        pstn.hangup()
        await until(lambda: allowed.bye_received and not site.line.calls)
    finally:
        for p in (allowed, denied, pstn):
            await p.stop()
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()  # the refused attempt leaves no CDR row
        assert (call.direction.value, call.callee) == ("outbound", "913900001111")
        assert call.answered_at is not None and call.disposition is Disposition.ANSWERED
        rec = s.scalars(select(Recording)).one()  # CC-04: outbound calls are recorded too
        assert rec.call_id == call.id and rec.channels == 2
    left, right, _ = read_stereo(Path(rec.path))  # the outside party is the customer: left
    assert has_tone(left, 2000.0) and not has_tone(left, 1000.0)
    assert has_tone(right, 1000.0) and not has_tone(right, 2000.0)


async def test_survey_by_key_after_the_agent_hangs_up(site: Site) -> None:
    """CC-11: the agent hangs up, the caller hears the survey and presses 1 (satisfied)."""
    site.line.survey = True
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    customer = Softphone("13900000000", "x", site.addr, tone_hz=440.0)
    await agent.start()
    await customer.start(register=False)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        await customer.dial("4002", site.addr)
        await until(lambda: any(lc.agent for lc in site.line.calls.values()))
        await asyncio.sleep(0.5)
        agent.hangup()
        await until(lambda: any(lc.in_survey for lc in site.line.calls.values()))
        assert not customer.bye_received  # the caller stays on for the survey
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(1.0)
        assert np.abs(customer.heard.between(t0).astype(np.int32)).mean() > 50  # the prompt
        customer.send_rfc4733("1")
        await until(lambda: customer.bye_received, timeout=20)  # thanks, goodbye, BYE
    finally:
        await customer.stop()
        await agent.stop()
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()
        survey = s.scalars(select(SurveyResponse)).one()
        assert (survey.call_id, survey.agent_id, survey.score) == (call.id, site.agent_id, 5)
        assert call.hangup_by is Party.AGENT


def test_serve_sip_refuses_a_busy_sip_port_in_one_line(tmp_path: Path) -> None:
    """`kefu serve --sip` with the SIP port taken: exit 2 and a one-line error, no traceback."""
    import os
    import socket
    import subprocess
    import sys

    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))
        env = dict(
            os.environ,
            KEFU_DATA_DIR=str(tmp_path),
            KEFU_PORT=str(free_port(kind=socket.SOCK_STREAM)),
            KEFU_SIP_PORT=str(port),
        )
        env.pop("KEFU_DATABASE_URL", None)
        r = subprocess.run(
            [sys.executable, "-m", "kefu", "serve", "--sip"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert r.returncode == 2
    assert f"KEFU_SIP_PORT: cannot listen on udp:127.0.0.1:{port}" in r.stderr
    assert "Traceback" not in r.stderr


async def test_pickup_from_the_console_rings_the_pickers_phone(site: Site) -> None:
    """AG-13: the call rings at 8001 (not answering); 8002 picks it up and talks."""
    second_id = add_agent(site.db, "8002")
    slow = Softphone("8001", "pw8001", site.addr, auto_answer=False)
    picker = Softphone("8002", "pw8002", site.addr, tone_hz=2000.0)
    customer = Softphone("13900000000", "x", site.addr, tone_hz=440.0)
    for p in (slow, picker):
        await p.start()
    await customer.start(register=False)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        await customer.dial("4002", site.addr)
        await until(lambda: any(lc.rings for lc in site.line.calls.values()))
        call_id = next(iter(site.line.calls))
        site.center.agent_login(second_id, ready=True)
        site.center.pickup(second_id, call_id)
        await until(lambda: picker.answered.is_set())
        await asyncio.sleep(0.5)
        assert has_tone(await listen(customer), 2000.0)
        customer.hangup()
        await until(lambda: not site.line.calls)
    finally:
        for p in (customer, slow, picker):
            await p.stop()
    with site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.agent_id == second_id
        assert call.disposition is Disposition.ANSWERED
