"""`kefu serve --demo` traffic (issue 6 item 8): a living contact center in seconds.

Everything is real: the SQLite store, the Center with the pure core and its timers, the
hub, the QA engine (default rulebook) and web-B's qa_review.store_result. The demo runs
at rate x40 and speed x8 (durations divided by 8) so that within seconds calls are
offered, answered by bots, abandoned by impatient callers, and QA results are stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kefu.config import Settings
from kefu.services import demo
from kefu.store.db import Database
from kefu.store.models import Agent, Call, Disposition, Number, QaFinding, QaResult, Queue, User

from .conftest import login

DEADLINE_S = 20.0


def _wait(pred: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def test_render_transcript_spans_talk_time_at_a_natural_rate() -> None:
    template = {
        "lines": [
            "A: 您好，{org}，请问有什么可以帮您？",
            "C: 查话费。",
            {"hold": 20},
            "A: 感谢您的来电，再见！",
        ]
    }
    utts, events, end = demo.render_transcript(
        template, {"org": "客服中心"}, answer_at=3.0, span=60.0
    )
    assert [u["role"] for u in utts] == ["agent", "customer", "agent"]
    assert utts[0]["text"] == "您好，客服中心，请问有什么可以帮您？"
    assert utts[0]["start"] > 3.0
    assert [e["type"] for e in events] == ["hold_start", "hold_end"]
    assert events[1]["t"] - events[0]["t"] == 20.0
    starts = [u["start"] for u in utts]
    assert starts == sorted(starts)
    agent = [u for u in utts if u["role"] == "agent"]
    rate = sum(len(u["text"]) for u in agent) / sum(u["end"] - u["start"] for u in agent) * 60
    assert 90 <= rate <= 160  # LISTEN-RATE's band
    assert end > events[1]["t"]


def test_provision_is_idempotent(web_db: Database) -> None:
    scenario, transcripts = demo.load_demo_scenario(), demo.load_transcripts()
    first = demo.provision(web_db, scenario, transcripts)
    second = demo.provision(web_db, scenario, transcripts)
    assert first == second and len(first) == 6
    assert [b.agent_no for b in first] == [str(9001 + i) for i in range(6)]
    with web_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Queue)) == len(scenario.queues)
        numbers = set(s.scalars(select(Number.number)))
        assert {"4006001001", "4006001002", "4006001003"} <= numbers
        bot = s.scalar(select(User).join(Agent).where(Agent.agent_no == "9001"))
        assert bot is not None and bot.role.value == "agent" and bot.display_name == "坐席01"
        assert s.scalar(select(Agent.extension).where(Agent.agent_no == "9006")) == "89006"


def test_demo_traffic_moves_the_center_and_fills_qa(tmp_path: Path, web_db: Database) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=str(web_db.engine.url))
    app = demo.demo_app(settings, web_db, rate=40.0, speed=8.0, seed=7)
    traffic: demo.DemoTraffic = app.state.demo_traffic
    hub = app.state.hub
    center = app.state.center
    seen: list[dict[str, Any]] = []
    original = hub.publish

    def spy(topic: str, event: dict[str, Any]) -> None:
        if topic == "wallboard":
            seen.append(event)
        original(topic, event)

    hub.publish = spy
    started = time.monotonic()
    with TestClient(app, follow_redirects=False) as client:
        # a real human agent logs in alongside the bots and goes idle
        login(client, "agent")
        assert client.post("/api/agent/login").status_code == 200
        with web_db.session() as s:
            human = str(s.scalar(select(Agent.id).where(Agent.agent_no == "1001")))
        with client.websocket_connect("/ws/agent") as ws:
            assert client.post("/api/agent/state", json={"state": "idle"}).status_code == 200
            offer = None
            while offer is None:  # the screen pop of a demo call, routed like to any bot
                ev = ws.receive_json()
                if ev.get("type") == "offer":
                    offer = ev
            assert offer["caller"] and offer["region"]
        assert time.monotonic() - started < DEADLINE_S

        def cdr(disposition: Disposition) -> int:
            with web_db.session() as s:
                return int(
                    s.scalar(
                        select(func.count())
                        .select_from(Call)
                        .where(Call.disposition == disposition)
                    )
                    or 0
                )

        _wait(lambda: cdr(Disposition.ANSWERED) >= 3, "answered calls in the CDR")
        _wait(lambda: cdr(Disposition.ABANDONED) >= 1, "abandoned calls in the CDR")
        _wait(lambda: traffic.stats.qa_stored >= 3, "QA results stored")

        def breaches() -> int:
            with web_db.session() as s:
                return int(
                    s.scalar(
                        select(func.count())
                        .select_from(QaFinding)
                        .where(QaFinding.severity != "credit")
                    )
                    or 0
                )

        # a third of the scripts breach a rule: one shows up among the first calls
        _wait(breaches, "a QA finding (breach) stored")
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S + 5
    assert traffic.stats.offered > traffic.stats.answered > 0
    assert traffic.stats.abandoned >= 1

    types = {e["type"] for e in seen}
    assert {"state", "call_ringing", "call_connected", "queue_changed"} <= types
    bot_ids = {str(b.agent_id) for b in traffic.bots}
    moves = {
        (e["old"], e["state"]) for e in seen if e["type"] == "state" and e["agent_id"] in bot_ids
    }
    assert ("idle", "ringing") in moves and ("ringing", "on_call") in moves
    assert any(new == "after_call_work" for _, new in moves)
    assert any(e["type"] == "state" and e["agent_id"] == human for e in seen)

    with web_db.session() as s:
        calls = s.scalars(select(Call).where(Call.disposition == Disposition.ANSWERED)).all()
        assert all(c.agent_id is not None and c.answered_at is not None for c in calls)
        assert all(c.queue_id is not None for c in s.scalars(select(Call)))  # queue stats
        regions = {c.caller_region for c in s.scalars(select(Call))}
        assert len(regions - {None}) >= 2  # callers from several provinces
        results = s.scalars(select(QaResult)).all()
        assert len(results) >= 3
        for r in results:
            assert r.call_id is not None and s.get(Call, r.call_id) is not None
            assert r.agent_id in {b.agent_id for b in traffic.bots}
            assert 0 <= r.score <= 100
            assert r.conversation["channel"] == "voice" and r.conversation["utterances"]
            assert r.conversation["events"][-1]["type"] == "hangup"
        findings = s.scalars(select(QaFinding).where(QaFinding.severity != "credit")).all()
        assert findings and all(f.rule and f.points < 0 and f.message for f in findings)
        assert any(r.score < 100 for r in results)
    assert center.is_logged_in(int(human))
