"""Commands: what the core asks adapters to do, plus records for statistics and audit.

Adapters act on the ones they understand and ignore the rest (a web console shows
`AgentStateChanged`; the SIP switch rings phones on `RingAgent`; the store writes
`CallRecord`, `CallHandled` and `AuditEvent`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields

from kefu.core.agent import AgentState
from kefu.core.call import Outcome
from kefu.core.events import TransferKind
from kefu.core.supervision import MonitorMode, Role, SupervisorAction


class RejectReason(enum.Enum):
    """Why a call was refused."""

    BLACKLISTED = "blacklisted"
    NO_QUEUE = "no_queue"
    MAX_WAIT = "max_wait"
    NO_AGENTS = "no_agents"


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Ring the agent's phone with this call; caller ID and region for the screen (AG-10)."""

    call_id: str
    agent_id: str
    extension: str
    caller: str
    region: str
    timeout: float


@dataclass(frozen=True, slots=True)
class StopRinging:
    """Stop ringing this agent for this call (only this agent: never the caller)."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the caller to the agent."""

    call_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class StartRecording:
    """Start recording the call (from the bridge on)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class PlayAnnouncement:
    """Tell the waiting caller their position and the estimated wait in seconds."""

    call_id: str
    position: int
    estimated_wait: float


@dataclass(frozen=True, slots=True)
class Overflow:
    """The call moved from one queue to another (max wait, or no agents)."""

    call_id: str
    from_queue: str
    to_queue: str


@dataclass(frozen=True, slots=True)
class SendToVoicemail:
    """Send the caller to voicemail (留言) for the queue."""

    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """Offer the caller a callback and end the call; services create the callback task."""

    call_id: str
    number: str
    queue: str


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse the call (busy tone or a prompt chosen by the adapter)."""

    call_id: str
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class Hangup:
    """Hang up the whole call (all legs)."""

    call_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class DialOutside:
    """Transfer the caller to an outside number (blind); the ACD forgets the call."""

    call_id: str
    number: str


@dataclass(frozen=True, slots=True)
class Transferred:
    """Blind transfer: drop the agent's leg; the caller waits (music) for the new target."""

    call_id: str
    agent_id: str
    kind: TransferKind
    target: str


@dataclass(frozen=True, slots=True)
class ConsultTarget:
    """Attended transfer: call the consulted party (an agent's extension or an outside number)
    for the agent, while the caller is on hold."""

    call_id: str
    agent_id: str
    kind: TransferKind
    target: str  # agent id or outside number
    extension: str  # the agent's extension; the number itself for an outside party


@dataclass(frozen=True, slots=True)
class ConsultConnected:
    """The consulted party answered: connect them to the agent (the caller stays on hold)."""

    call_id: str
    agent_id: str
    target: str


@dataclass(frozen=True, slots=True)
class ConsultEnded:
    """The consultation is over without a transfer (declined, no answer, cancelled, hung up):
    drop the consulted party; the agent is told `reason` and has the caller back."""

    call_id: str
    agent_id: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    """Attended transfer done: connect the caller to the consulted party, drop the agent."""

    call_id: str
    agent_id: str
    kind: TransferKind
    target: str


@dataclass(frozen=True, slots=True)
class Conference:
    """Add a party (agent extension or outside number) to the call: a three-way call."""

    call_id: str
    party: str


@dataclass(frozen=True, slots=True)
class Hold:
    """Put the caller on hold (music)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Take the caller off hold."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Mute:
    """Mute or unmute the agent's leg towards the caller."""

    call_id: str
    agent_id: str
    muted: bool


@dataclass(frozen=True, slots=True)
class Monitor:
    """Join a supervisor to the call: listen, whisper (agent only) or barge (all hear)."""

    call_id: str
    supervisor_id: str
    mode: MonitorMode


@dataclass(frozen=True, slots=True)
class StopMonitor:
    """Remove a supervisor from the call."""

    call_id: str
    supervisor_id: str


