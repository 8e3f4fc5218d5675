"""Tickets (工单, SLA-02) and configurable ticket/form types (BF-01..BF-04).

Ownership follows 首问负责制: the ticket belongs to whoever took the first contact (the agent
who answered the call it was started from, else its creator) until it is handed over. The
due time comes from the type's promised reply time; overdue tickets are escalated by
`escalate_overdue` (run periodically by the web process). Complaint-like types
(`follow_up_required`) cannot be closed before the follow-up call is recorded.

A type's `fields` is a list of field specs; an optional entry `{"meta": {...}}` carries the
read-back template (BF-03) and the price rates (BF-04).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.errors import KefuError
from kefu.services.crm import valid_id_card
from kefu.store.models import (
    Agent,
    Call,
    ContactKind,
    Customer,
    Ticket,
    TicketStatus,
    TicketType,
)
from kefu.store.repositories import AuditRepository

TYPES_FILE = Path(__file__).with_name("ticket_types.yaml")
FIELD_TYPES = frozenset(
    {"text", "textarea", "date", "datetime", "number", "phone", "id_card", "select", "bool"}
)
_PHONE = re.compile(r"^\+?\d[\d\- ]{4,19}$")
OPEN_STATES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.ESCALATED)


class TicketError(KefuError):
    """A ticket or ticket type was refused; the message names the field."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        self.details = errors
        super().__init__(message)


