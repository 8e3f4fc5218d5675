"""CC-05 campaigns over HTTP: supervisors import and control, team leaders only look."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.config import Settings
from kefu.core.agent import AgentState
from kefu.core.dialer import Control
from kefu.core.events import AgentAnswered
from kefu.services import campaigns
from kefu.services.campaign_runner import VirtualTrunk
from kefu.store.db import Database
from kefu.store.models import Agent, Call, CampaignTask, Direction, Queue
from kefu.web.app import create_app


def test_supervisor_imports_starts_and_pauses(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    with web_db.session() as s:
        s.add(Queue(name="sales"))
    sup = client_for("supervisor")
    body = {
        "name": "spring",
        "queue": "sales",
        "mode": "preview",
        "csv": "number,owner_agent\n13900000001,1001\n12,\n13900000002,\n",
        "source": "spring.csv",
    }
    res = sup.post("/api/campaigns/import", json=body)
    assert res.status_code == 201, res.text
    assert res.json() == {
        "campaign": "spring",
        "added": 2,
        "errors": [
            "spring.csv:3: number: '12' is not a phone number (5 to 20 digits, an optional "
            "leading +)"
        ],
    }
    res = sup.post("/api/campaigns/spring/start")
    assert res.status_code == 200 and res.json()["state"] == "running"
    res = sup.post("/api/campaigns/spring/pause")
    assert res.json()["state"] == "paused"
    assert res.json()["by_status"] == {"pending": 2}
    res = sup.post("/api/campaigns/spring/fly")
    assert res.status_code == 404
    res = sup.post("/api/campaigns/nope/start")
    assert res.status_code == 404 and "campaign 'nope'" in res.text
    res = sup.post("/api/campaigns/import", json={**body, "queue": "nowhere"})
    assert res.status_code == 422 and "queue 'nowhere': not configured" in res.text

    leader = client_for("team_leader")
    [listed] = leader.get("/api/campaigns").json()
    assert (listed["name"], listed["total"], listed["state"]) == ("spring", 2, "paused")
    assert leader.post("/api/campaigns/spring/start").status_code == 403
    agent = client_for("agent")
    assert agent.get("/api/campaigns").status_code == 403
    assert agent.post("/api/campaigns/import", json=body).status_code == 403


def test_demo_runner_dials_and_the_owner_agent_is_rung(tmp_path: Path, web_db: Database) -> None:
    """`kefu serve --demo`: the runner dials virtual customers; the answered one enters the
    queue and rings the owner agent (core state), a CDR per attempt."""
    with web_db.session() as s:
        s.add(Queue(name="sales"))
    settings = Settings(data_dir=tmp_path / "data", database_url=str(web_db.engine.url))
    app = create_app(settings, web_db, demo=True)
    center = app.state.center
    app.state.campaign_trunk = VirtualTrunk(center, answer_rate=1.0, ring=(0.05, 0.1), seed=1)
    with web_db.session() as s:
        agent_id = s.scalars(select(Agent.id).where(Agent.agent_no == "1001")).one()
        campaigns.import_tasks(
            s, "13900000001,1001\n", "t.csv", name="demo", queue="sales", mode="progressive"
        )
        campaigns.control(s, "demo", Control.START)
    with TestClient(app):
        # SLA-03 holds campaigns outside the calling hours: nothing at 23:00, dials at 10:00
        app.state.campaigns.local_time = lambda: dt.time(23, 0)
        center.reload()
        center.agent_login(agent_id, ready=True)
        time.sleep(2.5)  # the runner steps every second
        with web_db.session() as s:
            assert s.scalars(select(Call)).all() == []
        app.state.campaigns.local_time = lambda: dt.time(10, 0)
        deadline = time.monotonic() + 15
        while center.agent_view(agent_id).state is not AgentState.RINGING:
            assert time.monotonic() < deadline, center.agent_view(agent_id)
            time.sleep(0.05)
        assert app.state.campaigns is not None
        # more numbers for a finished campaign: it reopens paused, and dials once started
        center.apply(AgentAnswered(str(agent_id), "demo-1-1", center.now()))
        center.hangup(agent_id)
        center.set_state(agent_id, AgentState.IDLE)
        deadline = time.monotonic() + 15  # the runner's next step marks the campaign finished
        while True:
            with web_db.session() as s:
                if campaigns.progress(s, "demo").state == "finished":
                    break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with web_db.session() as s:
            campaigns.import_tasks(
                s, "13900000002\n", "t.csv", name="demo", queue="sales", mode="progressive"
            )
            assert campaigns.progress(s, "demo").state == "paused"  # finished, reopened
            campaigns.control(s, "demo", Control.START)
        deadline = time.monotonic() + 15
        while center.agent_view(agent_id).call_id != "demo-1.2-1":
            assert time.monotonic() < deadline, center.agent_view(agent_id)
            time.sleep(0.05)
    with web_db.session() as s:
        call = s.get(Call, "demo-1-1")
        task = s.scalars(select(CampaignTask).where(CampaignTask.task_key == "1")).one()
        assert call is not None and call.direction is Direction.OUTBOUND
        assert call.callee == "13900000001" or call.caller == "13900000001"
        assert task.status == "connected" and task.last_call_id == "demo-1-1"


def test_preview_decision_needs_an_agent_and_a_running_dialer(
    client_for: Callable[[str], TestClient],
) -> None:
    agent = client_for("agent")
    res = agent.post("/api/campaigns/x/preview/1/accept")
    assert res.status_code == 422 and "campaign 'x' is not running" in res.text
    assert agent.post("/api/campaigns/x/preview/1/maybe").status_code == 404
    assert client_for("supervisor").post("/api/campaigns/x/preview/1/accept").status_code == 403


def test_console_page(client_for: Callable[[str], TestClient], web_db: Database) -> None:
    with web_db.session() as s:
        s.add(Queue(name="sales"))
    page = client_for("supervisor").get("/campaigns")
    assert page.status_code == 200
    assert "外呼任务" in page.text and 'id="cp-import"' in page.text
    assert '<option value="sales">sales</option>' in page.text
    leader = client_for("team_leader").get("/campaigns")
    assert leader.status_code == 200
    assert 'id="cp-import"' not in leader.text  # team leaders look, supervisors manage
    assert client_for("agent").get("/campaigns").status_code == 403


def test_preview_campaign_end_to_end(
    client_for: Callable[[str], TestClient], app: FastAPI, web_db: Database
) -> None:
    """Preview: the idle agent is reserved (busy, reason campaign) and shown the task; nothing
    is dialled until the agent accepts over HTTP; the answered customer rings that agent."""
    sup = client_for("supervisor")
    with web_db.session() as s:
        s.add(Queue(name="sales"))
        agent_id = s.scalars(select(Agent.id).where(Agent.agent_no == "1001")).one()
    center = app.state.center
    assert center.reload()
    runner = app.state.campaigns
    runner.port = VirtualTrunk(center, answer_rate=1.0, ring=(0.05, 0.1), seed=2)
    runner.local_time = lambda: dt.time(10, 0)
    res = sup.post(
        "/api/campaigns/import",
        json={"name": "pv", "queue": "sales", "mode": "preview", "csv": "13900000009\n"},
    )
    assert res.status_code == 201, res.text
    center.agent_login(agent_id, ready=True)
    assert sup.post("/api/campaigns/pv/start").status_code == 200
    _wait(lambda: center.agent_view(agent_id).reason == "campaign")
    time.sleep(1.5)
    with web_db.session() as s:
        assert s.scalars(select(Call)).all() == []  # shown, not dialled
    agent = client_for("agent")
    res = agent.post("/api/campaigns/pv/preview/1/accept")
    assert res.status_code == 200, res.text
    _wait(lambda: center.agent_view(agent_id).call_id == "pv-1-1")
    assert center.agent_view(agent_id).state is AgentState.RINGING


def _wait(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline
        time.sleep(0.05)
