"""The agent's seat and calls (AG-01..AG-13), supervisor actions (AG-15..AG-21), the
agent WebSocket, and the demo call-injection path (/api/sim, only with `kefu serve --demo`)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field
from sqlalchemy import select

from kefu.core.agent import AgentState
from kefu.core.calling_hours import normalise_number
from kefu.core.events import TransferKind
from kefu.core.supervision import SupervisorAction
from kefu.core.wallboard import AgentView
from kefu.services import audit
from kefu.services.center import Center
from kefu.store.models import Agent, CallLeg, Party, Role, SkillGroup, SkillGroupMember
from kefu.store.models import Call as CallRow
from kefu.web.auth import STAFF_ROLES, AgentUser, SessionDep, SessionUser, require_role, ws_user
from kefu.web.errors import Invalid, NotFound, WebError
from kefu.web.pages import phone_for

router = APIRouter(tags=["agent"])

SEAT_ROLES = (Role.AGENT, Role.TEAM_LEADER)
ViewerUser = Annotated[
    SessionUser, require_role(Role.AGENT, Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
]
SupervisorUser = Annotated[SessionUser, require_role(*STAFF_ROLES)]
SimUser = Annotated[SessionUser, require_role(Role.SUPERVISOR, Role.ADMIN)]


class AgentStatePublic(BaseModel):
    """The seat's live state."""

    agent_id: int
    state: str
    reason: str
    since: float
    now: float
    call_id: str
    queues: list[str]
    answered: int
    missed_total: int
    pending: str
    acw_seconds: float


class StateIn(BaseModel):
    """示闲 idle / 示忙 busy (with a reason) / 小休 break (AG-05)."""

    state: Literal["idle", "busy", "break"]
    reason: str = Field("", max_length=64)


class MuteIn(BaseModel):
    """静音 on or off."""

    muted: bool


class CallIn(BaseModel):
    """A call id (answer, pickup)."""

    call_id: str


class TransferIn(BaseModel):
    """Transfer (AG-08): to an agent (工号), a queue (name) or an outside number."""

    kind: Literal["agent", "queue", "outside"]
    target: str = Field(min_length=1, max_length=64)


class ConsultIn(BaseModel):
    """Attended transfer, step 1 (AG-08): consult an agent (工号) or an outside number.

    A queue cannot be consulted (nobody in particular answers it): use a blind transfer."""

    kind: Literal["agent", "outside"]
    target: str = Field(min_length=1, max_length=64)


class ConferenceIn(BaseModel):
    """Three-way call with an agent (工号) or an outside number."""

    party: str = Field(min_length=1, max_length=64)


class DialIn(BaseModel):
    """Click-to-dial: the customer's number as typed (spaces and dashes are dropped; no
    outside prefix: the console dials straight out through the trunk)."""

    number: str = Field(min_length=1, max_length=40)


# click-to-dial refusals (kefu.telephony.sip.line.DialRefused.reason) -> HTTP status
_DIAL_STATUS = {
    "bad-number": 422,
    "outside-hours": 403,
    "not-logged-in": 409,
    "on-call": 409,
    "not-registered": 409,
    "no-trunk": 503,
}


class SimCallIn(BaseModel):
    """A call to inject into the center as the trunk would deliver it (demo mode)."""

    caller: str = Field(min_length=3, max_length=32)
    dialed: str = Field("4000000000", max_length=32)
    queue: str | None = None


def center_of(request: Request) -> Center:
    """The app's center runtime."""
    center: Center = request.app.state.center
    return center


def _seat(user: SessionUser) -> int:
    if user.agent_id is None:
        raise WebError("no-seat", "this user has no agent seat (工号/extension)", 409)
    return user.agent_id


def _public(view: AgentView, center: Center) -> AgentStatePublic:
    return AgentStatePublic(
        agent_id=int(view.agent_id),
        state=view.state.value,
        reason=view.reason,
        since=view.since,
        now=center.now(),
        call_id=view.call_id,
        queues=list(view.queues),
        answered=view.answered,
        missed_total=view.missed_total,
        pending=view.pending,
        acw_seconds=center.engine.config.acw_seconds,
    )


