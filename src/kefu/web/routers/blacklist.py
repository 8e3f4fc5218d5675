"""Blacklist (AG-14): agents request, team leaders decide, the center rejects the number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from kefu.services import blacklist as svc
from kefu.services.center import Center
from kefu.store.models import Role
from kefu.web.auth import AgentUser, Id, SessionDep, SessionUser, StaffUser, get_db, require_role
from kefu.web.errors import Invalid, NotFound

router = APIRouter(tags=["blacklist"])
RequestUser = Annotated[
    SessionUser, require_role(Role.AGENT, Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
]


class RequestIn(BaseModel):
    """An agent's request."""

    number: str = Field(min_length=3, max_length=32)
    reason: str = Field(min_length=1, max_length=500)
    call_id: str | None = None


class DecisionIn(BaseModel):
    """A team leader's decision."""

    approve: bool
    note: str = Field("", max_length=500)


@router.post("/api/blacklist/requests", status_code=201)
def make_request(user: RequestUser, session: SessionDep, body: RequestIn) -> dict[str, Any]:
    """Request that a number be blacklisted."""
    call_id = body.call_id
    if call_id:
        from kefu.store.models import Call

        call_id = call_id if session.get(Call, call_id) is not None else None
    try:
        row = svc.request(session, body.number, body.reason, user.id, call_id)
    except svc.BlacklistError as exc:
        raise Invalid(str(exc)) from None
    return svc.request_dict(row)


@router.get("/api/blacklist/requests/mine")
def my_requests(user: AgentUser, session: SessionDep) -> list[dict[str, Any]]:
    """The requests I made."""
    return [svc.request_dict(r) for r in svc.mine(session, user.id)]


@router.get("/api/blacklist/requests")
def pending(user: StaffUser, session: SessionDep) -> list[dict[str, Any]]:
    """Requests awaiting a decision."""
    return [svc.request_dict(r) for r in svc.pending(session)]


@router.post("/api/blacklist/requests/{request_id}/decision")
def decide(request: Request, user: StaffUser, request_id: Id, body: DecisionIn) -> dict[str, Any]:
    """Approve (the center rejects the number from now on) or reject a request."""
    # Own transaction, committed before the center writes its audit entry (SQLite: one writer).
    with get_db(request).session() as session:
        try:
            row = svc.decide(session, request_id, body.approve, user.id, body.note)
        except svc.BlacklistError as exc:
            if "not found" in str(exc):
                raise NotFound(f"request {request_id}") from None
            raise Invalid(str(exc)) from None
        result = svc.request_dict(row)
    if body.approve:
        center: Center = request.app.state.center
        center.blacklist(user.id, user.role, result["number"], True)
    return result


@router.get("/api/blacklist")
def entries(user: StaffUser, session: SessionDep) -> list[dict[str, Any]]:
    """Blacklisted numbers."""
    return [
        {
            "number": e.number,
            "reason": e.reason,
            "created_at": e.created_at.isoformat(),
            "expires_at": e.expires_at.isoformat() if e.expires_at else None,
        }
        for e in svc.entries(session)
    ]


@router.delete("/api/blacklist/{number}", status_code=204)
def lift(request: Request, user: StaffUser, number: str) -> None:
    """Lift a number's block."""
    with get_db(request).session() as session:
        if not svc.lift(session, number, user.id):
            raise NotFound(f"blacklisted number {number}")
    center: Center = request.app.state.center
    center.blacklist(user.id, user.role, number, False)
