"""Customers (CC-12): search, records, contact history and notes. QA sees masked numbers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from kefu.services import crm
from kefu.store.models import ContactKind, Role
from kefu.web.auth import CurrentUser, SessionDep, SessionUser, require_role
from kefu.web.errors import Invalid, NotFound
from kefu.web.pages import id_card_for, phone_for, render

router = APIRouter(tags=["customers"])
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


def _get(session: SessionDep, customer_id: int) -> Any:
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
    request: Request, user: CurrentUser, session: SessionDep, customer_id: int
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


@router.get("/api/customers/{customer_id}")
def get_customer(user: CurrentUser, session: SessionDep, customer_id: int) -> dict[str, Any]:
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
    user: EditUser, session: SessionDep, customer_id: int, body: CustomerUpdate
) -> dict[str, Any]:
    """Edit a customer (the screen pop's form)."""
    c = _get(session, customer_id)
    _update(session, c, body.model_dump(exclude_unset=True))
    return public(user, crm.customer_dict(c))


@router.post("/api/customers/{customer_id}/notes", status_code=201)
def add_note(user: EditUser, session: SessionDep, customer_id: int, body: NoteIn) -> dict[str, Any]:
    """Add a note, SMS or order to the contact history."""
    c = _get(session, customer_id)
    entry = crm.add_note(session, c, ContactKind(body.kind), body.summary, body.ref)
    return {"id": entry.id, "kind": entry.kind.value, "summary": entry.summary}
