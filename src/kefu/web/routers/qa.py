"""QA review (SV-02): conversation list, detail with highlighted findings and the recording,
review (复核), appeal (申诉), scorecards and trends. Phone numbers are always masked here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from kefu.services import qa_review
from kefu.services.qa_review import QaReviewError, ResultFilter
from kefu.services.reports import TZ
from kefu.store.models import Agent, QaAppeal, QaFinding, QaReview, ReviewDecision, Role, Team, User
from kefu.web.auth import SessionDep, SessionUser, client_ip, require_role
from kefu.web.errors import Forbidden, Invalid, NotFound, WebError
from kefu.web.media import recording_response
from kefu.web.pages import render

PathId = Annotated[int, PathParam(ge=0, le=2**31 - 1)]
router = APIRouter(tags=["qa"])

VIEWERS = (Role.AGENT, Role.QA, Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
Viewer = Annotated[SessionUser, require_role(*VIEWERS)]
Reviewer = Annotated[SessionUser, require_role(Role.QA, Role.SUPERVISOR, Role.ADMIN)]
Appellant = Annotated[SessionUser, require_role(Role.AGENT, Role.TEAM_LEADER)]
Decider = Annotated[SessionUser, require_role(Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)]
Analyst = Annotated[
    SessionUser, require_role(Role.QA, Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
]
Id = Annotated[int, Query(ge=0, le=2**31 - 1)]
Score = Annotated[int, Query(ge=0, le=100)]
MAX_DAYS = 400


def _raise(exc: QaReviewError) -> NoReturn:
    if exc.kind == "not-found":
        raise NotFound(str(exc).removesuffix(" not found")) from None
    if exc.kind == "forbidden":
        raise Forbidden(str(exc)) from None
    if exc.kind == "conflict":
        raise WebError("conflict", str(exc), 409) from None
    raise Invalid(str(exc)) from None


def _own_only(user: SessionUser) -> bool:
    """Agents see only their own conversations."""
    return user.role is Role.AGENT


def _range(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    last = end or dt.datetime.now(TZ).date()
    first = start or last - dt.timedelta(days=29)
    if last < first:
        raise Invalid("end is before start")
    if (last - first).days >= MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days")
    return (
        dt.datetime.combine(first, dt.time(), TZ),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TZ),
    )


def _check_access(user: SessionUser, result_agent_id: int | None) -> None:
    if _own_only(user) and (user.agent_id is None or user.agent_id != result_agent_id):
        raise Forbidden("agents see only their own conversations")


def _filter(
    user: SessionUser,
    agent_id: int | None,
    team_id: int | None,
    start: dt.date | None,
    end: dt.date | None,
    score_min: int | None,
    score_max: int | None,
    rule: str | None,
    passed: bool | None,
) -> ResultFilter:
    lo = hi = None
    if start or end:
        lo, hi = _range(start, end)
    if _own_only(user):
        agent_id = user.agent_id if user.agent_id is not None else -1
    return ResultFilter(
        agent_id=agent_id,
        team_id=team_id,
        start=lo,
        end=hi,
        score_min=score_min,
        score_max=score_max,
        rule=rule or None,
        passed=passed,
    )


def _row(r: qa_review.ResultRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "conversation_id": r.conversation_id,
        "channel": r.channel,
        "agent": r.agent,
        "team": r.team,
        "started_at": r.started_at.astimezone(TZ).isoformat() if r.started_at else None,
        "score": r.score,
        "original_score": r.original_score,
        "passed": r.passed,
        "findings": r.findings,
        "customer": r.customer,
    }


def _finding(f: QaFinding) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule": f.rule,
        "severity": f.severity,
        "points": f.points,
        "utterance": f.utterance,
        "start": f.start,
        "span": [f.span_start, f.span_end] if f.span_start is not None else None,
        "evidence": qa_review.mask_text(f.evidence),
        "message": f.message,
        "status": f.status.value,
    }


def _review(r: QaReview) -> dict[str, Any]:
    return {
        "id": r.id,
        "finding_id": r.finding_id,
        "reviewer_id": r.reviewer_id,
        "decision": r.decision.value,
        "comment": r.comment,
        "score_before": r.score_before,
        "score_after": r.score_after,
        "created_at": r.created_at.isoformat(),
    }


def _appeal(a: QaAppeal) -> dict[str, Any]:
    return {
        "id": a.id,
        "finding_id": a.finding_id,
        "appellant_id": a.appellant_id,
        "reason": a.reason,
        "status": a.status.value,
        "created_at": a.created_at.isoformat(),
        "decided_by": a.decided_by,
        "decided_at": a.decided_at.isoformat() if a.decided_at else None,
        "decision_comment": a.decision_comment,
    }


def _detail_json(d: qa_review.ResultDetail) -> dict[str, Any]:
    r = d.result
    return {
        "id": r.id,
        "conversation_id": r.conversation_id,
        "channel": r.channel,
        "agent": d.agent,
        "team": d.team,
        "customer": d.customer,
        "started_at": r.started_at.astimezone(TZ).isoformat() if r.started_at else None,
        "score": r.score,
        "original_score": r.original_score,
        "passed": r.passed,
        "not_applicable": r.not_applicable,
        "has_recording": d.recording is not None,
        "utterances": [
            {
                "index": u.index,
                "role": u.role,
                "start": u.start,
                "end": u.end,
                "segments": [{"text": s.text, "findings": list(s.findings)} for s in u.segments],
                "findings": list(u.findings),
            }
            for u in d.utterances
        ],
        "findings": [_finding(f) for f in d.findings],
        "reviews": [_review(x) for xs in d.reviews.values() for x in xs],
        "appeals": [_appeal(x) for xs in d.appeals.values() for x in xs],
    }


def _user_row(session: Any, user: SessionUser) -> User:
    row = session.get(User, user.id)
    if row is None:
        raise Forbidden("unknown user")
    return row  # type: ignore[no-any-return]


def _choices(session: Any) -> dict[str, Any]:
    """Teams and agents for the filter drop-downs."""
    return {
        "teams": session.execute(select(Team.id, Team.name).order_by(Team.name)).all(),
        "agents": session.execute(
            select(Agent.id, Agent.agent_no, User.display_name)
            .join(User, User.id == Agent.user_id)
            .order_by(Agent.agent_no)
        ).all(),
    }


# --- pages ----------------------------------------------------------------------------------


@router.get("/qa", response_class=HTMLResponse, include_in_schema=False)
def qa_page(request: Request, user: Viewer, session: SessionDep) -> HTMLResponse:
    """The conversation list with filters; rows load from /api/qa/results."""
    return render(request, "qa/list.html", user=user, **_choices(session))


@router.get("/qa/results/{result_id}", response_class=HTMLResponse, include_in_schema=False)
def qa_detail_page(
    request: Request, result_id: PathId, user: Viewer, session: SessionDep
) -> HTMLResponse:
    """One conversation: transcript with findings in place, evidence, audio, review, appeal."""
    try:
        d = qa_review.detail(session, result_id, mask=True)
    except QaReviewError as exc:
        _raise(exc)
    _check_access(user, d.result.agent_id)
    own = user.agent_id is not None and user.agent_id == d.result.agent_id
    return render(
        request,
        "qa/detail.html",
        user=user,
        d=d,
        data=_detail_json(d),
        can_review=user.role in (Role.QA, Role.SUPERVISOR, Role.ADMIN),
        can_appeal=own,
        mask_text=qa_review.mask_text,
        tz=TZ,
    )


@router.get("/qa/scorecards", response_class=HTMLResponse, include_in_schema=False)
def scorecards_page(request: Request, user: Analyst, session: SessionDep) -> HTMLResponse:
    """Per-agent and per-team scorecards, the trend chart and pending appeals."""
    return render(request, "qa/scorecards.html", user=user, **_choices(session))


# --- API ------------------------------------------------------------------------------------


@router.get("/api/qa/results", summary="QA results, filtered and paged")
def list_results(
    session: SessionDep,
    user: Viewer,
    agent_id: Id | None = None,
    team_id: Id | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    score_min: Score | None = None,
    score_max: Score | None = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    passed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Newest first; agents get only their own conversations."""
    flt = _filter(user, agent_id, team_id, start, end, score_min, score_max, rule, passed)
    rows, total = qa_review.list_results(session, flt, limit=limit, offset=offset, mask=True)
    return {"total": total, "rows": [_row(r) for r in rows]}


