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
import functools
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Connection,
    Select,
    Table,
    Update,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.sql import func

from kefu.store.models import Call, CallLeg, Disposition, Party

CALLS = cast(Table, Call.__table__)
LEGS = cast(Table, CallLeg.__table__)

# Statements are built once per shape and run with parameters: building one per write (and
# its cache key) cost more than running it.
_INSERT_CALL = insert(CALLS)
_INSERT_LEG = insert(LEGS)
_ID: BindParameter[Any] = bindparam("_id")
_FILTERS = ("agent_id", "address", "party")  # the leg filters, in a fixed order


def add_call(conn: Connection, **values: Any) -> None:
    """Insert a `calls` row (the column defaults apply)."""
    conn.execute(_INSERT_CALL, values)


def call_exists(conn: Connection, call_id: str) -> bool:
    """Whether the call's row is stored."""
    return conn.execute(_select_call(("id",)), {"_id": call_id}).first() is not None


def call_fields(conn: Connection, call_id: str, *names: str) -> Any | None:
    """The named columns of the call's row, or None when there is no row."""
    return conn.execute(_select_call(names), {"_id": call_id}).first()


def set_call(conn: Connection, call_id: str, keep: tuple[str, ...] = (), **values: Any) -> int:
    """Update columns of the call's row; the columns named in `keep` only where still NULL.
    Returns the number of rows changed (0: no such call)."""
    stmt = _update_call(tuple(values), tuple(k for k in keep if k in values))
    params = {"v_" + k: v for k, v in values.items()}
    params["_id"] = call_id
    return conn.execute(stmt, params).rowcount


def add_to_call(conn: Connection, call_id: str, column: str, amount: float) -> None:
    """Add to a numeric column (held or after-call-work seconds)."""
    conn.execute(_add_to_call(column), {"_id": call_id, "amount": amount})


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
    conn.execute(_INSERT_LEG, values)


def latest_open_leg(
    conn: Connection,
    call_id: str,
    *,
    agent_id: int | None = None,
    address: str | None = None,
) -> int | None:
    """The id of the newest open leg of the call for the agent (or address), if any."""
    params = _leg_params(call_id, agent_id=agent_id, address=address)
    return cast(int | None, conn.execute(_latest_leg(_shape(params)), params).scalar())


def set_leg(conn: Connection, leg_id: int, **values: Any) -> None:
    """Update columns of one leg."""
    params = {"v_" + k: v for k, v in values.items()}
    params["_id"] = leg_id
    conn.execute(_update_leg(tuple(values)), params)


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
    params = _leg_params(call_id, agent_id=agent_id, address=address, party=party)
    params["v_ended_at"], params["v_hangup_by"] = at, by
    conn.execute(_end_legs(_shape(params)), params)


# ---- the statements, one per shape -------------------------------------------------------


def _leg_params(call_id: str, **filters: Any) -> dict[str, Any]:
    params = {"f_" + k: v for k, v in filters.items() if v is not None}
    params["_id"] = call_id
    return params


def _shape(params: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f for f in _FILTERS if "f_" + f in params)


def _open_legs_where(filters: tuple[str, ...]) -> list[Any]:
    return [LEGS.c.call_id == _ID, LEGS.c.ended_at.is_(None)] + [
        LEGS.c[f] == bindparam("f_" + f, type_=LEGS.c[f].type) for f in filters
    ]


@functools.cache
def _select_call(names: tuple[str, ...]) -> Select[Any]:
    return select(*(CALLS.c[n] for n in names)).where(CALLS.c.id == _ID)


@functools.cache
def _update_call(names: tuple[str, ...], keep: tuple[str, ...]) -> Update:
    def value(n: str) -> Any:
        v = bindparam("v_" + n, type_=CALLS.c[n].type)
        return func.coalesce(CALLS.c[n], v) if n in keep else v

    return update(CALLS).where(CALLS.c.id == _ID).values({n: value(n) for n in names})


@functools.cache
def _add_to_call(column: str) -> Update:
    return (
        update(CALLS)
        .where(CALLS.c.id == _ID)
        .values({column: CALLS.c[column] + bindparam("amount", type_=CALLS.c[column].type)})
    )


@functools.cache
def _latest_leg(filters: tuple[str, ...]) -> Select[Any]:
    return select(LEGS.c.id).where(*_open_legs_where(filters)).order_by(LEGS.c.id.desc()).limit(1)


@functools.cache
def _update_leg(names: tuple[str, ...]) -> Update:
    return (
        update(LEGS)
        .where(LEGS.c.id == _ID)
        .values({n: bindparam("v_" + n, type_=LEGS.c[n].type) for n in names})
    )


@functools.cache
def _end_legs(filters: tuple[str, ...]) -> Update:
    return (
        update(LEGS)
        .where(*_open_legs_where(filters))
        .values(
            ended_at=bindparam("v_ended_at", type_=LEGS.c.ended_at.type),
            hangup_by=bindparam("v_hangup_by", type_=LEGS.c.hangup_by.type),
        )
    )
