"""SLA-04 through the web API: a hold past the warning and the limit reaches the agent's
workspace (WebSocket) and the team leader's wallboard as live events, and is audited."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.core.acd import HoldPolicy
from kefu.store.db import Database
from kefu.store.models import AuditEntry


def _until(ws: Any, pred: Callable[[dict[str, Any]], bool], limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        ev = ws.receive_json()
        if pred(ev):
            return ev  # type: ignore[no-any-return]
    raise AssertionError("event not received")


def _board_alert(ev: dict[str, Any]) -> bool:
    return ev.get("type") == "events" and any(
        e["type"] == "hold_alert" and e["level"] == "limit" for e in ev["events"]
    )


def test_hold_warning_and_limit_reach_agent_and_wallboard(
    app: FastAPI, web_db: Database, client_for: Callable[[str], TestClient]
) -> None:
    center = app.state.center
    # short limits so the timer task fires them in wall-clock time on a loaded machine too
    center.engine.config = dataclasses.replace(
        center.engine.config, hold=HoldPolicy(warn_after=0.3, limit_after=0.8)
    )
    agent = client_for("agent")
    leader = client_for("team_leader")
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    with (
        agent.websocket_connect("/ws/agent") as ws,
        leader.websocket_connect("/ws/wallboard") as board,
    ):
        call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
        _until(ws, lambda e: e["type"] == "offer")
        assert agent.post("/api/agent/answer", json={"call_id": call_id}).status_code == 204
        assert agent.post("/api/agent/hold").status_code == 204
        warn = _until(ws, lambda e: e["type"] == "hold_alert")
        assert (warn["level"], warn["call_id"], warn["limit_s"]) == ("warn", call_id, 0.3)
        assert warn["held_s"] >= 0.3 and warn["resumed"] is False
        limit = _until(ws, lambda e: e["type"] == "hold_alert")
        assert (limit["level"], limit["resumed"]) == ("limit", False)
        assert agent.get("/api/agent/state").json()["state"] == "on_hold"  # not resumed
        frame = _until(board, _board_alert)
        (seen,) = [
            e for e in frame["events"] if e["type"] == "hold_alert" and e["level"] == "limit"
        ]
        assert seen["agent_no"] == "1001" and seen["call_id"] == call_id
        assert agent.post("/api/agent/resume").status_code == 204
        assert agent.post("/api/agent/hangup").status_code == 204
    with web_db.session() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.action.like("hold.%")).order_by(AuditEntry.id)
        ).all()
        assert [(r.action, r.target) for r in rows] == [
            ("hold.warn", "1001"),
            ("hold.limit", "1001"),
        ]
        assert rows[1].detail is not None and rows[1].detail["call_id"] == call_id
