"""Wallboard endpoints (CC-06, AG-12, AG-14 approval, AG-15..AG-22): roles, actions, audit, live."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from kefu.core.agent import AgentState
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AuditEntry,
    BlacklistEntry,
    BlacklistRequest,
    Call,
    Disposition,
    RequestStatus,
    User,
)


def _agent_id(db: Database, agent_no: str = "1001") -> int:
    with db.session() as s:
        agent = s.scalar(select(Agent).where(Agent.agent_no == agent_no))
        assert agent is not None
        return agent.id


def _audit(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_logged_out_and_wrong_roles(anon, client_for) -> None:
    assert anon.get("/api/wallboard").status_code == 401
    assert anon.get("/api/wallboard/waiting-calls").status_code == 401
    assert anon.get("/api/wallboard/blacklist-requests").status_code == 401
    assert anon.get("/wallboard").status_code == 303
    for role in ("agent", "qa"):
        c = client_for(role)
        assert c.get("/api/wallboard").status_code == 403
        assert c.get("/wallboard").status_code == 403
        assert c.post("/api/wallboard/agents/1/actions/force_busy", json={}).status_code == 403
        assert (
            c.post(
                "/api/wallboard/blacklist-requests/1/decision", json={"approve": True}
            ).status_code
            == 403
        )
    assert client_for("qa").get("/api/wallboard/waiting-calls").status_code == 403
    assert client_for("agent").get("/api/wallboard/waiting-calls").status_code == 200
    with pytest.raises(WebSocketDisconnect) as err, anon.websocket_connect("/ws/wallboard") as ws:
        ws.receive_json()
    assert err.value.code == 4401


def test_force_busy_and_idle_change_the_center_and_are_audited(
    app: FastAPI, client_for, web_db: Database
) -> None:
    sup = client_for("supervisor")
    center = app.state.center
    aid = _agent_id(web_db)
    center.agent_login(aid, ready=True)
    board = sup.get("/api/wallboard").json()
    row = next(a for a in board["agents"] if a["agent_id"] == str(aid))
    assert (row["agent_no"], row["state"]) == ("1001", "idle")
    assert "force_busy" in board["actions"]
    res = sup.post(f"/api/wallboard/agents/{aid}/actions/force_busy", json={"reason": "开会"})
    assert res.status_code == 200, res.text
    assert res.json()["state"] == "busy"
    assert center.agent_view(aid).state is AgentState.BUSY
    res = sup.post(f"/api/wallboard/agents/{aid}/actions/force_idle", json={})
    assert center.agent_view(aid).state is AgentState.IDLE
    (busy,) = _audit(web_db, "supervisor.force_busy")
    assert busy.actor_name == "super1" and busy.detail["allowed"] is True
    assert len(_audit(web_db, "supervisor.force_idle")) == 1
    # Without a call, listening is refused: 409, and the attempt is on record.
    assert sup.post(f"/api/wallboard/agents/{aid}/actions/listen", json={}).status_code == 409
    assert _audit(web_db, "supervisor.listen")[0].detail["allowed"] is False
    assert sup.post("/api/wallboard/agents/999999/actions/force_busy", json={}).status_code == 404
    assert sup.post(f"/api/wallboard/agents/{aid}/actions/dance", json={}).status_code == 422
    res = sup.post(f"/api/wallboard/agents/{aid}/actions/force_logout", json={})
    assert res.status_code == 200, res.text
    assert res.json()["state"] == "logged_out" and not center.is_logged_in(aid)
    board = sup.get("/api/wallboard").json()
    assert all(a["agent_id"] != str(aid) for a in board["agents"])


def test_team_leader_may_not_force_hangup(app: FastAPI, client_for, web_db: Database) -> None:
    aid = _agent_id(web_db)
    app.state.center.agent_login(aid, ready=True)
    leader = client_for("team_leader")
    assert "force_hangup" not in leader.get("/api/wallboard").json()["actions"]
    res = leader.post(f"/api/wallboard/agents/{aid}/actions/force_hangup", json={})
    assert res.status_code == 403
    refused = _audit(web_db, "supervisor.force_hangup")
    assert refused[0].actor_name == "leader1" and refused[0].detail["allowed"] is False
    assert (
        leader.post(f"/api/wallboard/agents/{aid}/actions/force_busy", json={}).status_code == 200
    )


def test_waiting_calls_and_queue_figures(app: FastAPI, client_for, web_db: Database) -> None:
    center = app.state.center
    call_id = center.offer_call("13800138000", "4008001000")
    sup = client_for("supervisor")
    waiting = sup.get("/api/wallboard/waiting-calls").json()
    assert [w["call_id"] for w in waiting] == [call_id]
    assert waiting[0]["caller"] == "13800138000"
    board = sup.get("/api/wallboard").json()
    assert board["queues"][0]["waiting"] == 1
    assert board["queues"][0]["offered_today"] == 1
    assert board["waiting_calls"][0]["call_id"] == call_id


def test_virtual_calls_are_calls_in_progress(app: FastAPI, client_for, web_db: Database) -> None:
    """Without a SIP line the core's calls still list as calls in progress (CC-06):
    queued, then ringing the idle agent, talking once answered, gone after the hang-up."""
    center = app.state.center
    sup = client_for("supervisor")
    call_id = center.offer_call("13800138000", "4008001000")

    def row() -> dict:
        board = sup.get("/api/wallboard").json()
        return next((c for c in board["calls"] if c["call_id"] == call_id), {})

    first = row()
    assert (first["state"], first["direction"], first["caller"]) == (
        "queued",
        "inbound",
        "13800138000",
    )
    assert sup.get("/api/wallboard").json()["calls_summary"]["queued"] == 1
    aid = _agent_id(web_db)
    center.agent_login(aid, ready=True)
    assert row()["state"] == "ringing" and row()["ringing"] == [str(aid)]
    center.answer(aid, call_id)
    assert (row()["state"], row()["agent_id"]) == ("talking", str(aid))
    assert row()["agent"].startswith("1001")
    center.hold(aid)
    assert row()["state"] == "on_hold"
    center.caller_hangup(call_id)
    assert row() == {}


def test_blacklist_approval_makes_the_center_reject(
    app: FastAPI, client_for, web_db: Database
) -> None:
    with web_db.session() as s:
        agent_user = s.scalar(select(User).where(User.username == "agent1"))
        assert agent_user is not None
        req = BlacklistRequest(number="13900000001", reason="骚扰电话", requested_by=agent_user.id)
        s.add(req)
        rej = BlacklistRequest(number="13900000002", reason="误报", requested_by=agent_user.id)
        s.add(rej)
        s.flush()
        req_id, rej_id = req.id, rej.id
    sup = client_for("supervisor")
    pending = sup.get("/api/wallboard/blacklist-requests").json()
    assert [p["id"] for p in pending] == [req_id, rej_id]
    res = sup.post(
        f"/api/wallboard/blacklist-requests/{req_id}/decision",
        json={"approve": True, "note": "同意"},
    )
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "approved"
    res = sup.post(f"/api/wallboard/blacklist-requests/{rej_id}/decision", json={"approve": False})
    assert res.json()["status"] == "rejected"
    assert (
        sup.post(
            f"/api/wallboard/blacklist-requests/{req_id}/decision", json={"approve": True}
        ).status_code
        == 409
    )
    assert (
        sup.post(
            "/api/wallboard/blacklist-requests/999999/decision", json={"approve": True}
        ).status_code
        == 404
    )
    with web_db.session() as s:
        assert s.scalar(select(BlacklistEntry.number)) == "13900000001"
        statuses = dict(s.execute(select(BlacklistRequest.id, BlacklistRequest.status)).all())
        assert statuses == {req_id: RequestStatus.APPROVED, rej_id: RequestStatus.REJECTED}
    approve = _audit(web_db, "blacklist.approve")
    assert approve[0].actor_name == "super1" and approve[0].target == "13900000001"
    call_id = app.state.center.offer_call("13900000001", "4008001000")
    with web_db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is Disposition.REJECTED
    assert sup.get("/api/wallboard/blacklist-requests").json() == []


def test_websocket_sends_snapshot_then_state_events(
    app: FastAPI, client_for, web_db: Database
) -> None:
    aid = _agent_id(web_db)
    center = app.state.center
    center.agent_login(aid, ready=True)
    sup = client_for("supervisor")
    with sup.websocket_connect("/ws/wallboard") as ws:
        first = ws.receive_json()
        assert first["type"] == "snapshot"
        assert any(a["agent_id"] == str(aid) and a["state"] == "idle" for a in first["agents"])
        assert (
            sup.post(f"/api/wallboard/agents/{aid}/actions/force_busy", json={}).status_code == 200
        )
        states: list[dict] = []
        for _ in range(10):
            msg = ws.receive_json()
            if msg["type"] == "events":
                states += [e for e in msg["events"] if e["type"] == "state"]
            if states:
                break
        assert (states[0]["agent_id"], states[0]["state"]) == (str(aid), "busy")


def test_page_renders(client_for) -> None:
    res = client_for("supervisor").get("/wallboard")
    assert res.status_code == 200
    assert "/ws/wallboard" in res.text and "强制示忙" in res.text


def test_call_actions_on_a_live_call(app: FastAPI, client_for, web_db: Database) -> None:
    """Listen, whisper, barge, stop, intercept and force hang-up on connected calls (AG-15..22)."""
    center = app.state.center
    aid = _agent_id(web_db)
    center.agent_login(aid, ready=True)
    call_id = center.offer_call("13800138000", "4008001000")
    center.answer(aid, call_id)
    assert center.agent_view(aid).state is AgentState.ON_CALL
    sup = client_for("supervisor")
    board = sup.get("/api/wallboard").json()
    row = next(a for a in board["agents"] if a["agent_id"] == str(aid))
    assert (row["call_id"], row["caller"], board["calls_connected"]) == (call_id, "13800138000", 1)
    for action in ("listen", "stop_monitor", "whisper", "stop_monitor", "barge"):
        res = sup.post(f"/api/wallboard/agents/{aid}/actions/{action}", json={})
        assert res.status_code == 200, (action, res.text)
    res = sup.post(f"/api/wallboard/agents/{aid}/actions/intercept", json={})
    assert res.status_code == 200, res.text
    assert center.agent_view(aid).state is AgentState.AFTER_CALL_WORK  # the agent is dropped
    sup.post(f"/api/wallboard/agents/{aid}/actions/force_idle", json={})
    second = center.offer_call("13800138001", "4008001000")
    center.answer(aid, second)
    res = sup.post(f"/api/wallboard/agents/{aid}/actions/force_hangup", json={"reason": "违规"})
    assert res.status_code == 200, res.text
    assert center.agent_view(aid).call_id == ""
    with web_db.session() as s:
        call = s.get(Call, second)
        assert call is not None and call.ended_at is not None
        done = [
            (e.action, e.detail["allowed"], e.detail["call_id"])
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action.startswith("supervisor.")
        ]
    assert done == [
        ("supervisor.listen", True, call_id),
        ("supervisor.stop_monitor", True, call_id),
        ("supervisor.whisper", True, call_id),
        ("supervisor.stop_monitor", True, call_id),
        ("supervisor.barge", True, call_id),
        ("supervisor.intercept", True, call_id),
        ("supervisor.force_idle", True, ""),
        ("supervisor.force_hangup", True, second),
    ]
