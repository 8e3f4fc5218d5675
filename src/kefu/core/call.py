"""The call state machine, seen from the ACD: waiting, ringing, connected, held, ended.

As with agents, a call's state changes only through `CALL_TRANSITIONS`; a missing
(state, trigger) pair raises `IllegalTransition` and leaves the call as it was.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.core.agent import Agent
    from kefu.core.events import TransferKind
    from kefu.core.queue import Queue
    from kefu.core.supervision import MonitorMode


class CallState(enum.Enum):
    """Where a call is."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    NEW = "new"
    QUEUED = "queued"
    RINGING = "ringing"
    CONNECTED = "connected"
    HELD = "held"
    ENDED = "ended"


class CallTrigger(enum.Enum):
    """What moves a call."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    ENQUEUE = "enqueue"
    REJECT = "reject"
    OFFER = "offer"
    RING_END = "ring_end"  # the last ringing agent stopped ringing
    ANSWER = "answer"
    PICKUP = "pickup"
    ABANDON = "abandon"
    LEAVE_QUEUE = "leave_queue"  # overflow to voicemail, callback or rejection
    REQUEUE = "requeue"  # overflow to another queue
    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer"  # back into a queue or to an agent
    TRANSFER_OUT = "transfer_out"  # to an outside number: leaves the ACD
    INTERCEPT = "intercept"
    HANG_UP = "hang_up"


class Outcome(enum.Enum):
    """How a call left the queue (for KPIs: offered = sum of these + still waiting)."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"  # to another queue
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    REJECTED = "rejected"  # blacklist, no queue, max wait with no overflow


S = CallState
T = CallTrigger

CALL_TRANSITIONS: Mapping[tuple[CallState, CallTrigger], CallState] = {
    (S.NEW, T.ENQUEUE): S.QUEUED,
    (S.NEW, T.REJECT): S.ENDED,
    (S.QUEUED, T.OFFER): S.RINGING,
    (S.RINGING, T.OFFER): S.RINGING,  # ring-all adds agents
    (S.RINGING, T.RING_END): S.QUEUED,
    (S.RINGING, T.ANSWER): S.CONNECTED,
    (S.RINGING, T.PICKUP): S.CONNECTED,
    (S.QUEUED, T.ABANDON): S.ENDED,
    (S.RINGING, T.ABANDON): S.ENDED,
    (S.QUEUED, T.LEAVE_QUEUE): S.ENDED,
    (S.QUEUED, T.REQUEUE): S.QUEUED,
    (S.CONNECTED, T.HOLD): S.HELD,
    (S.HELD, T.RESUME): S.CONNECTED,
    (S.CONNECTED, T.TRANSFER): S.QUEUED,
    (S.HELD, T.TRANSFER): S.QUEUED,
    (S.CONNECTED, T.TRANSFER_OUT): S.ENDED,
    (S.HELD, T.TRANSFER_OUT): S.ENDED,
    (S.CONNECTED, T.INTERCEPT): S.CONNECTED,
    (S.HELD, T.INTERCEPT): S.CONNECTED,
    (S.CONNECTED, T.HANG_UP): S.ENDED,
    (S.HELD, T.HANG_UP): S.ENDED,
}


class ConsultState(enum.Enum):
    """Where an attended transfer's consultation is (the caller is on hold throughout)."""

    RINGING = "ringing"  # the consulted party is being called
    TALKING = "talking"  # the agent talks to the consulted party
    ENDED = "ended"


class ConsultTrigger(enum.Enum):
    """What moves a consultation."""

    ANSWER = "answer"  # the consulted party answered
    FAIL = "fail"  # declined, no answer, or hung up
    CANCEL = "cancel"  # the agent took the caller back
    COMPLETE = "complete"  # the caller is joined to the consulted party
    CALL_ENDED = "call_ended"  # the caller (or the agent) hung up meanwhile


CS_ = ConsultState
CT_ = ConsultTrigger

CONSULT_TRANSITIONS: Mapping[tuple[ConsultState, ConsultTrigger], ConsultState] = {
    (CS_.RINGING, CT_.ANSWER): CS_.TALKING,
    (CS_.RINGING, CT_.FAIL): CS_.ENDED,
    (CS_.RINGING, CT_.CANCEL): CS_.ENDED,
    (CS_.RINGING, CT_.CALL_ENDED): CS_.ENDED,
    (CS_.TALKING, CT_.FAIL): CS_.ENDED,
    (CS_.TALKING, CT_.CANCEL): CS_.ENDED,
    (CS_.TALKING, CT_.COMPLETE): CS_.ENDED,
    (CS_.TALKING, CT_.CALL_ENDED): CS_.ENDED,
}


class Consult:
    """The consultation of an attended transfer. Mutated only by the ACD engine."""

    __slots__ = ("agent_id", "kind", "since", "state", "target")

    def __init__(self, agent_id: str, kind: TransferKind, target: str, now: float) -> None:
        self.agent_id = agent_id  # the consulting agent
        self.kind = kind  # AGENT or OUTSIDE
        self.target = target  # agent id or outside number
        self.state = ConsultState.RINGING
        self.since = now  # when the current consult state began

    def __repr__(self) -> str:
        return f"Consult({self.agent_id!r} -> {self.target!r}, {self.state.name})"


class Call:
    """An active call's runtime record. Mutated only by the ACD engine."""

    __slots__ = (
        "agent",
        "answered_at",
        "arrived",
        "caller",
        "consult",
        "dialed",
        "enqueued",
        "epoch",
        "expired",
        "hops",
        "id",
        "monitors",
        "muted",
        "parties",
        "preferred",
        "priority",
        "qgen",
        "queue",
        "region",
        "ringing",
        "seq",
        "state",
        "supervisor",
        "variables",
    )

    def __init__(
        self,
        call_id: str,
        seq: int,
        caller: str,
        dialed: str,
        region: str,
        priority: int,
        variables: Mapping[str, str],
        now: float,
    ) -> None:
        self.id = call_id
        self.seq = seq  # arrival order: ties in priority go to the earlier caller
        self.caller = caller
        self.dialed = dialed
        self.region = region
        self.priority = priority
        self.variables = variables
        self.state = CallState.NEW
        self.arrived = now
        self.enqueued = now  # entry time in the current queue
        self.answered_at = 0.0
        self.queue: Queue | None = None
        self.qgen = 0  # bumped on entering a queue and on answer: queue timers compare it
        self.hops = 0  # queues entered (overflow, transfer); guards against overflow loops
        self.epoch = 0  # bumped when the call leaves a queue: stale waiting entries and timers
        self.agent: Agent | None = None
        self.ringing: list[Agent] = []
        self.preferred: tuple[str, ...] = ()  # owner or designated agents, tried first
        self.expired = False  # max wait passed while ringing: overflow when the ring ends
        self.monitors: dict[str, MonitorMode] = {}
        self.parties: list[str] = []  # three-way participants beyond caller and agent
        self.muted = False
        self.supervisor: str | None = None  # after an intercept
        self.consult: Consult | None = None  # an attended transfer in progress

    def __repr__(self) -> str:
        return f"Call({self.id!r}, {self.state.name})"
