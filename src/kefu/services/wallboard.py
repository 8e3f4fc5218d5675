"""The supervisor wallboard (CC-06, AG-12) and its actions (AG-14 approval, AG-15..AG-22).

`snapshot` joins three sources: the live center (queues waiting, longest wait, agents'
states and calls, and every call in progress on the line from `center.progress`: in the
IVR, queued, ringing, talking, on hold, with a supervisor), today's CDRs in the store
(service level and abandoned calls since midnight, Asia/Shanghai), and pending blacklist
requests. Supervisor actions go through the center runtime, whose core checks the role
and emits the audit entry; an attempt the core refuses is audited here, so that every
attempt is on record (AG-22).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.agent import AgentState
from kefu.core.errors import PermissionDenied, UnknownAgent
from kefu.core.supervision import SupervisorAction
from kefu.errors import KefuError
from kefu.security.masking import mask_phone
from kefu.services import blacklist, reports
from kefu.services.center import DEFAULT_QUEUE, Center
from kefu.services.progress import STATES, CallProgress
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    BlacklistRequest,
    RequestStatus,
    Role,
    User,
)
from kefu.store.repositories import AuditRepository, UserRepository

# The states in which an agent is working on a contact (occupancy's numerator).
WORKING = (AgentState.RINGING, AgentState.ON_CALL, AgentState.ON_HOLD, AgentState.AFTER_CALL_WORK)
# The actions the board offers, in display order; BLACKLIST and STOP_MONITOR are separate.
BOARD_ACTIONS = (
    SupervisorAction.LISTEN,
    SupervisorAction.WHISPER,
    SupervisorAction.BARGE,
    SupervisorAction.INTERCEPT,
    SupervisorAction.FORCE_HANGUP,
    SupervisorAction.FORCE_LOGOUT,
    SupervisorAction.FORCE_BUSY,
    SupervisorAction.FORCE_IDLE,
    SupervisorAction.STOP_MONITOR,
)
APPROVERS = (Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)


class WallboardError(KefuError):
    """A wallboard request was refused; `kind` is not-found, forbidden or conflict."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def today(now: dt.datetime) -> reports.Period:
    """Midnight to midnight of `now`'s day in Asia/Shanghai."""
    day = now.astimezone(reports.TZ).date()
    return reports.Period.local_days(day, day)


def _queue_today(session: Session, now: dt.datetime) -> dict[str, reports.TrafficRow]:
    period = today(now)
    facts = reports.call_facts(session, period)
    return {r.label: r for r in reports.traffic(facts, reports.Dimension.QUEUE, period)}


def _agent_names(session: Session) -> dict[str, tuple[str, str, int | None]]:
    rows = session.execute(
        select(Agent.id, Agent.agent_no, User.display_name, User.team_id).join(
            User, User.id == Agent.user_id
        )
    ).all()
    return {str(i): (no, name, team) for i, no, name, team in rows}


def occupancy(center: Center, agent_id: str, now: float) -> float | None:
    """Share of the agent's logged-in time spent on contacts (None before any)."""
    times = center.engine.time_in_states(agent_id, now)
    staffed = sum(v for s, v in times.items() if s is not AgentState.LOGGED_OUT)
    if staffed <= 0:
        return None
    return sum(times[s] for s in WORKING) / staffed


