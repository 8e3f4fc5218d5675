"""QA review (SV-02): browse results, review (复核) and appeal (申诉) findings, scorecards.

A stored result keeps the engine's score in `original_score`; `score` is recomputed from
the findings that still count, by the QA-RULES scoring: start at 100, add each finding's
points (negative for a deduction, positive for a credit), clamp to 0..100, and 0 while a
fatal finding stands. Overturning a finding (by a reviewer, or by an upheld appeal) stops
it counting; every review keeps the score before and after, and every step is audited.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from kefu.errors import KefuError
from kefu.security.masking import mask_phone
from kefu.store.models import (
    Agent,
    AppealStatus,
    FindingStatus,
    QaAppeal,
    QaFinding,
    QaResult,
    QaReview,
    Recording,
    ReviewDecision,
    Role,
    Team,
    User,
)
from kefu.store.repositories import AuditRepository

TZ = ZoneInfo("Asia/Shanghai")
PASS_SCORE = 60  # the default rulebook's pass_score
DECIDERS = (Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")


class QaReviewError(KefuError):
    """A review or appeal request was refused; `kind` says why."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind  # "not-found" | "forbidden" | "conflict" | "invalid"
        super().__init__(message)


# --- scoring --------------------------------------------------------------------------------


def counts(finding: QaFinding) -> bool:
    """Whether a finding still counts towards the score."""
    return finding.status is not FindingStatus.OVERTURNED


def compute_score(findings: Sequence[QaFinding]) -> tuple[int, bool]:
    """The score and pass flag from the findings that still count."""
    live = [f for f in findings if counts(f)]
    if any(f.severity == "fatal" for f in live):
        return 0, False
    score = max(0, min(100, 100 + sum(f.points for f in live)))
    return score, score >= PASS_SCORE


def _rescore(result: QaResult) -> None:
    result.score, result.passed = compute_score(result.findings)


# --- storing engine output ------------------------------------------------------------------


def store_result(
    session: Session,
    output: dict[str, Any],
    conversation: dict[str, Any],
    *,
    call_id: str | None = None,
    agent_id: int | None = None,
    checked_at: dt.datetime | None = None,
) -> QaResult:
    """Store one `Engine.check` output with its conversation; credits become positive findings."""
    started: dt.datetime | None = None
    if conversation.get("started_at"):
        started = dt.datetime.fromisoformat(str(conversation["started_at"]))
        if started.tzinfo is None:
            started = started.replace(tzinfo=TZ)
    agent_ref = str((conversation.get("agent") or {}).get("id") or "") or None
    if agent_id is None and agent_ref:
        agent_id = session.scalar(select(Agent.id).where(Agent.agent_no == agent_ref))
    result = QaResult(
        conversation_id=str(output["id"]),
        call_id=call_id,
        channel=str(conversation.get("channel", "voice")),
        agent_ref=agent_ref,
        agent_id=agent_id,
        profile=str(output.get("profile", "default")),
        score=int(output["score"]),
        original_score=int(output["score"]),
        passed=bool(output.get("passed", output["score"] >= PASS_SCORE)),
        not_applicable=list(output.get("not_applicable", [])),
        conversation=conversation,
        started_at=started,
    )
    if checked_at is not None:
        result.checked_at = checked_at
    for f in output.get("findings", []):
        span = f.get("span") or [None, None]
        result.findings.append(
            QaFinding(
                rule=f["rule"],
                severity=f["severity"],
                points=int(f["points"]),
                utterance=f.get("utterance"),
                start=f.get("start"),
                span_start=span[0],
                span_end=span[1],
                evidence=f.get("evidence", ""),
                message=f.get("message", ""),
            )
        )
    for c in output.get("credits", []):
        result.findings.append(
            QaFinding(
                rule=c["rule"],
                severity="credit",
                points=abs(int(c["points"])),
                evidence="",
                message=c.get("message", ""),
            )
        )
    session.add(result)
    session.flush()
    return result


