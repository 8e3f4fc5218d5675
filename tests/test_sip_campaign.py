"""CC-05 on real SIP: a progressive campaign dials through the trunk, the answered customer
goes to the owner agent's phone through the ACD, a busy number is retried, a CDR per attempt.

Peers on loopback as in test_sip_click_to_dial: the agent's phone (1000 Hz) and the trunk's
gateway softphone (2000 Hz, auto-answering; `busy` makes it answer 486).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kefu.audio.tones import has_tone
from kefu.core.agent import AgentState
from kefu.core.calling_hours import CallingHours
from kefu.core.dialer import Control
from kefu.services import campaigns
from kefu.services.campaign_runner import CampaignRunner
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import Call, CampaignTask, Direction, Disposition
from kefu.telephony.sip.dialer_line import SipCampaignPort
from kefu.telephony.sip.softphone import Softphone
from test_sip_line import Site, close_site, listen, open_site, seed, until

pytestmark = [pytest.mark.timeout(120), pytest.mark.anyio]

OWNED = "13900001111"  # owner agent 1001 (extension 8001)
OTHER = "13900002222"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    seed(db)
    s = await open_site(tmp_path, db)
    yield s
    await close_site(s)


async def test_progressive_campaign_over_the_trunk(site: Site) -> None:
    pstn = Softphone("gw", "", site.addr, tone_hz=2000.0, answer_delay=0.5, busy=True)
    await pstn.start(register=False)
    site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    site.line.trunk = "pstn"
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0, answer_delay=0.3)
    await agent.start()
    with site.db.session() as s:
        report = campaigns.import_tasks(
            s,
            f"number,owner_agent\n{OWNED},1001\n{OTHER},\n",
            "list.csv",
            name="spring",
            queue="service",
            mode="progressive",
            retry_delays={"busy": 3.0},
        )
        assert (report.added, report.errors) == (2, [])
        campaigns.control(s, "spring", Control.START)
    site.center.agent_login(site.agent_id, ready=True)
    runner = CampaignRunner(
        site.center,
        SipCampaignPort(site.line),
        hours=CallingHours(),
        local_time=lambda: dt.time(10, 0),
        interval=0.2,
    )
    await runner.start()
    try:
        # one idle agent: one number out; the gateway is busy: 486, and the next number
        await until(lambda: len(pstn.invites) >= 1)
        await asyncio.sleep(0.5)
        assert len(pstn.invites) <= 2  # never more calls out than idle agents
        await until(lambda: _task(site, "2").last_outcome == "busy")
        first_uri = pstn.invites[0][2]
        assert first_uri.startswith(f"sip:{OWNED}@")
        pstn.busy = False
        # the other number (or the retry) is answered and rings the agent's phone
        await until(lambda: agent.answered.is_set(), timeout=30)
        await asyncio.sleep(0.5)
        assert has_tone(await listen(agent), 2000.0) and has_tone(await listen(pstn), 1000.0)
        pstn.hangup()
        await until(lambda: agent.bye_received and not site.line.calls, timeout=20)
        site.center.set_state(site.agent_id, AgentState.IDLE)  # 示闲 ends after-call work
        # the busy number comes back after its retry delay and reaches its owner
        await until(lambda: _task(site, "2").status == "connected", timeout=40)
        await until(lambda: len(agent.invites) >= 2, timeout=20)
        await until(lambda: pstn.answered.is_set() and site.line.calls, timeout=20)
        await asyncio.sleep(0.5)
        assert has_tone(await listen(agent), 2000.0) and has_tone(await listen(pstn), 1000.0)
        pstn.hangup()
        await until(lambda: not site.line.calls, timeout=20)
    finally:
        await runner.stop()
        for p in (agent, pstn):
            await p.stop()
    t1, t2 = _task(site, "2"), _task(site, "3")
    assert (t1.status, t1.attempts) == ("connected", 2)  # busy once, then answered
    assert t2.status == "connected"
    with site.db.session() as s:
        rows = {c.id: c for c in s.scalars(select(Call))}
        s.expunge_all()
    # a CDR per attempt: the busy ones say busy, the last one was answered by the agent
    assert {i for i in rows if i.startswith("spring-")} == {
        f"spring-{t.task_key}-{n}" for t in (t1, t2) for n in range(1, t.attempts + 1)
    }
    for t in (t1, t2):
        for n in range(1, t.attempts):
            assert rows[f"spring-{t.task_key}-{n}"].disposition is Disposition.BUSY
        c = rows[f"spring-{t.task_key}-{t.attempts}"]
        assert c.direction is Direction.OUTBOUND and c.callee == t.number
        assert c.disposition is Disposition.ANSWERED and c.agent_id == site.agent_id
        assert c.answered_at is not None and c.ended_at is not None


def _task(site: Site, key: str) -> CampaignTask:
    with site.db.session() as s:
        t = s.scalars(select(CampaignTask).where(CampaignTask.task_key == key)).one()
        s.expunge(t)
        return t


async def test_the_owner_agent_takes_the_customer_not_the_longest_idle(site: Site) -> None:
    """Two idle agents; 8002 has waited longest, but the customer's owner is 1001 (8001):
    the dialer claims 8002 for the dial and hands the answered customer to the owner."""
    from kefu.security.password import sip_ha1
    from kefu.services import users
    from kefu.store.models import Agent, Role

    uid = users.create_user(
        site.db, "agent8002", "Kefu-test-8002!", Role.AGENT, agent_no="1002", extension="8002"
    )
    with site.db.session() as s:
        a2 = s.scalars(select(Agent).where(Agent.user_id == uid)).one()
        a2.sip_ha1 = sip_ha1("8002", "kefu", "pw8002")
        a2_id = a2.id
    pstn = Softphone("gw", "", site.addr, tone_hz=2000.0, answer_delay=0.5)
    await pstn.start(register=False)
    site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    site.line.trunk = "pstn"
    owner = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0, answer_delay=0.3)
    other = Softphone("8002", "pw8002", site.addr, tone_hz=1500.0, answer_delay=0.3)
    await owner.start()
    await other.start()
    with site.db.session() as s:
        campaigns.import_tasks(
            s, f"{OWNED},1001\n", "one.csv", name="own", queue="service", mode="progressive"
        )
        campaigns.control(s, "own", Control.START)
    site.center.agent_login(a2_id, ready=True)  # idle first: the longest idle
    await asyncio.sleep(0.05)
    site.center.agent_login(site.agent_id, ready=True)
    runner = CampaignRunner(
        site.center,
        SipCampaignPort(site.line),
        hours=CallingHours(),
        local_time=lambda: dt.time(10, 0),
        interval=0.2,
    )
    await runner.start()
    try:
        await until(lambda: owner.answered.is_set(), timeout=30)
        await asyncio.sleep(0.5)
        heard = await listen(owner)
        assert has_tone(heard, 2000.0) and has_tone(await listen(pstn), 1000.0)
        assert other.invites == []  # the claimed, longest-idle agent was not rung
        pstn.hangup()
        await until(lambda: not site.line.calls, timeout=20)
    finally:
        await runner.stop()
        for p in (owner, other, pstn):
            await p.stop()
    with site.db.session() as s:
        c = s.get(Call, "own-1-1")
        assert c is not None and c.agent_id == site.agent_id
        assert c.disposition is Disposition.ANSWERED


async def test_answered_with_no_agent_free_hears_the_message_and_counts_abandoned(
    site: Site,
) -> None:
    """Predictive: the agent went busy while the number rang; the customer who answers
    hears the short message and is hung up on; the attempt is an abandoned call."""
    pstn = Softphone("gw", "", site.addr, tone_hz=2000.0, answer_delay=2.0)
    await pstn.start(register=False)
    site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    site.line.trunk = "pstn"
    with site.db.session() as s:
        campaigns.import_tasks(
            s, f"{OWNED}\n", "drop.csv", name="pd", queue="service", mode="predictive"
        )
        campaigns.control(s, "pd", Control.START)
    site.center.agent_login(site.agent_id, ready=True)
    runner = CampaignRunner(
        site.center,
        SipCampaignPort(site.line),
        hours=CallingHours(),
        local_time=lambda: dt.time(10, 0),
        interval=0.2,
    )
    await runner.start()
    try:
        await until(lambda: pstn.invites)
        site.center.set_state(site.agent_id, AgentState.BUSY, "meeting")
        await until(lambda: pstn.bye_received, timeout=30)
    finally:
        await runner.stop()
        await pstn.stop()
    assert ("pd-1-1", ("goodbye",)) in site.line.played
    d = runner.dialers.get("pd")
    t = _task(site, "1")
    assert (t.status, t.last_outcome) == ("pending", "abandoned")  # retried later
    with site.db.session() as s:
        c = s.get(Call, "pd-1-1")
        assert c is not None and c.disposition is Disposition.ABANDONED
    assert d is None or d.counts.abandoned == 1