def _agent_id_of(session: SessionDep, agent_no: str) -> int:
    agent = session.scalar(select(Agent).where(Agent.agent_no == agent_no))
    if agent is None:
        raise NotFound(f"agent {agent_no}")
    return agent.id


# -- the seat -----------------------------------------------------------------------------
@router.get("/api/agent/state")
def get_state(request: Request, user: AgentUser) -> AgentStatePublic:
    """The seat's state."""
    center = center_of(request)
    return _public(center.agent_view(_seat(user)), center)


@router.post("/api/agent/login")
def seat_login(request: Request, user: AgentUser) -> AgentStatePublic:
    """Log the seat in again after a log-out (it starts busy)."""
    center = center_of(request)
    return _public(center.agent_login(_seat(user), ready=False), center)


@router.post("/api/agent/logout")
def seat_logout(request: Request, user: AgentUser) -> AgentStatePublic:
    """Log out of the phone and the queues (AG-02); the web session stays."""
    center = center_of(request)
    center.agent_logout(_seat(user))
    return _public(center.agent_view(_seat(user)), center)


@router.post("/api/agent/state")
def set_state(request: Request, user: AgentUser, body: StateIn) -> AgentStatePublic:
    """示闲 / 示忙 / 小休 (AG-05)."""
    center = center_of(request)
    seat = _seat(user)
    if not center.is_logged_in(seat):
        center.agent_login(seat, ready=False)
    view = center.set_state(seat, AgentState(body.state), body.reason)
    return _public(view, center)


@router.post("/api/agent/mute", status_code=204)
def mute(request: Request, user: AgentUser, body: MuteIn) -> None:
    """静音 (AG-05)."""
    center_of(request).mute(_seat(user), body.muted)


@router.get("/api/agent/groups")
def groups(user: AgentUser, session: SessionDep) -> list[dict[str, Any]]:
    """The agent's skill groups and whether they are signed in (AG-06)."""
    rows = session.execute(
        select(SkillGroup.name, SkillGroup.description, SkillGroupMember.signed_in)
        .join(SkillGroupMember, SkillGroupMember.group_id == SkillGroup.id)
        .where(SkillGroupMember.agent_id == _seat(user))
        .order_by(SkillGroup.name)
    )
    return [{"name": r.name, "description": r.description, "signed_in": r.signed_in} for r in rows]


@router.post("/api/agent/groups/{group}/{action}")
def sign_group(
    request: Request, user: AgentUser, group: str, action: Literal["sign-in", "sign-out"]
) -> AgentStatePublic:
    """签入 / 签出 a skill group (AG-06)."""
    center = center_of(request)
    try:
        view = center.sign_group(_seat(user), group, action == "sign-in")
    except LookupError:
        raise NotFound(f"skill group {group}") from None
    return _public(view, center)


# -- calls --------------------------------------------------------------------------------
@router.post("/api/agent/answer", status_code=204)
def answer(request: Request, user: AgentUser, body: CallIn) -> None:
    """Answer the offered call."""
    center_of(request).answer(_seat(user), body.call_id)


@router.post("/api/agent/hangup", status_code=204)
def hangup(request: Request, user: AgentUser) -> None:
    """Hang up."""
    center_of(request).hangup(_seat(user))


@router.post("/api/agent/hold", status_code=204)
def hold(request: Request, user: AgentUser) -> None:
    """Hold (AG-09)."""
    center_of(request).hold(_seat(user))


@router.post("/api/agent/resume", status_code=204)
def resume(request: Request, user: AgentUser) -> None:
    """Resume (AG-09)."""
    center_of(request).resume(_seat(user))


@router.post("/api/agent/transfer", status_code=204)
def transfer(request: Request, user: AgentUser, body: TransferIn, session: SessionDep) -> None:
    """Transfer to an agent, a queue, or an outside number (needs the permission) (AG-08)."""
    target = body.target.strip()
    if body.kind == "agent":
        target = str(_agent_id_of(session, target))
    center_of(request).transfer(_seat(user), TransferKind(body.kind), target)


