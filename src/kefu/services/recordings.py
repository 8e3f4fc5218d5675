"""Call recordings (CC-04): search, who may hear which, playback audit, retention and purge.

Who sees which recordings (`Viewer.scope`); "handled" means the call's agent or an agent
leg of it (a transfer or consultation):
- an agent: the calls they handled;
- a team leader: the calls of their team's agents, and their own (only their own when they
  lead no team);
- QA, supervisors and admins: every recording.
QA sees numbers masked, as everywhere in the console (`sees_full_numbers`); the web layer
masks, this module returns the stored numbers.

Voicemails (the callers' messages) follow the same retention: their files go with the
recordings', the rows stay marked `purged_at`; one whose callback ticket is still open is kept.

Retention: `recording_retention_days` (0 = keep forever, the default). The purge deletes
the WAV of a recording made more than that many days ago and sets `purged_at`; the row stays,
so CDRs, QA results and the audit log keep pointing at it. Kept whatever its age:
- `retain_until` in the future (kept at least that long);
- `legal_hold` set (a supervisor flagged it);
- the call has a complaint ticket (type `complaint`) that is not resolved or closed;
- the call has a QA finding under a pending appeal (the evidence of an open dispute).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from kefu.errors import KefuError
from kefu.services.reports import TZ
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AppealStatus,
    AuditEntry,
    Call,
    CallLeg,
    Direction,
    Disposition,
    FindingStatus,
    QaAppeal,
    QaFinding,
    QaResult,
    Queue,
    Recording,
    Role,
    Ticket,
    TicketStatus,
    TicketType,
    User,
    Voicemail,
)
from kefu.store.repositories import AuditRepository

COMPLAINT_TYPE = "complaint"
OPEN_TICKET = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.ESCALATED)
# One `recording.play` audit row per user, recording and window: the browser's player sends
# a Range request per seek, and a row each would bury the log without saying more.
PLAY_AUDIT_WINDOW = dt.timedelta(minutes=10)
MAX_NUMBER_DIGITS = 20
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


class RecordingsError(KefuError):
    """A refused request: `kind` is invalid, not-found, forbidden or gone; `param` names
    the offending parameter for invalid input; `noun` what was asked for (recording or
    voicemail, which share this module's file and audit helpers)."""

    def __init__(
        self, kind: str, message: str, param: str | None = None, *, noun: str = "recording"
    ) -> None:
        self.kind = kind
        self.param = param
        self.noun = noun
        super().__init__(message)


class StoredAudio(Protocol):
    """A stored WAV of a call: a recording or a voicemail."""

    @property
    def id(self) -> int: ...

    @property
    def call_id(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def purged_at(self) -> dt.datetime | None: ...


class ScopeKind(enum.Enum):
    """How far a viewer's sight reaches."""

    OWN = "own"
    TEAM = "team"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: their role, agent record and team (looked up once per request)."""

    user_id: int | None
    role: Role
    agent_id: int | None = None
    team_id: int | None = None

    @property
    def scope(self) -> ScopeKind:
        """Agents see their own calls, team leaders their team's, the others all."""
        if self.role is Role.AGENT:
            return ScopeKind.OWN
        if self.role is Role.TEAM_LEADER:
            return ScopeKind.TEAM if self.team_id is not None else ScopeKind.OWN
        return ScopeKind.ALL


def viewer_of(session: Session, user_id: int, role: Role, agent_id: int | None) -> Viewer:
    """The Viewer of a logged-in user (their team comes from the users table)."""
    team_id = session.scalar(select(User.team_id).where(User.id == user_id))
    return Viewer(user_id=user_id, role=role, agent_id=agent_id, team_id=team_id)


def system_viewer() -> Viewer:
    """The command line and the purge job: they see every recording."""
    return Viewer(user_id=None, role=Role.ADMIN)


# --- parsing of filter values (the web and the CLI share it) -------------------------------


def parse_time(value: str | None, param: str, *, end: bool = False) -> dt.datetime | None:
    """An ISO date or date-time; naive values are local (Asia/Shanghai).

    A bare date as an `end` means the end of that day (the whole day is included).
    """
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), TZ)
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RecordingsError(
            "invalid", f"{param}: not a date or date-time: {value!r}", param
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=TZ)


