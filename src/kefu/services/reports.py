"""Call-center reports (CC-09, CC-10, CC-11): traffic, service level, handling, satisfaction.

One query per report reads the few CDR columns it needs (SQLAlchemy, the same SQL on
SQLite and PostgreSQL). Grouping by local time happens here, in Python, because each
database spells time-zone arithmetic differently and the figures must agree on both.

Definitions (inbound calls offered in [start, end)):
- offered: every inbound call; answered: disposition answered; abandoned (呼损): abandoned.
- service level: answered within the queue's `service_level_s` (20 s without a queue),
  over offered.
- ASA: mean wait of answered calls. Wait is `wait_seconds`, else answer − queued/offered.
- talk: connected time minus hold; ACW: after-call work (文书处理) recorded on the call;
  AHT: talk + hold + ACW, over answered calls.
- occupancy (占用率): from the agent state log, clipped to the period (and to each hour,
  day or month): time on a call, on hold or in after-call work, over logged-in time minus
  break (小休). Busy (示忙) and idle time count as available. By agent: the agent's own
  time. By queue: handling time of that queue's calls, over the available time of the
  agents who handled that queue's calls in the period (an agent serving two queues counts
  in both denominators). By number: not defined (None). None when nobody was available.
- missed (by agent only, AG-11): the agent's rings that ended unanswered by the agent's
  side (declined, failed, phone not registered, ring timeout): agent legs started in the
  period with no answer and hangup_by agent. A ring withdrawn because someone else answered
  or the caller left is not missed.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.errors import KefuError
from kefu.store.models import (
    Agent,
    AgentStateLog,
    Call,
    CallLeg,
    Direction,
    Disposition,
    Party,
    Queue,
    SurveyResponse,
    User,
)

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_SERVICE_LEVEL_S = 20
SATISFIED_MIN = 4  # on the 1-5 keypress scale, 4 and 5 count as satisfied
LABELS_FILE = Path(__file__).with_name("reports.yaml")


class ReportError(KefuError):
    """A report request cannot be answered."""


class Dimension(enum.Enum):
    """What a traffic report groups by."""

    PLATFORM = "platform"
    QUEUE = "queue"
    AGENT = "agent"
    NUMBER = "number"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open range [start, end) of aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ReportError("period: start and end must carry a time zone")
        if self.end <= self.start:
            raise ReportError("period: end must be after start")

    @classmethod
    def local_days(cls, first: dt.date, last: dt.date) -> Period:
        """Whole days first..last inclusive, in Asia/Shanghai."""
        start = dt.datetime.combine(first, dt.time(), TZ)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TZ)
        return cls(start, end)


@dataclass(slots=True)
class TrafficRow:
    """Traffic and handling figures of one group."""

    key: str
    label: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_in_sl: int = 0
    wait_answered_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    acw_s: float = 0.0
    occupancy: float | None = None
    missed: int = 0  # rings the agent missed (agent rows only)

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned over offered."""
        return self.abandoned / self.offered if self.offered else None

    @property
    def answer_rate(self) -> float | None:
        """Answered over offered."""
        return self.answered / self.offered if self.offered else None

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold, over offered."""
        return self.answered_in_sl / self.offered if self.offered else None

    @property
    def asa(self) -> float | None:
        """Average speed of answer, seconds."""
        return self.wait_answered_s / self.answered if self.answered else None

    @property
    def aht(self) -> float | None:
        """Average handling time, seconds: talk + hold + after-call work."""
        if not self.answered:
            return None
        return (self.talk_s + self.hold_s + self.acw_s) / self.answered

    @property
    def avg_talk(self) -> float | None:
        """Average talk time, seconds."""
        return self.talk_s / self.answered if self.answered else None

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for JSON and exports."""
        return {
            "key": self.key,
            "label": self.label,
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "answer_rate": self.answer_rate,
            "abandon_rate": self.abandon_rate,
            "answered_in_sl": self.answered_in_sl,
            "service_level": self.service_level,
            "asa_s": self.asa,
            "talk_s": self.talk_s,
            "avg_talk_s": self.avg_talk,
            "hold_s": self.hold_s,
            "acw_s": self.acw_s,
            "aht_s": self.aht,
            "occupancy": self.occupancy,
            "missed": self.missed,
        }


