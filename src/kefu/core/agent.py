"""The agent state machine (AG-01..AG-06, AG-19..AG-21).

Theory of operation: an agent's state changes only through `AGENT_TRANSITIONS`, a table
keyed by (state, trigger). `Agent` holds no logic beyond bookkeeping; the ACD engine
(`kefu.core.acd`) looks the transition up and raises `IllegalTransition` (leaving the state
as it was) when the pair is missing. A request the agent cannot take now (busy while on a
call, a forced log-out during a call) is kept as `pending` and applied when the after-call
work ends. Mute is an attribute of the call, not a state.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

from kefu.core.supervision import Role

if TYPE_CHECKING:
    from kefu.core.call import Call
    from kefu.core.queue import Queue


class AgentState(enum.Enum):
    """Where an agent is. Values are stable strings for adapters and storage."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    LOGGED_OUT = "logged_out"
    IDLE = "idle"  # 示闲
    RINGING = "ringing"  # reserved: a call is offered to this agent
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    AFTER_CALL_WORK = "after_call_work"  # 文书处理
    BUSY = "busy"  # 示忙, with a reason code
    BREAK = "break"  # 小休


class AgentTrigger(enum.Enum):
    """What moves an agent from one state to another."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    LOG_IN = "log_in"
    LOG_OUT = "log_out"
    SET_IDLE = "set_idle"
    SET_BUSY = "set_busy"
    SET_BREAK = "set_break"
    OFFER = "offer"
    ANSWER = "answer"
    RING_END = "ring_end"  # declined, timed out, caller left, or another agent answered
    MISSED_LIMIT = "missed_limit"  # N rings missed in a row
    PICKUP = "pickup"  # 抢接
    HOLD = "hold"
    RESUME = "resume"
    HANG_UP = "hang_up"  # call over for this agent: ends, transferred away, intercepted
    ACW_END = "acw_end"


S = AgentState
T = AgentTrigger

AGENT_TRANSITIONS: Mapping[tuple[AgentState, AgentTrigger], AgentState] = {
    (S.LOGGED_OUT, T.LOG_IN): S.IDLE,
    (S.IDLE, T.LOG_OUT): S.LOGGED_OUT,
    (S.BUSY, T.LOG_OUT): S.LOGGED_OUT,
    (S.BREAK, T.LOG_OUT): S.LOGGED_OUT,
    (S.AFTER_CALL_WORK, T.LOG_OUT): S.LOGGED_OUT,
    (S.RINGING, T.LOG_OUT): S.LOGGED_OUT,
    (S.IDLE, T.SET_BUSY): S.BUSY,
    (S.IDLE, T.SET_BREAK): S.BREAK,
    (S.BUSY, T.SET_IDLE): S.IDLE,
    (S.BUSY, T.SET_BUSY): S.BUSY,  # a new reason code
    (S.BUSY, T.SET_BREAK): S.BREAK,
    (S.BREAK, T.SET_IDLE): S.IDLE,
    (S.BREAK, T.SET_BUSY): S.BUSY,
    (S.AFTER_CALL_WORK, T.SET_IDLE): S.IDLE,  # ends after-call work early
    (S.AFTER_CALL_WORK, T.SET_BUSY): S.BUSY,
    (S.AFTER_CALL_WORK, T.SET_BREAK): S.BREAK,
    (S.RINGING, T.SET_BUSY): S.BUSY,  # clicking busy while ringing declines the call
    (S.IDLE, T.OFFER): S.RINGING,
    (S.RINGING, T.ANSWER): S.ON_CALL,
    (S.RINGING, T.RING_END): S.IDLE,
    (S.RINGING, T.MISSED_LIMIT): S.BUSY,
    (S.IDLE, T.PICKUP): S.ON_CALL,
    (S.BUSY, T.PICKUP): S.ON_CALL,
    (S.AFTER_CALL_WORK, T.PICKUP): S.ON_CALL,
    (S.ON_CALL, T.HOLD): S.ON_HOLD,
    (S.ON_HOLD, T.RESUME): S.ON_CALL,
    (S.ON_CALL, T.HANG_UP): S.AFTER_CALL_WORK,
    (S.ON_HOLD, T.HANG_UP): S.AFTER_CALL_WORK,
    (S.AFTER_CALL_WORK, T.ACW_END): S.IDLE,
}

# States in which the agent counts as staffing the queues they serve (for wait estimates).
STAFFED = frozenset({S.IDLE, S.RINGING, S.ON_CALL, S.ON_HOLD, S.AFTER_CALL_WORK})
ON_A_CALL = frozenset({S.ON_CALL, S.ON_HOLD})
STATE_INDEX: Mapping[AgentState, int] = {s: i for i, s in enumerate(AgentState)}


class Agent:
    """A logged-in agent's runtime record. Mutated only by the ACD engine."""

    __slots__ = (
        "acw_started",
        "answered",
        "call",
        "epoch",
        "extension",
        "id",
        "idle_since",
        "idle_token",
        "last_call",
        "may_transfer_outside",
        "missed_in_row",
        "missed_total",
        "pending",
        "personal",
        "queues",
        "reason",
        "role",
        "rr_turn",
        "seq",
        "signed_in",
        "since",
        "skills",
        "state",
        "time_in",
    )

    def __init__(
        self,
        agent_id: str,
        seq: int,
        extension: str,
        skills: Mapping[str, int],
        signed_in: frozenset[str],
        role: Role,
        may_transfer_outside: bool,
        now: float,
    ) -> None:
        self.id = agent_id
        self.seq = seq  # unique tie-breaker in heaps
        self.extension = extension
        self.skills = dict(skills)  # skill -> level
        self.signed_in = set(signed_in)  # skill groups signed in to (签入)
        self.role = role
        self.may_transfer_outside = may_transfer_outside
        self.state = AgentState.LOGGED_OUT
        self.reason = ""  # busy reason code
        self.epoch = 0  # bumped on every state change; stale timers and heap entries compare it
        self.since = now
        self.idle_since = now
        self.idle_token = 0  # bumped when the agent is indexed afresh in the idle heaps
        self.last_call: tuple[str, str, float] = ("", "", 0.0)  # call id, queue, talk time
        self.call: Call | None = None  # the call ringing or connected
        self.pending: tuple[AgentTrigger, str] | None = None
        self.queues: list[Queue] = []  # queues this agent is eligible for
        self.personal: list[tuple[int, int, Call]] = []  # calls waiting for this agent
        self.missed_in_row = 0
        self.missed_total = 0  # AG-11
        self.answered = 0
        self.rr_turn: dict[str, int] = {}
        self.acw_started = 0.0
        self.time_in = [0.0] * len(AgentState)

    def level(self, skill: str) -> int:
        """The agent's level in `skill` if signed in to it, else 0."""
        return self.skills.get(skill, 0) if skill in self.signed_in else 0

    def __repr__(self) -> str:
        return f"Agent({self.id!r}, {self.state.name})"