def parse_number(value: str | None, param: str = "number") -> str | None:
    """A phone number or its last digits (3-20 digits, an optional +); spaces and - dropped."""
    if value is None:
        return None
    text = re.sub(r"[\s-]", "", value)
    if text == "":
        return None
    if not _NUMBER.match(text):
        raise RecordingsError(
            "invalid", f"{param}: 3 to {MAX_NUMBER_DIGITS} digits expected, got {value!r}", param
        )
    return text.lstrip("+")


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    """What to search for; None means any."""

    start: dt.datetime | None = None  # the call was offered at or after
    end: dt.datetime | None = None  # ... and before
    agent_id: int | None = None
    agent_no: str | None = None
    queue_id: int | None = None
    number: str | None = None  # caller or callee, the full number or its last digits
    direction: Direction | None = None
    disposition: Disposition | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    has_findings: bool | None = None  # a QA finding that still counts
    purged: bool | None = None
    held: bool | None = None

    def check(self) -> RecordingFilter:
        """Refuse contradictory ranges, naming the parameter."""
        if self.start and self.end and self.end <= self.start:
            raise RecordingsError("invalid", "end: must be after start", "end")
        lo, hi = self.min_duration, self.max_duration
        if lo is not None and hi is not None and hi < lo:
            raise RecordingsError(
                "invalid", "max_duration: must not be less than min_duration", "max_duration"
            )
        return self