# --- listing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultFilter:
    """What the conversation list is narrowed to."""

    agent_id: int | None = None
    team_id: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    score_min: int | None = None
    score_max: int | None = None
    rule: str | None = None
    passed: bool | None = None


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One line of the conversation list."""

    id: int
    conversation_id: str
    channel: str
    agent: str
    team: str
    started_at: dt.datetime | None
    score: int
    original_score: int
    passed: bool
    findings: int
    customer: str


def _when() -> Any:
    return func.coalesce(QaResult.started_at, QaResult.checked_at)


def _filtered(query: Any, flt: ResultFilter) -> Any:
    if flt.agent_id is not None:
        query = query.where(QaResult.agent_id == flt.agent_id)
    if flt.team_id is not None:
        query = query.where(User.team_id == flt.team_id)
    if flt.start is not None:
        query = query.where(_when() >= flt.start)
    if flt.end is not None:
        query = query.where(_when() < flt.end)
    if flt.score_min is not None:
        query = query.where(QaResult.score >= flt.score_min)
    if flt.score_max is not None:
        query = query.where(QaResult.score <= flt.score_max)
    if flt.passed is not None:
        query = query.where(QaResult.passed == flt.passed)
    if flt.rule:
        query = query.where(
            exists().where(
                QaFinding.result_id == QaResult.id,
                QaFinding.rule == flt.rule,
                QaFinding.status != FindingStatus.OVERTURNED,
            )
        )
    return query


def _base() -> Any:
    return (
        select(QaResult, Agent.agent_no, User.display_name, Team.name)
        .outerjoin(Agent, Agent.id == QaResult.agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .outerjoin(Team, Team.id == User.team_id)
    )


def _customer(conv: dict[str, Any], mask: bool) -> str:
    number = str((conv.get("customer") or {}).get("number") or "")
    return mask_phone(number) if mask and number else number


def list_results(
    session: Session, flt: ResultFilter, *, limit: int = 50, offset: int = 0, mask: bool = True
) -> tuple[list[ResultRow], int]:
    """A page of results, newest first, and the total that match."""
    total = session.scalar(
        _filtered(
            select(func.count(QaResult.id))
            .select_from(QaResult)
            .outerjoin(Agent, Agent.id == QaResult.agent_id)
            .outerjoin(User, User.id == Agent.user_id),
            flt,
        )
    )
    query = (
        _filtered(_base(), flt)
        .options(selectinload(QaResult.findings))
        .order_by(_when().desc(), QaResult.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = [
        ResultRow(
            id=r.id,
            conversation_id=r.conversation_id,
            channel=r.channel,
            agent=f"{agent_no} {name}".strip() if agent_no else (r.agent_ref or ""),
            team=team or "",
            started_at=r.started_at,
            score=r.score,
            original_score=r.original_score,
            passed=r.passed,
            findings=sum(1 for f in r.findings if counts(f) and f.points < 0),
            customer=_customer(r.conversation, mask),
        )
        for r, agent_no, name, team in session.execute(query).all()
    ]
    return rows, int(total or 0)


# --- detail ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of an utterance's text; `findings` are the ids of findings that cover it."""

    text: str
    findings: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UtteranceView:
    """One utterance, split into segments so findings can be highlighted in place."""

    index: int
    role: str
    start: float | None
    end: float | None
    segments: tuple[Segment, ...]
    findings: tuple[int, ...]  # findings on the whole utterance (no span)


@dataclass(slots=True)
class ResultDetail:
    """Everything the detail page shows."""

    result: QaResult
    agent: str
    team: str
    customer: str
    utterances: list[UtteranceView]
    findings: list[QaFinding]
    reviews: dict[int, list[QaReview]] = field(default_factory=dict)
    appeals: dict[int, list[QaAppeal]] = field(default_factory=dict)
    recording: Recording | None = None


