"""The agent's seat and calls through the real center (AG-01..AG-13, AG-19..AG-21 API):
state changes, a call offered over the WebSocket with caller and region, answer, hold,
hang-up, after-call work, CDR rows, missed calls, waiting calls, transfer permission,
supervisor actions and their audit."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.core.events import AgentAnswered
from kefu.store.db import Database
from kefu.store.models import AuditEntry, Call, CallHold, CallLeg, Disposition


def _ws_until(ws: Any, kind: str, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        ev = ws.receive_json()
        if ev["type"] == kind:
            return ev  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind} event")


def test_state_controls(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    assert agent.get("/api/agent/state").json()["state"] == "busy"  # logged in busy
    assert agent.post("/api/agent/state", json={"state": "idle"}).json()["state"] == "idle"
    res = agent.post("/api/agent/state", json={"state": "busy", "reason": "meeting"}).json()
    assert res["state"] == "busy" and res["reason"] == "meeting"
    assert agent.post("/api/agent/state", json={"state": "break"}).json()["state"] == "break"
    assert agent.post("/api/agent/logout").json()["state"] == "logged_out"
    assert agent.post("/api/agent/login").json()["state"] == "busy"
    res = agent.post("/api/agent/state", json={"state": "sleeping"})
    assert res.status_code == 422


def test_call_offered_answered_held_and_hung_up(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    agent = client_for("agent")
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    with agent.websocket_connect("/ws/agent") as ws:
        assert ws.receive_json()["type"] == "hello"
        res = boss.post("/api/sim/calls", json={"caller": "13800138000", "dialed": "4001234567"})
        assert res.status_code == 201
        call_id = res.json()["call_id"]
        offer = _ws_until(ws, "offer")
        assert offer["call_id"] == call_id
        assert offer["caller"] == "13800138000"
        assert offer["region"].startswith("北京")
        pop = agent.get(f"/api/workspace/pop/{call_id}").json()
        assert pop["is_new"] is True and pop["customer"]["phone"] == "13800138000"
        assert agent.post("/api/agent/answer", json={"call_id": call_id}).status_code == 204
        _ws_until(ws, "connected")
        assert agent.get("/api/agent/state").json()["state"] == "on_call"
        assert agent.post("/api/agent/mute", json={"muted": True}).status_code == 204
        assert agent.post("/api/agent/hold").status_code == 204
        assert agent.get("/api/agent/state").json()["state"] == "on_hold"
        assert agent.post("/api/agent/resume").status_code == 204
        assert agent.post("/api/agent/hangup").status_code == 204
        _ws_until(ws, "call_ended")
    assert agent.get("/api/agent/state").json()["state"] == "after_call_work"
    with web_db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None
        assert call.disposition is Disposition.ANSWERED
        assert call.answered_at is not None and call.ended_at is not None
        assert call.agent_id is not None and call.customer_id == pop["customer"]["id"]
        assert call.caller_region and call.caller_region.startswith("北京")
        legs = s.scalars(select(CallLeg).where(CallLeg.call_id == call_id)).all()
        assert len(legs) == 1 and legs[0].answered_at is not None
        holds = s.scalars(select(CallHold).where(CallHold.call_id == call_id)).all()
        assert len(holds) == 1 and holds[0].ended_at is not None
    # the customer record now shows the call in its history
    hist = agent.get(f"/api/customers/{pop['customer']['id']}").json()["history"]
    assert any(h["kind"] == "call" and h["ref"] == call_id for h in hist)


def test_waiting_calls_and_caller_hangup(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    boss = client_for("supervisor")
    call_id = boss.post("/api/sim/calls", json={"caller": "02087654321"}).json()["call_id"]
    waiting = agent.get("/api/queues/waiting").json()
    assert [w["call_id"] for w in waiting] == [call_id]
    assert waiting[0]["region"].startswith("广东")
    assert boss.post(f"/api/sim/calls/{call_id}/hangup").status_code == 204
    assert agent.get("/api/queues/waiting").json() == []


def test_missed_call_after_ring_timeout(
    app: FastAPI, web_db: Database, client_for: Callable[[str], TestClient]
) -> None:
    center = app.state.center
    # a 1-second ring timeout: the timer task must fire it in wall-clock time
    center.engine.queues["default"].config = center.engine.queues["default"].config.__class__(
        name="default", ring_timeout=0.5
    )
    agent = client_for("agent")
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    call_id = boss.post("/api/sim/calls", json={"caller": "13912345678"}).json()["call_id"]
    deadline = time.time() + 5
    missed: list[dict[str, Any]] = []
    while time.time() < deadline and not missed:
        time.sleep(0.2)
        missed = agent.get("/api/agent/missed").json()
    assert [m["call_id"] for m in missed] == [call_id]
    boss.post(f"/api/sim/calls/{call_id}/hangup")


def test_outside_transfer_needs_permission(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
    agent.post("/api/agent/answer", json={"call_id": call_id})
    res = agent.post("/api/agent/transfer", json={"kind": "outside", "target": "13900000000"})
    assert res.status_code == 403
    assert res.json()["error_id"] == "permission-denied"
    # to a queue is allowed
    res = agent.post("/api/agent/transfer", json={"kind": "queue", "target": "default"})
    assert res.status_code == 204


def test_supervisor_actions_are_checked_and_audited(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    agent = client_for("agent")
    agent.post("/api/agent/state", json={"state": "idle"})
    boss = client_for("supervisor")
    assert boss.post("/api/supervisor/agents/1001/force_busy").status_code == 204
    assert agent.get("/api/agent/state").json()["state"] == "busy"
    assert boss.post("/api/supervisor/agents/1001/force_idle").status_code == 204
    assert agent.get("/api/agent/state").json()["state"] == "idle"
    leader = client_for("team_leader")
    res = leader.post("/api/supervisor/agents/1001/force_logout")
    assert res.status_code == 403 and res.json()["error_id"] == "permission-denied"
    live = boss.get("/api/supervisor/agents").json()
    assert {a["agent_no"]: a["state"] for a in live}["1001"] == "idle"
    assert boss.post("/api/supervisor/agents/1001/force_logout").status_code == 204
    assert agent.get("/api/agent/state").json()["state"] == "logged_out"
    with web_db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("supervisor.%"))).all()
        actions = [(r.action, r.detail["allowed"], r.actor_name) for r in rows]
    assert ("supervisor.force_busy", True, "super1") in actions
    assert ("supervisor.force_logout", False, "leader1") in actions
    assert ("supervisor.force_logout", True, "super1") in actions


def test_skill_group_sign_in_and_out(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    admin = client_for("admin")
    assert admin.post("/api/admin/skill-groups", json={"name": "售后"}).status_code == 201
    res = admin.put("/api/admin/agents/1001", json={"groups": ["售后"]})
    assert res.status_code == 200, res.text
    agent = client_for("agent")
    assert agent.get("/api/agent/groups").json() == [
        {"name": "售后", "description": "", "signed_in": True}
    ]
    assert agent.post("/api/agent/groups/售后/sign-out").status_code == 200
    assert agent.get("/api/agent/groups").json()[0]["signed_in"] is False
    assert agent.post("/api/agent/groups/售后/sign-in").status_code == 200
    assert agent.post("/api/agent/groups/nope/sign-in").status_code == 404


def test_sim_path_is_off_without_demo(
    client_for: Callable[[str], TestClient], app: FastAPI
) -> None:
    app.state.demo = False
    boss = client_for("supervisor")
    res = boss.post("/api/sim/calls", json={"caller": "13800138000"})
    assert res.status_code == 404 and res.json()["error_id"] == "demo-off"


def test_pickup_transfer_and_three_way(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")  # 1001
    leader = client_for("team_leader")  # 2001, also a seat
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
    assert agent.get("/api/agent/state").json()["state"] == "ringing"
    waiting = leader.get("/api/queues/waiting").json()
    assert waiting[0]["ringing"] == ["1001"]
    # 抢接: the leader takes the call ringing at 1001 (AG-13)
    leader.post("/api/agent/state", json={"state": "idle"})
    assert leader.post("/api/agent/pickup", json={"call_id": call_id}).status_code == 204
    assert leader.get("/api/agent/state").json()["state"] == "on_call"
    assert agent.get("/api/agent/state").json()["state"] == "idle"
    # three-way with 1001, then a blind transfer to 1001 (AG-08); an outside party needs
    # the outside-line permission
    res = leader.post("/api/agent/conference", json={"party": "13900001111"})
    assert res.status_code == 403 and res.json()["error_id"] == "permission-denied"
    assert leader.post("/api/agent/conference", json={"party": "1001"}).status_code == 204
    res = leader.post("/api/agent/transfer", json={"kind": "agent", "target": "1001"})
    assert res.status_code == 204, res.text
    assert agent.get("/api/agent/state").json()["state"] in ("ringing", "on_call")
    assert (
        leader.post("/api/agent/transfer", json={"kind": "agent", "target": "9999"}).status_code
        == 404
    )


def test_attended_transfer_consult_complete_and_cancel(
    app: FastAPI, client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    """AG-08 attended: consult 2001 (the caller on hold), cancel, consult again, complete."""
    agent = client_for("agent")  # 1001
    leader = client_for("team_leader")  # 2001, also a seat
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
    assert agent.post("/api/agent/answer", json={"call_id": call_id}).status_code == 204
    leader.post("/api/agent/state", json={"state": "idle"})
    # nothing to complete or cancel yet
    res = agent.post("/api/agent/consult/complete")
    assert res.status_code == 409 and res.json()["error_id"] == "illegal-state"
    res = agent.post("/api/agent/consult", json={"kind": "agent", "target": "2001"})
    assert res.status_code == 204, res.text
    assert agent.get("/api/agent/state").json()["state"] == "on_hold"
    assert leader.get("/api/agent/state").json()["state"] == "ringing"
    assert agent.post("/api/agent/consult/cancel").status_code == 204
    assert agent.get("/api/agent/state").json()["state"] == "on_call"
    assert leader.get("/api/agent/state").json()["state"] == "idle"
    assert (
        agent.post("/api/agent/consult", json={"kind": "agent", "target": "2001"}).status_code
        == 204
    )
    center = app.state.center

    leader_id = str(leader.get("/api/agent/state").json()["agent_id"])
    center.apply(AgentAnswered(leader_id, call_id, center.now()))  # the phone answered
    assert leader.get("/api/agent/state").json()["state"] == "on_call"
    # the consulted agent cannot act on the customer's call
    assert leader.post("/api/agent/hold").status_code == 409
    assert agent.post("/api/agent/consult/complete").status_code == 204
    assert agent.get("/api/agent/state").json()["state"] == "after_call_work"
    state = leader.get("/api/agent/state").json()
    assert state["state"] == "on_call" and state["call_id"] == call_id
    with web_db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "supervisor.consult_agent" in actions and "supervisor.transfer_attended" in actions
        legs = s.scalars(select(CallLeg).where(CallLeg.call_id == call_id)).all()
        assert [leg.agent_id for leg in legs if leg.agent_id].count(int(leader_id)) == 2
    boss.post(f"/api/sim/calls/{call_id}/hangup")


def test_consult_bad_input_is_a_clear_4xx(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    boss = client_for("supervisor")
    qa = client_for("qa")
    assert (
        qa.post("/api/agent/consult", json={"kind": "agent", "target": "2001"}).status_code == 403
    )
    # not on a call
    res = agent.post("/api/agent/consult", json={"kind": "agent", "target": "2001"})
    assert res.status_code == 409
    agent.post("/api/agent/state", json={"state": "idle"})
    call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
    agent.post("/api/agent/answer", json={"call_id": call_id})
    res = agent.post("/api/agent/consult", json={"kind": "queue", "target": "default"})
    assert res.status_code == 422  # a queue is transferred blind only
    res = agent.post("/api/agent/consult", json={"kind": "agent", "target": "9999"})
    assert res.status_code == 404 and "9999" in res.json()["message"]
    res = agent.post("/api/agent/consult", json={"kind": "outside", "target": "call-me"})
    assert res.status_code == 422 and "target" in res.json()["message"]
    res = agent.post("/api/agent/consult", json={"kind": "outside", "target": "13900000000"})
    assert res.status_code == 403 and res.json()["error_id"] == "permission-denied"
    res = agent.post("/api/agent/consult", json={"kind": "agent", "target": ""})
    assert res.status_code == 422
    assert agent.get("/api/agent/state").json()["state"] == "on_call"  # nothing changed
    boss.post(f"/api/sim/calls/{call_id}/hangup")
