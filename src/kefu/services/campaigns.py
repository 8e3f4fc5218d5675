"""CC-05 campaigns: import a task list, start/pause/stop, progress, and the dialer's storage.

The dialing logic is the pure `kefu.core.dialer`; this module keeps campaigns and tasks in
the store, builds a `Dialer` from them and writes back what it reports (`TaskUpdated`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core.calling_hours import CallingHours, normalise_number
from kefu.core.dialer import (
    DEFAULT_RETRY,
    CampaignConfig,
    CampaignState,
    Control,
    Dialer,
    Mode,
    Pacing,
    Task,
    TaskStatus,
    TaskUpdated,
    parse_mode,
)
from kefu.core.errors import ConfigInvalid
from kefu.errors import KefuError
from kefu.store.models import Agent, Campaign, CampaignTask, Customer, Queue
from kefu.store.repositories import AuditRepository

COLUMNS = ("number", "owner_agent", "customer_id")
_ALIASES = {
    "号码": "number",
    "phone": "number",
    "坐席": "owner_agent",
    "owner": "owner_agent",
    "客户": "customer_id",
    "customer": "customer_id",
}


class CampaignError(KefuError):
    """A campaign request was refused (the message names what and where)."""


@dataclass(slots=True)
class ImportReport:
    campaign: str
    added: int = 0
    errors: list[str] = field(default_factory=list)  # "FILE:LINE: what is wrong"


@dataclass(frozen=True, slots=True)
class Progress:
    name: str
    queue: str
    mode: str
    state: str
    total: int
    by_status: dict[str, int]
    by_outcome: dict[str, int]

    @property
    def done(self) -> int:
        return sum(self.by_status.get(s.value, 0) for s in _DONE)


_DONE = (TaskStatus.CONNECTED, TaskStatus.SKIPPED, TaskStatus.EXHAUSTED, TaskStatus.CANCELLED)


def _campaign(session: Session, name: str) -> Campaign:
    row = session.scalar(select(Campaign).where(Campaign.name == name))
    if row is None:
        raise CampaignError(f"campaign {name!r}: not found")
    return row


def _header(row: list[str]) -> list[str] | None:
    """The column names if `row` is a header, else None (a headerless file is positional)."""
    names = [_ALIASES.get(c.strip().lower(), c.strip().lower()) for c in row]
    if "number" in names:
        return names
    return None


def import_tasks(
    session: Session,
    text: str,
    source: str,
    *,
    name: str,
    queue: str,
    mode: str,
    max_attempts: int = 3,
    retry_delays: dict[str, float] | None = None,
    abandon_cap: float = 0.03,
    user_id: int | None = None,
) -> ImportReport:
    """Create (or extend) campaign `name` from CSV text; bad rows are reported, good rows kept.

    Columns: number, owner_agent (工号, optional), customer_id (optional). A header row names
    them in any order; without one the columns are taken in that order.
    """
    try:
        parsed_mode = parse_mode(mode)
        CampaignConfig(
            name,
            queue,
            parsed_mode,
            max_attempts=max_attempts,
            retry_delay=retry_delays or {},
            pacing=Pacing(abandon_cap=abandon_cap),
        )
    except ConfigInvalid as exc:
        raise CampaignError(str(exc)) from None
    if not name.strip():
        raise CampaignError("campaign name: empty")
    if session.scalar(select(Queue.id).where(Queue.name == queue)) is None:
        raise CampaignError(f"queue {queue!r}: not configured")
    row = session.scalar(select(Campaign).where(Campaign.name == name))
    if row is None:
        row = Campaign(
            name=name,
            queue=queue,
            mode=parsed_mode.value,
            max_attempts=max_attempts,
            retry_delays=dict(retry_delays or {}),
            abandon_cap=abandon_cap,
            source=source,
            created_by=user_id,
        )
        session.add(row)
        session.flush()
    elif row.state == CampaignState.STOPPED.value:
        raise CampaignError(f"campaign {name!r}: stopped, tasks can no longer be added")
    elif row.state == CampaignState.FINISHED.value:
        row.state = CampaignState.PAUSED.value  # reopened: a supervisor starts it again
    agents = set(session.scalars(select(Agent.agent_no)))
    seen = set(
        session.scalars(select(CampaignTask.number).where(CampaignTask.campaign_id == row.id))
    )
    keys = set(
        session.scalars(select(CampaignTask.task_key).where(CampaignTask.campaign_id == row.id))
    )
    report = ImportReport(name)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    columns: list[str] = list(COLUMNS)
    customers: dict[int, bool] = {}
    for lineno, cells in enumerate(reader, start=1):
        where = f"{source}:{lineno}"
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if lineno == 1 and (header := _header(cells)) is not None:
            unknown = [c for c in header if c and c not in COLUMNS]
            if unknown:
                raise CampaignError(f"{where}: unknown column {unknown[0]!r} (use {COLUMNS})")
            columns = header
            continue
        values = dict(zip(columns, (c.strip() for c in cells), strict=False))
        if len(cells) > len(columns):
            report.errors.append(f"{where}: {len(cells)} columns, expected at most {len(columns)}")
            continue
        try:
            number = normalise_number(values.get("number", ""))
        except ValueError as exc:
            report.errors.append(f"{where}: {exc}")
            continue
        if number in seen:
            report.errors.append(f"{where}: number {number} is already in the campaign")
            continue
        owner = values.get("owner_agent") or None
        if owner is not None and owner not in agents:
            report.errors.append(f"{where}: owner_agent {owner!r} is not an agent number (工号)")
            continue
        customer: int | None = None
        if values.get("customer_id"):
            text_id = values["customer_id"]
            if not text_id.isdigit():
                report.errors.append(f"{where}: customer_id {text_id!r} is not a number")
                continue
            customer = int(text_id)
            if customer not in customers:
                customers[customer] = session.get(Customer, customer) is not None
            if not customers[customer]:
                report.errors.append(f"{where}: customer_id {customer} does not exist")
                continue
        key = str(lineno)
        n = 1
        while key in keys:  # a second import of the same file name gets fresh keys
            n += 1
            key = f"{lineno}.{n}"
        keys.add(key)
        seen.add(number)
        session.add(
            CampaignTask(
                campaign_id=row.id,
                task_key=key,
                number=number,
                owner_agent=owner,
                customer_id=customer,
                source_line=lineno,
            )
        )
        report.added += 1
    session.flush()
    AuditRepository(session).record(
        "campaign.import",
        target=name,
        detail={"added": report.added, "errors": len(report.errors), "source": source},
    )
    return report


def import_file(session: Session, path: Path, **kw: object) -> ImportReport:
    """`import_tasks` of a file (UTF-8, with or without BOM)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise CampaignError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return import_tasks(session, text, str(path), **kw)  # type: ignore[arg-type]


