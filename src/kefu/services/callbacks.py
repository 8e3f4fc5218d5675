"""Callback reminders that fire, and promises that were missed (SLA-05).

A callback reminder is an outbound task of source "callback" (`crm.schedule_callback`),
promised for `scheduled_at` and due by `deadline_at` (the promised time plus a grace,
default 15 minutes). `sweep(now)` is the whole behaviour, run by `Reminders` in
`kefu serve` every few seconds with an injected clock:

- a promise kept by a call: an outbound call to the number by the assigned agent between
  the promise being made and its deadline marks the task done (the call is linked);
- a promise that comes due: the reminder fires once (`reminded_at`), as a live
  `callback_due` event on the agent's workspace;
- a promise not done by its deadline: the task becomes overdue (missed), audited, shown
  to the agent (`callback_missed`) and on the wallboard for the team leader.

An agent can also mark a callback done by hand (`complete`); done after its deadline, it
still counts as missed in `missed()` (the promise was late), with `done_at` saying when.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kefu.errors import KefuError
from kefu.services.live import LiveHub
from kefu.store.db import Database
from kefu.store.models import Agent, Call, Customer, Direction, OutboundTask, User
from kefu.store.models.crm import TaskStatus
from kefu.store.repositories import AuditRepository

log = logging.getLogger(__name__)

DEFAULT_GRACE = dt.timedelta(minutes=15)
POLL_S = 5.0  # the longest a due reminder waits for the sweep
SOURCE = "callback"


class CallbackError(KefuError):
    """A callback request that cannot be carried out."""


def deadline_of(task: OutboundTask, grace: dt.timedelta = DEFAULT_GRACE) -> dt.datetime:
    """When the promise counts as missed."""
    if task.deadline_at is not None:
        return task.deadline_at
    assert task.scheduled_at is not None
    return task.scheduled_at + grace


def _kept_by_call(session: Session, task: OutboundTask, deadline: dt.datetime) -> Call | None:
    if task.assigned_agent_id is None:
        return None
    return session.scalars(
        select(Call)
        .where(
            Call.direction == Direction.OUTBOUND,
            Call.agent_id == task.assigned_agent_id,
            Call.callee == task.number,
            Call.offered_at >= task.created_at,
            Call.offered_at <= deadline,
        )
        .order_by(Call.offered_at)
    ).first()


@dataclass(slots=True)
class Sweep:
    """What one sweep did, as task ids."""

    fired: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)


def reminder_dict(task: OutboundTask, now: dt.datetime, grace: dt.timedelta) -> dict[str, Any]:
    """A callback as the workspace shows it (the number unmasked: the agent dials it)."""
    deadline = deadline_of(task, grace)
    return {
        "id": task.id,
        "customer_id": task.customer_id,
        "number": task.number,
        "at": task.scheduled_at.isoformat() if task.scheduled_at else None,
        "deadline": deadline.isoformat(),
        "note": task.talking_points,
        "status": task.status.value,
        "due": task.scheduled_at is not None and task.scheduled_at <= now,
        "missed": is_missed(task, now, grace),
        "done_at": task.done_at.isoformat() if task.done_at else None,
    }


def is_missed(task: OutboundTask, now: dt.datetime, grace: dt.timedelta = DEFAULT_GRACE) -> bool:
    """Not done by the promised time plus grace (overdue, or done late)."""
    deadline = deadline_of(task, grace)
    if task.status is TaskStatus.DONE:
        return task.done_at is not None and task.done_at > deadline
    if task.status is TaskStatus.OVERDUE:
        return True
    if task.status is TaskStatus.CANCELLED:
        return False
    return now > deadline


def sweep(
    session: Session, now: dt.datetime, grace: dt.timedelta = DEFAULT_GRACE
) -> tuple[Sweep, list[OutboundTask]]:
    """Fire due reminders, close kept promises, mark missed ones. Returns what it did and the
    tasks it touched (for the caller to publish after the commit)."""
    out = Sweep()
    touched: list[OutboundTask] = []
    tasks = session.scalars(
        select(OutboundTask)
        .where(
            OutboundTask.source == SOURCE,
            OutboundTask.status == TaskStatus.PENDING,
            OutboundTask.scheduled_at <= now,
        )
        .order_by(OutboundTask.scheduled_at, OutboundTask.id)
    ).all()
    audit = AuditRepository(session)
    for t in tasks:
        deadline = deadline_of(t, grace)
        call = _kept_by_call(session, t, deadline)
        if call is not None:
            t.status, t.done_at, t.call_id = TaskStatus.DONE, call.offered_at, call.id
            t.result = t.result or "called"
            out.kept.append(t.id)
            continue
        if t.reminded_at is None:
            t.reminded_at = now
            out.fired.append(t.id)
            touched.append(t)
        if now > deadline:
            t.status = TaskStatus.OVERDUE
            out.missed.append(t.id)
            if t not in touched:
                touched.append(t)
            audit.record(
                "callback.missed",
                target=str(t.id),
                detail={
                    "agent_id": t.assigned_agent_id,
                    "customer_id": t.customer_id,
                    "scheduled_at": t.scheduled_at.isoformat() if t.scheduled_at else None,
                    "deadline": deadline.isoformat(),
                },
                at=now,
            )
    session.flush()
    return out, touched


def next_due(session: Session, grace: dt.timedelta = DEFAULT_GRACE) -> dt.datetime | None:
    """When the next sweep has something to do: a reminder to fire or a deadline to pass."""
    pending = session.scalars(
        select(OutboundTask).where(
            OutboundTask.source == SOURCE, OutboundTask.status == TaskStatus.PENDING
        )
    ).all()
    times = [
        t.scheduled_at if t.reminded_at is None else deadline_of(t, grace)
        for t in pending
        if t.scheduled_at is not None
    ]
    return min(times) if times else None


def complete(
    session: Session, task_id: int, agent_id: int, now: dt.datetime, result: str = ""
) -> OutboundTask:
    """The agent called back: the task is done (late if past its deadline)."""
    task = session.get(OutboundTask, task_id)
    if task is None or task.source != SOURCE or task.assigned_agent_id != agent_id:
        raise CallbackError(f"callback {task_id}: not one of yours")
    if task.status not in (TaskStatus.PENDING, TaskStatus.OVERDUE):
        raise CallbackError(f"callback {task_id}: already {task.status.value}")
    task.status, task.done_at = TaskStatus.DONE, now
    task.result = result
    session.flush()
    return task


def for_agent(session: Session, agent_id: int, limit: int = 50) -> list[OutboundTask]:
    """The agent's open callbacks (pending and missed), soonest first."""
    return list(
        session.scalars(
            select(OutboundTask)
            .where(
                OutboundTask.assigned_agent_id == agent_id,
                OutboundTask.source == SOURCE,
                OutboundTask.status.in_((TaskStatus.PENDING, TaskStatus.OVERDUE)),
            )
            .order_by(OutboundTask.scheduled_at, OutboundTask.id)
            .limit(limit)
        )
    )