@dataclass(frozen=True, slots=True)
class Intercept:
    """Connect the caller to the supervisor and drop the agent's leg."""

    call_id: str
    supervisor_id: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class HoldAlert:
    """A hold has lasted too long (SLA-04), for the agent's workspace and the wallboard.

    `level` is "warn" (past `HoldPolicy.warn_after`: take a callback number instead) or
    "limit" (past `HoldPolicy.limit_after`); `resumed` says the core took the caller off
    hold itself (only with `HoldPolicy.resume_at_limit`, and never during a consultation)."""

    call_id: str
    agent_id: str
    level: str
    held: float
    limit: float
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent changed state (for the console and wallboard)."""

    agent_id: str
    old: AgentState
    new: AgentState
    reason: str
    now: float


@dataclass(frozen=True, slots=True)
class RingMissed:
    """The agent did not answer an offered call (AG-11)."""

    call_id: str
    agent_id: str
    missed_in_row: int
    reason: str


@dataclass(frozen=True, slots=True)
class CallRecord:
    """How a call left a queue: answered, abandoned, overflowed ... with its wait."""

    call_id: str
    queue: str
    outcome: Outcome
    arrived: float
    waited: float
    agent_id: str


@dataclass(frozen=True, slots=True)
class CallHandled:
    """An agent finished a call, after-call work included (for AHT)."""

    call_id: str
    agent_id: str
    queue: str
    talk: float
    acw: float


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """A supervisor or permission-checked action, allowed or refused (AG-22)."""

    actor_id: str
    role: Role
    action: SupervisorAction | str
    target: str
    call_id: str
    allowed: bool
    now: float
    detail: str = ""


Command = (
    RingAgent
    | StopRinging
    | Bridge
    | StartRecording
    | PlayAnnouncement
    | Overflow
    | SendToVoicemail
    | OfferCallback
    | Reject
    | Hangup
    | DialOutside
    | Transferred
    | ConsultTarget
    | ConsultConnected
    | ConsultEnded
    | TransferCompleted
    | Conference
    | Hold
    | Resume
    | HoldAlert
    | Mute
    | Monitor
    | StopMonitor
    | Intercept
    | AgentStateChanged
    | RingMissed
    | CallRecord
    | CallHandled
    | AuditEvent
)


# -- hot-path constructors ------------------------------------------------------------------
# A frozen dataclass sets each field through object.__setattr__ by name; these build the
# very same objects (same class, fields, equality) by the slot descriptors, about twice as
# fast. Used by the engine for the commands every simulated call produces.
_new = object.__new__
_RA = tuple(RingAgent.__dict__[f.name].__set__ for f in fields(RingAgent))
_CR = tuple(CallRecord.__dict__[f.name].__set__ for f in fields(CallRecord))
_CH = tuple(CallHandled.__dict__[f.name].__set__ for f in fields(CallHandled))


def ring_agent(
    call_id: str, agent_id: str, extension: str, caller: str, region: str, timeout: float
) -> RingAgent:
    """`RingAgent(...)`, built faster."""
    o: RingAgent = _new(RingAgent)
    s0, s1, s2, s3, s4, s5 = _RA
    s0(o, call_id)
    s1(o, agent_id)
    s2(o, extension)
    s3(o, caller)
    s4(o, region)
    s5(o, timeout)
    return o


def call_record(
    call_id: str, queue: str, outcome: Outcome, arrived: float, waited: float, agent_id: str
) -> CallRecord:
    """`CallRecord(...)`, built faster."""
    o: CallRecord = _new(CallRecord)
    s0, s1, s2, s3, s4, s5 = _CR
    s0(o, call_id)
    s1(o, queue)
    s2(o, outcome)
    s3(o, arrived)
    s4(o, waited)
    s5(o, agent_id)
    return o


def call_handled(call_id: str, agent_id: str, queue: str, talk: float, acw: float) -> CallHandled:
    """`CallHandled(...)`, built faster."""
    o: CallHandled = _new(CallHandled)
    s0, s1, s2, s3, s4 = _CH
    s0(o, call_id)
    s1(o, agent_id)
    s2(o, queue)
    s3(o, talk)
    s4(o, acw)
    return o
