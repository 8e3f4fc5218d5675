"""Voicemails (CC-03 留言): list, play in the browser, mark heard, make a callback ticket.

Team leaders, QA, supervisors and admins see every voicemail, agents the ones assigned to
them as callbacks (kefu.services.voicemails). QA sees numbers masked and may not act.
Every playback is audited (kefu.web.media, as for recordings).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.services import recordings, voicemails
from kefu.services.recordings import RecordingsError, Viewer
from kefu.services.reports import TZ
from kefu.services.voicemails import VoicemailFilter
from kefu.store.models import Agent, Role, User
from kefu.web.auth import SessionDep, SessionUser, client_ip, require_role
from kefu.web.media import raise_web, recording_response
from kefu.web.pages import phone_for, render

router = APIRouter(tags=["voicemails"])

Listener = Annotated[SessionUser, require_role(*Role)]
Assigner = Annotated[SessionUser, require_role(Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)]
PathId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
TimeText = Annotated[str | None, Query(max_length=40, description="ISO date or date-time")]


def _viewer(session: Session, user: SessionUser) -> Viewer:
    return recordings.viewer_of(session, user.id, user.role, user.agent_id)


def _row(user: SessionUser, r: voicemails.VoicemailRow) -> dict[str, Any]:
    out = r.as_dict()
    out["caller"] = phone_for(user, r.caller)
    out["audio_url"] = None if r.purged_at else f"/api/voicemails/{r.id}/audio"
    return out


@router.get("/voicemails", response_class=HTMLResponse, include_in_schema=False)
def voicemails_page(request: Request, user: Listener, session: SessionDep) -> HTMLResponse:
    """The voicemail list with an in-browser player; rows load from /api/voicemails."""
    agents = (
        session.execute(
            select(Agent.id, Agent.agent_no, User.display_name)
            .join(User, User.id == Agent.user_id)
            .order_by(Agent.agent_no)
        ).all()
        if user.role in (Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
        else []
    )
    return render(
        request, "voicemails.html", user=user, boxes=voicemails.boxes(session), agents=agents
    )


@router.get("/api/voicemails", summary="List voicemails, newest first")
def search(
    session: SessionDep,
    user: Listener,
    start: TimeText = None,
    end: TimeText = None,
    box: Annotated[str | None, Query(max_length=64, description="IVR box or queue")] = None,
    dialled: Annotated[
        str | None, Query(max_length=40, description="the number the caller dialled")
    ] = None,
    number: Annotated[
        str | None, Query(max_length=40, description="caller: full number or last digits")
    ] = None,
    heard: bool | None = None,
    purged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Times are local (Asia/Shanghai) unless they carry an offset; a bare `end` date
    includes that day. Agents get the voicemails assigned to them as callbacks."""
    try:
        flt = VoicemailFilter(
            start=recordings.parse_time(start, "start"),
            end=recordings.parse_time(end, "end", end=True),
            box=box.strip() or None if box else None,
            dialled=recordings.parse_number(dialled, "dialled"),
            number=recordings.parse_number(number),
            heard=heard,
            purged=purged,
        )
        rows, total = voicemails.search(
            session, flt, _viewer(session, user), limit=limit, offset=offset
        )
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
    "/api/voicemails/{voicemail_id}/audio",
    summary="The voicemail (mono WAV), with HTTP Range support",
    response_class=FileResponse,
)
def audio(
    voicemail_id: PathId,
    request: Request,
    session: SessionDep,
    user: Listener,
    download: bool = False,
) -> FileResponse:
    """Plays inline, or downloads with `download=true`; both are audited. 410 once purged."""
    try:
        vm = voicemails.get(session, voicemail_id, _viewer(session, user))
    except RecordingsError as exc:
        raise_web(exc)
    return recording_response(
        request, session, user, vm, via="voicemails", download=download, noun="voicemail"
    )


@router.post("/api/voicemails/{voicemail_id}/heard", summary="Mark a voicemail heard")
def heard(
    voicemail_id: PathId, request: Request, session: SessionDep, user: Listener
) -> dict[str, Any]:
    """Records when and by whom (the first marking stays); audited. Not for QA."""
    try:
        vm = voicemails.mark_heard(
            session, voicemail_id, _viewer(session, user), source_ip=client_ip(request)
        )
    except RecordingsError as exc:
        raise_web(exc)
    assert vm.heard_at is not None
    return {"id": vm.id, "heard": True, "heard_at": vm.heard_at.astimezone(TZ).isoformat()}


class CallbackIn(BaseModel):
    """A callback ticket (留言回电) from a voicemail, optionally given to an agent."""

    agent_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=2000)


@router.post(
    "/api/voicemails/{voicemail_id}/callback",
    summary="Make a callback ticket from a voicemail",
    status_code=201,
)
def callback(
    voicemail_id: PathId,
    body: CallbackIn,
    request: Request,
    session: SessionDep,
    user: Assigner,
) -> dict[str, Any]:
    """One ticket per voicemail (409 for a second); the agent named owns it and then sees
    the voicemail. Audited."""
    try:
        ticket = voicemails.create_callback(
            session,
            voicemail_id,
            _viewer(session, user),
            agent_id=body.agent_id,
            note=body.note,
            source_ip=client_ip(request),
        )
    except RecordingsError as exc:
        raise_web(exc)
    return {"id": voicemail_id, "ticket_id": ticket.id, "owner_id": ticket.owner_id}