def seed_types(session: Session, path: Path = TYPES_FILE) -> int:
    """Install the template types (BF-02..04 and the SLA-02 kinds) that are missing."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    have = {t.code for t in session.scalars(select(TicketType))}
    added = 0
    for e in entries:
        if e["code"] in have:
            continue
        fields = list(e.get("fields", []))
        meta = {k: e[k] for k in ("readback", "quote") if k in e}
        if meta:
            fields.append({"meta": meta})
        session.add(
            TicketType(
                code=e["code"],
                name=e["name"],
                fields=fields,
                reply_within_hours=int(e.get("reply_within_hours", 24)),
                follow_up_required=bool(e.get("follow_up_required", False)),
            )
        )
        added += 1
    session.flush()
    return added


def field_specs(tt: TicketType) -> list[dict[str, Any]]:
    """The input fields of a type (without the meta entry)."""
    return [f for f in tt.fields if isinstance(f, dict) and "meta" not in f]


def meta_of(tt: TicketType) -> dict[str, Any]:
    """The read-back template and price rates of a type, if any."""
    for f in tt.fields:
        if isinstance(f, dict) and isinstance(f.get("meta"), dict):
            return dict(f["meta"])
    return {}


def check_type_fields(fields: Any) -> list[dict[str, Any]]:
    """Validate a field list given by an admin (BF-01); returns it."""
    if not isinstance(fields, list):
        raise TicketError("fields: expected a list")
    names: set[str] = set()
    for i, f in enumerate(fields):
        if not isinstance(f, dict):
            raise TicketError(f"fields[{i}]: expected a mapping")
        if "meta" in f:
            continue
        name = f.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
            raise TicketError(f"fields[{i}].name: expected a lower-case identifier")
        if name in names:
            raise TicketError(f"fields[{i}].name: {name!r} is used twice")
        names.add(name)
        if f.get("type", "text") not in FIELD_TYPES:
            raise TicketError(
                f"fields[{i}].type: {f.get('type')!r} is not one of {sorted(FIELD_TYPES)}"
            )
        if f.get("type") == "select" and not f.get("options"):
            raise TicketError(f"fields[{i}].options: a select needs options")
    return fields


def validate_form(tt: TicketType, data: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise form data against the type's fields; errors per field."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in field_specs(tt):
        name = f["name"]
        kind = f.get("type", "text")
        raw = data.get(name)
        empty = raw is None or (isinstance(raw, str) and not raw.strip())
        if kind == "bool":
            value: Any = raw in (True, "true", "on", "1", 1, "yes")
            if f.get("required") and not value:
                errors[name] = "must be confirmed"
            clean[name] = value
            continue
        if empty:
            if f.get("required"):
                errors[name] = "required"
            continue
        text = str(raw).strip()
        if kind == "number":
            try:
                number = float(text)
            except ValueError:
                errors[name] = "not a number"
                continue
            if number < 0:
                errors[name] = "must not be negative"
                continue
            clean[name] = number
        elif kind == "id_card":
            if not valid_id_card(text):
                errors[name] = "not a valid resident ID number"
                continue
            clean[name] = text.upper()
        elif kind == "phone":
            if not _PHONE.match(text):
                errors[name] = "not a phone number"
                continue
            clean[name] = text
        elif kind == "date":
            try:
                clean[name] = dt.date.fromisoformat(text).isoformat()
            except ValueError:
                errors[name] = "not a date (YYYY-MM-DD)"
        elif kind == "datetime":
            try:
                clean[name] = dt.datetime.fromisoformat(text).isoformat()
            except ValueError:
                errors[name] = "not a date and time"
        elif kind == "select":
            if text not in f.get("options", []):
                errors[name] = "not one of the options"
                continue
            clean[name] = text
        else:
            clean[name] = text
    if errors:
        first = next(iter(errors))
        raise TicketError(f"form.{first}: {errors[first]}", errors)
    return clean


def quote(tt: TicketType, data: dict[str, Any]) -> dict[str, float] | None:
    """BF-04: price from first-weight and added-weight rates, plus the insurance offer."""
    rates = meta_of(tt).get("quote")
    if not rates or "weight_kg" not in data:
        return None
    weight = float(data["weight_kg"])
    first = float(rates["first_weight_kg"])
    extra_kg = max(0, math.ceil(weight - first))
    freight = float(rates["first_price"]) + extra_kg * float(rates["added_price_per_kg"])
    insured = float(data.get("insured_value") or 0)
    premium = round(insured * float(rates.get("insurance_rate", 0)), 2)
    return {"freight": freight, "insurance": premium, "total": round(freight + premium, 2)}


def readback(tt: TicketType, data: dict[str, Any]) -> str | None:
    """BF-03: the sentence read back to the caller to confirm the required fields."""
    template = meta_of(tt).get("readback")
    if not template:
        return None
    return str(template).format_map({k: data.get(k, "") for k in _names(template)} | data)


def _names(template: str) -> list[str]:
    return re.findall(r"{(\w+)}", template)


def first_contact_user(session: Session, call_id: str | None, creator_id: int) -> int:
    """首问负责制: the user who answered the call, else the creator."""
    if call_id:
        call = session.get(Call, call_id)
        if call is not None and call.agent_id is not None:
            agent = session.get(Agent, call.agent_id)
            if agent is not None:
                return agent.user_id
    return creator_id


def create(
    session: Session,
    *,
    type_code: str,
    title: str,
    body: str,
    form: dict[str, Any],
    creator_id: int,
    customer_id: int | None = None,
    call_id: str | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket: validated form, owner = first contact, due = now + promised time."""
    now = now or dt.datetime.now(dt.UTC)
    tt = session.scalar(select(TicketType).where(TicketType.code == type_code))
    if tt is None:
        raise TicketError(f"type: no ticket type {type_code!r}")
    if not title.strip():
        raise TicketError("title: required")
    clean = validate_form(tt, form)
    priced = quote(tt, clean)
    if priced is not None:
        clean["quote"] = priced
    if customer_id is not None and session.get(Customer, customer_id) is None:
        raise TicketError(f"customer_id: no customer {customer_id}")
    owner = first_contact_user(session, call_id, creator_id)
    ticket = Ticket(
        type_id=tt.id,
        customer_id=customer_id,
        call_id=call_id if call_id and session.get(Call, call_id) else None,
        title=title.strip(),
        body=body,
        form_data=clean,
        owner_id=owner,
        first_contact_by=owner,
        due_at=now + dt.timedelta(hours=tt.reply_within_hours),
        created_at=now,
    )
    session.add(ticket)
    session.flush()
    if customer_id is not None:
        from kefu.services.crm import add_note

        customer = session.get(Customer, customer_id)
        assert customer is not None
        add_note(session, customer, ContactKind.TICKET, ticket.title, str(ticket.id), now)
    return ticket


def get(session: Session, ticket_id: int) -> Ticket | None:
    """One ticket."""
    return session.get(Ticket, ticket_id)