def missed(
    session: Session,
    now: dt.datetime,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    team_id: int | None = None,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> list[dict[str, Any]]:
    """Missed promises (promised in [start, end)), for team leaders and supervisors: still
    open past their deadline, or done late. `team_id` limits them to one team's agents."""
    query = (
        select(OutboundTask, Agent.agent_no, User.display_name, Customer.name)
        .outerjoin(Agent, Agent.id == OutboundTask.assigned_agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .outerjoin(Customer, Customer.id == OutboundTask.customer_id)
        .where(
            OutboundTask.source == SOURCE,
            OutboundTask.scheduled_at <= now,
            or_(
                OutboundTask.status.in_((TaskStatus.PENDING, TaskStatus.OVERDUE)),
                OutboundTask.done_at.is_not(None),
            ),
        )
        .order_by(OutboundTask.scheduled_at, OutboundTask.id)
    )
    if start is not None:
        query = query.where(OutboundTask.scheduled_at >= start)
    if end is not None:
        query = query.where(OutboundTask.scheduled_at < end)
    if team_id is not None:
        query = query.where(User.team_id == team_id)
    rows = []
    for task, agent_no, agent_name, customer in session.execute(query):
        if not is_missed(task, now, grace):
            continue
        row = reminder_dict(task, now, grace)
        row["agent_no"] = agent_no or ""
        row["agent_name"] = agent_name or ""
        row["customer"] = customer or ""
        late = (task.done_at or now) - deadline_of(task, grace)
        row["late_s"] = round(late.total_seconds())
        rows.append(row)
    return rows


class Reminders:
    """The background task of `kefu serve`: sweeps when something is due (at most every
    POLL_S seconds) and publishes what happened on the live hub."""

    def __init__(
        self,
        db: Database,
        hub: LiveHub,
        *,
        grace: dt.timedelta = DEFAULT_GRACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.hub = hub
        self.grace = grace
        self.clock = clock

    def now(self) -> dt.datetime:
        """The injected clock, as an aware datetime."""
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def run_once(self) -> Sweep:
        """One sweep, then the live events for it."""
        now = self.now()
        with self.db.session() as session:
            result, touched = sweep(session, now, self.grace)
            labels = {
                a.id: a.agent_no
                for a in session.scalars(
                    select(Agent).where(
                        Agent.id.in_({t.assigned_agent_id for t in touched} - {None})
                    )
                )
            }
            events = [
                (t.id, t.assigned_agent_id, reminder_dict(t, now, self.grace)) for t in touched
            ]
        for task_id, agent, data in events:
            if task_id in result.fired and agent is not None:
                self.hub.publish(f"agent:{agent}", {"type": "callback_due", **data})
            if task_id in result.missed:
                if agent is not None:
                    self.hub.publish(f"agent:{agent}", {"type": "callback_missed", **data})
                board = {k: data[k] for k in ("id", "customer_id", "at", "deadline")}
                board["agent_no"] = labels.get(agent or -1, "")
                self.hub.publish("wallboard", {"type": "callback_missed", **board})
        return result

    def seconds_to_next(self) -> float:
        """How long the loop may sleep."""
        with self.db.session() as session:
            due = next_due(session, self.grace)
        if due is None:
            return POLL_S
        return max(0.0, min(POLL_S, (due - self.now()).total_seconds()))

    async def run_forever(self) -> None:
        """Sweep until cancelled; a database error is logged and retried."""
        while True:
            try:
                await asyncio.to_thread(self.run_once)
                wait = await asyncio.to_thread(self.seconds_to_next)
            except SQLAlchemyError:
                log.exception("callback reminders: sweep failed")
                wait = POLL_S
            await asyncio.sleep(max(wait, 0.05))
