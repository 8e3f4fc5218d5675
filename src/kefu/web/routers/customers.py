"""Customers (CC-12): search, records, contact history and notes. QA sees masked numbers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from kefu.services import callbacks, crm
from kefu.services.callbacks import Reminders
from kefu.store.models import ContactKind, Role, User
from kefu.web.auth import AgentUser, CurrentUser, Id, SessionDep, SessionUser, require_role
from kefu.web.errors import Invalid, NotFound
from kefu.web.pages import id_card_for, phone_for, render

router = APIRouter(tags=["customers"])
MAX_IMPORT_BYTES = 10 * 1024 * 1024
ExportUser = Annotated[SessionUser, require_role(Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)]
EditUser = Annotated[
    SessionUser, require_role(Role.AGENT, Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
]


class CustomerCreate(BaseModel):
    """A new customer."""

    phone: str = Field(min_length=3, max_length=32)
    name: str = Field("", max_length=128)
    id_card_no: str | None = None
    address: str = Field("", max_length=256)
    is_member: bool = False
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class CustomerUpdate(BaseModel):
    """Changes to a customer (fields left out stay)."""

    phone: str | None = Field(None, max_length=32)
    name: str | None = Field(None, max_length=128)
    id_card_no: str | None = None
    address: str | None = Field(None, max_length=256)
    is_member: bool | None = None
    custom_fields: dict[str, Any] | None = None


class CallbackIn(BaseModel):
    """When to call back, and what about."""

    at: dt.datetime
    note: str = Field("", max_length=500)


class CallbackDoneIn(BaseModel):
    """How the callback went."""

    result: str = Field("", max_length=500)


class NoteIn(BaseModel):
    """A contact-history entry: note, SMS or order."""

    kind: Literal["note", "sms", "order"] = "note"
    summary: str = Field(min_length=1, max_length=2000)
    ref: str | None = None


def public(user: SessionUser, data: dict[str, Any]) -> dict[str, Any]:
    """A customer as this user may see it."""
    return {
        **data,
        "phone": phone_for(user, data["phone"]),
        "id_card_no": id_card_for(user, data["id_card_no"]),
    }


def _get(session: SessionDep, customer_id: Id) -> Any:
    c = crm.get(session, customer_id)
    if c is None:
        raise NotFound(f"customer {customer_id}")
    return c


def _update(session: SessionDep, c: Any, fields: dict[str, Any]) -> None:
    try:
        crm.update(session, c, fields)
    except crm.CrmError as exc:
        raise Invalid(str(exc)) from None


@router.get("/customers", response_class=HTMLResponse, include_in_schema=False)
def customers_page(
    request: Request, user: CurrentUser, session: SessionDep, q: str = ""
) -> Response:
    """Customer search."""
    rows = [public(user, crm.customer_dict(c)) for c in crm.search(session, q)]
    return render(request, "customers.html", user=user, customers=rows, q=q)


@router.get("/customers/{customer_id}", response_class=HTMLResponse, include_in_schema=False)
def customer_page(
    request: Request, user: CurrentUser, session: SessionDep, customer_id: Id
) -> Response:
    """One customer with history."""
    c = _get(session, customer_id)
    return render(
        request,
        "customer.html",
        user=user,
        customer=public(user, crm.customer_dict(c)),
        history=crm.history(session, c),
    )


@router.get("/api/customers")
def list_customers(user: CurrentUser, session: SessionDep, q: str = "") -> list[dict[str, Any]]:
    """Customers whose name, phone or address contains q."""
    return [public(user, crm.customer_dict(c)) for c in crm.search(session, q)]


@router.post("/api/customers", status_code=201)
def create_customer(user: EditUser, session: SessionDep, body: CustomerCreate) -> dict[str, Any]:
    """Create a customer."""
    try:
        c = crm.create(session, body.phone, **body.model_dump(exclude={"phone"}))
    except crm.CrmError as exc:
        raise Invalid(str(exc)) from None
    return public(user, crm.customer_dict(c))


@router.get("/api/customers/export.xlsx")
def export_customers(user: ExportUser, session: SessionDep) -> Response:
    """Every customer as an Excel sheet (CC-12)."""
    audit_export = {"count": "all"}
    from kefu.store.repositories import AuditRepository

    AuditRepository(session).record("customers.export", target=user.username, detail=audit_export)
    return Response(
        crm.export_xlsx(session),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="customers.xlsx"'},
    )


@router.post("/api/customers/import")
async def import_customers(
    user: ExportUser, session: SessionDep, file: UploadFile
) -> dict[str, Any]:
    """Create or update customers from an Excel sheet laid out like the export (CC-12)."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid("file: larger than 10 MB")
    try:
        return crm.import_xlsx(session, data)
    except crm.CrmError as exc:
        raise Invalid(str(exc)) from None