def mask_text(text: str) -> str:
    """Phone numbers inside free text, masked; lengths are kept so spans stay valid."""
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def split_segments(text: str, spans: Sequence[tuple[int, int, int]]) -> tuple[Segment, ...]:
    """Cut `text` at every span boundary; each piece lists the finding ids covering it."""
    cuts = {0, len(text)}
    for s, e, _ in spans:
        cuts.add(max(0, min(len(text), s)))
        cuts.add(max(0, min(len(text), e)))
    points = sorted(cuts)
    out: list[Segment] = []
    for a, b in itertools.pairwise(points):
        if a == b:
            continue
        ids = tuple(fid for s, e, fid in spans if s <= a and b <= e)
        out.append(Segment(text[a:b], ids))
    return tuple(out)


def detail(session: Session, result_id: int, *, mask: bool = True) -> ResultDetail:
    """The result with its transcript split for highlighting, reviews, appeals and recording."""
    row = session.execute(_base().where(QaResult.id == result_id)).first()
    if row is None:
        raise QaReviewError("not-found", f"QA result {result_id} not found")
    result, agent_no, name, team = row
    findings = list(result.findings)
    by_utt: dict[int, list[QaFinding]] = defaultdict(list)
    for f in findings:
        if f.utterance is not None:
            by_utt[f.utterance].append(f)
    utterances: list[UtteranceView] = []
    for i, u in enumerate(result.conversation.get("utterances", [])):
        text = str(u.get("text", ""))
        if mask:
            text = mask_text(text)
        here = by_utt.get(i, [])
        spans = [
            (f.span_start, f.span_end, f.id)
            for f in here
            if f.span_start is not None and f.span_end is not None
        ]
        whole = tuple(f.id for f in here if f.span_start is None or f.span_end is None)
        utterances.append(
            UtteranceView(
                index=i,
                role=str(u.get("role", "")),
                start=u.get("start"),
                end=u.get("end"),
                segments=split_segments(text, spans),
                findings=whole,
            )
        )
    ids = [f.id for f in findings]
    reviews: dict[int, list[QaReview]] = defaultdict(list)
    appeals: dict[int, list[QaAppeal]] = defaultdict(list)
    if ids:
        for rv in session.scalars(
            select(QaReview).where(QaReview.finding_id.in_(ids)).order_by(QaReview.id)
        ):
            reviews[rv.finding_id].append(rv)
        for ap in session.scalars(
            select(QaAppeal).where(QaAppeal.finding_id.in_(ids)).order_by(QaAppeal.id)
        ):
            appeals[ap.finding_id].append(ap)
    recording = None
    if result.call_id:
        recording = session.scalar(
            select(Recording).where(Recording.call_id == result.call_id).order_by(Recording.id)
        )
    return ResultDetail(
        result=result,
        agent=f"{agent_no} {name}".strip() if agent_no else (result.agent_ref or ""),
        team=team or "",
        customer=_customer(result.conversation, mask),
        utterances=utterances,
        findings=findings,
        reviews=dict(reviews),
        appeals=dict(appeals),
        recording=recording,
    )


def recording_of(session: Session, result_id: int) -> Recording:
    """The recording of a result's call; QaReviewError when there is none."""
    result = session.get(QaResult, result_id)
    if result is None:
        raise QaReviewError("not-found", f"QA result {result_id} not found")
    rec = None
    if result.call_id:
        rec = session.scalar(
            select(Recording).where(Recording.call_id == result.call_id).order_by(Recording.id)
        )
    if rec is None:
        raise QaReviewError("not-found", f"QA result {result_id} has no recording")
    return rec


# --- review and appeal ----------------------------------------------------------------------


def _finding(session: Session, finding_id: int) -> QaFinding:
    finding = session.get(QaFinding, finding_id)
    if finding is None:
        raise QaReviewError("not-found", f"finding {finding_id} not found")
    return finding


def review(
    session: Session,
    finding_id: int,
    reviewer: User,
    decision: ReviewDecision,
    comment: str = "",
    *,
    source_ip: str | None = None,
) -> QaReview:
    """A reviewer confirms or overturns a finding (复核); the score recomputes."""
    finding = _finding(session, finding_id)
    result = finding.result
    before = result.score
    finding.status = (
        FindingStatus.OVERTURNED if decision is ReviewDecision.OVERTURN else FindingStatus.CONFIRMED
    )
    _rescore(result)
    entry = QaReview(
        finding_id=finding.id,
        reviewer_id=reviewer.id,
        decision=decision,
        comment=comment,
        score_before=before,
        score_after=result.score,
    )
    session.add(entry)
    AuditRepository(session).record(
        "qa.review",
        actor=reviewer,
        target=f"qa_result:{result.id}",
        detail={
            "finding": finding.id,
            "rule": finding.rule,
            "decision": decision.value,
            "score_before": before,
            "score_after": result.score,
        },
        source_ip=source_ip,
    )
    session.flush()
    return entry


