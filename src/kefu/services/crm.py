"""Customers (CC-12) and the screen pop (CC-08): record, contact history, caller region."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kefu.core.routing import region_of
from kefu.errors import KefuError
from kefu.store.models import (
    Call,
    ContactHistory,
    ContactKind,
    Customer,
    OutboundTask,
    TaskStatus,
    Ticket,
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class CrmError(KefuError):
    """A customer record was refused."""


def valid_id_card(number: str) -> bool:
    """A resident ID number (GB 11643-1999): 18 characters, birth date, check digit."""
    n = number.strip().upper()
    if len(n) != 18 or not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        return False
    try:
        dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == n[17]


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One line of a customer's contact history."""

    kind: str
    at: dt.datetime
    summary: str
    ref: str | None


def customer_dict(c: Customer) -> dict[str, Any]:
    """A customer as JSON (unmasked: the caller masks for roles that need it)."""
    return {
        "id": c.id,
        "name": c.name,
        "phone": c.phone,
        "id_card_no": c.id_card_no,
        "address": c.address,
        "is_member": c.is_member,
        "custom_fields": c.custom_fields,
        "created_at": c.created_at.isoformat() if c.created_at else None,
    }


def by_phone(session: Session, phone: str) -> Customer | None:
    """The customer with this phone number."""
    return session.scalar(select(Customer).where(Customer.phone == phone).limit(1))


def get(session: Session, customer_id: int) -> Customer | None:
    """One customer."""
    return session.get(Customer, customer_id)


def search(session: Session, q: str, limit: int = 50) -> list[Customer]:
    """Customers whose name, phone or address contains `q`."""
    query = select(Customer).order_by(Customer.id.desc()).limit(limit)
    if q:
        like = f"%{q}%"
        query = query.where(
            or_(Customer.name.like(like), Customer.phone.like(like), Customer.address.like(like))
        )
    return list(session.scalars(query))


def create(session: Session, phone: str, **fields: Any) -> Customer:
    """A new customer record."""
    customer = Customer(phone=phone.strip())
    session.add(customer)
    update(session, customer, fields)
    return customer


def update(session: Session, customer: Customer, fields: dict[str, Any]) -> Customer:
    """Change the given fields; an ID number must be valid (BF-02)."""
    for key in ("name", "address", "phone"):
        if key in fields and fields[key] is not None:
            setattr(customer, key, str(fields[key]).strip())
    if "id_card_no" in fields:
        value = (fields["id_card_no"] or "").strip().upper()
        if value and not valid_id_card(value):
            raise CrmError(f"id_card_no: {value!r} is not a valid resident ID number")
        customer.id_card_no = value or None
    if "is_member" in fields and fields["is_member"] is not None:
        customer.is_member = bool(fields["is_member"])
    if isinstance(fields.get("custom_fields"), dict):
        customer.custom_fields = {**(customer.custom_fields or {}), **fields["custom_fields"]}
    session.flush()
    return customer


def add_note(
    session: Session,
    customer: Customer,
    kind: ContactKind,
    summary: str,
    ref: str | None = None,
    at: dt.datetime | None = None,
) -> ContactHistory:
    """Append an entry to the contact history (note, SMS, order ...)."""
    entry = ContactHistory(
        customer_id=customer.id,
        kind=kind,
        summary=summary,
        ref=ref,
        occurred_at=at or dt.datetime.now(dt.UTC),
    )
    session.add(entry)
    session.flush()
    return entry


def history(session: Session, customer: Customer, limit: int = 50) -> list[HistoryItem]:
    """Calls, SMS, orders, notes and tickets of the customer, newest first."""
    items = [
        HistoryItem(h.kind.value, h.occurred_at, h.summary, h.ref)
        for h in session.scalars(
            select(ContactHistory)
            .where(ContactHistory.customer_id == customer.id)
            .order_by(ContactHistory.occurred_at.desc())
            .limit(limit)
        )
    ]
    for call in session.scalars(
        select(Call)
        .where(or_(Call.caller == customer.phone, Call.customer_id == customer.id))
        .order_by(Call.offered_at.desc())
        .limit(limit)
    ):
        state = call.disposition.value if call.disposition else "active"
        items.append(HistoryItem("call", call.offered_at, state, call.id))
    for t in session.scalars(
        select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.id.desc())
    ):
        items.append(
            HistoryItem("ticket", t.created_at, f"{t.title} [{t.status.value}]", str(t.id))
        )
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]


