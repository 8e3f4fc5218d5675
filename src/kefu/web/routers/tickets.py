"""Tickets (SLA-02) and ticket/form types (BF-01..BF-04)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from kefu.services import tickets as svc
from kefu.store.models import Role, TicketStatus, TicketType, User
from kefu.web.auth import (
    STAFF_ROLES,
    AdminUser,
    CurrentUser,
    Id,
    SessionDep,
    SessionUser,
    StaffUser,
    require_role,
)
from kefu.web.errors import Invalid, NotFound
from kefu.web.pages import render

router = APIRouter(tags=["tickets"])
WorkUser = Annotated[
    SessionUser, require_role(Role.AGENT, Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
]


class TicketCreate(BaseModel):
    """A new ticket, usually started from a call."""

    type: str
    title: str = Field(min_length=1, max_length=256)
    body: str = ""
    form: dict[str, Any] = Field(default_factory=dict)
    customer_id: int | None = None
    call_id: str | None = None


class StatusIn(BaseModel):
    """A new status."""

    status: Literal["open", "in_progress", "resolved", "closed"]


class NoteIn(BaseModel):
    """The follow-up call's note."""

    note: str = Field(min_length=1, max_length=2000)


class HandOverIn(BaseModel):
    """The new owner's username."""

    to_username: str