@router.post("/api/agent/consult", status_code=204)
def consult(request: Request, user: AgentUser, body: ConsultIn, session: SessionDep) -> None:
    """Attended transfer: hold the caller (music) and call the target for the agent alone."""
    target = body.target.strip()
    if body.kind == "agent":
        target = str(_agent_id_of(session, target))
    elif not target.lstrip("+").isdigit():
        raise Invalid(f"target: {target!r} is not a phone number")
    center_of(request).consult(_seat(user), TransferKind(body.kind), target)


@router.post("/api/agent/consult/complete", status_code=204)
def complete_transfer(request: Request, user: AgentUser) -> None:
    """Attended transfer: join the caller to the consulted party; the agent wraps up."""
    center_of(request).complete_transfer(_seat(user))


@router.post("/api/agent/consult/cancel", status_code=204)
def cancel_consult(request: Request, user: AgentUser) -> None:
    """Drop the consulted party and take the caller back off hold."""
    center_of(request).cancel_consult(_seat(user))


@router.post("/api/agent/conference", status_code=204)
def conference(request: Request, user: AgentUser, body: ConferenceIn, session: SessionDep) -> None:
    """Three-way call (AG-08): an agent by 工号, or an outside number."""
    party = body.party.strip()
    agent = session.scalar(select(Agent).where(Agent.agent_no == party))
    if agent is None and not party.lstrip("+").isdigit():
        raise Invalid(f"party: {party!r} is neither an agent (工号) nor a phone number")
    center_of(request).conference(_seat(user), str(agent.id) if agent else party)


@router.post("/api/agent/pickup", status_code=204)
def pickup(request: Request, user: AgentUser, body: CallIn) -> None:
    """抢接 a call ringing at another agent (AG-13)."""
    center_of(request).pickup(_seat(user), body.call_id)


@router.post("/api/agent/dial", status_code=201)
async def dial(request: Request, user: AgentUser, body: DialIn) -> dict[str, str]:
    """Click-to-dial (外呼): ring the agent's own phone, then call the customer through the
    trunk once the agent answers. Only inside the outbound hours (SLA-03); audited."""
    from kefu.telephony.sip.line import DialRefused

    seat = _seat(user)
    try:
        number = normalise_number(body.number)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    line = getattr(request.app.state, "sip_line", None)
    if line is None:
        raise WebError("sip-off", "click-to-dial needs the SIP switch: run `kefu serve --sip`", 503)
    center = center_of(request)
    ip = request.client.host if request.client else None
    try:
        # on the event loop, where the switch lives (this endpoint is async for that reason)
        call_id: str = line.click_to_dial(seat, number)
    except DialRefused as exc:
        audit.record(
            center.db,
            "agent.click_to_dial",
            actor_id=user.id,
            target=number,
            detail={"agent_id": seat, "allowed": False, "reason": exc.reason},
            source_ip=ip,
        )
        raise WebError(f"dial-{exc.reason}", str(exc), _DIAL_STATUS.get(exc.reason, 400)) from None
    audit.record(
        center.db,
        "agent.click_to_dial",
        actor_id=user.id,
        target=number,
        detail={"agent_id": seat, "allowed": True, "call_id": call_id},
        source_ip=ip,
    )
    return {"call_id": call_id, "number": number}


@router.get("/api/queues/waiting")
def waiting_calls(request: Request, user: ViewerUser) -> list[dict[str, Any]]:
    """Calls waiting or ringing in the queues, longest first (AG-12)."""
    center = center_of(request)
    labels = center.agent_labels
    return [
        {
            "call_id": v.call_id,
            "caller": phone_for(user, v.caller),
            "region": v.region,
            "queue": v.queue,
            "priority": v.priority,
            "waited": round(v.waited, 1),
            "position": v.position,
            "ringing": [labels.get(a, a) for a in v.ringing],
        }
        for v in center.waiting_calls()
    ]


