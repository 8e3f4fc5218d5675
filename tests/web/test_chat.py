"""Chat channel (SV-05): automatic replies by service hours and agent availability, the
forbidden-phrase guard before sending (SV-03), QA of the closed chat into qa_results."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import csrf_of

from kefu.services.chat import ChatConfig, ChatService
from kefu.services.live import LiveHub
from kefu.store.db import Database
from kefu.store.models import QaResult

CONFIG = ChatConfig.load()
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _always_open(app: FastAPI) -> None:
    app.state.chat.config = dataclasses.replace(
        CONFIG, hours=((dt.time(0, 0), dt.time(23, 59, 59)),), open_on_holidays=True
    )


def test_service_hours_follow_config_and_calendar(web_db: Database) -> None:
    chat = ChatService(web_db, LiveHub())
    assert chat.in_service(dt.datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING))  # Monday
    assert not chat.in_service(dt.datetime(2026, 11, 23, 13, 0, tzinfo=BEIJING))  # lunch
    assert not chat.in_service(dt.datetime(2026, 11, 23, 18, 30, tzinfo=BEIJING))
    assert not chat.in_service(dt.datetime(2026, 11, 22, 9, 0, tzinfo=BEIJING))  # Sunday
    assert not chat.in_service(dt.datetime(2026, 10, 1, 9, 0, tzinfo=BEIJING))  # National Day
    s = chat.start("王先生", "13800138000", now=dt.datetime(2026, 10, 1, 9, 0, tzinfo=BEIJING))
    assert s.messages[0].role == "system" and s.messages[0].text == CONFIG.replies["off_hours"]
    s = chat.start("李女士", "", now=dt.datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING))
    assert s.messages[0].text == CONFIG.replies["queued"]  # open, but no agent online
    chat.agent_online(1, "1001", True)
    s = chat.start("赵", "", now=dt.datetime(2026, 11, 23, 9, 0, tzinfo=BEIJING))
    assert s.messages[0].text == CONFIG.replies["welcome"]


def _recv(ws: Any, kind: str, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        ev = ws.receive_json()
        if ev.get("type") == kind:
            return ev  # type: ignore[no-any-return]
    raise AssertionError(kind)


def test_chat_end_to_end_with_guard_and_qa(
    app: FastAPI, anon: TestClient, client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    _always_open(app)
    csrf_of(anon)
    assert anon.get("/chat").status_code == 200
    agent = client_for("agent")
    with agent.websocket_connect("/ws/chat/agent") as agent_ws:
        assert _recv(agent_ws, "waiting")["chats"] == []
        res = anon.post("/api/chat/public/start", json={"name": "王先生", "phone": "13800138000"})
        assert res.status_code == 201
        token, chat_id = res.json()["token"], res.json()["chat"]["id"]
        assert res.json()["chat"]["messages"][0]["text"] == CONFIG.replies["welcome"]
        waiting = _recv(agent_ws, "waiting")["chats"]
        assert [c["id"] for c in waiting] == [chat_id]
        with anon.websocket_connect(f"/ws/chat/public/{token}") as cust_ws:
            _recv(cust_ws, "reset")
            assert agent.post(f"/api/chat/{chat_id}/accept").status_code == 200
            agent_ws.send_json({"type": "watch", "chat_id": chat_id})
            cust_ws.send_json({"text": "我的快递三天了还没到"})
            msg = _recv(cust_ws, "message")
            while msg["role"] != "customer":
                msg = _recv(cust_ws, "message")
            # the guard stops a forbidden phrase and offers the standard wording
            res = agent.post(
                f"/api/chat/{chat_id}/messages", json={"text": "不行就是不行！"}
            ).json()
            assert res["sent"] is False
            assert res["guard"]["phrase"] == "不行就是不行"
            assert res["guard"]["rule"] == "FORBID-ARROGANT"
            assert res["guard"]["replacement"]
            ok = "您好，很抱歉让您久等了，我马上为您查询，请您稍等。"
            assert agent.post(f"/api/chat/{chat_id}/messages", json={"text": ok}).json() == {
                "sent": True
            }
            msg = _recv(cust_ws, "message")
            while msg["role"] != "agent":
                msg = _recv(cust_ws, "message")
            assert msg["text"] == ok
        closed = agent.post(f"/api/chat/{chat_id}/close").json()
    assert closed["status"] == "closed" and closed["qa_result_id"]
    texts = [m["text"] for m in closed["messages"]]
    assert "不行就是不行！" not in texts  # never sent
    with web_db.session() as s:
        row = s.scalar(select(QaResult).where(QaResult.conversation_id == chat_id))
        assert row is not None and row.channel == "chat"
        assert row.conversation["utterances"][-1]["text"] == CONFIG.replies["closed"]
    assert agent.post(f"/api/chat/{chat_id}/messages", json={"text": "x"}).status_code == 409
    assert client_for("supervisor").get("/api/chat/sessions").json()[0]["id"] == chat_id


def test_public_start_needs_csrf_and_bad_token_is_refused(app: FastAPI, anon: TestClient) -> None:
    anon.get("/chat")
    assert anon.post("/api/chat/public/start", json={}).status_code == 403
    import pytest
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as exc,
        anon.websocket_connect("/ws/chat/public/nope") as ws,
    ):
        ws.receive_json()
    assert exc.value.code == 4404


def test_chat_api_for_agents(
    app: FastAPI, anon: TestClient, client_for: Callable[[str], TestClient]
) -> None:
    _always_open(app)
    csrf_of(anon)
    chat_id = anon.post("/api/chat/public/start", json={"name": "A"}).json()["chat"]["id"]
    agent = client_for("agent")
    assert [c["id"] for c in agent.get("/api/chat/waiting").json()] == [chat_id]
    assert agent.post(f"/api/chat/{chat_id}/accept").status_code == 200
    assert agent.post(f"/api/chat/{chat_id}/accept").status_code == 409
    assert [c["id"] for c in agent.get("/api/chat/mine").json()] == [chat_id]
    leader = client_for("team_leader")
    assert leader.post(f"/api/chat/{chat_id}/messages", json={"text": "您好"}).status_code == 409
    assert agent.post("/api/chat/nope/accept").status_code == 404


def test_live_suggestion_for_a_chat(
    app: FastAPI, anon: TestClient, client_for: Callable[[str], TestClient]
) -> None:
    _always_open(app)
    csrf_of(anon)
    start = anon.post("/api/chat/public/start", json={"name": "A"}).json()
    agent = client_for("agent")
    chat_id = start["chat"]["id"]
    agent.post(f"/api/chat/{chat_id}/accept")
    app.state.chat.customer_says(start["token"], "我要投诉你们，服务太差了")
    found = agent.get(f"/api/chat/{chat_id}/suggest").json()
    assert "complaint" in [x["scenario"] for x in found]
    assert all(x["script"] for x in found)
    assert client_for("team_leader").get(f"/api/chat/{chat_id}/suggest").status_code == 409