class TicketTypeIn(BaseModel):
    """A ticket/form type (BF-01)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    name: str = Field(min_length=1, max_length=64)
    fields: list[dict[str, Any]]
    reply_within_hours: int = Field(24, ge=1, le=24 * 90)
    follow_up_required: bool = False


def _refused(exc: svc.TicketError) -> Invalid:
    return Invalid(str(exc), exc.details)


def _ticket(session: SessionDep, ticket_id: Id) -> Any:
    t = svc.get(session, ticket_id)
    if t is None:
        raise NotFound(f"ticket {ticket_id}")
    return t


def _mine_or_staff(user: SessionUser, t: Any) -> None:
    if user.role in (Role.AGENT,) and user.id not in (t.owner_id, t.first_contact_by):
        from kefu.web.errors import Forbidden

        raise Forbidden("only the ticket's owner or a leader may change it")


def _dict(session: SessionDep, t: Any) -> dict[str, Any]:
    return svc.ticket_dict(t, session.get(TicketType, t.type_id))


@router.get("/tickets", response_class=HTMLResponse, include_in_schema=False)
def tickets_page(
    request: Request, user: CurrentUser, session: SessionDep, status: str = ""
) -> Response:
    """Ticket list: an agent sees their own, leaders all."""
    owner = user.id if user.role is Role.AGENT else None
    rows = [_dict(session, t) for t in svc.listing(session, owner_id=owner, status=status or None)]
    return render(request, "tickets.html", user=user, tickets=rows, status=status)


@router.get("/api/tickets/types")
def list_types(user: CurrentUser, session: SessionDep) -> list[dict[str, Any]]:
    """Ticket/form types with their fields (BF-01)."""
    return [svc.type_dict(t) for t in session.scalars(select(TicketType).order_by(TicketType.id))]


@router.post("/api/tickets", status_code=201)
def create_ticket(user: WorkUser, session: SessionDep, body: TicketCreate) -> dict[str, Any]:
    """Open a ticket: validated form, owner = first contact, due from the type (SLA-02)."""
    try:
        t = svc.create(
            session,
            type_code=body.type,
            title=body.title,
            body=body.body,
            form=body.form,
            creator_id=user.id,
            customer_id=body.customer_id,
            call_id=body.call_id,
        )
    except svc.TicketError as exc:
        raise _refused(exc) from None
    tt = session.get(TicketType, t.type_id)
    assert tt is not None
    return {"ticket": svc.ticket_dict(t, tt), "readback": svc.readback(tt, t.form_data)}


@router.get("/api/tickets")
def list_tickets(
    user: CurrentUser, session: SessionDep, status: str | None = None, mine: bool = False
) -> list[dict[str, Any]]:
    """Tickets; agents see their own."""
    owner = user.id if (mine or user.role is Role.AGENT) else None
    try:
        rows = svc.listing(session, owner_id=owner, status=status)
    except ValueError:
        raise Invalid(f"status: {status!r} is not a ticket status") from None
    return [_dict(session, t) for t in rows]


@router.get("/api/tickets/{ticket_id}")
def get_ticket(user: CurrentUser, session: SessionDep, ticket_id: Id) -> dict[str, Any]:
    """One ticket."""
    return _dict(session, _ticket(session, ticket_id))


@router.post("/api/tickets/{ticket_id}/status")
def set_status(
    user: WorkUser, session: SessionDep, ticket_id: Id, body: StatusIn
) -> dict[str, Any]:
    """Move a ticket; a complaint closes only after its follow-up call."""
    t = _ticket(session, ticket_id)
    _mine_or_staff(user, t)
    try:
        svc.set_status(session, t, TicketStatus(body.status), user.id)
    except svc.TicketError as exc:
        raise _refused(exc) from None
    return _dict(session, t)


@router.post("/api/tickets/{ticket_id}/follow-up")
def follow_up(user: WorkUser, session: SessionDep, ticket_id: Id, body: NoteIn) -> dict[str, Any]:
    """Record the follow-up call (件件投诉有回访)."""
    t = _ticket(session, ticket_id)
    _mine_or_staff(user, t)
    svc.follow_up(session, t, body.note, user.id)
    return _dict(session, t)


@router.post("/api/tickets/{ticket_id}/hand-over")
def hand_over(
    user: WorkUser, session: SessionDep, ticket_id: Id, body: HandOverIn
) -> dict[str, Any]:
    """Hand the ticket to another user (the owner changes; first contact is kept)."""
    t = _ticket(session, ticket_id)
    _mine_or_staff(user, t)
    to = session.scalar(select(User).where(User.username == body.to_username))
    if to is None:
        raise NotFound(f"user {body.to_username}")
    svc.hand_over(session, t, to.id, user.id)
    return _dict(session, t)


@router.post("/api/tickets/escalate")
def escalate(user: StaffUser, session: SessionDep) -> dict[str, Any]:
    """Escalate overdue tickets now (the web process also does it every minute)."""
    return {"escalated": [t.id for t in svc.escalate_overdue(session)]}


@router.post("/api/admin/ticket-types", status_code=201)
def create_type(user: AdminUser, session: SessionDep, body: TicketTypeIn) -> dict[str, Any]:
    """Add a ticket/form type (BF-01)."""
    if session.scalar(select(TicketType).where(TicketType.code == body.code)) is not None:
        raise Invalid(f"code: {body.code!r} exists already")
    try:
        fields = svc.check_type_fields(body.fields)
    except svc.TicketError as exc:
        raise _refused(exc) from None
    tt = TicketType(
        code=body.code,
        name=body.name,
        fields=fields,
        reply_within_hours=body.reply_within_hours,
        follow_up_required=body.follow_up_required,
    )
    session.add(tt)
    session.flush()
    return svc.type_dict(tt)


@router.put("/api/admin/ticket-types/{type_id}")
def update_type(
    user: AdminUser, session: SessionDep, type_id: Id, body: TicketTypeIn
) -> dict[str, Any]:
    """Change a ticket/form type (BF-01)."""
    tt = session.get(TicketType, type_id)
    if tt is None:
        raise NotFound(f"ticket type {type_id}")
    try:
        fields = svc.check_type_fields(body.fields)
    except svc.TicketError as exc:
        raise _refused(exc) from None
    meta = [f for f in tt.fields if isinstance(f, dict) and "meta" in f]
    tt.code, tt.name = body.code, body.name
    tt.fields = (
        [f for f in fields if "meta" not in f]
        + ([] if any("meta" in f for f in fields) else meta)
        + [f for f in fields if "meta" in f]
    )
    tt.reply_within_hours = body.reply_within_hours
    tt.follow_up_required = body.follow_up_required
    return svc.type_dict(tt)


_ = STAFF_ROLES