@router.get("/api/agent/missed")
def missed_calls(
    user: ViewerUser, session: SessionDep, agent_no: str | None = None
) -> list[dict[str, Any]]:
    """Calls offered to the agent and not answered (AG-11); staff may name an agent."""
    if agent_no and user.role in STAFF_ROLES:
        agent_id = _agent_id_of(session, agent_no)
    else:
        agent_id = _seat(user)
    rows = session.execute(
        select(CallLeg, CallRow)
        .join(CallRow, CallRow.id == CallLeg.call_id)
        .where(
            CallLeg.agent_id == agent_id,
            CallLeg.party == Party.AGENT,
            CallLeg.answered_at.is_(None),
            CallLeg.ended_at.is_not(None),
        )
        .order_by(CallLeg.started_at.desc())
        .limit(100)
    )
    return [
        {
            "call_id": call.id,
            "caller": phone_for(user, call.caller),
            "region": call.caller_region or "",
            "rang_at": leg.started_at.isoformat(),
            "answered_by_other": call.answered_at is not None,
        }
        for leg, call in rows
    ]


# -- supervisor actions (AG-15..AG-21) ----------------------------------------------------
@router.post("/api/supervisor/agents/{agent_no}/{action}", status_code=204)
def supervise(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    agent_no: str,
    action: Literal[
        "listen",
        "whisper",
        "barge",
        "stop_monitor",
        "intercept",
        "force_hangup",
        "force_logout",
        "force_busy",
        "force_idle",
    ],
) -> None:
    """A supervisor action on an agent; the core checks the role and audits every attempt."""
    target = _agent_id_of(session, agent_no)
    center_of(request).supervise(user.id, user.role, SupervisorAction(action), target)


@router.get("/api/supervisor/agents")
def agents_live(request: Request, user: SupervisorUser) -> list[dict[str, Any]]:
    """Every logged-in agent's live state."""
    center = center_of(request)
    return [
        {
            "agent_id": int(v.agent_id),
            "agent_no": center.agent_labels.get(v.agent_id, v.agent_id),
            "state": v.state.value,
            "reason": v.reason,
            "since": v.since,
            "call_id": v.call_id,
            "queues": list(v.queues),
        }
        for v in center.agents()
    ]


# -- demo / test call injection -----------------------------------------------------------
def _demo(request: Request) -> None:
    if not request.app.state.demo:
        raise WebError("demo-off", "call injection needs `kefu serve --demo`", 404)


@router.post("/api/sim/calls", status_code=201)
def sim_call(request: Request, user: SimUser, body: SimCallIn) -> dict[str, str]:
    """Offer a call into the center through the core, as a trunk would (demo mode only)."""
    _demo(request)
    call_id = center_of(request).offer_call(body.caller, body.dialed, body.queue)
    return {"call_id": call_id}


@router.post("/api/sim/calls/{call_id}/hangup", status_code=204)
def sim_hangup(request: Request, user: SimUser, call_id: str) -> None:
    """The simulated caller hangs up (demo mode only)."""
    _demo(request)
    center_of(request).caller_hangup(call_id)


# -- the agent's live feed ----------------------------------------------------------------
@router.websocket("/ws/agent")
async def agent_ws(websocket: WebSocket) -> None:
    """Live events for the agent's seat: state, offers (screen pop), call progress."""
    await websocket.accept()
    user = await ws_user(websocket, *SEAT_ROLES)
    if user is None or user.agent_id is None:
        if user is not None:
            await websocket.close(code=4409)
        return
    center: Center = websocket.app.state.center
    async with center.hub.subscribe(f"agent:{user.agent_id}") as queue:
        view = center.agent_view(user.agent_id)
        await websocket.send_json(
            {
                "type": "hello",
                "state": view.state.value,
                "reason": view.reason,
                "since": view.since,
                "now": center.now(),
                "call_id": view.call_id,
            }
        )
        receiver = asyncio.create_task(_drain(websocket))
        try:
            while not receiver.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    event = getter.result()
                    if "caller" in event:
                        event = {**event, "caller_display": phone_for(user, event["caller"])}
                    await websocket.send_json({**event, "now": center.now()})
                else:
                    getter.cancel()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(BaseException):
                await receiver


async def _drain(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
