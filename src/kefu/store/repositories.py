"""Repositories: the only place that builds queries. Services call these, never SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.store.models import (
    Agent,
    AuditEntry,
    BlacklistEntry,
    Call,
    CallLeg,
    Customer,
    QaFinding,
    QaResult,
    Role,
    User,
)


class UserRepository:
    """Users and their agent records."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_username(self, username: str) -> User | None:
        """The user with this login name."""
        return self.session.scalar(select(User).where(User.username == username))

    def by_id(self, user_id: int) -> User | None:
        """The user with this id."""
        return self.session.get(User, user_id)

    def agent_by_number(self, agent_no: str) -> Agent | None:
        """The agent with this 工号."""
        return self.session.scalar(select(Agent).where(Agent.agent_no == agent_no))

    def agent_by_extension(self, extension: str) -> Agent | None:
        """The agent who owns this extension."""
        return self.session.scalar(select(Agent).where(Agent.extension == extension))

    def count_by_role(self, role: Role) -> int:
        """How many users have `role`."""
        return self.session.scalar(select(func.count()).where(User.role == role)) or 0

    def add(self, user: User) -> User:
        """Persist a new user (and its agent, if attached)."""
        self.session.add(user)
        self.session.flush()
        return user


class AuditRepository:
    """The append-only audit log."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        action: str,
        *,
        actor: User | None = None,
        target: str = "",
        detail: dict[str, Any] | None = None,
        source_ip: str | None = None,
        at: dt.datetime | None = None,
    ) -> AuditEntry:
        """Append one entry."""
        entry = AuditEntry(
            action=action,
            actor_id=actor.id if actor else None,
            actor_name=actor.username if actor else "",
            target=target,
            detail=detail or {},
            source_ip=source_ip,
        )
        if at is not None:
            entry.at = at
        self.session.add(entry)
        self.session.flush()
        return entry

    def latest(self, limit: int = 100, action: str | None = None) -> Sequence[AuditEntry]:
        """The newest entries first."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if action:
            query = query.where(AuditEntry.action == action)
        return self.session.scalars(query).all()


class CallRepository:
    """Call detail records."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, call: Call) -> Call:
        """Insert or update a call with its legs and holds."""
        merged = self.session.merge(call)
        self.session.flush()
        return merged

    def get(self, call_id: str) -> Call | None:
        """One call by id."""
        return self.session.get(Call, call_id)

    def legs(self, call_id: str) -> Sequence[CallLeg]:
        """The legs of a call, in the order they started."""
        return self.session.scalars(
            select(CallLeg).where(CallLeg.call_id == call_id).order_by(CallLeg.started_at)
        ).all()

    def between(self, start: dt.datetime, end: dt.datetime) -> Sequence[Call]:
        """Calls offered in [start, end)."""
        return self.session.scalars(
            select(Call)
            .where(Call.offered_at >= start, Call.offered_at < end)
            .order_by(Call.offered_at)
        ).all()


class CustomerRepository:
    """Customer records."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_phone(self, phone: str) -> Customer | None:
        """The customer with this phone number."""
        return self.session.scalar(select(Customer).where(Customer.phone == phone).limit(1))

    def add(self, customer: Customer) -> Customer:
        """Persist a new customer."""
        self.session.add(customer)
        self.session.flush()
        return customer


class BlacklistRepository:
    """Blacklisted numbers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def is_blacklisted(self, number: str, now: dt.datetime) -> bool:
        """True when calls from `number` must be rejected at `now`."""
        entry = self.session.scalar(select(BlacklistEntry).where(BlacklistEntry.number == number))
        return entry is not None and (entry.expires_at is None or entry.expires_at > now)


class QaRepository:
    """QA results and their findings."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, result: QaResult) -> QaResult:
        """Persist a result with its findings."""
        self.session.add(result)
        self.session.flush()
        return result

    def get(self, result_id: int) -> QaResult | None:
        """One result by id."""
        return self.session.get(QaResult, result_id)

    def finding(self, finding_id: int) -> QaFinding | None:
        """One finding by id."""
        return self.session.get(QaFinding, finding_id)
