"""Call recordings (CC-04): search, play in the browser, download, legal hold.

Agents see the recordings of their own calls, team leaders their team's, QA, supervisors
and admins all (kefu.services.recordings). QA sees phone numbers masked. Every playback
and download is audited (kefu.web.media).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.services import recordings
from kefu.services.recordings import RecordingFilter, RecordingsError, ScopeKind, Viewer
from kefu.services.reports import TZ
from kefu.store.models import Agent, Direction, Disposition, Queue, Role, User
from kefu.web.auth import SessionDep, SessionUser, client_ip, require_role
from kefu.web.media import raise_web, recording_response
from kefu.web.pages import phone_for, render

router = APIRouter(tags=["recordings"])

Listener = Annotated[SessionUser, require_role(*Role)]
Holder = Annotated[SessionUser, require_role(Role.QA, Role.SUPERVISOR, Role.ADMIN)]
PathId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Id = Annotated[int, Query(ge=1, le=2**31 - 1)]
Seconds = Annotated[float, Query(ge=0, le=86_400)]
TimeText = Annotated[str | None, Query(max_length=40, description="ISO date or date-time")]


def _viewer(session: Session, user: SessionUser) -> Viewer:
    return recordings.viewer_of(session, user.id, user.role, user.agent_id)


def _row(user: SessionUser, r: recordings.RecordingRow) -> dict[str, Any]:
    out = r.as_dict()
    out["caller"] = phone_for(user, r.caller)
    out["callee"] = phone_for(user, r.callee)
    out["audio_url"] = None if r.purged_at else f"/api/recordings/{r.id}/audio"
    return out


def _choices(session: Session, viewer: Viewer) -> dict[str, Any]:
    """Agents and queues for the filter drop-downs, as far as the viewer sees."""
    agents = (
        select(Agent.id, Agent.agent_no, User.display_name)
        .join(User, User.id == Agent.user_id)
        .order_by(Agent.agent_no)
    )
    if viewer.scope is ScopeKind.TEAM:
        agents = agents.where(User.team_id == viewer.team_id)
    elif viewer.scope is ScopeKind.OWN:
        agents = agents.where(Agent.id == (viewer.agent_id or -1))
    return {
        "agents": session.execute(agents).all(),
        "queues": session.execute(select(Queue.id, Queue.name).order_by(Queue.name)).all(),
        "scope": viewer.scope.value,
    }


@router.get("/recordings", response_class=HTMLResponse, include_in_schema=False)
def recordings_page(request: Request, user: Listener, session: SessionDep) -> HTMLResponse:
    """The recordings search with an in-browser player; rows load from /api/recordings."""
    return render(
        request, "recordings.html", user=user, **_choices(session, _viewer(session, user))
    )


@router.get("/api/recordings", summary="Search call recordings, newest first")
def search(
    session: SessionDep,
    user: Listener,
    start: TimeText = None,
    end: TimeText = None,
    agent_id: Id | None = None,
    agent_no: Annotated[str | None, Query(max_length=32, description="工号")] = None,
    queue_id: Id | None = None,
    number: Annotated[
        str | None, Query(max_length=40, description="caller or callee: full or last digits")
    ] = None,
    direction: Direction | None = None,
    disposition: Disposition | None = None,
    min_duration: Seconds | None = None,
    max_duration: Seconds | None = None,
    has_findings: bool | None = None,
    purged: bool | None = None,
    held: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Times are local (Asia/Shanghai) unless they carry an offset; a bare `end` date
    includes that day. Agents get their own calls, team leaders their team's."""
    viewer = _viewer(session, user)
    try:
        flt = RecordingFilter(
            start=recordings.parse_time(start, "start"),
            end=recordings.parse_time(end, "end", end=True),
            agent_id=agent_id,
            agent_no=agent_no.strip() or None if agent_no else None,
            queue_id=queue_id,
            number=recordings.parse_number(number),
            direction=direction,
            disposition=disposition,
            min_duration=min_duration,
            max_duration=max_duration,
            has_findings=has_findings,
            purged=purged,
            held=held,
        )
        rows, total = recordings.search(session, flt, viewer, limit=limit, offset=offset)
    except RecordingsError as exc:
        raise_web(exc)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "timezone": str(TZ),
        "rows": [_row(user, r) for r in rows],
    }


@router.get(
    "/api/recordings/{recording_id}/audio",
    summary="The recording (stereo WAV: customer left, agent right), with HTTP Range support",
    response_class=FileResponse,
)
def audio(
    recording_id: PathId,
    request: Request,
    session: SessionDep,
    user: Listener,
    download: bool = False,
) -> FileResponse:
    """Plays inline, or downloads with `download=true`; both are audited. 410 once purged."""
    try:
        rec = recordings.get(session, recording_id, _viewer(session, user))
    except RecordingsError as exc:
        raise_web(exc)
    return recording_response(request, session, user, rec, via="recordings", download=download)


class HoldIn(BaseModel):
    """Put a recording under legal hold (kept past the retention period) or lift it."""

    hold: bool
    reason: str = Field(default="", max_length=256)


@router.post("/api/recordings/{recording_id}/hold", summary="Legal hold on a recording")
def hold(
    recording_id: PathId, body: HoldIn, request: Request, session: SessionDep, user: Holder
) -> dict[str, Any]:
    """A held recording is never purged; the hold and its release are audited."""
    try:
        rec = recordings.set_hold(
            session, recording_id, body.hold, body.reason, user.id, source_ip=client_ip(request)
        )
    except RecordingsError as exc:
        raise_web(exc)
    return {"id": rec.id, "legal_hold": rec.legal_hold, "hold_reason": rec.hold_reason}
