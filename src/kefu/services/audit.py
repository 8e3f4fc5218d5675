"""Audit helpers: every login and supervisor action is recorded (AG-22)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kefu.store.db import Database
from kefu.store.models import AuditEntry, User
from kefu.store.repositories import AuditRepository, UserRepository


def record(
    db: Database,
    action: str,
    *,
    actor_id: int | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
    source_ip: str | None = None,
) -> None:
    """Append one entry in its own transaction."""
    with db.session() as session:
        actor: User | None = UserRepository(session).by_id(actor_id) if actor_id else None
        AuditRepository(session).record(
            action, actor=actor, target=target, detail=detail, source_ip=source_ip
        )


def latest(db: Database, limit: int = 100, action: str | None = None) -> Sequence[AuditEntry]:
    """The newest entries first."""
    with db.session() as session:
        return list(AuditRepository(session).latest(limit, action))