@router.get("/api/qa/results/{result_id}", summary="One QA result with transcript and findings")
def get_result(result_id: PathId, session: SessionDep, user: Viewer) -> dict[str, Any]:
    """Transcript split into segments for highlighting, findings, reviews and appeals."""
    try:
        d = qa_review.detail(session, result_id, mask=True)
    except QaReviewError as exc:
        _raise(exc)
    _check_access(user, d.result.agent_id)
    return _detail_json(d)


@router.get(
    "/api/qa/results/{result_id}/recording",
    summary="The call recording (WAV), with HTTP Range support",
    response_class=FileResponse,
)
def recording(
    result_id: PathId, request: Request, session: SessionDep, user: Viewer
) -> FileResponse:
    """Serve the WAV (audited); the browser's audio player seeks with Range requests."""
    try:
        rec = qa_review.recording_of(session, result_id)
    except QaReviewError as exc:
        _raise(exc)
    result = qa_review.detail(session, result_id, mask=True).result
    _check_access(user, result.agent_id)
    return recording_response(request, session, user, rec, via=f"qa:{result_id}")


class ReviewIn(BaseModel):
    """A reviewer's decision on one finding."""

    decision: ReviewDecision
    comment: str = Field(default="", max_length=2000)


@router.post("/api/qa/findings/{finding_id}/review", summary="Review (复核) a finding")
def review_finding(
    finding_id: PathId, body: ReviewIn, request: Request, session: SessionDep, user: Reviewer
) -> dict[str, Any]:
    """Confirm or overturn; the score recomputes and the review keeps before/after."""
    try:
        rv = qa_review.review(
            session,
            finding_id,
            _user_row(session, user),
            body.decision,
            body.comment,
            source_ip=client_ip(request),
        )
    except QaReviewError as exc:
        _raise(exc)
    finding = session.get(QaFinding, finding_id)
    assert finding is not None
    return {
        "review": _review(rv),
        "score": finding.result.score,
        "original_score": finding.result.original_score,
        "passed": finding.result.passed,
    }