@dataclass(frozen=True, slots=True)
class RecordingRow:
    """One search result: the recording, its call and who handled it."""

    id: int
    call_id: str
    direction: str
    caller: str
    callee: str
    offered_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    disposition: str | None
    agent_id: int | None
    agent_no: str | None
    agent_name: str | None
    queue_id: int | None
    queue: str | None
    duration_s: float
    channels: int
    sample_rate: int
    created_at: dt.datetime
    retain_until: dt.datetime | None
    legal_hold: bool
    purged_at: dt.datetime | None
    qa_result_id: int | None = None
    findings: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times in local time."""

        def iso(t: dt.datetime | None) -> str | None:
            return t.astimezone(TZ).isoformat() if t else None

        return {
            "id": self.id,
            "call_id": self.call_id,
            "direction": self.direction,
            "caller": self.caller,
            "callee": self.callee,
            "offered_at": iso(self.offered_at),
            "answered_at": iso(self.answered_at),
            "ended_at": iso(self.ended_at),
            "disposition": self.disposition,
            "agent": {"id": self.agent_id, "agent_no": self.agent_no, "name": self.agent_name}
            if self.agent_id is not None
            else None,
            "queue": {"id": self.queue_id, "name": self.queue}
            if self.queue_id is not None
            else None,
            "duration_s": round(self.duration_s, 3),
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "created_at": iso(self.created_at),
            "retain_until": iso(self.retain_until),
            "legal_hold": self.legal_hold,
            "purged": self.purged_at is not None,
            "purged_at": iso(self.purged_at),
            "qa_result_id": self.qa_result_id,
            "findings": self.findings,
        }


def _team_agents(team_id: int) -> Select[Any]:
    return select(Agent.id).join(User, User.id == Agent.user_id).where(User.team_id == team_id)


def _handled_by(agents: Any) -> Any:
    """Calls whose agent, or an agent leg (a transfer, a consultation), is in `agents`."""
    leg = exists(select(CallLeg.id).where(CallLeg.call_id == Call.id, CallLeg.agent_id.in_(agents)))
    return or_(Call.agent_id.in_(agents), leg)


def _visible(viewer: Viewer) -> Any:
    """The SQL condition on Call for what the viewer may see."""
    scope = viewer.scope
    if scope is ScopeKind.ALL:
        return None
    if viewer.agent_id is None and scope is ScopeKind.OWN:
        return false()
    own = _handled_by([viewer.agent_id])
    if scope is ScopeKind.OWN:
        return own
    assert viewer.team_id is not None
    team = _handled_by(_team_agents(viewer.team_id))
    return or_(own, team) if viewer.agent_id is not None else team


def _counting_findings() -> Any:
    return and_(QaFinding.severity != "credit", QaFinding.status != FindingStatus.OVERTURNED)


def _has_findings() -> Any:
    return exists(
        select(QaFinding.id)
        .join(QaResult, QaResult.id == QaFinding.result_id)
        .where(QaResult.call_id == Call.id, _counting_findings())
    )


def _where(flt: RecordingFilter, viewer: Viewer) -> list[Any]:
    conds: list[Any] = []
    visible = _visible(viewer)
    if visible is not None:
        conds.append(visible)
    if flt.start is not None:
        conds.append(Call.offered_at >= flt.start)
    if flt.end is not None:
        conds.append(Call.offered_at < flt.end)
    if flt.agent_id is not None:
        conds.append(Call.agent_id == flt.agent_id)
    if flt.agent_no is not None:
        conds.append(Call.agent_id.in_(select(Agent.id).where(Agent.agent_no == flt.agent_no)))
    if flt.queue_id is not None:
        conds.append(Call.queue_id == flt.queue_id)
    if flt.number is not None:
        # digits only (parse_number), so no LIKE wildcard can slip in
        conds.append(or_(Call.caller.like(f"%{flt.number}"), Call.callee.like(f"%{flt.number}")))
    if flt.direction is not None:
        conds.append(Call.direction == flt.direction)
    if flt.disposition is not None:
        conds.append(Call.disposition == flt.disposition)
    if flt.min_duration is not None:
        conds.append(Recording.duration_s >= flt.min_duration)
    if flt.max_duration is not None:
        conds.append(Recording.duration_s <= flt.max_duration)
    if flt.has_findings is not None:
        conds.append(_has_findings() if flt.has_findings else ~_has_findings())
    if flt.purged is not None:
        purged = Recording.purged_at.is_not(None)
        conds.append(purged if flt.purged else ~purged)
    if flt.held is not None:
        conds.append(Recording.legal_hold.is_(flt.held))
    return conds


def search(
    session: Session,
    flt: RecordingFilter,
    viewer: Viewer,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RecordingRow], int]:
    """Recordings the viewer may see that match `flt`, newest call first, and the total."""
    flt.check()
    conds = _where(flt, viewer)
    base = select(Recording.id).join(Call, Call.id == Recording.call_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    agent_user = aliased(User)
    q = (
        select(Recording, Call, Agent.agent_no, agent_user.display_name, Queue.name)
        .join(Call, Call.id == Recording.call_id)
        .outerjoin(Agent, Agent.id == Call.agent_id)
        .outerjoin(agent_user, agent_user.id == Agent.user_id)
        .outerjoin(Queue, Queue.id == Call.queue_id)
        .where(*conds)
        .order_by(Call.offered_at.desc(), Recording.id.desc())
        .limit(limit)
        .offset(offset)
    )
    found = session.execute(q).all()
    qa = _qa_of(session, [c.id for _, c, *_ in found])
    rows = [
        RecordingRow(
            id=rec.id,
            call_id=call.id,
            direction=call.direction.value,
            caller=call.caller,
            callee=call.callee,
            offered_at=call.offered_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            disposition=call.disposition.value if call.disposition else None,
            agent_id=call.agent_id,
            agent_no=agent_no,
            agent_name=name,
            queue_id=call.queue_id,
            queue=queue,
            duration_s=rec.duration_s,
            channels=rec.channels,
            sample_rate=rec.sample_rate,
            created_at=rec.created_at,
            retain_until=rec.retain_until,
            legal_hold=rec.legal_hold,
            purged_at=rec.purged_at,
            qa_result_id=qa.get(call.id, (None, 0))[0],
            findings=qa.get(call.id, (None, 0))[1],
        )
        for rec, call, agent_no, name, queue in found
    ]
    return rows, total


def _qa_of(session: Session, call_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """call id -> (its newest QA result, the findings that count)."""
    if not call_ids:
        return {}
    out: dict[str, tuple[int, int]] = {}
    results = session.execute(
        select(QaResult.call_id, QaResult.id)
        .where(QaResult.call_id.in_(call_ids))
        .order_by(QaResult.id)
    ).all()
    for call_id, rid in results:
        if call_id is not None:
            out[call_id] = (rid, 0)
    counts = session.execute(
        select(QaResult.id, func.count(QaFinding.id))
        .join(QaFinding, QaFinding.result_id == QaResult.id)
        .where(QaResult.id.in_([rid for rid, _ in out.values()]), _counting_findings())
        .group_by(QaResult.id)
    ).all()
    by_result = dict(counts)
    return {cid: (rid, int(by_result.get(rid, 0))) for cid, (rid, _) in out.items()}


# --- one recording: access, file, audit ----------------------------------------------------


def may_hear(session: Session, viewer: Viewer, call_id: str) -> bool:
    """Whether the viewer may hear the recordings of this call (the search's rule)."""
    visible = _visible(viewer)
    if visible is None:
        return True
    found = session.scalar(select(Call.id).where(Call.id == call_id, visible))
    return found is not None


def get(session: Session, recording_id: int, viewer: Viewer) -> Recording:
    """The recording, if it exists and the viewer may hear it."""
    rec = session.get(Recording, recording_id)
    if rec is None:
        raise RecordingsError("not-found", f"recording {recording_id} not found")
    if not may_hear(session, viewer, rec.call_id):
        raise RecordingsError("forbidden", "this recording is not one of the calls you may hear")
    return rec


def file_of(rec: StoredAudio, data_dir: Path, noun: str = "recording") -> Path:
    """The WAV of a recording or voicemail (relative paths are under the data directory).

    Raises `gone` for a purged one and `not-found` for a missing file.
    """
    if rec.purged_at is not None:
        raise RecordingsError(
            "gone",
            f"{noun} {rec.id} was purged on {rec.purged_at.astimezone(TZ):%Y-%m-%d}",
            noun=noun,
        )
    path = Path(rec.path)
    if not path.is_absolute():
        path = data_dir / path
    if not path.is_file():
        raise RecordingsError("not-found", f"{noun} {rec.id} file not found", noun=noun)
    return path


def audit_access(
    session: Session,
    rec: StoredAudio,
    user_id: int | None,
    *,
    download: bool,
    via: str,
    byte_range: str | None = None,
    source_ip: str | None = None,
    now: dt.datetime | None = None,
    noun: str = "recording",
) -> bool:
    """Write who heard or downloaded which recording (or voicemail, with `noun`); True when
    a row was written.

    Every download is written; a playback once per user and recording per PLAY_AUDIT_WINDOW
    (the player's seeks are the same listening).
    """
    now = now or dt.datetime.now(dt.UTC)
    action = f"{noun}.download" if download else f"{noun}.play"
    target = f"{noun}:{rec.id}"
    if not download:
        recent = session.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.action == action,
                AuditEntry.target == target,
                AuditEntry.actor_id == user_id,
                AuditEntry.at >= now - PLAY_AUDIT_WINDOW,
            )
            .limit(1)
        )
        if recent is not None:
            return False
    actor = session.get(User, user_id) if user_id is not None else None
    AuditRepository(session).record(
        action,
        actor=actor,
        target=target,
        detail={"call_id": rec.call_id, "via": via, "range": byte_range},
        source_ip=source_ip,
        at=now,
    )
    return True


