"""The ACD engine: agents, queues, routing, transfers and supervisor actions in one object.

Theory of operation
-------------------
`ContactCenter.handle(event)` applies one event and returns the commands adapters must
carry out. `next_deadline()` says when the engine next needs waking (ring timeouts,
after-call work, max wait, owner wait, announcements) and `handle_timer(now)` fires every
timer due by `now`. There is no clock, no I/O and no asyncio: the SIP switch and the
simulator drive the very same object.

Every state change of an agent or a call goes through `_agent_to` / `_call_to`, which look
the (state, trigger) pair up in `AGENT_TRANSITIONS` / `CALL_TRANSITIONS`. A handler checks
the pairs it needs before it mutates anything, so an illegal event raises
`IllegalTransition` and leaves every state as it was.

Routing is driven from both ends:
- a call that arrives (or returns to its queue) takes the best idle agent from its queue's
  idle heap, or joins the queue's waiting heap;
- an agent who becomes idle first takes a call waiting for them personally (owner or
  designated agent), then the best head among the queues they serve (queue priority, then
  caller priority, then arrival), else is pushed into each of those queues' idle heaps.

The simulator drives the engine through an internal fast path: `_call_arrived`,
`_agent_answered` and `_agent_hung_up` are what `handle()` runs for those events, called
with the fields instead of an event object, and `_full = False` leaves out the commands it
never reads (bridge, recording, hang-up, stop-ringing). States, timers and records are
the same either way.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kefu.core.agent import (
    AGENT_TRANSITIONS,
    ON_A_CALL,
    STAFFED,
    STATE_INDEX,
    Agent,
    AgentState,
    AgentTrigger,
)
from kefu.core.call import (
    CALL_TRANSITIONS,
    CONSULT_TRANSITIONS,
    Call,
    CallState,
    CallTrigger,
    Consult,
    ConsultState,
    ConsultTrigger,
    Outcome,
)
from kefu.core.commands import (
    AgentStateChanged,
    AuditEvent,
    Bridge,
    CallRecord,
    Command,
    Conference,
    ConsultConnected,
    ConsultEnded,
    ConsultTarget,
    DialOutside,
    Hangup,
    Hold,
    HoldAlert,
    Intercept,
    Monitor,
    Mute,
    OfferCallback,
    Overflow,
    PlayAnnouncement,
    Reject,
    RejectReason,
    Resume,
    RingMissed,
    SendToVoicemail,
    StartRecording,
    StopMonitor,
    StopRinging,
    TransferCompleted,
    Transferred,
    call_handled,
    call_record,
    ring_agent,
)
from kefu.core.errors import (
    ConfigInvalid,
    CoreError,
    IllegalTransition,
    PermissionDenied,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentRejected,
    BlacklistChanged,
    CallArrived,
    CallerHungUp,
    ConferenceRequested,
    ConsultAnswered,
    ConsultCancelRequested,
    ConsultCompleteRequested,
    ConsultFailed,
    ConsultRequested,
    Event,
    HoldRequested,
    MuteRequested,
    PartyLeft,
    PickupRequested,
    ResumeRequested,
    SkillGroupSignedIn,
    SkillGroupSignedOut,
    StateRequested,
    SupervisorRequested,
    TransferKind,
    TransferRequested,
)
from kefu.core.queue import OverflowKind, Queue, QueueConfig, Strategy, index_idle
from kefu.core.routing import RoutingRule, first_match, normalize, region_of
from kefu.core.supervision import MONITOR_MODE_OF, Role, SupervisorAction, allowed
from kefu.core.wallboard import AgentView, QueueView, WaitingCallView, Wallboard

AS = AgentState
AT = AgentTrigger
CS = CallState
CT = CallTrigger

# Timer kinds.
_RING, _ACW, _MAX_WAIT, _PREFERRED, _ANNOUNCE, _HOLD_WARN, _HOLD_LIMIT = range(7)
_NOBODY: list[Agent] = []  # shared empty result: callers only iterate it
_MAX_QUEUE_HOPS = 8  # overflow chains longer than this are rejected (loops in config)

Observer = Callable[[str, str, Any, Any, Any], None]

# Derived from AGENT_TRANSITIONS (the table stays the single source of truth): for each
# allowed (state, trigger), the new state plus the bookkeeping it needs, in one lookup.
_AGENT_PLAN: Mapping[
    tuple[AgentState, AgentTrigger], tuple[AgentState, int, int, int, bool, bool]
] = {
    (old, trig): (
        new,
        STATE_INDEX[old],
        STATE_INDEX[new],
        (new in STAFFED) - (old in STAFFED),
        old is AgentState.IDLE and new is not AgentState.IDLE,
        old in (AgentState.BUSY, AgentState.BREAK) or new in (AgentState.BUSY, AgentState.BREAK),
    )
    for (old, trig), new in AGENT_TRANSITIONS.items()
}

_REQUEST_TRIGGER: Mapping[AgentState, AgentTrigger] = {
    AS.IDLE: AT.SET_IDLE,
    AS.BUSY: AT.SET_BUSY,
    AS.BREAK: AT.SET_BREAK,
    AS.LOGGED_OUT: AT.LOG_OUT,
}


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    """SLA-04: how long a caller may stay on hold.

    At `warn_after` seconds the agent is told to take a callback number instead of making the
    caller wait; at `limit_after` the agent and the team leader (wallboard) are alerted.
    Decision: by default the core does not take the caller off hold by itself at the limit,
    because the agent may be away from the call (looking something up, consulting a colleague)
    and the caller would then hear silence instead of music; `resume_at_limit` turns the
    automatic resume on (outside consultations). 0 turns a timer off.
    """

    warn_after: float = 120.0
    limit_after: float = 300.0
    resume_at_limit: bool = False


@dataclass(frozen=True, slots=True)
class CenterConfig:
    """Queues, routing rules and center-wide settings."""

    queues: tuple[QueueConfig, ...]
    rules: tuple[RoutingRule, ...] = ()
    blacklist: frozenset[str] = field(default_factory=frozenset)
    default_queue: str | None = None  # for called numbers no queue lists
    acw_seconds: float = 30.0  # AG-05: after-call work ends by itself
    max_missed_rings: int = 3  # this many unanswered offers in a row: the agent goes busy
    emit_state_changes: bool = True  # AgentStateChanged commands (the simulator turns off)
    hold: HoldPolicy = field(default_factory=HoldPolicy)  # SLA-04


class ContactCenter:
    """The pure ACD engine. See the module docstring."""

    def __init__(
        self,
        config: CenterConfig,
        rng: random.Random | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.config = config
        self.rng = rng if rng is not None else random.Random(0)
        self.observer = observer
        self.queues: dict[str, Queue] = {q.name: Queue(q) for q in config.queues}
        self.by_number: dict[str, Queue] = {}
        for q in self.queues.values():
            for n in q.config.numbers:
                self.by_number[normalize(n)] = q
            if q.config.overflow is OverflowKind.QUEUE and q.config.overflow_queue not in (
                self.queues
            ):
                raise ConfigInvalid(f"queue {q.name}: overflow queue not configured")
        if config.default_queue is not None and config.default_queue not in self.queues:
            raise ConfigInvalid(f"default queue {config.default_queue!r} not configured")
        for r in config.rules:
            if r.to_queue is not None and r.to_queue not in self.queues:
                raise ConfigInvalid(f"routing rule {r.name}: queue {r.to_queue!r} unknown")
        self.rules = config.rules
        self.blacklist: set[str] = {normalize(n) for n in config.blacklist}
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, Call] = {}
        self.state_counts = [0] * len(AgentState)
        self._timers: list[tuple[float, int, int, Any, int]] = []
        # Ring timers wait here until someone looks at the timers: most are void by then
        # (the phone was answered), and a void timer can never become valid again.
        self._rings: list[tuple[float, int, int, Any, int]] = []
        self._seq = 0
        self._acw = config.acw_seconds
        self._emit = config.emit_state_changes
        # Internal: the simulator sets this to False to skip commands it never reads
        # (bridge, recording, hang-up, stop-ringing). States and records are unaffected.
        self._full = True
        self._handlers: dict[type, Callable[[Any], list[Command]]] = {
            CallArrived: self._on_call_arrived,
            AgentAnswered: self._on_answered,
            AgentHungUp: self._on_agent_hung_up,
            CallerHungUp: self._on_caller_hung_up,
            AgentRejected: self._on_rejected,
            AgentLoggedIn: self._on_login,
            AgentLoggedOut: self._on_logout,
            StateRequested: self._on_state_requested,
            SkillGroupSignedIn: self._on_signed_in,
            SkillGroupSignedOut: self._on_signed_out,
            HoldRequested: self._on_hold,
            ResumeRequested: self._on_resume,
            MuteRequested: self._on_mute,
            TransferRequested: self._on_transfer,
            ConsultRequested: self._on_consult,
            ConsultAnswered: self._on_consult_answered,
            ConsultFailed: self._on_consult_failed,
            ConsultCancelRequested: self._on_consult_cancel,
            ConsultCompleteRequested: self._on_consult_complete,
            ConferenceRequested: self._on_conference,
            PartyLeft: self._on_party_left,
            PickupRequested: self._on_pickup,
            SupervisorRequested: self._on_supervisor,
            BlacklistChanged: self._on_blacklist,
        }

    # == public API =========================================================================
    def handle(self, event: Event) -> list[Command]:
        """Apply one event; return the commands for the adapters."""
        return self._handlers[type(event)](event)

    def next_deadline(self) -> float | None:
        """When `handle_timer` must next be called, or None when no timer is pending."""
        if self._rings:
            self._flush_rings()
        timers = self._timers
        while timers:
            e = timers[0]
            if e[2] == _ACW:  # the usual top: checked inline, this is called per event
                obj = e[3]
                if obj.epoch == e[4] and obj.state is AS.AFTER_CALL_WORK:
                    return e[0]
            elif self._timer_valid(e[2], e[3], e[4]):
                return e[0]
            heapq.heappop(timers)
        return None

    def handle_timer(self, now: float) -> list[Command]:
        """Fire every timer due at or before `now`."""
        out: list[Command] = []
        timers = self._timers
        rings = self._rings
        if rings:
            self._flush_rings()
        while timers and timers[0][0] <= now:
            _, _, kind, obj, token = heapq.heappop(timers)
            if kind == _ACW:  # the usual timer: validity checked inline
                if obj.epoch == token and obj.state is AS.AFTER_CALL_WORK:
                    self._acw_end(obj, now, out)
            elif not self._timer_valid(kind, obj, token):
                continue
            elif kind == _RING:
                self._ring_end(obj.call, obj, now, out, missed=True, reason="timeout")
            elif kind == _MAX_WAIT:
                if obj.state is CS.RINGING:
                    obj.expired = True  # overflow when the ring ends unanswered
                else:
                    self._overflow(obj, now, out)
            elif kind == _PREFERRED:
                obj.preferred = ()
                self._route(obj, now, out)
            elif kind in (_HOLD_WARN, _HOLD_LIMIT):
                self._hold_overdue(obj, kind, now, out)
            else:  # _ANNOUNCE
                if obj.state is CS.QUEUED and not obj.preferred:
                    self._announce(obj, out)
                interval = obj.queue.config.announce_interval
                if interval:
                    self._timer(now + interval, _ANNOUNCE, obj, obj.qgen)
            if rings:
                self._flush_rings()
        return out

    def _flush_rings(self) -> None:
        """Move the ring timers set since the last look into the heap, if still valid."""
        timers = self._timers
        for e in self._rings:
            a = e[3]
            if a.epoch == e[4] and a.state is AS.RINGING:
                heapq.heappush(timers, e)
        self._rings.clear()

    def region(self, number: str) -> str:
        """The region of a number (AG-10), cached by prefix."""
        return region_of(number)

    # -- views (AG-12, CC-06) ---------------------------------------------------------------
    def waiting_calls(self, now: float) -> list[WaitingCallView]:
        """Calls waiting or ringing in queues, longest wait first (AG-12)."""
        views = []
        for c in self.calls.values():
            if c.state is CS.QUEUED or c.state is CS.RINGING:
                q = c.queue
                assert q is not None
                pos = q.position(c) if c.state is CS.QUEUED and not c.preferred else 0
                views.append(
                    WaitingCallView(
                        call_id=c.id,
                        caller=c.caller,
                        region=c.region,
                        queue=q.name,
                        priority=c.priority,
                        waited=now - c.enqueued,
                        position=pos,
                        ringing=tuple(a.id for a in c.ringing),
                        waiting_for=c.preferred,
                    )
                )
        views.sort(key=lambda v: -v.waited)
        return views

    def wallboard(self, now: float) -> Wallboard:
        """Queue lengths, waits and agent states for a wallboard (CC-06)."""
        waiting: dict[str, list[float]] = {n: [] for n in self.queues}
        ringing: dict[str, int] = dict.fromkeys(self.queues, 0)
        talking = 0
        for c in self.calls.values():
            if c.queue is None:
                continue
            if c.state is CS.QUEUED:
                waiting[c.queue.name].append(now - c.enqueued)
            elif c.state is CS.RINGING:
                ringing[c.queue.name] += 1
            else:
                talking += 1
        idle: dict[str, int] = dict.fromkeys(self.queues, 0)
        for a in self.agents.values():
            if a.state is AS.IDLE:
                for q in a.queues:
                    idle[q.name] += 1
        qviews = []
        for name, q in self.queues.items():
            w = waiting[name]
            qviews.append(
                QueueView(
                    name=name,
                    waiting=len(w),
                    ringing=ringing[name],
                    longest_wait=max(w, default=0.0),
                    staffed=q.staffed,
                    idle=idle[name],
                    aht=q.aht,
                    estimated_wait=q.estimated_wait(len(w) + 1) if w else 0.0,
                    offered=q.offered,
                    answered=q.answered,
                    abandoned=q.abandoned,
                )
            )
        counts = {s: self.state_counts[i] for s, i in STATE_INDEX.items()}
        return Wallboard(now=now, queues=tuple(qviews), agents=counts, calls_connected=talking)

    def agent_view(self, agent_id: str, now: float) -> AgentView:
        """One agent's state for the console."""
        a = self._agent(agent_id)
        return AgentView(
            agent_id=a.id,
            state=a.state,
            reason=a.reason,
            since=a.since,
            call_id=a.call.id if a.call is not None else "",
            queues=tuple(q.name for q in a.queues),
            answered=a.answered,
            missed_total=a.missed_total,
            pending=a.pending[0].value if a.pending else "",
        )

    def time_in_states(self, agent_id: str, now: float) -> dict[AgentState, float]:
        """Seconds the agent spent in each state so far (for occupancy), even if logged out."""
        a = self.agents.get(agent_id)
        if a is None:
            raise UnknownAgent(agent_id)
        times = {s: a.time_in[i] for s, i in STATE_INDEX.items()}
        times[a.state] += now - a.since
        return times

    # == transitions ========================================================================
    def _agent_to(
        self, a: Agent, trigger: AgentTrigger, now: float, out: list[Command], reason: str = ""
    ) -> None:
        old = a.state
        plan = _AGENT_PLAN.get((old, trigger))
        if plan is None:
            raise IllegalTransition(f"agent {a.id}", old, trigger)
        new, i_old, i_new, staffed_delta, left_idle, sets_reason = plan
        a.time_in[i_old] += now - a.since
        a.since = now
        a.state = new
        a.epoch += 1
        if left_idle:
            a.idle_token += 1  # its idle-heap entries go stale
        if sets_reason:
            a.reason = reason if new is AS.BUSY or new is AS.BREAK else ""
        counts = self.state_counts
        counts[i_old] -= 1
        counts[i_new] += 1
        if staffed_delta:
            for q in a.queues:
                q.staffed += staffed_delta
        if self.observer is not None:
            self.observer("agent", a.id, old, trigger, new)
        if self._emit:
            out.append(AgentStateChanged(a.id, old, new, reason, now))

    def _call_to(self, c: Call, trigger: CallTrigger) -> None:
        old = c.state
        new = CALL_TRANSITIONS.get((old, trigger))
        if new is None:
            raise IllegalTransition(f"call {c.id}", old, trigger)
        c.state = new
        if self.observer is not None:
            self.observer("call", c.id, old, trigger, new)

    @staticmethod
    def _check_agent(a: Agent, trigger: AgentTrigger) -> None:
        if (a.state, trigger) not in AGENT_TRANSITIONS:
            raise IllegalTransition(f"agent {a.id}", a.state, trigger)

    @staticmethod
    def _check_call(c: Call, trigger: CallTrigger) -> None:
        if (c.state, trigger) not in CALL_TRANSITIONS:
            raise IllegalTransition(f"call {c.id}", c.state, trigger)

    # == helpers ============================================================================
    def _agent(self, agent_id: str) -> Agent:
        a = self.agents.get(agent_id)
        if a is None or a.state is AS.LOGGED_OUT:
            raise UnknownAgent(agent_id)
        return a

    def _call(self, call_id: str) -> Call:
        c = self.calls.get(call_id)
        if c is None:
            raise UnknownCall(call_id)
        return c

    def _timer(self, when: float, kind: int, obj: Any, token: int) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, kind, obj, token))

    @staticmethod
    def _timer_valid(kind: int, obj: Any, token: int) -> bool:
        if kind == _RING:
            return bool(obj.epoch == token and obj.state is AS.RINGING)
        if kind == _ACW:
            return bool(obj.epoch == token and obj.state is AS.AFTER_CALL_WORK)
        if kind == _PREFERRED:
            return bool(obj.epoch == token and obj.state is CS.QUEUED and obj.preferred)
        if kind in (_HOLD_WARN, _HOLD_LIMIT):
            return bool(obj.epoch == token and obj.state is AS.ON_HOLD and obj.call is not None)
        # _MAX_WAIT, _ANNOUNCE
        return bool(obj.qgen == token and (obj.state is CS.QUEUED or obj.state is CS.RINGING))

    def _announce(self, c: Call, out: list[Command]) -> None:
        q = c.queue
        assert q is not None
        pos = q.position(c)
        out.append(PlayAnnouncement(c.id, pos, q.estimated_wait(pos)))

    def _record(self, c: Call, outcome: Outcome, now: float, out: list[Command]) -> None:
        q = c.queue
        out.append(
            call_record(
                c.id,
                q.name if q is not None else "",
                outcome,
                c.arrived,
                now - c.enqueued,
                c.agent.id if c.agent is not None else "",
            )
        )

    # == agents becoming free and offers ====================================================
    def _agent_free(self, a: Agent, now: float, out: list[Command], reset: bool = True) -> None:
        """The agent is IDLE: give them work, or index them as idle."""
        if reset:
            a.idle_since = now
        personal = a.personal
        while personal:
            _, token, c = heapq.heappop(personal)
            if c.state is CS.QUEUED and c.epoch == token and c.preferred:
                c.epoch += 1  # leaves every personal heap
                self._offer(c, a, now, out)
                return
        best: Call | None = None
        best_q: Queue | None = None
        best_key: tuple[int, int, int] = (0, 0, 0)
        for q in a.queues:
            head = q.head() if q.waiting else None
            if head is not None:
                key = (-q.priority, -head.priority, head.seq)
                if best is None or key < best_key:
                    best, best_q, best_key = head, q, key
        if best is not None and best_q is not None:
            best_q.pop_head()
            self._offer(best, a, now, out)
            return
        a.idle_token += 1
        index_idle(a, a.queues, self.rng)

    def _offer(self, c: Call, a: Agent, now: float, out: list[Command]) -> None:
        self._call_to(c, CT.OFFER)
        self._agent_to(a, AT.OFFER, now, out)
        a.call = c
        c.ringing.append(a)
        q = c.queue
        assert q is not None
        if q.strategy is Strategy.ROUND_ROBIN:
            a.rr_turn[q.name] = q.turn
            q.turn += 1
        timeout = q.config.ring_timeout
        self._seq += 1
        self._rings.append((now + timeout, self._seq, _RING, a, a.epoch))
        out.append(ring_agent(c.id, a.id, a.extension, c.caller, c.region, timeout))

    def _route(self, c: Call, now: float, out: list[Command]) -> bool:
        """Offer a QUEUED call to its queue's best idle agent(s), else put it in line.

        Returns True when the call had to wait.
        """
        q = c.queue
        assert q is not None
        if q.strategy is Strategy.RING_ALL:
            agents = q.pop_all_idle()
            if agents:
                for a in agents:
                    self._offer(c, a, now, out)
                return False
        else:
            agent = q.pop_idle()
            if agent is not None:
                self._offer(c, agent, now, out)
                return False
        q.push_waiting(c)
        return True

    def _enter_queue(self, c: Call, q: Queue, now: float, out: list[Command]) -> None:
        """The call (state QUEUED) starts waiting in `q`: timers, routing, announcement."""
        c.queue = q
        c.enqueued = now
        c.qgen += 1
        c.hops += 1
        c.expired = False
        q.offered += 1
        cfg = q.config
        if c.hops > _MAX_QUEUE_HOPS:
            self._leave(c, OverflowKind.REJECT, now, out)
            return
        if not cfg.join_empty and q.staffed == 0:
            self._overflow(c, now, out)
            return
        if cfg.max_wait is not None:
            self._timer(now + cfg.max_wait, _MAX_WAIT, c, c.qgen)
        if self._route(c, now, out) and cfg.announce:
            self._announce(c, out)
            if cfg.announce_interval:
                self._timer(now + cfg.announce_interval, _ANNOUNCE, c, c.qgen)

    def _overflow(self, c: Call, now: float, out: list[Command]) -> None:
        q = c.queue
        assert q is not None
        kind = q.config.overflow
        if kind is OverflowKind.QUEUE:
            self._call_to(c, CT.REQUEUE)
            self._record(c, Outcome.OVERFLOWED, now, out)
            target = self.queues[q.config.overflow_queue or ""]
            c.epoch += 1
            c.preferred = ()
            out.append(Overflow(c.id, q.name, target.name))
            self._enter_queue(c, target, now, out)
        else:
            self._leave(c, kind, now, out)

    def _leave(self, c: Call, kind: OverflowKind, now: float, out: list[Command]) -> None:
        q = c.queue
        assert q is not None
        self._call_to(c, CT.LEAVE_QUEUE)
        del self.calls[c.id]
        if kind is OverflowKind.VOICEMAIL:
            out.append(SendToVoicemail(c.id, q.name))
            self._record(c, Outcome.VOICEMAIL, now, out)
        elif kind is OverflowKind.CALLBACK:
            out.append(OfferCallback(c.id, c.caller, q.name))
            self._record(c, Outcome.CALLBACK, now, out)
        else:
            out.append(Reject(c.id, RejectReason.MAX_WAIT))
            self._record(c, Outcome.REJECTED, now, out)

    def _ring_end(
        self,
        c: Call,
        a: Agent,
        now: float,
        out: list[Command],
        missed: bool,
        reason: str,
        trigger: AgentTrigger = AT.RING_END,
    ) -> None:
        """Agent `a` stops ringing for `c`; the call returns to its line if nobody rings."""
        last = len(c.ringing) == 1
        if last:
            self._check_call(c, CT.RING_END)
        if missed:
            a.missed_in_row += 1
            a.missed_total += 1
            out.append(RingMissed(c.id, a.id, a.missed_in_row, reason))
            if trigger is AT.RING_END and a.missed_in_row >= self.config.max_missed_rings:
                trigger = AT.MISSED_LIMIT
                reason = "missed_rings"
        c.ringing.remove(a)
        a.call = None
        if self._full:
            out.append(StopRinging(c.id, a.id))
        self._agent_to(a, trigger, now, out, reason)
        if last:
            self._call_to(c, CT.RING_END)
            if c.expired:
                self._overflow(c, now, out)
            else:
                if c.preferred and a.id in c.preferred:
                    c.preferred = ()  # the owner did not answer: anyone may take it
                self._route(c, now, out)
        if a.state is AS.IDLE:
            self._agent_free(a, now, out)

    def _release_ringers(
        self, c: Call, now: float, out: list[Command], keep: Agent | None
    ) -> list[Agent]:
        """Stop every ringing agent but `keep` (not counted as missed); return them."""
        ringing = c.ringing
        if len(ringing) == 1 and ringing[0] is keep:
            c.ringing = []
            return _NOBODY
        freed = []
        for other in ringing:
            if other is keep:
                continue
            other.call = None
            if self._full:
                out.append(StopRinging(c.id, other.id))
            self._agent_to(other, AT.RING_END, now, out)
            freed.append(other)
        c.ringing = []
        return freed

    def _after_call(
        self, a: Agent, c: Call, now: float, out: list[Command], talk: float | None = None
    ) -> None:
        """The agent's part in `c` is over: after-call work (or straight on)."""
        self._agent_to(a, AT.HANG_UP, now, out)
        a.call = None
        q = c.queue
        talked = now - c.answered_at if talk is None else talk
        a.last_call = (c.id, q.name if q is not None else "", talked)
        a.acw_started = now
        if self._acw > 0:
            self._timer(now + self._acw, _ACW, a, a.epoch)
        else:
            self._acw_end(a, now, out)

    def _close_acw(self, a: Agent, now: float, out: list[Command]) -> None:
        call_id, qname, talk = a.last_call
        acw = now - a.acw_started
        out.append(call_handled(call_id, a.id, qname, talk, acw))
        q = self.queues.get(qname)
        if q is not None:
            q.record_handle(talk + acw)

    def _acw_end(self, a: Agent, now: float, out: list[Command]) -> None:
        self._close_acw(a, now, out)
        if a.pending is not None:
            trigger, reason = a.pending
            a.pending = None
            self._agent_to(a, trigger, now, out, reason)
        else:
            self._agent_to(a, AT.ACW_END, now, out)
        if a.state is AS.IDLE:
            self._agent_free(a, now, out)

    def _end_connected(self, c: Call, now: float, out: list[Command], reason: str) -> None:
        self._check_call(c, CT.HANG_UP)
        if c.consult is not None:
            self._end_consult(c, now, out, ConsultTrigger.CALL_ENDED, f"{reason}_hung_up")
        self._call_to(c, CT.HANG_UP)
        del self.calls[c.id]
        if self._full:
            out.append(Hangup(c.id, reason))
        a = c.agent
        if a is not None:
            self._after_call(a, c, now, out)

    # == event handlers =====================================================================
    def _on_call_arrived(self, e: CallArrived) -> list[Command]:
        return self._call_arrived(
            e.call_id, e.caller, e.dialed, e.now, e.queue, e.priority, e.owner_agent, e.variables
        )

    def _call_arrived(
        self,
        call_id: str,
        caller_number: str,
        dialed: str,
        now: float,
        queue: str | None,
        priority: int,
        owner_agent: str | None,
        variables: Mapping[str, str],
    ) -> list[Command]:
        """`CallArrived` without the event object (the simulator's fast path)."""
        if call_id in self.calls:
            raise CoreError(f"call {call_id!r} is already active")
        out: list[Command] = []
        caller = normalize(caller_number)
        self._seq += 1
        c = Call(
            call_id,
            self._seq,
            caller_number,
            dialed,
            region_of(caller),
            priority,
            variables,
            now,
        )
        if caller in self.blacklist:
            self._call_to(c, CT.REJECT)
            out.append(Reject(c.id, RejectReason.BLACKLISTED))
            out.append(CallRecord(c.id, "", Outcome.REJECTED, now, 0.0, ""))
            return out
        if queue is not None:
            q = self.queues.get(queue)
        else:
            q = self.by_number.get(dialed) or self.by_number.get(normalize(dialed))
            if q is None and self.config.default_queue is not None:
                q = self.queues[self.config.default_queue]
        if q is None:
            self._call_to(c, CT.REJECT)
            out.append(Reject(c.id, RejectReason.NO_QUEUE))
            out.append(CallRecord(c.id, queue or "", Outcome.REJECTED, now, 0.0, ""))
            return out
        preferred: tuple[str, ...] = ()
        wait = 0.0
        if self.rules:
            rule = first_match(self.rules, caller, c.region, q.name)
            if rule is not None:
                if rule.to_queue is not None:
                    q = self.queues[rule.to_queue]
                preferred = rule.to_agents
                wait = rule.wait
        if owner_agent:
            preferred = (owner_agent, *preferred)
            wait = max(wait, q.config.owner_wait)
        self.calls[c.id] = c
        self._call_to(c, CT.ENQUEUE)
        if preferred and self._wait_for_preferred(c, q, preferred, wait, now, out):
            return out
        self._enter_queue(c, q, now, out)
        return out

    def _wait_for_preferred(
        self, c: Call, q: Queue, ids: tuple[str, ...], wait: float, now: float, out: list[Command]
    ) -> bool:
        """Owner or designated agents first. Returns False when none of them can take it."""
        agents = [self.agents[i] for i in ids if i in self.agents]
        idle = [a for a in agents if a.state is AS.IDLE]
        c.queue = q
        if idle:
            a = min(idle, key=lambda x: x.idle_since)
            c.enqueued = now
            c.qgen += 1
            q.offered += 1
            c.preferred = tuple(x.id for x in agents)
            if q.config.max_wait is not None:
                self._timer(now + q.config.max_wait, _MAX_WAIT, c, c.qgen)
            self._offer(c, a, now, out)
            return True
        staffed = [a for a in agents if a.state in STAFFED]
        if not staffed or wait <= 0:
            return False
        c.enqueued = now
        c.qgen += 1
        q.offered += 1
        c.preferred = tuple(a.id for a in staffed)
        c.epoch += 1
        for a in staffed:
            heapq.heappush(a.personal, (c.seq, c.epoch, c))
        self._timer(now + wait, _PREFERRED, c, c.epoch)
        if q.config.max_wait is not None:
            self._timer(now + q.config.max_wait, _MAX_WAIT, c, c.qgen)
        return True

    def _on_answered(self, e: AgentAnswered) -> list[Command]:
        return self._agent_answered(e.agent_id, e.call_id, e.now)

    def _agent_answered(self, agent_id: str, call_id: str, now: float) -> list[Command]:
        """`AgentAnswered` without the event object (the simulator's fast path)."""
        a = self.agents.get(agent_id)
        if a is None or a.state is AS.LOGGED_OUT:
            raise UnknownAgent(agent_id)
        c = self.calls.get(call_id)
        if c is not None and c.consult is not None and c.consult.target == agent_id:
            return self._on_consult_answered(ConsultAnswered(c.consult.agent_id, now))
        if c is None:
            raise UnknownCall(call_id)
        if a.call is not c:
            raise IllegalTransition(f"agent {a.id} (not offered {c.id})", a.state, AT.ANSWER)
        if (a.state, AT.ANSWER) not in AGENT_TRANSITIONS:
            raise IllegalTransition(f"agent {a.id}", a.state, AT.ANSWER)
        if (c.state, CT.ANSWER) not in CALL_TRANSITIONS:
            raise IllegalTransition(f"call {c.id}", c.state, CT.ANSWER)
        out: list[Command] = []
        ringing = c.ringing
        if len(ringing) == 1 and ringing[0] is a:  # the usual case: nobody else to stop
            c.ringing = []
            freed = _NOBODY
        else:
            freed = self._release_ringers(c, now, out, keep=a)
        self._call_to(c, CT.ANSWER)
        self._agent_to(a, AT.ANSWER, now, out)
        self._connect(c, a, now, out)
        for other in freed:
            if other.state is AS.IDLE:
                self._agent_free(other, now, out)
        return out

    def _connect(self, c: Call, a: Agent, now: float, out: list[Command]) -> None:
        a.call = c
        a.missed_in_row = 0
        a.answered += 1
        c.agent = a
        c.answered_at = now
        c.preferred = ()
        c.qgen += 1  # max-wait and announcement timers no longer apply
        q = c.queue
        assert q is not None
        q.answered += 1
        if self._full:
            out.append(Bridge(c.id, a.id))
            out.append(StartRecording(c.id))
        self._record(c, Outcome.ANSWERED, now, out)

    def _on_rejected(self, e: AgentRejected) -> list[Command]:
        a = self._agent(e.agent_id)
        c = self._call(e.call_id)
        if a.call is not c or a.state is not AS.RINGING:
            raise IllegalTransition(f"agent {a.id} (not ringing for {c.id})", a.state, AT.RING_END)
        if self._consulted(c, a):
            return self._on_consult_failed(ConsultFailed(c.consult.agent_id, e.now, e.reason))  # type: ignore[union-attr]
        out: list[Command] = []
        self._ring_end(c, a, e.now, out, missed=True, reason=e.reason)
        return out

    def _on_caller_hung_up(self, e: CallerHungUp) -> list[Command]:
        c = self._call(e.call_id)
        now = e.now
        out: list[Command] = []
        if c.state is CS.QUEUED or c.state is CS.RINGING:
            self._check_call(c, CT.ABANDON)
            freed = self._release_ringers(c, now, out, keep=None)
            self._call_to(c, CT.ABANDON)
            del self.calls[c.id]
            if c.queue is not None:
                c.queue.abandoned += 1
            self._record(c, Outcome.ABANDONED, now, out)
            for a in freed:
                self._agent_free(a, now, out)
            return out
        self._end_connected(c, now, out, reason="caller")
        return out

    def _on_agent_hung_up(self, e: AgentHungUp) -> list[Command]:
        return self._agent_hung_up(e.agent_id, e.call_id, e.now)

    def _agent_hung_up(self, agent_id: str, call_id: str, now: float) -> list[Command]:
        """`AgentHungUp` without the event object (the simulator's fast path)."""
        c = self.calls.get(call_id)
        if c is None:
            raise UnknownCall(call_id)
        out: list[Command] = []
        if c.agent is None and c.supervisor == agent_id:
            self._end_connected(c, now, out, reason="supervisor")
            return out
        a = self.agents.get(agent_id)
        if a is None or a.state is AS.LOGGED_OUT:
            raise UnknownAgent(agent_id)
        if a.call is not c:
            raise IllegalTransition(f"agent {a.id} (not on {c.id})", a.state, AT.HANG_UP)
        if self._consulted(c, a):  # the consulted agent hung up: the consultation failed
            return self._on_consult_failed(ConsultFailed(c.consult.agent_id, now, "hung_up"))  # type: ignore[union-attr]
        if a.state is AS.RINGING:
            # Asterisk issue 1557: one ringing agent hanging up must not end the call.
            self._ring_end(c, a, now, out, missed=True, reason="hung_up")
            return out
        if (a.state, AT.HANG_UP) not in AGENT_TRANSITIONS:
            raise IllegalTransition(f"agent {a.id}", a.state, AT.HANG_UP)
        self._end_connected(c, now, out, reason="agent")
        return out

    def _on_login(self, e: AgentLoggedIn) -> list[Command]:
        old = self.agents.get(e.agent_id)
        if old is not None and old.state is not AS.LOGGED_OUT:
            raise IllegalTransition(f"agent {e.agent_id}", old.state, AT.LOG_IN)
        signed = frozenset(e.skills) if e.signed_in is None else e.signed_in
        self._seq += 1
        a = Agent(
            e.agent_id,
            self._seq,
            e.extension,
            e.skills,
            signed,
            e.role,
            e.may_transfer_outside,
            e.now,
        )
        if old is not None:
            a.missed_total = old.missed_total
            a.answered = old.answered
            a.time_in = old.time_in
            self.state_counts[STATE_INDEX[AS.LOGGED_OUT]] -= 1
        self.state_counts[STATE_INDEX[AS.LOGGED_OUT]] += 1
        self.agents[a.id] = a
        a.queues = [q for q in self.queues.values() if q.eligible(a)]
        out: list[Command] = []
        self._agent_to(a, AT.LOG_IN, e.now, out)
        if e.ready:
            self._agent_free(a, e.now, out)
        else:
            self._agent_to(a, AT.SET_BUSY, e.now, out, "login")
        return out

    def _on_logout(self, e: AgentLoggedOut) -> list[Command]:
        a = self._agent(e.agent_id)
        out: list[Command] = []
        self._request(a, AT.LOG_OUT, "", e.now, out)
        return out

    def _on_state_requested(self, e: StateRequested) -> list[Command]:
        a = self._agent(e.agent_id)
        trigger = _REQUEST_TRIGGER.get(e.state)
        if trigger is None:
            raise IllegalTransition(f"agent {a.id}", a.state, e.state)
        out: list[Command] = []
        self._request(a, trigger, e.reason, e.now, out)
        return out

    def _request(
        self, a: Agent, trigger: AgentTrigger, reason: str, now: float, out: list[Command]
    ) -> None:
        """A state asked for by the agent or forced by a supervisor."""
        if a.state in ON_A_CALL:
            # Cannot leave a call by a state change: remember it for after the call.
            a.pending = None if trigger is AT.SET_IDLE else (trigger, reason)
            return
        self._check_agent(a, trigger)
        if a.state is AS.RINGING and a.call is not None and self._consulted(a.call, a):
            held = a.call
            assert held.consult is not None
            consulting = self.agents[held.consult.agent_id]
            self._end_consult(held, now, out, ConsultTrigger.FAIL, reason or "declined")
            self._resume_after_consult(consulting, held, now, out)
        if a.state is AS.RINGING:
            c = a.call
            assert c is not None
            self._ring_end(c, a, now, out, missed=False, reason=reason, trigger=trigger)
            return
        if a.state is AS.AFTER_CALL_WORK:
            self._close_acw(a, now, out)
        a.pending = None
        self._agent_to(a, trigger, now, out, reason)
        if a.state is AS.IDLE:
            self._agent_free(a, now, out)

    def _regroup(self, a: Agent, now: float, out: list[Command]) -> None:
        new = [q for q in self.queues.values() if q.eligible(a)]
        if a.state in STAFFED:
            for q in a.queues:
                if q not in new:
                    q.staffed -= 1
            for q in new:
                if q not in a.queues:
                    q.staffed += 1
        a.queues = new
        if a.state is AS.IDLE:
            self._agent_free(a, now, out, reset=False)

    def _on_signed_in(self, e: SkillGroupSignedIn) -> list[Command]:
        a = self._agent(e.agent_id)
        out: list[Command] = []
        a.signed_in.add(e.skill)
        self._regroup(a, e.now, out)
        return out

    def _on_signed_out(self, e: SkillGroupSignedOut) -> list[Command]:
        a = self._agent(e.agent_id)
        out: list[Command] = []
        a.signed_in.discard(e.skill)
        self._regroup(a, e.now, out)
        return out

    def _on_call_of(self, agent_id: str) -> tuple[Agent, Call]:
        a = self._agent(agent_id)
        c = a.call
        if c is None or a.state not in ON_A_CALL:
            raise IllegalTransition(f"agent {a.id}", a.state, "call action")
        if self._consulted(c, a):
            raise IllegalTransition(f"agent {a.id}", a.state, "call action while consulted")
        return a, c

    def _on_hold(self, e: HoldRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        self._check_agent(a, AT.HOLD)
        self._check_call(c, CT.HOLD)
        out: list[Command] = []
        self._call_to(c, CT.HOLD)
        self._agent_to(a, AT.HOLD, e.now, out)
        out.append(Hold(c.id))
        self._hold_timers(a, e.now)
        return out

    # -- hold limits (SLA-04) ----------------------------------------------------------------
    def _hold_timers(self, a: Agent, now: float) -> None:
        """Arm the hold timers of an agent who just put their caller on hold; any state change
        of the agent (resume, hang-up, transfer) bumps its epoch and voids them."""
        policy = self.config.hold
        if policy.warn_after > 0:
            self._timer(now + policy.warn_after, _HOLD_WARN, a, a.epoch)
        if policy.limit_after > 0:
            self._timer(now + policy.limit_after, _HOLD_LIMIT, a, a.epoch)

    def _hold_overdue(self, a: Agent, kind: int, now: float, out: list[Command]) -> None:
        c = a.call
        assert c is not None
        policy = self.config.hold
        held = now - a.since  # `since` is when the agent went on hold
        if kind == _HOLD_WARN:
            out.append(HoldAlert(c.id, a.id, "warn", held, policy.warn_after))
            return
        resume = policy.resume_at_limit and c.consult is None and c.state is CS.HELD
        if resume:
            self._call_to(c, CT.RESUME)
            self._agent_to(a, AT.RESUME, now, out)
            out.append(Resume(c.id))
        out.append(HoldAlert(c.id, a.id, "limit", held, policy.limit_after, resumed=resume))

    def _on_resume(self, e: ResumeRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        self._check_agent(a, AT.RESUME)
        self._check_call(c, CT.RESUME)
        out: list[Command] = []
        self._call_to(c, CT.RESUME)
        self._agent_to(a, AT.RESUME, e.now, out)
        out.append(Resume(c.id))
        return out

    def _on_mute(self, e: MuteRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        c.muted = e.muted
        return [Mute(c.id, a.id, e.muted)]

    def _on_transfer(self, e: TransferRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        now = e.now
        out: list[Command] = []
        if c.consult is not None:
            raise IllegalTransition(f"call {c.id}", c.state, "blind transfer while consulting")
        if e.kind is TransferKind.OUTSIDE:
            audit = AuditEvent(
                a.id, a.role, "transfer_outside", e.target, c.id, a.may_transfer_outside, now
            )
            if not a.may_transfer_outside:
                raise PermissionDenied(
                    f"agent {a.id} may not transfer to outside numbers", audit=audit
                )
            self._check_call(c, CT.TRANSFER_OUT)
            self._call_to(c, CT.TRANSFER_OUT)
            del self.calls[c.id]
            out.append(DialOutside(c.id, e.target))
            out.append(audit)
            self._after_call(a, c, now, out)
            return out
        self._check_call(c, CT.TRANSFER)
        if e.kind is TransferKind.QUEUE:
            target_q = self.queues.get(e.target)
            if target_q is None:
                raise UnknownQueue(e.target)
            self._call_to(c, CT.TRANSFER)
            c.agent = None
            c.preferred = ()
            out.append(Transferred(c.id, a.id, e.kind, e.target))
            out.append(AuditEvent(a.id, a.role, "transfer_queue", e.target, c.id, True, now))
            self._after_call(a, c, now, out)
            self._enter_queue(c, target_q, now, out)
            return out
        target = self._agent(e.target)
        if target is a:
            raise IllegalTransition(f"agent {a.id}", a.state, "transfer to self")
        self._check_agent(target, AT.OFFER)
        self._call_to(c, CT.TRANSFER)
        c.agent = None
        out.append(Transferred(c.id, a.id, e.kind, target.id))
        out.append(AuditEvent(a.id, a.role, "transfer_agent", target.id, c.id, True, now))
        self._after_call(a, c, now, out)
        c.preferred = (target.id,)
        c.enqueued = now
        if c.queue is not None:
            c.queue.offered += 1
        self._offer(c, target, now, out)
        return out

    # -- attended transfer: consult, then complete or cancel --------------------------------
    @staticmethod
    def _consulted(c: Call, a: Agent) -> bool:
        """Whether `a` is the party being consulted on `c` (not the call's own agent)."""
        k = c.consult
        return k is not None and k.kind is TransferKind.AGENT and k.target == a.id

    def _consult_of(self, a: Agent, c: Call, trigger: ConsultTrigger) -> Consult:
        k = c.consult
        if k is None or k.agent_id != a.id:
            raise IllegalTransition(f"agent {a.id}", a.state, f"consult {trigger.value}: none")
        if (k.state, trigger) not in CONSULT_TRANSITIONS:
            raise IllegalTransition(f"consultation on {c.id}", k.state, trigger)
        return k

    @staticmethod
    def _consult_to(k: Consult, c: Call, trigger: ConsultTrigger, now: float) -> None:
        new = CONSULT_TRANSITIONS.get((k.state, trigger))
        if new is None:
            raise IllegalTransition(f"consultation on {c.id}", k.state, trigger)
        k.state = new
        k.since = now

    def _on_consult(self, e: ConsultRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        now = e.now
        if c.consult is not None:
            raise IllegalTransition(f"call {c.id}", c.state, "already consulting")
        if e.kind is TransferKind.QUEUE:
            # nobody in particular answers a queue: transfer to a queue is blind only
            raise IllegalTransition(f"call {c.id}", c.state, "consult a queue (use blind transfer)")
        held = c.state is CS.HELD
        if not held:
            self._check_agent(a, AT.HOLD)
            self._check_call(c, CT.HOLD)
        b: Agent | None = None
        if e.kind is TransferKind.OUTSIDE:
            ok = a.may_transfer_outside
            audit = AuditEvent(a.id, a.role, "consult_outside", e.target, c.id, ok, now)
            if not ok:
                raise PermissionDenied(
                    f"agent {a.id} may not transfer to outside numbers", audit=audit
                )
            if not normalize(e.target):
                raise IllegalTransition(f"call {c.id}", c.state, "consult an empty number")
            extension = e.target
        else:
            b = self._agent(e.target)
            if b is a:
                raise IllegalTransition(f"agent {a.id}", a.state, "consult self")
            self._check_agent(b, AT.OFFER)
            audit = AuditEvent(a.id, a.role, "consult_agent", b.id, c.id, True, now)
            extension = b.extension
        out: list[Command] = []
        if not held:
            self._call_to(c, CT.HOLD)
            self._agent_to(a, AT.HOLD, now, out)
            out.append(Hold(c.id))
            self._hold_timers(a, now)
        if b is not None:
            self._agent_to(b, AT.OFFER, now, out, "consult")
            b.call = c
        k = Consult(a.id, e.kind, b.id if b is not None else e.target, now)
        c.consult = k
        out.append(ConsultTarget(c.id, a.id, e.kind, k.target, extension))
        out.append(audit)
        return out

    def _on_consult_answered(self, e: ConsultAnswered) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        k = self._consult_of(a, c, ConsultTrigger.ANSWER)
        out: list[Command] = []
        if k.kind is TransferKind.AGENT:
            b = self._agent(k.target)
            self._check_agent(b, AT.ANSWER)
            self._agent_to(b, AT.ANSWER, e.now, out, "consult")
            b.missed_in_row = 0
        self._consult_to(k, c, ConsultTrigger.ANSWER, e.now)
        out.append(ConsultConnected(c.id, a.id, k.target))
        return out

    def _end_consult(
        self, c: Call, now: float, out: list[Command], trigger: ConsultTrigger, reason: str
    ) -> None:
        """Drop the consulted party (the consulting agent keeps the held caller)."""
        k = c.consult
        assert k is not None
        talked = now - k.since if k.state is ConsultState.TALKING else 0.0
        self._consult_to(k, c, trigger, now)
        c.consult = None
        b = self.agents.get(k.target) if k.kind is TransferKind.AGENT else None
        if b is not None and b.call is c:
            if b.state is AS.RINGING:
                b.call = None
                if self._full:
                    out.append(StopRinging(c.id, b.id))
                self._agent_to(b, AT.RING_END, now, out, reason)
                self._agent_free(b, now, out)
            else:
                self._after_call(b, c, now, out, talk=talked)
        out.append(ConsultEnded(c.id, k.agent_id, k.target, reason))

    def _resume_after_consult(self, a: Agent, c: Call, now: float, out: list[Command]) -> None:
        if c.state is CS.HELD and a.state is AS.ON_HOLD:
            self._call_to(c, CT.RESUME)
            self._agent_to(a, AT.RESUME, now, out)
            out.append(Resume(c.id))

    def _on_consult_failed(self, e: ConsultFailed) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        self._consult_of(a, c, ConsultTrigger.FAIL)
        out: list[Command] = []
        self._end_consult(c, e.now, out, ConsultTrigger.FAIL, e.reason)
        self._resume_after_consult(a, c, e.now, out)
        return out

    def _on_consult_cancel(self, e: ConsultCancelRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        k = self._consult_of(a, c, ConsultTrigger.CANCEL)
        out: list[Command] = []
        self._end_consult(c, e.now, out, ConsultTrigger.CANCEL, "cancelled")
        self._resume_after_consult(a, c, e.now, out)
        out.append(AuditEvent(a.id, a.role, "consult_cancel", k.target, c.id, True, e.now))
        return out

    def _on_consult_complete(self, e: ConsultCompleteRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        now = e.now
        k = self._consult_of(a, c, ConsultTrigger.COMPLETE)
        self._check_agent(a, AT.HANG_UP)
        out: list[Command] = []
        if k.kind is TransferKind.AGENT:
            b = self._agent(k.target)
            self._check_call(c, CT.RESUME)
            self._consult_to(k, c, ConsultTrigger.COMPLETE, now)
            c.consult = None
            self._call_to(c, CT.RESUME)
            out.append(Resume(c.id))
            out.append(TransferCompleted(c.id, a.id, TransferKind.AGENT, b.id))
            self._after_call(a, c, now, out)
            c.agent = b
            c.answered_at = now  # the new agent's talk time starts here
            b.answered += 1
        else:
            self._check_call(c, CT.TRANSFER_OUT)
            self._consult_to(k, c, ConsultTrigger.COMPLETE, now)
            c.consult = None
            self._call_to(c, CT.TRANSFER_OUT)
            del self.calls[c.id]
            out.append(TransferCompleted(c.id, a.id, TransferKind.OUTSIDE, k.target))
            self._after_call(a, c, now, out)
        out.append(AuditEvent(a.id, a.role, "transfer_attended", k.target, c.id, True, now))
        return out

    def _on_conference(self, e: ConferenceRequested) -> list[Command]:
        a, c = self._on_call_of(e.agent_id)
        if e.party in c.parties:
            raise IllegalTransition(f"call {c.id}", c.state, "party already joined")
        if c.consult is not None:
            raise IllegalTransition(f"call {c.id}", c.state, "three-way call while consulting")
        if e.party == a.id:
            raise IllegalTransition(f"agent {a.id}", a.state, "three-way call with self")
        out: list[Command] = []
        if e.party not in self.agents:  # an outside number: the outside-line permission
            ok = a.may_transfer_outside
            audit = AuditEvent(a.id, a.role, "conference_outside", e.party, c.id, ok, e.now)
            if not ok:
                raise PermissionDenied(f"agent {a.id} may not call outside numbers", audit=audit)
            out.append(audit)
        c.parties.append(e.party)
        out.insert(0, Conference(c.id, e.party))
        return out

    def _on_party_left(self, e: PartyLeft) -> list[Command]:
        c = self._call(e.call_id)
        if e.party in c.parties:
            c.parties.remove(e.party)
            return []
        if c.monitors.pop(e.party, None) is not None:
            return [StopMonitor(c.id, e.party)]
        raise IllegalTransition(f"call {c.id}", c.state, f"party {e.party} not on call")

    def _on_pickup(self, e: PickupRequested) -> list[Command]:
        a = self._agent(e.agent_id)
        c = self._call(e.call_id)
        if a.call is c:
            return self._on_answered(AgentAnswered(a.id, c.id, e.now))
        self._check_call(c, CT.PICKUP)
        self._check_agent(a, AT.PICKUP)
        if c.queue not in a.queues:
            raise PermissionDenied(f"agent {a.id} does not serve queue of call {c.id}")
        out: list[Command] = []
        now = e.now
        freed = self._release_ringers(c, now, out, keep=None)
        if a.state is AS.AFTER_CALL_WORK:
            self._close_acw(a, now, out)
        self._call_to(c, CT.PICKUP)
        self._agent_to(a, AT.PICKUP, now, out)
        self._connect(c, a, now, out)
        for other in freed:
            if other.state is AS.IDLE:
                self._agent_free(other, now, out)
        return out

    def _on_supervisor(self, e: SupervisorRequested) -> list[Command]:
        act = e.action
        target = self.agents.get(e.target_agent)
        call_id = target.call.id if target is not None and target.call is not None else ""
        if not allowed(e.role, act):
            audit = AuditEvent(
                e.actor_id, e.role, act, e.target_agent, call_id, False, e.now, "role not permitted"
            )
            raise PermissionDenied(f"{e.role.value} may not {act.value}", audit=audit)
        a = self._agent(e.target_agent)
        now = e.now
        out: list[Command] = []
        if act in MONITOR_MODE_OF:
            _, c = self._on_call_of(a.id)
            mode = MONITOR_MODE_OF[act]
            c.monitors[e.actor_id] = mode
            out.append(Monitor(c.id, e.actor_id, mode))
        elif act is SupervisorAction.STOP_MONITOR:
            _, c = self._on_call_of(a.id)
            if c.monitors.pop(e.actor_id, None) is None:
                raise IllegalTransition(f"call {c.id}", c.state, "not monitored by actor")
            out.append(StopMonitor(c.id, e.actor_id))
        elif act is SupervisorAction.INTERCEPT:
            _, c = self._on_call_of(a.id)
            self._check_call(c, CT.INTERCEPT)
            self._call_to(c, CT.INTERCEPT)
            c.agent = None
            c.supervisor = e.actor_id
            c.monitors.pop(e.actor_id, None)
            out.append(Intercept(c.id, e.actor_id, a.id))
            self._after_call(a, c, now, out)
        elif act is SupervisorAction.FORCE_HANGUP:
            rc = a.call
            if rc is None:
                raise IllegalTransition(f"agent {a.id}", a.state, act)
            if a.state is AS.RINGING:
                self._ring_end(rc, a, now, out, missed=False, reason="forced")
            else:
                self._on_call_of(a.id)
                self._end_connected(rc, now, out, reason="forced")
        elif act is SupervisorAction.FORCE_LOGOUT:
            self._request(a, AT.LOG_OUT, e.reason or "forced", now, out)
        elif act is SupervisorAction.FORCE_BUSY:
            self._request(a, AT.SET_BUSY, e.reason or "forced", now, out)
        elif act is SupervisorAction.FORCE_IDLE:
            self._request(a, AT.SET_IDLE, "", now, out)
        else:
            raise IllegalTransition(f"agent {a.id}", a.state, act)
        out.append(AuditEvent(e.actor_id, e.role, act, a.id, call_id, True, now, e.reason))
        return out

    def _on_blacklist(self, e: BlacklistChanged) -> list[Command]:
        act = SupervisorAction.BLACKLIST
        ok = allowed(e.role, act)
        detail = ("block " if e.blocked else "unblock ") + e.number
        audit = AuditEvent(e.actor_id, e.role, act, e.number, "", ok, e.now, detail)
        if not ok:
            raise PermissionDenied(f"{e.role.value} may not change the blacklist", audit=audit)
        n = normalize(e.number)
        if e.blocked:
            self.blacklist.add(n)
        else:
            self.blacklist.discard(n)
        return [audit]


__all__ = ["CenterConfig", "ContactCenter", "Role"]
