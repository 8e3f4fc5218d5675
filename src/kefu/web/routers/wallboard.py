"""The supervisor wallboard (CC-06): live over WebSocket, with the AG-15..AG-22 actions,
blacklist approvals (AG-14) and the waiting-calls list (AG-12)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Path, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from kefu.core.supervision import Role as CoreRole
from kefu.core.supervision import SupervisorAction, allowed
from kefu.services import wallboard
from kefu.services.center import Center
from kefu.services.wallboard import Actor, WallboardError
from kefu.store.db import Database
from kefu.store.models import Role
from kefu.web.auth import SessionUser, client_ip, require_role, ws_user
from kefu.web.errors import Forbidden, Invalid, NotFound, WebError
from kefu.web.pages import render

PathId = Annotated[int, Path(ge=0, le=2**31 - 1)]
router = APIRouter(tags=["wallboard"])

BOARD_ROLES = (Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
BoardUser = Annotated[SessionUser, require_role(*BOARD_ROLES)]
QueueViewer = Annotated[
    SessionUser, require_role(Role.AGENT, Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
]
SNAPSHOT_TTL_S = 1.0  # one snapshot serves every board for this long
SNAPSHOT_EVERY_S = 2.0  # each board gets a fresh snapshot this often
MAX_BATCH = 256


def _encoded(event: dict[str, Any]) -> str:
    """The event as JSON, encoded once however many boards receive the same dict."""
    text = _ENCODED.get(id(event))
    if text is None or text[0] is not event:
        text = (event, json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        if len(_ENCODED) > 4096:
            _ENCODED.clear()
        _ENCODED[id(event)] = text
    return text[1]


_ENCODED: dict[int, tuple[dict[str, Any], str]] = {}


def _raise(exc: WallboardError) -> NoReturn:
    if exc.kind == "not-found":
        raise NotFound(str(exc).removesuffix(" not found")) from None
    if exc.kind == "forbidden":
        raise Forbidden(str(exc)) from None
    if exc.kind == "conflict":
        raise WebError("conflict", str(exc), 409) from None
    raise Invalid(str(exc)) from None


def _center(request: Request | WebSocket) -> Center:
    center: Center = request.app.state.center
    return center


def _db(request: Request | WebSocket) -> Database:
    db: Database = request.app.state.db
    return db


class SnapshotCache:
    """Shares one snapshot between all boards for SNAPSHOT_TTL_S (a snapshot reads the DB)."""

    def __init__(self) -> None:
        self.value: dict[str, Any] | None = None
        self.at = 0.0
        self.lock = asyncio.Lock()
        self._text: tuple[tuple[int, tuple[str, ...]], dict[str, Any], str] | None = None

    async def get(self, center: Center, db: Database) -> dict[str, Any]:
        """A snapshot at most SNAPSHOT_TTL_S old."""
        async with self.lock:
            if self.value is None or time.monotonic() - self.at > SNAPSHOT_TTL_S:
                self.value = await asyncio.to_thread(wallboard.snapshot, center, db)
                self.at = time.monotonic()
            return self.value

    async def text(self, center: Center, db: Database, actions: list[str]) -> str:
        """The snapshot frame as JSON text, encoded once per snapshot and role."""
        value = await self.get(center, db)
        key = (id(value), tuple(actions))
        if self._text is None or self._text[0] != key or self._text[1] is not value:
            frame = {"type": "snapshot", "actions": actions, **value}
            self._text = (key, value, json.dumps(frame, ensure_ascii=False))
        return self._text[2]

    def invalidate(self) -> None:
        """Forget the snapshot after an action, so the next one is fresh."""
        self.value = None


def _cache(request: Request | WebSocket) -> SnapshotCache:
    state = request.app.state
    cache = getattr(state, "wallboard_cache", None)
    if cache is None:
        cache = state.wallboard_cache = SnapshotCache()
    return cache


def _actions_for(role: Role) -> list[str]:
    core = CoreRole(role.value)
    return [a.value for a in wallboard.BOARD_ACTIONS if allowed(core, a)]


@router.get("/wallboard", response_class=HTMLResponse, include_in_schema=False)
def wallboard_page(request: Request, user: BoardUser) -> HTMLResponse:
    """The board; it fills itself from /ws/wallboard."""
    return render(request, "wallboard/index.html", user=user, actions=_actions_for(user.role))


@router.get("/api/wallboard", summary="The wallboard: queues, agents, waiting calls, requests")
def snapshot(request: Request, user: BoardUser) -> dict[str, Any]:
    """A fresh snapshot (CC-06)."""
    data = wallboard.snapshot(_center(request), _db(request))
    data["actions"] = _actions_for(user.role)
    return data


@router.get("/api/wallboard/waiting-calls", summary="Calls waiting in queues (AG-12)")
def waiting_calls(request: Request, user: QueueViewer) -> list[dict[str, Any]]:
    """Longest wait first; agents see them too (AG-12)."""
    center = _center(request)
    return [
        {
            "call_id": w.call_id,
            "caller": w.caller,
            "region": w.region,
            "queue": w.queue,
            "priority": w.priority,
            "waited": round(w.waited, 1),
            "position": w.position,
        }
        for w in center.waiting_calls()
    ]


class ActionIn(BaseModel):
    """A reason shown in the audit log (and as the busy reason)."""

    reason: str = Field(default="", max_length=200)


@router.post(
    "/api/wallboard/agents/{agent_id}/actions/{action}",
    summary="Supervisor action on an agent (AG-15..AG-22)",
)
def act(
    agent_id: PathId,
    action: SupervisorAction,
    body: ActionIn,
    request: Request,
    user: BoardUser,
) -> dict[str, Any]:
    """Listen, whisper, barge, intercept, force hang-up/log-out/busy/idle; audited."""
    try:
        out = wallboard.act(
            _center(request),
            _db(request),
            Actor(user.id, user.role),
            action,
            agent_id,
            body.reason,
            source_ip=client_ip(request),
        )
    except WallboardError as exc:
        _raise(exc)
    _cache(request).invalidate()
    return out


@router.get("/api/wallboard/blacklist-requests", summary="Pending blacklist requests (AG-14)")
def blacklist_requests(request: Request, user: BoardUser) -> list[dict[str, Any]]:
    """Oldest first."""
    rows = wallboard.snapshot(_center(request), _db(request))["blacklist_requests"]
    return rows  # type: ignore[no-any-return]


class DecisionIn(BaseModel):
    """Approve or reject a blacklist request."""

    approve: bool
    note: str = Field(default="", max_length=500)


@router.post(
    "/api/wallboard/blacklist-requests/{request_id}/decision",
    summary="Approve or reject a blacklist request (AG-14)",
)
def decide(
    request_id: PathId, body: DecisionIn, request: Request, user: BoardUser
) -> dict[str, Any]:
    """Approval blacklists the number at once: the center rejects its calls."""
    try:
        out = wallboard.decide_request(
            _center(request),
            _db(request),
            Actor(user.id, user.role),
            request_id,
            body.approve,
            body.note,
            source_ip=client_ip(request),
        )
    except WallboardError as exc:
        _raise(exc)
    _cache(request).invalidate()
    return out


@router.websocket("/ws/wallboard")
async def wallboard_socket(websocket: WebSocket) -> None:
    """Sends a snapshot, then hub events as they happen (batched) and a snapshot every 2 s."""
    user = await ws_user(websocket, *BOARD_ROLES)
    if user is None:
        return
    await websocket.accept()
    hub = websocket.app.state.hub
    center, db, cache = _center(websocket), _db(websocket), _cache(websocket)
    actions = _actions_for(user.role)

    async def send_snapshot() -> None:
        await websocket.send_text(await cache.text(center, db, actions))

    async def drain() -> None:
        # The browser sends nothing; reading notices when it goes away.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    reader = asyncio.create_task(drain())
    try:
        async with hub.subscribe("wallboard") as queue:
            await send_snapshot()
            next_snapshot = time.monotonic() + SNAPSHOT_EVERY_S
            while not reader.done():
                timeout = max(0.0, next_snapshot - time.monotonic())
                try:
                    # asyncio.timeout, not wait_for: wait_for made a task per event.
                    async with asyncio.timeout(timeout):
                        event = await queue.get()
                except TimeoutError:
                    await send_snapshot()
                    next_snapshot = time.monotonic() + SNAPSHOT_EVERY_S
                    continue
                # Whatever queued up meanwhile goes in the same frame: a busy board catches
                # up in one send instead of falling further behind.
                parts = [_encoded(event)]
                while not queue.empty() and len(parts) < MAX_BATCH:
                    parts.append(_encoded(queue.get_nowait()))
                await websocket.send_text('{"type":"events","events":[' + ",".join(parts) + "]}")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await reader
