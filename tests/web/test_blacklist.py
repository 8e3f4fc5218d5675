"""Blacklist (AG-14): agent requests, team leader approves, the center rejects the number."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.store.db import Database
from kefu.store.models import AuditEntry, Call, Disposition


def test_request_approve_and_reject_calls(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    agent = client_for("agent")
    res = agent.post(
        "/api/blacklist/requests", json={"number": "13700000000", "reason": "骚扰电话"}
    )
    assert res.status_code == 201
    rid = res.json()["id"]
    assert (
        agent.post("/api/blacklist/requests", json={"number": "abc", "reason": "x"}).status_code
        == 422
    )
    assert [r["id"] for r in agent.get("/api/blacklist/requests/mine").json()] == [rid]
    assert agent.get("/api/blacklist/requests").status_code == 403
    leader = client_for("team_leader")
    assert [r["number"] for r in leader.get("/api/blacklist/requests").json()] == ["13700000000"]
    res = leader.post(
        f"/api/blacklist/requests/{rid}/decision", json={"approve": True, "note": "同意"}
    )
    assert res.status_code == 200 and res.json()["status"] == "approved"
    again = leader.post(f"/api/blacklist/requests/{rid}/decision", json={"approve": True})
    assert again.status_code == 422
    assert (
        leader.post("/api/blacklist/requests/999/decision", json={"approve": True}).status_code
        == 404
    )
    assert [e["number"] for e in leader.get("/api/blacklist").json()] == ["13700000000"]
    boss = client_for("supervisor")
    call_id = boss.post("/api/sim/calls", json={"caller": "13700000000"}).json()["call_id"]
    with web_db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is Disposition.REJECTED
        actions = {e.action for e in s.scalars(select(AuditEntry))}
    assert {"blacklist.request", "blacklist.approve"} <= actions
    # lifting lets the number through again
    assert leader.delete("/api/blacklist/13700000000").status_code == 204
    call_id = boss.post("/api/sim/calls", json={"caller": "13700000000"}).json()["call_id"]
    with web_db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is None
    assert leader.delete("/api/blacklist/13700000000").status_code == 404


def test_rejected_request_blocks_nothing(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    rid = agent.post(
        "/api/blacklist/requests", json={"number": "13600000000", "reason": "误拨"}
    ).json()["id"]
    leader = client_for("team_leader")
    res = leader.post(f"/api/blacklist/requests/{rid}/decision", json={"approve": False})
    assert res.json()["status"] == "rejected"
    assert leader.get("/api/blacklist").json() == []