def snapshot(
    center: Center, db: Database, *, now: dt.datetime | None = None, full_numbers: bool = True
) -> dict[str, Any]:
    """The whole board as JSON-able data: queues, agents, waiting calls, blacklist requests."""
    moment = now or dt.datetime.now(dt.UTC)

    def show(number: str) -> str:
        return number if full_numbers or not number else mask_phone(number)

    with center._lock:  # one consistent view of the engine
        t = center.now()
        board = center.engine.wallboard(t)
        agents = [
            center.engine.agent_view(aid, t)
            for aid, a in center.engine.agents.items()
            if a.state is not AgentState.LOGGED_OUT
        ]
        waiting = center.engine.waiting_calls(t)
        live_calls = {cid: (c.caller, c.region, c.queue) for cid, c in center.calls.items()}
        occ = {a.agent_id: occupancy(center, a.agent_id, t) for a in agents}
        in_progress = calls_in_progress(center, t)
    with db.session() as session:
        names = _agent_names(session)
        stats = _queue_today(session, moment)
        pending = pending_requests(session)
    queues = []
    for q in board.queues:
        s = stats.get(q.name)
        if s is None and q.name == DEFAULT_QUEUE and q.name not in center.queue_ids:
            s = stats.get("")  # the built-in default queue has no row: its calls have none
        queues.append(
            {
                "name": q.name,
                "waiting": q.waiting,
                "ringing": q.ringing,
                "longest_wait": round(q.longest_wait, 1),
                "agents_available": q.idle,
                "staffed": q.staffed,
                "estimated_wait": round(q.estimated_wait, 1),
                "offered_today": s.offered if s else 0,
                "answered_today": s.answered if s else 0,
                "abandoned_today": s.abandoned if s else 0,
                "service_level_today": s.service_level if s else None,
            }
        )
    agent_rows: list[dict[str, Any]] = []
    for a in agents:
        no, name, _team = names.get(a.agent_id, (center.agent_labels.get(a.agent_id, ""), "", None))
        call = live_calls.get(a.call_id) if a.call_id else None
        agent_rows.append(
            {
                "agent_id": a.agent_id,
                "agent_no": no,
                "name": name,
                "state": a.state.value,
                "reason": a.reason,
                "since": a.since,
                "in_state_s": round(max(0.0, t - a.since), 1),
                "call_id": a.call_id,
                "caller": show(call[0]) if call else "",
                "region": call[1] if call else "",
                "queue": (call[2] or "") if call else "",
                "queues": list(a.queues),
                "answered": a.answered,
                "missed": a.missed_total,
                "occupancy": occ.get(a.agent_id),
            }
        )
    agent_rows.sort(key=lambda r: str(r["agent_no"]))

    def label(aid: str) -> str:
        if not aid:
            return ""
        no, name, _team = names.get(aid, (center.agent_labels.get(aid, aid), "", None))
        return f"{no} {name}".strip()

    calls = [
        {
            "call_id": v.call_id,
            "state": v.state,
            "direction": v.direction,
            "caller": show(v.caller),
            "callee": show(v.callee),
            "region": live_calls[v.call_id][1] if v.call_id in live_calls else "",
            "queue": (live_calls[v.call_id][2] or v.queue) if v.call_id in live_calls else v.queue,
            "agent_id": v.agent_id,
            "agent": label(v.agent_id),
            "peer_agent_id": v.peer_agent_id,
            "peer_agent": label(v.peer_agent_id),
            "ringing": list(v.ringing),
            "ivr_flow": v.ivr_flow,
            "ivr_node": v.ivr_node,
            "supervisor_id": v.supervisor_id,
            "supervisor_mode": v.supervisor_mode,
            "duration_s": round(max(0.0, t - v.started), 1),
            "in_state_s": round(max(0.0, t - v.since), 1),
        }
        for v in in_progress
    ]
    summary = {state: 0 for state in STATES}
    for v in in_progress:
        summary[v.state] = summary.get(v.state, 0) + 1
    summary["total"] = len(in_progress)
    return {
        "now": t,
        "queues": queues,
        "agents": agent_rows,
        "states": {s.value: n for s, n in board.agents.items()},
        "calls_connected": board.calls_connected,
        "calls": calls,
        "calls_summary": summary,
        "waiting_calls": [
            {
                "call_id": w.call_id,
                "caller": show(w.caller),
                "region": w.region,
                "queue": w.queue,
                "priority": w.priority,
                "waited": round(w.waited, 1),
                "position": w.position,
                "ringing": list(w.ringing),
            }
            for w in waiting
        ],
        "blacklist_requests": [
            {
                "id": r.id,
                "number": show(r.number),
                "reason": r.reason,
                "requested_by": who,
                "requested_at": r.requested_at.isoformat(),
                "call_id": r.call_id,
            }
            for r, who in pending
        ],
    }