_TRANSITIONS = {
    Control.START: {"draft", "paused", "running"},
    Control.PAUSE: {"running", "paused"},
    Control.STOP: {"draft", "running", "paused", "stopped"},
}
_AFTER = {Control.START: "running", Control.PAUSE: "paused", Control.STOP: "stopped"}


def control(session: Session, name: str, action: Control, user_id: int | None = None) -> Campaign:
    """Start, pause or stop a campaign (the runner picks the change up)."""
    row = _campaign(session, name)
    if row.state not in _TRANSITIONS[action]:
        raise CampaignError(f"campaign {name!r}: cannot {action.value} when {row.state}")
    row.state = _AFTER[action]
    if action is Control.STOP:
        for t in session.scalars(
            select(CampaignTask).where(
                CampaignTask.campaign_id == row.id,
                CampaignTask.status.in_(("pending", "previewing")),
            )
        ):
            t.status = TaskStatus.CANCELLED.value
    session.flush()
    AuditRepository(session).record(f"campaign.{action.value}", target=name, detail={"by": user_id})
    return row


def list_campaigns(session: Session) -> list[Progress]:
    return [
        progress(session, c.name) for c in session.scalars(select(Campaign).order_by(Campaign.id))
    ]


def progress(session: Session, name: str) -> Progress:
    row = _campaign(session, name)
    by_status: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    for status, outcome, n in session.execute(
        select(CampaignTask.status, CampaignTask.last_outcome, func.count())
        .where(CampaignTask.campaign_id == row.id)
        .group_by(CampaignTask.status, CampaignTask.last_outcome)
    ):
        by_status[status] += n
        if outcome:
            by_outcome[outcome] += n
    return Progress(
        row.name,
        row.queue,
        row.mode,
        row.state,
        sum(by_status.values()),
        dict(by_status),
        dict(by_outcome),
    )


