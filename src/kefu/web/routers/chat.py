"""The chat channel (SV-05): the customer's page (no login; a session token), the agent's
chat in the workspace (WebSocket), the guard before sending (SV-03), QA on close (SV-02)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from kefu.services.chat import ChatError, ChatService
from kefu.store.models import Role
from kefu.web.auth import AgentUser, StaffUser, check_csrf, ws_user
from kefu.web.errors import NotFound, WebError
from kefu.web.pages import render

router = APIRouter(tags=["chat"])


class StartIn(BaseModel):
    """The customer's name and phone (optional)."""

    name: str = Field("", max_length=64)
    phone: str = Field("", max_length=32)


class TextIn(BaseModel):
    """A message."""

    text: str = Field(min_length=1, max_length=2000)


def chat_of(app: Any) -> ChatService:
    """The app's chat service."""
    service: ChatService = app.state.chat
    return service


def _refused(exc: ChatError) -> WebError:
    if "not found" in str(exc):
        return NotFound(str(exc))
    return WebError("chat-refused", str(exc), 409)


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
def customer_page(request: Request) -> Response:
    """The customer's chat page (no login)."""
    return render(request, "chat.html", user=None)


@router.post("/api/chat/public/start", status_code=201)
async def start(request: Request, body: StartIn) -> dict[str, Any]:
    """Open a chat; the reply carries the customer's session token."""
    await check_csrf(request)
    s = chat_of(request.app).start(body.name, body.phone)
    return {"token": s.token, "chat": s.public()}


async def _pump(
    websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]], on_message: Any
) -> None:
    """Forward hub events to the socket and socket messages to `on_message`."""

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                data = await websocket.receive_json()
                await on_message(data)

    receiver = asyncio.create_task(receive())
    try:
        while not receiver.done():
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_json(getter.result())
            else:
                getter.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        with contextlib.suppress(BaseException):
            await receiver


@router.websocket("/ws/chat/public/{token}")
async def customer_ws(websocket: WebSocket, token: str) -> None:
    """The customer's live chat: sends {text}, receives messages."""
    await websocket.accept()
    service = chat_of(websocket.app)
    try:
        s = service.session_for_token(token)
    except ChatError:
        await websocket.close(code=4404)
        return
    async with service.hub.subscribe(f"chat:{s.id}") as queue:
        await websocket.send_json({"type": "reset"})
        for m in s.messages:
            await websocket.send_json(
                {
                    "type": "message",
                    "chat_id": s.id,
                    "role": m.role,
                    "text": m.text,
                    "at": m.at.isoformat(),
                }
            )

        async def on_message(data: Any) -> None:
            text = str(data.get("text", "")) if isinstance(data, dict) else ""
            try:
                service.customer_says(token, text)
            except ChatError as exc:
                await websocket.send_json({"type": "error", "message": str(exc)})

        await _pump(websocket, queue, on_message)


@router.websocket("/ws/chat/agent")
async def agent_ws(websocket: WebSocket) -> None:
    """The agent's chat feed: waiting chats, and messages of the chats the agent watches."""
    await websocket.accept()
    user = await ws_user(websocket, Role.AGENT, Role.TEAM_LEADER)
    if user is None:
        return
    service = chat_of(websocket.app)
    service.agent_online(user.id, user.display_name, True)
    topics: set[str] = set()
    try:
        async with service.hub.subscribe("chat-agents") as queue:
            await websocket.send_json(
                {"type": "waiting", "chats": [s.public() for s in service.waiting()]}
            )
            forward: list[asyncio.Task[None]] = []

            async def watch(chat_id: str) -> None:
                async with service.hub.subscribe(f"chat:{chat_id}") as q:
                    while True:
                        ev = await q.get()
                        await queue.put({**ev, "chat_id": chat_id})

            async def on_message(data: Any) -> None:
                if isinstance(data, dict) and data.get("type") == "watch":
                    chat_id = str(data.get("chat_id", ""))
                    s = service.sessions.get(chat_id)
                    if s is not None and s.agent_id == user.id and chat_id not in topics:
                        topics.add(chat_id)
                        forward.append(asyncio.create_task(watch(chat_id)))

            wrapped: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            async def fan() -> None:  # a waiting-list change becomes a fresh list
                while True:
                    ev = await queue.get()
                    if ev.get("type") in ("chat_waiting", "chat_taken"):
                        ev = {"type": "waiting", "chats": [s.public() for s in service.waiting()]}
                    await wrapped.put(ev)

            fanner = asyncio.create_task(fan())
            try:
                await _pump(websocket, wrapped, on_message)
            finally:
                fanner.cancel()
                for t in forward:
                    t.cancel()
    finally:
        service.agent_online(user.id, user.display_name, False)


@router.get("/api/chat/waiting")
def waiting(request: Request, user: AgentUser) -> list[dict[str, Any]]:
    """Chats no agent has taken."""
    return [s.public() for s in chat_of(request.app).waiting()]


@router.get("/api/chat/mine")
def mine(request: Request, user: AgentUser) -> list[dict[str, Any]]:
    """My active chats."""
    return [s.public() for s in chat_of(request.app).of_agent(user.id)]


@router.post("/api/chat/{chat_id}/accept")
def accept(request: Request, user: AgentUser, chat_id: str) -> dict[str, Any]:
    """Take a waiting chat."""
    try:
        return (
            chat_of(request.app)
            .accept(chat_id, user.id, user.agent_no or user.display_name)
            .public()
        )
    except ChatError as exc:
        raise _refused(exc) from None


@router.post("/api/chat/{chat_id}/messages")
def send(request: Request, user: AgentUser, chat_id: str, body: TextIn) -> dict[str, Any]:
    """Send a message; the guard stops a forbidden phrase and offers the standard wording."""
    try:
        return chat_of(request.app).agent_says(chat_id, user.id, body.text)
    except ChatError as exc:
        raise _refused(exc) from None


@router.get("/api/chat/{chat_id}/suggest")
def suggest(request: Request, user: AgentUser, chat_id: str) -> list[dict[str, Any]]:
    """Live assist (SV-03): the scenarios recognised in my chat and their standard scripts."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from kefu.assist import Playbook
    from kefu.assist import suggest as assist_suggest

    service = chat_of(request.app)
    try:
        s = service.get(chat_id)
    except ChatError as exc:
        raise _refused(exc) from None
    if s.agent_id != user.id:
        raise _refused(ChatError(f"chat {chat_id}: not yours"))
    day = dt.datetime.now(ZoneInfo(service.config.timezone)).date()
    utterances = [{"role": m.role, "text": m.text} for m in s.messages if m.role != "system"]
    found = assist_suggest(
        utterances, Playbook.load(service.config.profile), day=day, agent_id=user.agent_no
    )
    return [
        {"scenario": x.scenario.value, "script": x.script, "step": x.step, "steps": x.steps}
        for x in found
    ]


@router.post("/api/chat/{chat_id}/close")
def close(request: Request, user: AgentUser, chat_id: str) -> dict[str, Any]:
    """End the chat; it is QA'd like a call and the result stored (qa_results)."""
    try:
        s = chat_of(request.app).close(chat_id, user.id, agent_ref=user.agent_id)
    except ChatError as exc:
        raise _refused(exc) from None
    return s.public()


@router.get("/api/chat/sessions")
def sessions(request: Request, user: StaffUser) -> list[dict[str, Any]]:
    """Every chat of this process (supervision)."""
    return [s.public() for s in chat_of(request.app).sessions.values()]