def calls_in_progress(center: Center, now: float) -> list[CallProgress]:
    """Every call in progress: the line's (IVR, queue, direct, click-to-dial) and the core's
    virtual calls (console demo calls, which have no line). Call under `center._lock`."""
    views = center.progress.views()
    seen = {v.call_id for v in views}
    for cid, live in center.calls.items():
        c = center.engine.calls.get(cid)
        if cid in seen or c is None:
            continue
        if live.hold_started is not None:
            state = "on_hold"
        elif live.agent_id:
            state = "talking"
        elif live.ringing:
            state = "ringing"
        else:
            state = "queued"
        views.append(
            CallProgress(
                call_id=cid,
                state=state,
                direction="inbound",
                caller=live.caller,
                callee="",
                started=c.arrived,
                since=c.arrived if live.hold_started is None else live.hold_started,
                agent_id=live.agent_id or "",
                ringing=tuple(sorted(live.ringing)),
                queue=live.queue or "",
            )
        )
    return views


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on the board."""

    user_id: int
    role: Role


def act(
    center: Center,
    db: Database,
    actor: Actor,
    action: SupervisorAction,
    agent_id: int,
    reason: str = "",
    *,
    source_ip: str | None = None,
) -> dict[str, Any]:
    """Carry out a supervisor action on an agent; the audit log records it (AG-22)."""
    if action is SupervisorAction.BLACKLIST:
        raise WallboardError("conflict", "use the blacklist approval for blacklist changes")
    if str(agent_id) not in center.engine.agents:
        raise WallboardError("not-found", f"agent {agent_id} is not logged in")
    try:
        center.supervise(actor.user_id, actor.role, action, agent_id, reason)
    except PermissionDenied:
        _audit_refused(db, actor, action, agent_id, "role not permitted", source_ip)
        raise
    except KefuError as exc:
        _audit_refused(db, actor, action, agent_id, str(exc), source_ip)
        raise
    try:
        view = center.agent_view(agent_id)
    except UnknownAgent:  # a forced log-out removes the seat from the engine
        return {"agent_id": str(agent_id), "state": AgentState.LOGGED_OUT.value, "reason": ""}
    return {"agent_id": view.agent_id, "state": view.state.value, "reason": view.reason}


def _audit_refused(
    db: Database,
    actor: Actor,
    action: SupervisorAction,
    agent_id: int,
    why: str,
    source_ip: str | None,
) -> None:
    with db.session() as session:
        user = UserRepository(session).by_id(actor.user_id)
        AuditRepository(session).record(
            f"supervisor.{action.value}",
            actor=user,
            target=str(agent_id),
            detail={"allowed": False, "role": actor.role.value, "error": why},
            source_ip=source_ip,
        )


# --- blacklist approvals (AG-14) ----------------------------------------------------------


def pending_requests(session: Session) -> list[tuple[BlacklistRequest, str]]:
    """Pending blacklist requests, oldest first, with the requester's name."""
    rows = session.execute(
        select(BlacklistRequest, User.display_name, User.username)
        .join(User, User.id == BlacklistRequest.requested_by)
        .where(BlacklistRequest.status == RequestStatus.PENDING)
        .order_by(BlacklistRequest.id)
    ).all()
    return [(r, name or username) for r, name, username in rows]


def decide_request(
    center: Center,
    db: Database,
    actor: Actor,
    request_id: int,
    approve: bool,
    note: str = "",
    *,
    source_ip: str | None = None,
) -> dict[str, Any]:
    """Approve (the number is blacklisted at once) or reject a blacklist request."""
    if actor.role not in APPROVERS:
        raise WallboardError("forbidden", "only a team leader or a supervisor decides")
    with db.session() as session:
        try:
            row = blacklist.decide(session, request_id, approve, actor.user_id, note)
        except blacklist.BlacklistError as exc:
            kind = "not-found" if "not found" in str(exc) else "conflict"
            raise WallboardError(kind, str(exc)) from None
        number, status = row.number, row.status.value
        # blacklist.decide audits without the actor and address; the board knows both
        entry = AuditRepository(session).latest(1)[0]
        entry.actor_id, entry.source_ip = actor.user_id, source_ip
        user = UserRepository(session).by_id(actor.user_id)
        entry.actor_name = user.username if user else ""
    if approve:
        center.blacklist(actor.user_id, actor.role, number, True)
    return {"id": request_id, "number": number, "status": status}
