"""The CDR rows of live calls, written with SQL statements rather than ORM units of work.

The core thread writes a call's row and legs five or six times in the call's life (arrival,
ringing, answer, hang-up, the switch's end). Through the ORM each write was a load into the
identity map, a flush and its bookkeeping: under load most of the core thread's time, and
the core thread shares the interpreter with the switch's media. These are the same rows
with plain statements on the session's connection, in the session's transaction.

Every writer of `calls` and `call_legs` inside `Center`'s units uses these, so no ORM object
of those rows is pending or cached in a unit's session while a statement here runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import func

from kefu.store.models import Call, CallLeg, Disposition, Party

CALLS = cast(Table, Call.__table__)
LEGS = cast(Table, CallLeg.__table__)


def connection(session: Session) -> Connection:
    """The session's connection, in its transaction."""
    return session.connection()


def add_call(conn: Connection, **values: Any) -> None:
    """Insert a `calls` row (the column defaults apply)."""
    conn.execute(insert(CALLS).values(**values))


def call_exists(conn: Connection, call_id: str) -> bool:
    """Whether the call's row is stored."""
    return conn.execute(select(CALLS.c.id).where(CALLS.c.id == call_id)).first() is not None


def call_fields(conn: Connection, call_id: str, *names: str) -> Any | None:
    """The named columns of the call's row, or None when there is no row."""
    cols = [CALLS.c[n] for n in names]
    return conn.execute(select(*cols).where(CALLS.c.id == call_id)).first()


def set_call(conn: Connection, call_id: str, keep: tuple[str, ...] = (), **values: Any) -> int:
    """Update columns of the call's row; the columns named in `keep` only where still NULL.
    Returns the number of rows changed (0: no such call)."""
    changes = {
        k: func.coalesce(CALLS.c[k], literal(v, CALLS.c[k].type)) if k in keep else v
        for k, v in values.items()
    }
    return conn.execute(update(CALLS).where(CALLS.c.id == call_id).values(changes)).rowcount


def add_to_call(conn: Connection, call_id: str, column: str, amount: float) -> None:
    """Add to a numeric column (held or after-call-work seconds)."""
    conn.execute(
        update(CALLS).where(CALLS.c.id == call_id).values({column: CALLS.c[column] + amount})
    )


def finish_call(conn: Connection, call_id: str, at: dt.datetime, by: Party) -> bool:
    """End the call's row if it is still open: end time, who hung up, and a disposition if
    none was set (answered when it was answered, else abandoned). True if it was open."""
    row = call_fields(conn, call_id, "ended_at", "answered_at", "disposition")
    if row is None or row.ended_at is not None:
        return False
    values: dict[str, Any] = {"ended_at": at, "hangup_by": by}
    if row.disposition is None:
        values["disposition"] = (
            Disposition.ANSWERED if row.answered_at is not None else Disposition.ABANDONED
        )
    set_call(conn, call_id, **values)
    return True


def add_leg(conn: Connection, **values: Any) -> None:
    """Insert a `call_legs` row."""
    conn.execute(insert(LEGS).values(**values))


def latest_open_leg(
    conn: Connection,
    call_id: str,
    *,
    agent_id: int | None = None,
    address: str | None = None,
) -> int | None:
    """The id of the newest open leg of the call for the agent (or address), if any."""
    q = select(LEGS.c.id).where(LEGS.c.call_id == call_id, LEGS.c.ended_at.is_(None))
    if agent_id is not None:
        q = q.where(LEGS.c.agent_id == agent_id)
    if address is not None:
        q = q.where(LEGS.c.address == address)
    return cast(int | None, conn.execute(q.order_by(LEGS.c.id.desc()).limit(1)).scalar())


def set_leg(conn: Connection, leg_id: int, **values: Any) -> None:
    """Update columns of one leg."""
    conn.execute(update(LEGS).where(LEGS.c.id == leg_id).values(**values))


def end_open_legs(
    conn: Connection,
    call_id: str,
    at: dt.datetime,
    by: Party | None,
    *,
    agent_id: int | None = None,
    address: str | None = None,
    party: Party | None = None,
) -> None:
    """End the call's open legs (only the agent's, the address's or the party's, if given)."""
    q = update(LEGS).where(LEGS.c.call_id == call_id, LEGS.c.ended_at.is_(None))
    if agent_id is not None:
        q = q.where(LEGS.c.agent_id == agent_id)
    if address is not None:
        q = q.where(LEGS.c.address == address)
    if party is not None:
        q = q.where(LEGS.c.party == party)
    conn.execute(q.values(ended_at=at, hangup_by=by))