def set_hold(
    session: Session,
    recording_id: int,
    hold: bool,
    reason: str,
    user_id: int | None,
    *,
    source_ip: str | None = None,
) -> Recording:
    """Put a recording under legal hold (kept whatever its age) or lift the hold; audited."""
    rec = session.get(Recording, recording_id)
    if rec is None:
        raise RecordingsError("not-found", f"recording {recording_id} not found")
    if hold and not reason.strip():
        raise RecordingsError("invalid", "reason: a hold needs a reason", "reason")
    if hold and rec.purged_at is not None:
        raise RecordingsError("gone", f"recording {rec.id} was already purged")
    rec.legal_hold = hold
    rec.hold_reason = reason.strip() if hold else ""
    actor = session.get(User, user_id) if user_id is not None else None
    AuditRepository(session).record(
        "recording.hold" if hold else "recording.release",
        actor=actor,
        target=f"recording:{rec.id}",
        detail={"call_id": rec.call_id, "reason": reason.strip()},
        source_ip=source_ip,
    )
    return rec


# --- retention ----------------------------------------------------------------------------


@dataclass(slots=True)
class PurgeReport:
    """What a purge did (or, dry, would do)."""

    older_than_days: int
    cutoff: dt.datetime
    dry_run: bool
    purged: list[tuple[int, str, int]] = field(default_factory=list)  # id, path, bytes
    missing: list[int] = field(default_factory=list)  # rows whose file was already gone
    failed: list[tuple[int, str]] = field(default_factory=list)  # id, error
    kept_on_hold: int = 0
    # voicemails follow the same retention (CC-03/CC-04); kept while their callback is open
    voicemails: list[tuple[int, str, int]] = field(default_factory=list)
    voicemails_missing: list[int] = field(default_factory=list)
    voicemails_failed: list[tuple[int, str]] = field(default_factory=list)
    voicemails_kept: int = 0

    @property
    def bytes_freed(self) -> int:
        """Bytes of the deleted files (recordings and voicemails)."""
        return sum(b for _, _, b in self.purged) + sum(b for _, _, b in self.voicemails)

    def as_dict(self) -> dict[str, Any]:
        """For the audit row."""
        return {
            "older_than_days": self.older_than_days,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "purged": len(self.purged),
            "missing": len(self.missing),
            "failed": len(self.failed),
            "kept_on_hold": self.kept_on_hold,
            "bytes_freed": self.bytes_freed,
            "ids": [i for i, _, _ in self.purged][:200] + self.missing[:200],
            "voicemails": {
                "purged": len(self.voicemails),
                "missing": len(self.voicemails_missing),
                "failed": len(self.voicemails_failed),
                "kept": self.voicemails_kept,
                "ids": [i for i, _, _ in self.voicemails][:200] + self.voicemails_missing[:200],
            },
        }