# == the dialer's storage ====================================================================
def config_of(row: Campaign, hours: CallingHours | None = None) -> CampaignConfig:
    delays = {k: float(v) for k, v in (row.retry_delays or {}).items() if k in DEFAULT_RETRY}
    return CampaignConfig(
        row.name,
        row.queue,
        Mode(row.mode),
        max_attempts=row.max_attempts,
        retry_delay=delays,
        hours=hours or CallingHours(),
        pacing=Pacing(abandon_cap=row.abandon_cap),
    )


def load_dialer(
    session: Session, name: str, now: float, wall: dt.datetime, hours: CallingHours | None = None
) -> Dialer:
    """A dialer for the stored campaign; `now` (monotonic) matches the wall clock `wall`."""
    row = _campaign(session, name)
    dialer = Dialer(config_of(row, hours), (), CampaignState(row.state))
    for t in session.scalars(
        select(CampaignTask).where(CampaignTask.campaign_id == row.id).order_by(CampaignTask.id)
    ):
        due = 0.0
        if t.next_at is not None:
            due = now + (t.next_at - wall).total_seconds()
        dialer.add(
            Task(
                t.task_key, t.number, t.owner_agent, str(t.customer_id) if t.customer_id else None
            ),
            TaskStatus(t.status),
            t.attempts,
            due,
            t.last_outcome,
        )
    return dialer


def add_new_tasks(session: Session, dialer: Dialer) -> int:
    """Add to a loaded dialer the tasks imported since it was loaded; returns how many."""
    row = _campaign(session, dialer.config.name)
    added = 0
    for t in session.scalars(
        select(CampaignTask)
        .where(CampaignTask.campaign_id == row.id, CampaignTask.status == "pending")
        .order_by(CampaignTask.id)
    ):
        if t.task_key not in dialer.tasks:
            dialer.add(_task_of(t))
            added += 1
    return added


def _task_of(t: CampaignTask) -> Task:
    return Task(t.task_key, t.number, t.owner_agent, str(t.customer_id or "") or None)


def save_updates(
    session: Session,
    name: str,
    updates: Iterable[TaskUpdated],
    now: float,
    wall: dt.datetime,
    calls: dict[str, str] | None = None,
) -> None:
    """Write the dialer's task updates (and the last call id per task) to the store."""
    row = _campaign(session, name)
    updates = list(updates)
    if not updates:
        return
    tasks = {
        t.task_key: t
        for t in session.scalars(
            select(CampaignTask).where(
                CampaignTask.campaign_id == row.id,
                CampaignTask.task_key.in_({u.task_id for u in updates}),
            )
        )
    }
    for u in updates:
        t = tasks[u.task_id]
        t.status = u.status.value
        t.attempts = u.attempts
        t.last_outcome = u.last_outcome
        t.next_at = None if u.next_at is None else wall + dt.timedelta(seconds=u.next_at - now)
        if calls and u.task_id in calls:
            t.last_call_id = calls[u.task_id]
    session.flush()


def set_state(session: Session, name: str, state: CampaignState) -> None:
    _campaign(session, name).state = state.value
    session.flush()