def screen_pop(session: Session, caller: str) -> dict[str, Any]:
    """What the agent sees when a call is offered (CC-08): record, history, region (AG-10).

    An unknown caller gets a new, empty record to fill in.
    """
    customer = by_phone(session, caller)
    is_new = customer is None
    if customer is None:
        customer = create(session, caller)
    return {
        "caller": caller,
        "region": region_of(caller),
        "is_new": is_new,
        "customer": customer_dict(customer),
        "history": [
            {"kind": h.kind, "at": h.at.isoformat(), "summary": h.summary, "ref": h.ref}
            for h in history(session, customer)
        ],
    }


# -- Excel import and export (CC-12) ------------------------------------------------------
COLUMNS = ("phone", "name", "id_card_no", "address", "is_member")


def export_xlsx(session: Session) -> bytes:
    """Every customer as an .xlsx sheet: the fixed columns, then one per custom field."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: str) -> str:
        return str(ILLEGAL_CHARACTERS_RE.sub("", value))  # control characters cannot be stored

    customers = list(session.scalars(select(Customer).order_by(Customer.id)))
    extra = sorted({k for c in customers for k in (c.custom_fields or {})})
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "customers"
    ws.append([cell(h) for h in (*COLUMNS, *extra)])
    for c in customers:
        fields = c.custom_fields or {}
        row = [c.phone, c.name, c.id_card_no or "", c.address, "1" if c.is_member else "0"]
        ws.append([cell(v) for v in row + [str(fields.get(k, "")) for k in extra]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def import_xlsx(session: Session, data: bytes) -> dict[str, Any]:
    """Create or update customers (matched by phone) from a sheet laid out like the export.

    Rows with problems are skipped and reported as `row N: problem`.
    """
    import io

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a bad file
        raise CrmError(f"file: not an .xlsx workbook ({type(exc).__name__})") from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows, ())]
    if "phone" not in header:
        raise CrmError("row 1: the header needs a 'phone' column")
    created = updated = 0
    problems: list[str] = []
    for n, row in enumerate(rows, start=2):
        values = {
            h: ("" if v is None else str(v).strip()) for h, v in zip(header, row, strict=False)
        }
        phone = values.get("phone", "")
        if not phone:
            if any(values.values()):
                problems.append(f"row {n}: phone is empty")
            continue
        fields: dict[str, Any] = {
            k: values[k] for k in ("name", "address", "id_card_no") if k in values
        }
        if "is_member" in values:
            fields["is_member"] = values["is_member"] in ("1", "true", "True", "yes")
        custom = {h: v for h, v in values.items() if h and h not in COLUMNS and v}
        if custom:
            fields["custom_fields"] = custom
        try:
            with session.begin_nested():
                existing = by_phone(session, phone)
                if existing is None:
                    create(session, phone, **fields)
                    created += 1
                else:
                    update(session, existing, fields)
                    updated += 1
        except CrmError as exc:
            problems.append(f"row {n}: {exc}")
    return {"created": created, "updated": updated, "problems": problems}


# -- callback reminders (CC-12) -----------------------------------------------------------
def schedule_callback(
    session: Session,
    customer: Customer,
    at: dt.datetime,
    note: str,
    agent_id: int | None,
    user_id: int,
    grace: dt.timedelta = dt.timedelta(minutes=15),
) -> OutboundTask:
    """A reminder to call the customer back at `at` (an outbound task of source callback);
    the promise is missed when not done by `at` + `grace` (SLA-05, kefu.services.callbacks)."""
    if at.tzinfo is None:
        raise CrmError("at: give a time with its UTC offset")
    task = OutboundTask(
        deadline_at=at + grace,
        number=customer.phone,
        customer_id=customer.id,
        assigned_agent_id=agent_id,
        source="callback",
        scheduled_at=at,
        talking_points=note,
        created_by=user_id,
    )
    session.add(task)
    session.flush()
    return task


def callbacks_for(session: Session, agent_id: int, limit: int = 50) -> list[OutboundTask]:
    """The agent's pending callback reminders, soonest first."""
    return list(
        session.scalars(
            select(OutboundTask)
            .where(
                OutboundTask.assigned_agent_id == agent_id,
                OutboundTask.source == "callback",
                OutboundTask.status == TaskStatus.PENDING,
            )
            .order_by(OutboundTask.scheduled_at)
            .limit(limit)
        )
    )
