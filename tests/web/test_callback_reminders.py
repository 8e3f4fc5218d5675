"""SLA-05: a callback reminder fires at the promised time, a promise kept by a call closes by
itself, and a promise not done by its time plus grace is missed: shown to the agent and to the
team leader (only their team), audited. Service with an injected clock on both databases; the
live events through the running `kefu serve` app (SQLite)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.services import callbacks, crm
from kefu.services.callbacks import Reminders
from kefu.services.live import LiveHub
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AuditEntry,
    Call,
    Customer,
    Direction,
    OutboundTask,
    Role,
    Team,
    User,
)
from kefu.store.models.crm import TaskStatus

BJ = dt.timezone(dt.timedelta(hours=8))
T = dt.datetime(2026, 12, 1, 10, 0, tzinfo=BJ)
MIN = dt.timedelta(minutes=1)


class Clock:
    def __init__(self) -> None:
        self.at = T

    def __call__(self) -> float:
        return self.at.timestamp()


def _seed(db: Database) -> dict[str, int]:
    with db.session() as s:
        red, blue = Team(name="红队"), Team(name="蓝队")
        s.add_all([red, blue])
        s.flush()
        ids: dict[str, int] = {"red": red.id, "blue": blue.id}
        for key, no, team in (("a", "3001", red), ("b", "3002", blue)):
            u = User(
                username=f"u{no}", display_name=f"坐席{no}", role=Role.AGENT, password_hash="x"
            )
            u.team_id = team.id
            u.agent = Agent(agent_no=no, extension=f"83{no[2:]}")
            s.add(u)
            s.flush()
            assert u.agent is not None
            ids[key], ids[key + "_user"] = u.agent.id, u.id
        for key, phone in (("c1", "13800000001"), ("c2", "13800000002"), ("c3", "13800000003")):
            c = Customer(name=key, phone=phone)
            s.add(c)
            s.flush()
            ids[key] = c.id

        def promise(cust: str, agent: str, at: dt.datetime, note: str) -> int:
            customer = s.get(Customer, ids[cust])
            assert customer is not None
            task = crm.schedule_callback(s, customer, at, note, ids[agent], ids[agent + "_user"])
            task.created_at = T - 60 * MIN  # promised an hour before
            return task.id

        ids["t1"] = promise("c1", "a", T, "回访物流")
        ids["t2"] = promise("c2", "a", T + 60 * MIN, "确认退款")
        ids["t3"] = promise("c3", "a", T, "电话已回")
        ids["t4"] = promise("c1", "b", T, "蓝队的")
    return ids


def test_reminders_fire_close_and_miss_with_injected_clock(db: Database) -> None:
    ids = _seed(db)
    clock = Clock()
    rem = Reminders(db, LiveHub(), clock=clock)
    clock.at = T - dt.timedelta(seconds=1)
    assert rem.run_once() == callbacks.Sweep()
    assert rem.seconds_to_next() == 1.0
    clock.at = T
    assert sorted(rem.run_once().fired) == sorted([ids["t1"], ids["t3"], ids["t4"]])
    assert rem.run_once() == callbacks.Sweep()  # fires once
    # the agent calls customer 3 back at 10:05: that promise is kept
    with db.session() as s:
        s.add(
            Call(
                id="out-1",
                direction=Direction.OUTBOUND,
                caller="8301",
                callee="13800000003",
                agent_id=ids["a"],
                offered_at=T + 5 * MIN,
            )
        )
    clock.at = T + 10 * MIN
    assert rem.run_once() == callbacks.Sweep(kept=[ids["t3"]])
    clock.at = T + 15 * MIN  # the deadline itself is still in time
    assert rem.run_once() == callbacks.Sweep()
    clock.at = T + 15 * MIN + dt.timedelta(seconds=1)
    assert sorted(rem.run_once().missed) == sorted([ids["t1"], ids["t4"]])
    now = clock.at
    with db.session() as s:
        t3 = s.get(OutboundTask, ids["t3"])
        assert t3 is not None and t3.status is TaskStatus.DONE and t3.call_id == "out-1"
        mine = [
            callbacks.reminder_dict(t, now, callbacks.DEFAULT_GRACE)
            for t in callbacks.for_agent(s, ids["a"])
        ]
        assert [(m["id"], m["missed"], m["due"]) for m in mine] == [
            (ids["t1"], True, True),
            (ids["t2"], False, False),
        ]
        red = callbacks.missed(s, now, team_id=ids["red"])
        assert [(r["id"], r["agent_no"], r["customer"], r["late_s"]) for r in red] == [
            (ids["t1"], "3001", "c1", 1)
        ]
        assert {r["id"] for r in callbacks.missed(s, now)} == {ids["t1"], ids["t4"]}
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "callback.missed")).all()
        assert sorted(a.target for a in audits) == sorted([str(ids["t1"]), str(ids["t4"])])
    # done late: still a missed promise, with when it was done; done in time: not missed
    with db.session() as s:
        callbacks.complete(s, ids["t1"], ids["a"], T + 20 * MIN, "已回电")
        callbacks.complete(s, ids["t2"], ids["a"], T + 61 * MIN)
    with db.session() as s:
        later = T + 2 * 60 * MIN
        rows = callbacks.missed(s, later, team_id=ids["red"])
        assert [(r["id"], r["late_s"], r["status"]) for r in rows] == [(ids["t1"], 300, "done")]
        assert callbacks.for_agent(s, ids["a"]) == []
        try:
            callbacks.complete(s, ids["t4"], ids["a"], later)
        except callbacks.CallbackError as exc:
            assert "not one of yours" in str(exc)
        else:
            raise AssertionError("an agent completed another agent's callback")


def _ws_until(ws: Any, kind: str, limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        ev = ws.receive_json()
        if ev["type"] == kind:
            return ev  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind} event")


def test_reminder_fires_live_and_missed_promise_shows_to_leader(
    app: FastAPI, web_db: Database, client_for: Callable[[str], TestClient]
) -> None:
    agent = client_for("agent")
    leader = client_for("team_leader")
    qa = client_for("qa")
    cid = agent.post("/api/customers", json={"phone": "13800138000", "name": "王先生"}).json()["id"]
    with agent.websocket_connect("/ws/agent") as ws:
        assert ws.receive_json()["type"] == "hello"
        at = dt.datetime.now(BJ) + dt.timedelta(seconds=1)
        res = agent.post(
            f"/api/customers/{cid}/callbacks", json={"at": at.isoformat(), "note": "回访满意度"}
        )
        assert res.status_code == 201
        tid = res.json()["id"]
        due = _ws_until(ws, "callback_due")  # the reminders task of the app fires it
        assert (due["id"], due["number"], due["note"]) == (tid, "13800138000", "回访满意度")
        assert time.time() >= at.timestamp()
        # an hour later (injected clock) the promise is missed
        reminders = app.state.reminders
        reminders.clock = lambda: time.time() + 3600
        missed = _ws_until(ws, "callback_missed")
        assert missed["id"] == tid and missed["missed"] is True
    mine = agent.get("/api/agent/callbacks").json()
    assert [(m["id"], m["missed"], m["status"]) for m in mine] == [(tid, True, "overdue")]
    rows = leader.get("/api/callbacks/missed").json()
    assert [(r["id"], r["agent_no"], r["customer"], r["number"]) for r in rows] == [
        (tid, "1001", "王先生", "13800138000")
    ]
    assert agent.get("/api/callbacks/missed").status_code == 403
    assert qa.get("/api/callbacks/missed").status_code == 403
    assert "未履约回访" in leader.get("/reports").text
    res = agent.post(f"/api/agent/callbacks/{tid}/done", json={"result": "已回电"})
    assert res.status_code == 200 and res.json()["status"] == "done"
    assert agent.post(f"/api/agent/callbacks/{tid}/done", json={}).status_code == 404
    assert agent.get("/api/agent/callbacks").json() == []
    assert [r["done_at"] is not None for r in leader.get("/api/callbacks/missed").json()] == [True]