def _held() -> Any:
    """Recordings that must be kept whatever their age (see the module header)."""
    complaint = exists(
        select(Ticket.id)
        .join(TicketType, TicketType.id == Ticket.type_id)
        .where(
            Ticket.call_id == Recording.call_id,
            TicketType.code == COMPLAINT_TYPE,
            Ticket.status.in_(OPEN_TICKET),
        )
    )
    appeal = exists(
        select(QaAppeal.id)
        .join(QaFinding, QaFinding.id == QaAppeal.finding_id)
        .join(QaResult, QaResult.id == QaFinding.result_id)
        .where(QaResult.call_id == Recording.call_id, QaAppeal.status == AppealStatus.PENDING)
    )
    return or_(Recording.legal_hold.is_(True), complaint, appeal)


def purge(
    session: Session,
    data_dir: Path,
    older_than_days: int,
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    actor_id: int | None = None,
    via: str = "cli",
) -> PurgeReport:
    """Delete the files of recordings made more than `older_than_days` ago and mark the rows.

    Held recordings are kept (see the module header). A file that cannot be deleted leaves
    its row unpurged and is reported. The purge writes one audit row (not when dry).
    """
    if older_than_days < 1:
        raise RecordingsError(
            "invalid", f"older_than_days: at least 1 day, got {older_than_days}", "older_than_days"
        )
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=older_than_days)
    report = PurgeReport(older_than_days, cutoff, dry_run)
    due = and_(
        Recording.purged_at.is_(None),
        Recording.created_at < cutoff,
        or_(Recording.retain_until.is_(None), Recording.retain_until <= now),
    )
    report.kept_on_hold = session.scalar(select(func.count(Recording.id)).where(due, _held())) or 0
    for rec in session.scalars(select(Recording).where(due, ~_held()).order_by(Recording.id)):
        _purge_one(rec, data_dir, now, dry_run, report.purged, report.missing, report.failed)
    vm_due = and_(Voicemail.purged_at.is_(None), Voicemail.created_at < cutoff)
    report.voicemails_kept = (
        session.scalar(select(func.count(Voicemail.id)).where(vm_due, _callback_open())) or 0
    )
    for vm in session.scalars(
        select(Voicemail).where(vm_due, ~_callback_open()).order_by(Voicemail.id)
    ):
        _purge_one(
            vm,
            data_dir,
            now,
            dry_run,
            report.voicemails,
            report.voicemails_missing,
            report.voicemails_failed,
        )
    if not dry_run:
        actor = session.get(User, actor_id) if actor_id is not None else None
        AuditRepository(session).record(
            "recording.purge",
            actor=actor,
            target=f"via:{via}",
            detail=report.as_dict(),
            at=now,
        )
    return report


def _callback_open() -> Any:
    """Voicemails whose callback ticket is still open: kept until it is dealt with."""
    return exists(
        select(Ticket.id).where(Ticket.id == Voicemail.ticket_id, Ticket.status.in_(OPEN_TICKET))
    )


def _purge_one(
    item: Recording | Voicemail,
    data_dir: Path,
    now: dt.datetime,
    dry_run: bool,
    purged: list[tuple[int, str, int]],
    missing: list[int],
    failed: list[tuple[int, str]],
) -> None:
    """Delete one file and mark its row; a file already gone still marks the row."""
    path = Path(item.path)
    if not path.is_absolute():
        path = data_dir / path
    if not path.is_file():
        missing.append(item.id)
        if not dry_run:
            item.purged_at = now
        return
    size = path.stat().st_size
    if not dry_run:
        try:
            path.unlink()
        except OSError as exc:
            failed.append((item.id, exc.strerror or str(exc)))
            return
        item.purged_at = now
    purged.append((item.id, str(path), size))


def next_purge_at(now: dt.datetime, at: dt.time) -> dt.datetime:
    """The next local `at` after `now` (the daily purge time)."""
    local = now.astimezone(TZ)
    candidate = dt.datetime.combine(local.date(), at, TZ)
    if candidate <= local:
        candidate += dt.timedelta(days=1)
    return candidate


def scheduled_purge(db: Database, data_dir: Path, retention_days: int) -> PurgeReport | None:
    """The daily purge of `kefu serve`: the policy's retention, in its own transaction.

    None when the policy keeps recordings forever (retention 0).
    """
    if retention_days <= 0:
        return None
    with db.session() as session:
        return purge(session, data_dir, retention_days, via="daily")