def listing(
    session: Session, *, owner_id: int | None = None, status: str | None = None, limit: int = 200
) -> list[Ticket]:
    """Tickets, newest first, optionally by owner and status."""
    q = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
    if owner_id is not None:
        q = q.where(Ticket.owner_id == owner_id)
    if status:
        q = q.where(Ticket.status == TicketStatus(status))
    return list(session.scalars(q))


def set_status(
    session: Session,
    ticket: Ticket,
    status: TicketStatus,
    actor_id: int,
    now: dt.datetime | None = None,
) -> Ticket:
    """Move a ticket; closing a complaint needs its follow-up call first."""
    now = now or dt.datetime.now(dt.UTC)
    tt = session.get(TicketType, ticket.type_id)
    if (
        status is TicketStatus.CLOSED
        and tt is not None
        and tt.follow_up_required
        and ticket.follow_up_done_at is None
    ):
        raise TicketError("status: a complaint is closed only after its follow-up call (回访)")
    ticket.status = status
    if status in (TicketStatus.CLOSED, TicketStatus.RESOLVED):
        ticket.closed_at = now
    AuditRepository(session).record(
        "ticket.status", target=str(ticket.id), detail={"status": status.value, "by": actor_id}
    )
    return ticket


def follow_up(
    session: Session, ticket: Ticket, note: str, actor_id: int, now: dt.datetime | None = None
) -> Ticket:
    """Record the follow-up call of a ticket (件件投诉有回访)."""
    ticket.follow_up_done_at = now or dt.datetime.now(dt.UTC)
    ticket.body = (ticket.body + "\n" if ticket.body else "") + f"[follow-up] {note}"
    AuditRepository(session).record(
        "ticket.follow_up", target=str(ticket.id), detail={"by": actor_id}
    )
    return ticket


def hand_over(session: Session, ticket: Ticket, to_user: int, actor_id: int) -> Ticket:
    """Hand the ticket over to another owner (the first-contact owner is kept)."""
    before = ticket.owner_id
    ticket.owner_id = to_user
    AuditRepository(session).record(
        "ticket.hand_over",
        target=str(ticket.id),
        detail={"from": before, "to": to_user, "by": actor_id},
    )
    return ticket


def escalate_overdue(session: Session, now: dt.datetime | None = None) -> list[Ticket]:
    """Escalate every open ticket past its due time (SLA-02)."""
    now = now or dt.datetime.now(dt.UTC)
    overdue = list(
        session.scalars(
            select(Ticket).where(
                Ticket.status.in_((TicketStatus.OPEN, TicketStatus.IN_PROGRESS)),
                Ticket.due_at.is_not(None),
                Ticket.due_at < now,
            )
        )
    )
    for t in overdue:
        t.status = TicketStatus.ESCALATED
        t.escalated_at = now
        AuditRepository(session).record(
            "ticket.escalate", target=str(t.id), detail={"due_at": str(t.due_at)}
        )
    session.flush()
    return overdue


def ticket_dict(t: Ticket, tt: TicketType | None = None) -> dict[str, Any]:
    """A ticket as JSON."""
    return {
        "id": t.id,
        "type_id": t.type_id,
        "type": tt.code if tt else None,
        "title": t.title,
        "body": t.body,
        "form": t.form_data,
        "status": t.status.value,
        "customer_id": t.customer_id,
        "call_id": t.call_id,
        "owner_id": t.owner_id,
        "first_contact_by": t.first_contact_by,
        "due_at": t.due_at.isoformat() if t.due_at else None,
        "escalated_at": t.escalated_at.isoformat() if t.escalated_at else None,
        "follow_up_done_at": t.follow_up_done_at.isoformat() if t.follow_up_done_at else None,
        "created_at": t.created_at.isoformat() if t.created_at else None,
    }


def type_dict(tt: TicketType) -> dict[str, Any]:
    """A ticket type as JSON."""
    return {
        "id": tt.id,
        "code": tt.code,
        "name": tt.name,
        "fields": field_specs(tt),
        "meta": meta_of(tt),
        "reply_within_hours": tt.reply_within_hours,
        "follow_up_required": tt.follow_up_required,
    }