@router.post("/api/customers/{customer_id}/callbacks", status_code=201)
def schedule_callback(
    request: Request, user: EditUser, session: SessionDep, customer_id: Id, body: CallbackIn
) -> dict[str, Any]:
    """A callback reminder for a date and time (CC-12), assigned to the caller's agent seat."""
    c = _get(session, customer_id)
    grace = _reminders(request).grace
    try:
        task = crm.schedule_callback(
            session, c, body.at, body.note, user.agent_id, user.id, grace=grace
        )
    except crm.CrmError as exc:
        raise Invalid(str(exc)) from None
    return {"id": task.id, "at": body.at.isoformat(), "note": task.talking_points}


def _reminders(request: Request) -> Reminders:
    """The app's reminder service: its clock and grace rule every callback view."""
    reminders: Reminders = request.app.state.reminders
    return reminders


@router.get("/api/agent/callbacks")
def my_callbacks(request: Request, user: AgentUser, session: SessionDep) -> list[dict[str, Any]]:
    """My open callback reminders, soonest first; `missed` marks promises past their deadline
    (SLA-05), `due` those whose time has come."""
    if user.agent_id is None:
        return []
    rem = _reminders(request)
    now = rem.now()
    out = []
    for t in callbacks.for_agent(session, user.agent_id):
        row = callbacks.reminder_dict(t, now, rem.grace)
        row["number"] = phone_for(user, t.number)
        out.append(row)
    return out


@router.post("/api/agent/callbacks/{task_id}/done")
def callback_done(
    request: Request, user: AgentUser, session: SessionDep, task_id: Id, body: CallbackDoneIn
) -> dict[str, Any]:
    """I called the customer back (SLA-05); done after the deadline it stays a missed promise."""
    if user.agent_id is None:
        raise NotFound(f"callback {task_id}")
    try:
        task = callbacks.complete(
            session, task_id, user.agent_id, _reminders(request).now(), body.result
        )
    except callbacks.CallbackError as exc:
        raise NotFound(str(exc)) from None
    return {"id": task.id, "status": task.status.value, "done_at": task.done_at}


@router.get("/api/callbacks/missed")
def missed_callbacks(
    request: Request,
    user: ExportUser,
    session: SessionDep,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Missed callback promises (SLA-05) promised in [start, end] (Beijing days): open past
    their deadline, or done late. A team leader sees their own team's."""
    tz = dt.timezone(dt.timedelta(hours=8))
    if start is not None and end is not None and end < start:
        raise Invalid("end is before start")
    team_id = None
    if user.role is Role.TEAM_LEADER:
        me = session.get(User, user.id)
        team_id = me.team_id if me is not None else None
    rem = _reminders(request)
    try:
        first = dt.datetime.combine(start, dt.time(), tz) if start else None
        last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz) if end else None
    except OverflowError:
        raise Invalid("end: date out of range") from None
    rows = callbacks.missed(
        session,
        rem.now(),
        start=first,
        end=last,
        team_id=team_id,
        grace=rem.grace,
    )
    for r in rows:
        r["number"] = phone_for(user, r["number"])
    return rows


@router.get("/api/customers/{customer_id}")
def get_customer(user: CurrentUser, session: SessionDep, customer_id: Id) -> dict[str, Any]:
    """A customer with their contact history."""
    c = _get(session, customer_id)
    data = public(user, crm.customer_dict(c))
    data["history"] = [
        {"kind": h.kind, "at": h.at.isoformat(), "summary": h.summary, "ref": h.ref}
        for h in crm.history(session, c)
    ]
    return data


@router.put("/api/customers/{customer_id}")
def update_customer(
    user: EditUser, session: SessionDep, customer_id: Id, body: CustomerUpdate
) -> dict[str, Any]:
    """Edit a customer (the screen pop's form)."""
    c = _get(session, customer_id)
    _update(session, c, body.model_dump(exclude_unset=True))
    return public(user, crm.customer_dict(c))


@router.post("/api/customers/{customer_id}/notes", status_code=201)
def add_note(user: EditUser, session: SessionDep, customer_id: Id, body: NoteIn) -> dict[str, Any]:
    """Add a note, SMS or order to the contact history."""
    c = _get(session, customer_id)
    entry = crm.add_note(session, c, ContactKind(body.kind), body.summary, body.ref)
    return {"id": entry.id, "kind": entry.kind.value, "summary": entry.summary}