class AppealIn(BaseModel):
    """An agent's appeal of a finding."""

    reason: str = Field(min_length=1, max_length=2000)


@router.post("/api/qa/findings/{finding_id}/appeal", summary="Appeal (申诉) a finding")
def appeal_finding(
    finding_id: PathId, body: AppealIn, request: Request, session: SessionDep, user: Appellant
) -> dict[str, Any]:
    """Only the agent of the conversation may appeal; a leader decides."""
    try:
        ap = qa_review.appeal(
            session, finding_id, _user_row(session, user), body.reason, source_ip=client_ip(request)
        )
    except QaReviewError as exc:
        _raise(exc)
    return _appeal(ap)


@router.get("/api/qa/appeals", summary="Pending appeals this user may decide")
def pending(session: SessionDep, user: Decider) -> list[dict[str, Any]]:
    """Team leaders see their team's; supervisors and admins see all."""
    out = []
    for ap, f in qa_review.pending_appeals(session, _user_row(session, user)):
        item = _appeal(ap)
        item.update(result_id=f.result_id, rule=f.rule, message=f.message)
        out.append(item)
    return out


class DecisionIn(BaseModel):
    """A leader's decision on an appeal."""

    upheld: bool
    comment: str = Field(default="", max_length=2000)


@router.post("/api/qa/appeals/{appeal_id}/decision", summary="Decide an appeal")
def decide(
    appeal_id: PathId, body: DecisionIn, request: Request, session: SessionDep, user: Decider
) -> dict[str, Any]:
    """Upheld: the finding is overturned and the score recomputes; rejected: it stays."""
    try:
        ap = qa_review.decide_appeal(
            session,
            appeal_id,
            _user_row(session, user),
            body.upheld,
            body.comment,
            source_ip=client_ip(request),
        )
    except QaReviewError as exc:
        _raise(exc)
    finding = session.get(QaFinding, ap.finding_id)
    assert finding is not None
    return {**_appeal(ap), "score": finding.result.score}


@router.get("/api/qa/scorecards", summary="Per-agent or per-team QA scorecards")
def scorecards(
    session: SessionDep,
    user: Analyst,
    by: Literal["agent", "team"] = "agent",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Average score, pass rate and the rules breached most, over [start, end]."""
    lo, hi = _range(start, end)
    return [c.as_dict() for c in qa_review.scorecards(session, by, lo, hi)]


@router.get("/api/qa/trend", summary="Daily QA average and pass rate")
def trend(
    session: SessionDep,
    user: Analyst,
    start: dt.date | None = None,
    end: dt.date | None = None,
    agent_id: Id | None = None,
    team_id: Id | None = None,
) -> list[dict[str, Any]]:
    """One point per day (Asia/Shanghai), empty days included."""
    lo, hi = _range(start, end)
    return [
        {
            "day": p.day,
            "conversations": p.conversations,
            "average": p.average,
            "pass_rate": p.pass_rate,
        }
        for p in qa_review.trend(session, lo, hi, agent_id=agent_id, team_id=team_id)
    ]
