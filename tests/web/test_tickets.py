"""Tickets (SLA-02) and the BF-01..BF-04 types: owner = first contact, due from the type,
escalation, complaint follow-up before close, ID validation, required fields, quote."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.store.db import Database
from kefu.store.models import Ticket, TicketStatus, User

RESCUE = {
    "name": "张三",
    "phone": "13800138000",
    "position": "服务区出口",
    "road": "太旧高速",
    "stake": "K123+400",
    "direction": "太原",
    "plate": "晋A12345",
    "vehicle_type": "小轿车",
}


def test_types_are_seeded(client_for: Callable[[str], TestClient]) -> None:
    types = {t["code"]: t for t in client_for("agent").get("/api/tickets/types").json()}
    assert {"complaint", "elderly_care", "road_rescue", "express_pickup"} <= set(types)
    assert types["road_rescue"]["meta"]["readback"]
    assert all(f["required"] for f in types["road_rescue"]["fields"])


def test_complaint_from_a_call_belongs_to_the_first_contact(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    agent = client_for("agent")
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
    agent.post("/api/agent/answer", json={"call_id": call_id})
    cid = agent.get(f"/api/workspace/pop/{call_id}").json()["customer"]["id"]
    agent.post("/api/agent/hangup")
    # the supervisor writes it, but the agent who took the call owns it (首问负责制)
    res = boss.post(
        "/api/tickets",
        json={
            "type": "complaint",
            "title": "送货慢",
            "form": {"content": "三天未送达"},
            "customer_id": cid,
            "call_id": call_id,
        },
    )
    assert res.status_code == 201, res.text
    t = res.json()["ticket"]
    with web_db.session() as s:
        agent_user = s.scalar(select(User).where(User.username == "agent1"))
        assert agent_user is not None
        assert t["owner_id"] == agent_user.id == t["first_contact_by"]
    due = dt.datetime.fromisoformat(t["due_at"]) - dt.datetime.fromisoformat(t["created_at"])
    assert due == dt.timedelta(hours=24)
    assert [x["id"] for x in agent.get("/api/tickets").json()] == [t["id"]]
    # a complaint is closed only after the follow-up call
    res = agent.post(f"/api/tickets/{t['id']}/status", json={"status": "closed"})
    assert res.status_code == 422
    assert (
        agent.post(f"/api/tickets/{t['id']}/follow-up", json={"note": "客户满意"}).status_code
        == 200
    )
    assert (
        agent.post(f"/api/tickets/{t['id']}/status", json={"status": "closed"}).json()["status"]
        == "closed"
    )
    assert "送货慢" in agent.get("/tickets").text


def test_overdue_tickets_escalate(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    agent = client_for("agent")
    tid = agent.post(
        "/api/tickets", json={"type": "fault", "title": "断网", "form": {"content": "无法上网"}}
    ).json()["ticket"]["id"]
    with web_db.session() as s:
        t = s.get(Ticket, tid)
        assert t is not None
        t.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert client_for("team_leader").post("/api/tickets/escalate").json() == {"escalated": [tid]}
    assert agent.get(f"/api/tickets/{tid}").json()["status"] == TicketStatus.ESCALATED.value


def test_elderly_care_order_validates_id_card(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    form = {
        "name": "李伯",
        "id_card_no": "110105194912310021",
        "address": "中山路8号",
        "service_date": "2026-12-01",
        "duration_hours": "1",
        "service": "助浴",
    }
    res = agent.post("/api/tickets", json={"type": "elderly_care", "title": "助浴", "form": form})
    assert res.status_code == 422
    assert res.json()["details"] == {"id_card_no": "not a valid resident ID number"}
    form["id_card_no"] = "11010519491231002x"
    res = agent.post("/api/tickets", json={"type": "elderly_care", "title": "助浴", "form": form})
    assert res.status_code == 201
    assert res.json()["ticket"]["form"]["id_card_no"] == "11010519491231002X"


def test_road_rescue_requires_every_field_and_reads_back(
    client_for: Callable[[str], TestClient],
) -> None:
    agent = client_for("agent")
    partial = {k: v for k, v in RESCUE.items() if k != "stake"}
    res = agent.post("/api/tickets", json={"type": "road_rescue", "title": "抛锚", "form": partial})
    assert res.status_code == 422 and res.json()["details"] == {"stake": "required"}
    res = agent.post("/api/tickets", json={"type": "road_rescue", "title": "抛锚", "form": RESCUE})
    assert res.status_code == 201
    readback = res.json()["readback"]
    for value in RESCUE.values():
        assert value in readback


def test_express_pickup_quotes_the_price(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    form = {
        "pickup_address": "人民路5号",
        "eta": "2026-12-01T15:00",
        "weight_kg": "3.2",
        "inspection_consent": True,
        "prohibited_checked": True,
        "insured_value": "1000",
    }
    res = agent.post("/api/tickets", json={"type": "express_pickup", "title": "取件", "form": form})
    assert res.status_code == 201, res.text
    # first kg 12 yuan, 3 more started kg at 2 yuan; insurance 0.5% of 1000
    assert res.json()["ticket"]["form"]["quote"] == {
        "freight": 18.0,
        "insurance": 5.0,
        "total": 23.0,
    }
    form["prohibited_checked"] = False
    res = agent.post("/api/tickets", json={"type": "express_pickup", "title": "取件", "form": form})
    assert res.status_code == 422 and "prohibited_checked" in res.json()["details"]


def test_admin_configures_a_ticket_type(client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    fields = [
        {
            "name": "model",
            "label": "型号",
            "type": "select",
            "options": ["A", "B"],
            "required": True,
        }
    ]
    res = admin.post(
        "/api/admin/ticket-types", json={"code": "repair", "name": "维修", "fields": fields}
    )
    assert res.status_code == 201
    bad = [{"name": "x", "type": "colour"}]
    res = admin.post("/api/admin/ticket-types", json={"code": "bad", "name": "坏", "fields": bad})
    assert res.status_code == 422 and "fields[0].type" in res.json()["message"]
    res = admin.put(
        f"/api/admin/ticket-types/{1}",
        json={
            "code": "complaint",
            "name": "投诉",
            "fields": [{"name": "content", "type": "textarea"}],
            "follow_up_required": True,
        },
    )
    assert res.status_code == 200 and res.json()["fields"] == [
        {"name": "content", "type": "textarea"}
    ]
    agent = client_for("agent")
    res = agent.post("/api/tickets", json={"type": "repair", "title": "修", "form": {"model": "C"}})
    assert res.status_code == 422
    assert (
        agent.post(
            "/api/tickets", json={"type": "repair", "title": "修", "form": {"model": "A"}}
        ).status_code
        == 201
    )


def test_hand_over_keeps_first_contact(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    t = agent.post(
        "/api/tickets", json={"type": "request", "title": "咨询", "form": {"content": "问"}}
    ).json()["ticket"]
    res = agent.post(f"/api/tickets/{t['id']}/hand-over", json={"to_username": "leader1"}).json()
    assert res["owner_id"] != t["owner_id"] and res["first_contact_by"] == t["first_contact_by"]