@dataclass(frozen=True, slots=True)
class CallFacts:
    """The columns of one call that the reports read."""

    offered_at: dt.datetime
    disposition: Disposition | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    queued_at: dt.datetime | None
    wait_seconds: float | None
    held_seconds: float
    acw_seconds: float
    queue_id: int | None
    queue_name: str | None
    service_level_s: int | None
    agent_id: int | None
    agent_no: str | None
    agent_name: str | None
    callee: str
    region: str | None

    @property
    def answered(self) -> bool:
        """Whether an agent answered it."""
        return self.disposition is Disposition.ANSWERED and self.answered_at is not None

    @property
    def wait(self) -> float:
        """Seconds from arrival to answer (or to leaving)."""
        if self.wait_seconds is not None:
            return self.wait_seconds
        begin = self.queued_at or self.offered_at
        finish = self.answered_at or self.ended_at
        return max(0.0, (finish - begin).total_seconds()) if finish else 0.0

    @property
    def connected(self) -> float:
        """Seconds from answer to hang-up."""
        if self.answered_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, (self.ended_at - self.answered_at).total_seconds())


@dataclass(slots=True)
class SatisfactionRow:
    """Satisfaction survey figures of one group (CC-11)."""

    key: str
    label: str
    count: int = 0
    total: int = 0
    satisfied: int = 0
    by_score: dict[int, int] = field(default_factory=dict)

    @property
    def average(self) -> float | None:
        """Mean score."""
        return self.total / self.count if self.count else None

    @property
    def satisfied_rate(self) -> float | None:
        """Share of responses at or above SATISFIED_MIN."""
        return self.satisfied / self.count if self.count else None

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for JSON and exports."""
        return {
            "key": self.key,
            "label": self.label,
            "count": self.count,
            "average": self.average,
            "satisfied": self.satisfied,
            "satisfied_rate": self.satisfied_rate,
            "by_score": {str(k): v for k, v in sorted(self.by_score.items())},
        }


# --- queries ---------------------------------------------------------------------------


def call_facts(
    session: Session,
    period: Period,
    *,
    queue_id: int | None = None,
    agent_id: int | None = None,
    direction: Direction = Direction.INBOUND,
) -> list[CallFacts]:
    """The calls offered in `period`, with their queue and agent, oldest first."""
    query = (
        select(
            Call.offered_at,
            Call.disposition,
            Call.answered_at,
            Call.ended_at,
            Call.queued_at,
            Call.wait_seconds,
            Call.held_seconds,
            Call.acw_seconds,
            Call.queue_id,
            Queue.name,
            Queue.service_level_s,
            Call.agent_id,
            Agent.agent_no,
            User.display_name,
            Call.callee,
            Call.caller_region,
        )
        .outerjoin(Queue, Queue.id == Call.queue_id)
        .outerjoin(Agent, Agent.id == Call.agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .where(
            Call.offered_at >= period.start,
            Call.offered_at < period.end,
            Call.direction == direction,
        )
        .order_by(Call.offered_at, Call.id)
    )
    if queue_id is not None:
        query = query.where(Call.queue_id == queue_id)
    if agent_id is not None:
        query = query.where(Call.agent_id == agent_id)
    rows = session.execute(query).all()
    return [CallFacts(*row) for row in rows]  # type: ignore[call-arg]  # 16-column row


# --- agent time (occupancy) ---------------------------------------------------------------

HANDLING_STATES = frozenset({"on_call", "on_hold", "after_call_work"})
UNAVAILABLE_STATES = frozenset({"break"})


@dataclass(frozen=True, slots=True)
class StateSpan:
    """One stored agent state interval, clipped to a period."""

    agent_id: int
    agent_label: str
    state: str
    queue_id: int | None  # the queue of the call it belongs to, for handling states
    queue_name: str | None
    start: dt.datetime
    end: dt.datetime

    @property
    def handling(self) -> bool:
        """On a call, on hold or in after-call work."""
        return self.state in HANDLING_STATES

    @property
    def available(self) -> bool:
        """Counts in the denominator: logged in and not on a break."""
        return self.state not in UNAVAILABLE_STATES


def state_spans(
    session: Session,
    period: Period,
    *,
    agent_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[StateSpan]:
    """The agent state intervals overlapping `period`, clipped to it. An interval still open
    ends at `now` (default: the current time)."""
    until = min(period.end, now or dt.datetime.now(dt.UTC))
    query = (
        select(
            AgentStateLog.agent_id,
            Agent.agent_no,
            User.display_name,
            AgentStateLog.state,
            Call.queue_id,
            Queue.name,
            AgentStateLog.started_at,
            AgentStateLog.ended_at,
        )
        .join(Agent, Agent.id == AgentStateLog.agent_id)
        .join(User, User.id == Agent.user_id)
        .outerjoin(Call, Call.id == AgentStateLog.call_id)
        .outerjoin(Queue, Queue.id == Call.queue_id)
        .where(
            AgentStateLog.started_at < period.end,
            (AgentStateLog.ended_at.is_(None)) | (AgentStateLog.ended_at > period.start),
        )
        .order_by(AgentStateLog.started_at, AgentStateLog.id)
    )
    if agent_id is not None:
        query = query.where(AgentStateLog.agent_id == agent_id)
    out: list[StateSpan] = []
    for aid, no, name, state, q_id, q_name, started, ended in session.execute(query):
        start = max(started, period.start)
        end = min(ended or until, period.end)
        if end > start:
            label = f"{no} {name or ''}".strip()
            out.append(StateSpan(aid, label, state, q_id, q_name, start, end))
    return out


def for_queue(spans: Sequence[StateSpan], queue_id: int) -> list[StateSpan]:
    """The spans that count for one queue: handling of its calls, and the other time of the
    agents who handled any of its calls."""
    agents = {s.agent_id for s in spans if s.handling and s.queue_id == queue_id}
    return [s for s in spans if s.agent_id in agents and (not s.handling or s.queue_id == queue_id)]


def _hour_pieces(start: dt.datetime, end: dt.datetime) -> Iterable[tuple[dt.datetime, float]]:
    """(local start, seconds) of [start, end) cut at local hour boundaries."""
    cur = start
    while cur < end:
        local = _local(cur)
        stop = min(end, local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1))
        yield local, (stop - cur).total_seconds()
        cur = stop


def occupancy(
    spans: Sequence[StateSpan], dimension: Dimension
) -> dict[str, tuple[str, float | None]]:
    """Occupancy per group key of `dimension`: {key: (label, handling / available)}."""
    if dimension is Dimension.NUMBER:
        return {}
    handled: dict[str, float] = defaultdict(float)
    available: dict[str, float] = defaultdict(float)
    label: dict[str, str] = {}
    queues_of: dict[int, set[int | None]] = defaultdict(set)
    for s in spans:
        if s.handling:
            queues_of[s.agent_id].add(s.queue_id)
            label[str(s.queue_id or "")] = s.queue_name or ""

    def keys(s: StateSpan, local: dt.datetime, *, for_handling: bool) -> list[str]:
        if dimension is Dimension.PLATFORM:
            return ["all"]
        if dimension is Dimension.AGENT:
            label.setdefault(str(s.agent_id), s.agent_label)
            return [str(s.agent_id)]
        if dimension is Dimension.QUEUE:
            if for_handling:
                return [str(s.queue_id or "")]
            return [str(q or "") for q in queues_of[s.agent_id]]
        if dimension is Dimension.HOUR:
            return [f"{local.hour:02d}"]
        if dimension is Dimension.DAY:
            return [local.date().isoformat()]
        return [local.strftime("%Y-%m")]

    for s in spans:
        if not s.available:
            continue
        for local, seconds in _hour_pieces(s.start, s.end):
            for key in keys(s, local, for_handling=False):
                available[key] += seconds
            if s.handling:
                for key in keys(s, local, for_handling=True):
                    handled[key] += seconds
    return {
        key: (label.get(key, ""), handled[key] / total if total > 0 else None)
        for key, total in available.items()
    }


# --- grouping ----------------------------------------------------------------------------


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(TZ)


def _months(period: Period) -> list[str]:
    first = _local(period.start)
    last = _local(period.end - dt.timedelta(microseconds=1))
    out: list[str] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _days(period: Period) -> list[str]:
    day = _local(period.start).date()
    last = _local(period.end - dt.timedelta(microseconds=1)).date()
    out: list[str] = []
    while day <= last:
        out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def _key_of(dimension: Dimension) -> Callable[[CallFacts], tuple[str, str]]:
    if dimension is Dimension.PLATFORM:
        return lambda c: ("all", "")
    if dimension is Dimension.QUEUE:
        return lambda c: (str(c.queue_id or ""), c.queue_name or "")
    if dimension is Dimension.AGENT:
        return lambda c: (
            str(c.agent_id or ""),
            f"{c.agent_no} {c.agent_name}".strip() if c.agent_no else "",
        )
    if dimension is Dimension.NUMBER:
        return lambda c: (c.callee, c.callee)
    if dimension is Dimension.HOUR:
        return lambda c: (f"{_local(c.offered_at).hour:02d}", f"{_local(c.offered_at).hour:02d}:00")
    if dimension is Dimension.DAY:
        return lambda c: (_local(c.offered_at).date().isoformat(),) * 2
    return lambda c: (_local(c.offered_at).strftime("%Y-%m"),) * 2


def _slots(dimension: Dimension, period: Period) -> list[tuple[str, str]]:
    """Every bucket of a time dimension, so that empty hours and days show as zeros."""
    if dimension is Dimension.HOUR:
        return [(f"{h:02d}", f"{h:02d}:00") for h in range(24)]
    if dimension is Dimension.DAY:
        return [(d, d) for d in _days(period)]
    if dimension is Dimension.MONTH:
        return [(m, m) for m in _months(period)]
    if dimension is Dimension.PLATFORM:
        return [("all", "")]
    return []


def traffic(
    facts: Iterable[CallFacts],
    dimension: Dimension,
    period: Period,
    spans: Sequence[StateSpan] | None = None,
) -> list[TrafficRow]:
    """Traffic and handling figures of `facts` grouped by `dimension`; occupancy from `spans`
    (the agent state log of the same period, see `state_spans`) when given."""
    rows: dict[str, TrafficRow] = {
        k: TrafficRow(k, label) for k, label in _slots(dimension, period)
    }
    key_of = _key_of(dimension)
    for c in facts:
        key, label = key_of(c)
        row = rows.get(key)
        if row is None:
            row = rows[key] = TrafficRow(key, label)
        row.offered += 1
        if c.disposition is Disposition.ABANDONED:
            row.abandoned += 1
        if c.answered:
            row.answered += 1
            wait = c.wait
            row.wait_answered_s += wait
            threshold = (
                c.service_level_s if c.service_level_s is not None else DEFAULT_SERVICE_LEVEL_S
            )
            if wait <= threshold:
                row.answered_in_sl += 1
            hold = min(c.held_seconds, c.connected)
            row.hold_s += hold
            row.talk_s += c.connected - hold
            row.acw_s += c.acw_seconds
    if spans is not None:
        for key, (label, value) in occupancy(spans, dimension).items():
            row = rows.get(key)
            if row is None:  # logged in, but took no call of the period: occupancy 0
                row = rows[key] = TrafficRow(key, label)
            row.occupancy = value
    ordered = list(rows.values())
    if dimension in (Dimension.QUEUE, Dimension.AGENT, Dimension.NUMBER):
        ordered.sort(key=lambda r: (-r.offered, r.label))
    return ordered


@dataclass(frozen=True, slots=True)
class RegionRow:
    """Calls from one caller region (归属地)."""

    region: str
    offered: int
    answered: int
    share: float


def regions(facts: Sequence[CallFacts]) -> list[RegionRow]:
    """Offered and answered calls by caller region, most calls first (CC-09)."""
    offered: dict[str, int] = defaultdict(int)
    answered: dict[str, int] = defaultdict(int)
    for c in facts:
        region = c.region or ""
        offered[region] += 1
        if c.answered:
            answered[region] += 1
    total = len(facts)
    return sorted(
        (RegionRow(r, n, answered[r], n / total) for r, n in offered.items()),
        key=lambda r: (-r.offered, r.region),
    )


def satisfaction(
    session: Session, period: Period, dimension: Dimension = Dimension.PLATFORM
) -> list[SatisfactionRow]:
    """Survey responses answered in `period`, grouped by platform, agent or queue (CC-11)."""
    if dimension not in (Dimension.PLATFORM, Dimension.AGENT, Dimension.QUEUE, Dimension.DAY):
        raise ReportError(f"satisfaction: cannot group by {dimension.value}")
    query = (
        select(
            SurveyResponse.score,
            SurveyResponse.answered_at,
            SurveyResponse.agent_id,
            Agent.agent_no,
            User.display_name,
            Call.queue_id,
            Queue.name,
        )
        .outerjoin(Agent, Agent.id == SurveyResponse.agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .outerjoin(Call, Call.id == SurveyResponse.call_id)
        .outerjoin(Queue, Queue.id == Call.queue_id)
        .where(SurveyResponse.answered_at >= period.start, SurveyResponse.answered_at < period.end)
        .order_by(SurveyResponse.answered_at, SurveyResponse.id)
    )
    rows: dict[str, SatisfactionRow] = {}
    if dimension is Dimension.PLATFORM:
        rows["all"] = SatisfactionRow("all", "")
    elif dimension is Dimension.DAY:
        rows = {d: SatisfactionRow(d, d) for d in _days(period)}
    for score, answered_at, agent_id, agent_no, agent_name, q_id, q_name in session.execute(query):
        if dimension is Dimension.PLATFORM:
            key, label = "all", ""
        elif dimension is Dimension.AGENT:
            key = str(agent_id or "")
            label = f"{agent_no} {agent_name}".strip() if agent_no else ""
        elif dimension is Dimension.QUEUE:
            key, label = str(q_id or ""), q_name or ""
        else:
            key = label = _local(answered_at).date().isoformat()
        row = rows.get(key)
        if row is None:
            row = rows[key] = SatisfactionRow(key, label)
        row.count += 1
        row.total += score
        row.by_score[score] = row.by_score.get(score, 0) + 1
        if score >= SATISFIED_MIN:
            row.satisfied += 1
    ordered = list(rows.values())
    if dimension in (Dimension.AGENT, Dimension.QUEUE):
        ordered.sort(key=lambda r: (-r.count, r.label))
    return ordered


# --- tables and exports -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    """A report table: column keys, their headers, and rows of plain values."""

    name: str
    columns: tuple[str, ...]
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def labels() -> dict[str, Any]:
    """Column headers and titles, from reports.yaml (user-visible text lives in data)."""
    with LABELS_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    return value


def table(name: str, dicts: Sequence[dict[str, Any]], columns: Sequence[str]) -> Table:
    """A table of `columns` from row dictionaries, headed by the labels in reports.yaml."""
    heads = labels()["columns"]
    return Table(
        name=name,
        columns=tuple(columns),
        headers=tuple(heads.get(c, c) for c in columns),
        rows=tuple(tuple(_fmt(d.get(c)) for c in columns) for d in dicts),
    )


TRAFFIC_COLUMNS = (
    "label",
    "offered",
    "answered",
    "abandoned",
    "answer_rate",
    "abandon_rate",
    "service_level",
    "asa_s",
    "talk_s",
    "avg_talk_s",
    "hold_s",
    "acw_s",
    "aht_s",
    "occupancy",
)
AGENT_TRAFFIC_COLUMNS = (*TRAFFIC_COLUMNS, "missed")
REGION_COLUMNS = ("region", "offered", "answered", "share")
SATISFACTION_COLUMNS = ("label", "count", "average", "satisfied", "satisfied_rate")


def to_csv(tab: Table) -> bytes:
    """CSV with a UTF-8 BOM, so that Excel opens the Chinese headers right."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(tab.headers)
    for row in tab.rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(tab: Table) -> bytes:
    """An Excel workbook with one sheet holding the table."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = tab.name[:31]
    sheet.append(list(tab.headers))
    for row in tab.rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def missed_rings(
    session: Session, period: Period, *, agent_id: int | None = None
) -> dict[int, tuple[str, int]]:
    """Agent id -> (label, rings missed in `period`) (AG-11; see the module docstring)."""
    query = (
        select(CallLeg.agent_id, Agent.agent_no, User.display_name, func.count(CallLeg.id))
        .join(Agent, Agent.id == CallLeg.agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .where(
            CallLeg.party == Party.AGENT,
            CallLeg.answered_at.is_(None),
            CallLeg.hangup_by == Party.AGENT,
            CallLeg.started_at >= period.start,
            CallLeg.started_at < period.end,
        )
        .group_by(CallLeg.agent_id, Agent.agent_no, User.display_name)
    )
    if agent_id is not None:
        query = query.where(CallLeg.agent_id == agent_id)
    return {
        int(aid): (f"{no} {name or ''}".strip(), int(n))
        for aid, no, name, n in session.execute(query).all()
        if aid is not None
    }


def with_missed(
    session: Session, rows: list[TrafficRow], period: Period, *, agent_id: int | None = None
) -> list[TrafficRow]:
    """The agent rows of `traffic` with their missed rings; an agent who only missed rings
    (took no call) gets a row of its own."""
    by_key = {r.key: r for r in rows}
    out = list(rows)
    for aid, (label, n) in sorted(missed_rings(session, period, agent_id=agent_id).items()):
        row = by_key.get(str(aid))
        if row is None:
            row = TrafficRow(str(aid), label)
            out.append(row)
        row.missed = n
    return out


# --- one entry point for the web layer -----------------------------------------------------


REPORTS = ("traffic", "regions", "satisfaction")


def build_table(
    session: Session,
    report: str,
    period: Period,
    dimension: Dimension = Dimension.PLATFORM,
    *,
    queue_id: int | None = None,
    agent_id: int | None = None,
) -> Table:
    """The table of `report` ("traffic", "regions" or "satisfaction") for the period."""
    if report == "traffic":
        facts = call_facts(session, period, queue_id=queue_id, agent_id=agent_id)
        spans = state_spans(session, period, agent_id=agent_id)
        if queue_id is not None:
            spans = for_queue(spans, queue_id)
        grouped = traffic(facts, dimension, period, spans)
        columns: tuple[str, ...] = TRAFFIC_COLUMNS
        if dimension is Dimension.AGENT:
            grouped = with_missed(session, grouped, period, agent_id=agent_id)
            columns = AGENT_TRAFFIC_COLUMNS
        rows = [r.as_dict() for r in grouped]
        return table(f"traffic-{dimension.value}", rows, columns)
    if report == "regions":
        facts = call_facts(session, period, queue_id=queue_id, agent_id=agent_id)
        dicts = [
            {"region": r.region, "offered": r.offered, "answered": r.answered, "share": r.share}
            for r in regions(facts)
        ]
        return table("regions", dicts, REGION_COLUMNS)
    if report == "satisfaction":
        sat = [r.as_dict() for r in satisfaction(session, period, dimension)]
        return table(f"satisfaction-{dimension.value}", sat, SATISFACTION_COLUMNS)
    raise ReportError(f"unknown report {report!r}; choose one of {', '.join(REPORTS)}")