def appeal(
    session: Session,
    finding_id: int,
    appellant: User,
    reason: str,
    *,
    source_ip: str | None = None,
) -> QaAppeal:
    """The agent who owns the conversation appeals a finding (申诉)."""
    finding = _finding(session, finding_id)
    result = finding.result
    if not reason.strip():
        raise QaReviewError("invalid", "an appeal needs a reason")
    agent = appellant.agent
    if agent is None or result.agent_id != agent.id:
        raise QaReviewError("forbidden", "only the agent of this conversation may appeal")
    if finding.status is FindingStatus.OVERTURNED:
        raise QaReviewError("conflict", f"finding {finding_id} is already overturned")
    pending = session.scalar(
        select(QaAppeal.id).where(
            QaAppeal.finding_id == finding_id, QaAppeal.status == AppealStatus.PENDING
        )
    )
    if pending is not None:
        raise QaReviewError("conflict", f"finding {finding_id} already has a pending appeal")
    entry = QaAppeal(finding_id=finding_id, appellant_id=appellant.id, reason=reason.strip())
    session.add(entry)
    session.flush()
    AuditRepository(session).record(
        "qa.appeal",
        actor=appellant,
        target=f"qa_result:{result.id}",
        detail={"finding": finding_id, "rule": finding.rule, "appeal": entry.id},
        source_ip=source_ip,
    )
    return entry


def decide_appeal(
    session: Session,
    appeal_id: int,
    decider: User,
    upheld: bool,
    comment: str = "",
    *,
    now: dt.datetime | None = None,
    source_ip: str | None = None,
) -> QaAppeal:
    """A team leader (of the agent's team) or a supervisor decides an appeal."""
    entry = session.get(QaAppeal, appeal_id)
    if entry is None:
        raise QaReviewError("not-found", f"appeal {appeal_id} not found")
    if entry.status is not AppealStatus.PENDING:
        raise QaReviewError("conflict", f"appeal {appeal_id} is already {entry.status.value}")
    if decider.role not in DECIDERS:
        raise QaReviewError("forbidden", "only a team leader or a supervisor decides appeals")
    finding = _finding(session, entry.finding_id)
    result = finding.result
    if decider.role is Role.TEAM_LEADER:
        team = session.scalar(
            select(User.team_id)
            .join(Agent, Agent.user_id == User.id)
            .where(Agent.id == result.agent_id)
        )
        if team is None or team != decider.team_id:
            raise QaReviewError("forbidden", "a team leader decides appeals of their own team")
    before = result.score
    entry.status = AppealStatus.UPHELD if upheld else AppealStatus.REJECTED
    entry.decided_by = decider.id
    entry.decided_at = now or dt.datetime.now(dt.UTC)
    entry.decision_comment = comment
    if upheld:
        finding.status = FindingStatus.OVERTURNED
        _rescore(result)
    AuditRepository(session).record(
        "qa.appeal_decide",
        actor=decider,
        target=f"qa_result:{result.id}",
        detail={
            "appeal": entry.id,
            "finding": finding.id,
            "rule": finding.rule,
            "decision": entry.status.value,
            "score_before": before,
            "score_after": result.score,
        },
        source_ip=source_ip,
    )
    session.flush()
    return entry


