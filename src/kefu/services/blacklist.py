"""Blacklist (AG-14): an agent requests, a team leader decides, the center rejects the number."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.errors import KefuError
from kefu.store.models import BlacklistEntry, BlacklistRequest, RequestStatus
from kefu.store.repositories import AuditRepository

_NUMBER = re.compile(r"^\+?\d{3,20}$")


class BlacklistError(KefuError):
    """A blacklist request or decision was refused."""


def request(
    session: Session, number: str, reason: str, user_id: int, call_id: str | None = None
) -> BlacklistRequest:
    """An agent asks for a number to be blacklisted."""
    number = number.strip().replace(" ", "").replace("-", "")
    if not _NUMBER.match(number):
        raise BlacklistError(f"number: {number!r} is not a phone number")
    if not reason.strip():
        raise BlacklistError("reason: required")
    row = BlacklistRequest(
        number=number, reason=reason.strip(), requested_by=user_id, call_id=call_id
    )
    session.add(row)
    session.flush()
    AuditRepository(session).record("blacklist.request", target=number, detail={"by": user_id})
    return row


def pending(session: Session) -> list[BlacklistRequest]:
    """Requests awaiting a decision, oldest first."""
    return list(
        session.scalars(
            select(BlacklistRequest)
            .where(BlacklistRequest.status == RequestStatus.PENDING)
            .order_by(BlacklistRequest.id)
        )
    )


def mine(session: Session, user_id: int) -> list[BlacklistRequest]:
    """The requests a user made, newest first."""
    return list(
        session.scalars(
            select(BlacklistRequest)
            .where(BlacklistRequest.requested_by == user_id)
            .order_by(BlacklistRequest.id.desc())
        )
    )


def decide(
    session: Session,
    request_id: int,
    approve: bool,
    user_id: int,
    note: str = "",
    expires_at: dt.datetime | None = None,
) -> BlacklistRequest:
    """A team leader approves (the number is blocked) or rejects a request."""
    row = session.get(BlacklistRequest, request_id)
    if row is None:
        raise BlacklistError(f"request {request_id}: not found")
    if row.status is not RequestStatus.PENDING:
        raise BlacklistError(f"request {request_id}: already {row.status.value}")
    row.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    row.decided_by = user_id
    row.decided_at = dt.datetime.now(dt.UTC)
    row.decision_note = note
    if approve:
        entry = session.scalar(select(BlacklistEntry).where(BlacklistEntry.number == row.number))
        if entry is None:
            session.add(
                BlacklistEntry(
                    number=row.number, reason=row.reason, request_id=row.id, expires_at=expires_at
                )
            )
    AuditRepository(session).record(
        "blacklist.approve" if approve else "blacklist.reject",
        target=row.number,
        detail={"request": row.id, "by": user_id, "note": note},
    )
    session.flush()
    return row


def lift(session: Session, number: str, user_id: int) -> bool:
    """Remove a number from the blacklist."""
    entry = session.scalar(select(BlacklistEntry).where(BlacklistEntry.number == number))
    if entry is None:
        return False
    session.delete(entry)
    AuditRepository(session).record("blacklist.lift", target=number, detail={"by": user_id})
    return True


def entries(session: Session) -> list[BlacklistEntry]:
    """Every blacklisted number."""
    return list(session.scalars(select(BlacklistEntry).order_by(BlacklistEntry.id.desc())))


def request_dict(r: BlacklistRequest) -> dict[str, Any]:
    """A request as JSON."""
    return {
        "id": r.id,
        "number": r.number,
        "reason": r.reason,
        "call_id": r.call_id,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at.isoformat() if r.requested_at else None,
        "status": r.status.value,
        "decided_by": r.decided_by,
        "decision_note": r.decision_note,
    }