def pending_appeals(session: Session, decider: User) -> list[tuple[QaAppeal, QaFinding]]:
    """The pending appeals this user may decide, oldest first."""
    query = (
        select(QaAppeal, QaFinding)
        .join(QaFinding, QaFinding.id == QaAppeal.finding_id)
        .join(QaResult, QaResult.id == QaFinding.result_id)
        .outerjoin(Agent, Agent.id == QaResult.agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .where(QaAppeal.status == AppealStatus.PENDING)
        .order_by(QaAppeal.id)
    )
    if decider.role is Role.TEAM_LEADER:
        query = query.where(User.team_id == decider.team_id)
    elif decider.role not in DECIDERS:
        return []
    return [(a, f) for a, f in session.execute(query).all()]


# --- scorecards and trends ------------------------------------------------------------------


@dataclass(slots=True)
class Scorecard:
    """An agent's or a team's QA figures over a period."""

    key: str
    label: str
    conversations: int = 0
    total: int = 0
    passed: int = 0
    rules: Counter[str] = field(default_factory=Counter)

    @property
    def average(self) -> float | None:
        """Mean score."""
        return self.total / self.conversations if self.conversations else None

    @property
    def pass_rate(self) -> float | None:
        """Share of conversations that passed."""
        return self.passed / self.conversations if self.conversations else None

    def top_rules(self, n: int = 3) -> list[tuple[str, int]]:
        """The rules breached most often (counting findings that stand)."""
        return sorted(self.rules.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def as_dict(self) -> dict[str, Any]:
        """For JSON and exports."""
        return {
            "key": self.key,
            "label": self.label,
            "conversations": self.conversations,
            "average": self.average,
            "passed": self.passed,
            "pass_rate": self.pass_rate,
            "top_rules": [{"rule": r, "count": n} for r, n in self.top_rules()],
        }


def scorecards(session: Session, by: str, start: dt.datetime, end: dt.datetime) -> list[Scorecard]:
    """Per-agent (`by="agent"`) or per-team (`by="team"`) scorecards over [start, end)."""
    if by not in ("agent", "team"):
        raise QaReviewError("invalid", f"scorecards by {by!r}: choose agent or team")
    query = (
        _base()
        .options(selectinload(QaResult.findings))
        .where(_when() >= start, _when() < end)
        .order_by(QaResult.id)
    )
    cards: dict[str, Scorecard] = {}
    for r, agent_no, name, team in session.execute(query).all():
        if by == "agent":
            key = str(r.agent_id or r.agent_ref or "")
            label = f"{agent_no} {name}".strip() if agent_no else (r.agent_ref or "")
        else:
            key = label = team or ""
        card = cards.get(key)
        if card is None:
            card = cards[key] = Scorecard(key, label)
        card.conversations += 1
        card.total += r.score
        card.passed += 1 if r.passed else 0
        for f in r.findings:
            if counts(f) and (f.points < 0 or f.severity == "fatal"):
                card.rules[f.rule] += 1
    return sorted(cards.values(), key=lambda c: (-(c.average or 0), c.label))


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One day of QA results."""

    day: str
    conversations: int
    average: float | None
    pass_rate: float | None


def trend(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    *,
    agent_id: int | None = None,
    team_id: int | None = None,
) -> list[TrendPoint]:
    """Daily average score and pass rate (Asia/Shanghai days), empty days included."""
    flt = ResultFilter(agent_id=agent_id, team_id=team_id, start=start, end=end)
    query = _filtered(
        select(QaResult.started_at, QaResult.checked_at, QaResult.score, QaResult.passed)
        .select_from(QaResult)
        .outerjoin(Agent, Agent.id == QaResult.agent_id)
        .outerjoin(User, User.id == Agent.user_id),
        flt,
    )
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for started, checked, score, passed in session.execute(query).all():
        day = (started or checked).astimezone(TZ).date().isoformat()
        acc = sums[day]
        acc[0] += 1
        acc[1] += score
        acc[2] += 1 if passed else 0
    out: list[TrendPoint] = []
    day = start.astimezone(TZ).date()
    last = (end - dt.timedelta(microseconds=1)).astimezone(TZ).date()
    while day <= last:
        n, total, ok = sums.get(day.isoformat(), [0, 0, 0])
        out.append(TrendPoint(day.isoformat(), n, total / n if n else None, ok / n if n else None))
        day += dt.timedelta(days=1)
    return out
