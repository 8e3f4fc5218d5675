"""Events: what adapters (SIP switch, web console, simulator, IVR) tell the core.

Every event is a frozen, slotted dataclass carrying `now` (seconds, any epoch, monotonic
within one engine). Feed them to `ContactCenter.handle(event)`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kefu.core.agent import AgentState
from kefu.core.supervision import Role, SupervisorAction

_NO_VARS: Mapping[str, str] = {}


class TransferKind(enum.Enum):
    """Where a transfer goes (AG-08)."""

    AGENT = "agent"
    QUEUE = "queue"
    OUTSIDE = "outside"


@dataclass(frozen=True, slots=True)
class AgentLoggedIn:
    """An agent authenticated (the service layer checked the password) and is ready."""

    agent_id: str
    now: float
    extension: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level (1..9)
    signed_in: frozenset[str] | None = None  # skill groups signed in to; None: all skills
    role: Role = Role.AGENT
    may_transfer_outside: bool = False  # AG-08: off by default
    ready: bool = True  # False: log in busy


@dataclass(frozen=True, slots=True)
class AgentLoggedOut:
    """The agent logs out (AG-02/AG-03). During a call it takes effect after the call."""

    agent_id: str
    now: float


@dataclass(frozen=True, slots=True)
class SkillGroupSignedIn:
    """签入: the agent starts taking calls for a skill group (AG-06)."""

    agent_id: str
    skill: str
    now: float


@dataclass(frozen=True, slots=True)
class SkillGroupSignedOut:
    """签出: the agent stops taking calls for a skill group (AG-06)."""

    agent_id: str
    skill: str
    now: float


@dataclass(frozen=True, slots=True)
class StateRequested:
    """The agent asks to be idle, busy (with a reason code) or on break (AG-05)."""

    agent_id: str
    state: AgentState
    now: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CallArrived:
    """A call enters the ACD, from the trunk or from the IVR (which may name the queue).

    `variables` carries what the IVR collected (member flag, account, menu path ...);
    `priority` is the caller's own priority (higher is served first);
    `owner_agent` is the caller's own agent (所属坐席) as the CRM knows it.
    """

    call_id: str
    caller: str
    dialed: str
    now: float
    queue: str | None = None
    priority: int = 0
    owner_agent: str | None = None
    variables: Mapping[str, str] = field(default_factory=lambda: _NO_VARS)


OWNER_VARIABLE = "owner_agent"  # IVR/CRM variable naming the caller's own agent (所属坐席)


def arrival_from_ivr(
    call_id: str,
    caller: str,
    dialed: str,
    now: float,
    queue: str,
    priority: int,
    variables: Iterable[tuple[str, str]],
) -> CallArrived:
    """The `CallArrived` for a call the IVR hands to `queue` with the variables it collected."""
    values = dict(variables)
    return CallArrived(
        call_id,
        caller,
        dialed,
        now,
        queue=queue,
        priority=priority,
        owner_agent=values.get(OWNER_VARIABLE) or None,
        variables=values,
    )


@dataclass(frozen=True, slots=True)
class AgentAnswered:
    """The agent's phone answered the offered call."""

    agent_id: str
    call_id: str
    now: float


@dataclass(frozen=True, slots=True)
class AgentRejected:
    """The agent declined the offered call, or the phone failed or hung up while ringing."""

    agent_id: str
    call_id: str
    now: float
    reason: str = "declined"


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller's leg ended (abandon while waiting, or end of conversation)."""

    call_id: str
    now: float


@dataclass(frozen=True, slots=True)
class AgentHungUp:
    """The agent's (or an intercepting supervisor's) leg ended."""

    agent_id: str
    call_id: str
    now: float


@dataclass(frozen=True, slots=True)
class HoldRequested:
    """Hold the agent's call (AG-09)."""

    agent_id: str
    now: float


@dataclass(frozen=True, slots=True)
class ResumeRequested:
    """Resume the agent's held call (AG-09)."""

    agent_id: str
    now: float


@dataclass(frozen=True, slots=True)
class MuteRequested:
    """Mute or unmute the agent's microphone on the current call (AG-05 静音)."""

    agent_id: str
    muted: bool
    now: float


@dataclass(frozen=True, slots=True)
class TransferRequested:
    """Blind transfer of the agent's call to an agent, a queue or an outside number."""

    agent_id: str
    kind: TransferKind
    target: str
    now: float


@dataclass(frozen=True, slots=True)
class ConsultRequested:
    """Attended transfer, step 1: hold the customer and call an agent or an outside number.

    A queue cannot be consulted (nobody in particular answers it): transfer to a queue is
    blind only. An outside number needs the agent's outside permission, as a blind transfer.
    """

    agent_id: str
    kind: TransferKind
    target: str
    now: float


@dataclass(frozen=True, slots=True)
class ConsultAnswered:
    """The consulted party answered (the adapter saw the target's phone answer)."""

    agent_id: str  # the consulting agent
    now: float


@dataclass(frozen=True, slots=True)
class ConsultFailed:
    """The consulted party declined, did not answer, or hung up during the consultation."""

    agent_id: str  # the consulting agent
    now: float
    reason: str = "declined"


@dataclass(frozen=True, slots=True)
class ConsultCancelRequested:
    """The agent drops the consulted party and takes the customer back."""

    agent_id: str
    now: float


@dataclass(frozen=True, slots=True)
class ConsultCompleteRequested:
    """Attended transfer, step 2: join the customer to the consulted party; the agent leaves."""

    agent_id: str
    now: float


@dataclass(frozen=True, slots=True)
class ConferenceRequested:
    """Add a third party (an agent id or an outside number) to the agent's call (AG-08)."""

    agent_id: str
    party: str
    now: float


@dataclass(frozen=True, slots=True)
class PartyLeft:
    """A three-way participant (or a monitoring supervisor) left the call."""

    call_id: str
    party: str
    now: float


@dataclass(frozen=True, slots=True)
class PickupRequested:
    """抢接: the agent takes a call that is ringing at another agent (AG-13)."""

    agent_id: str
    call_id: str
    now: float


@dataclass(frozen=True, slots=True)
class SupervisorRequested:
    """A supervisor action on an agent (AG-15..AG-22). `role` is the actor's checked role."""

    actor_id: str
    role: Role
    action: SupervisorAction
    target_agent: str
    now: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BlacklistChanged:
    """A team leader approved (or lifted) a blacklist entry (AG-14)."""

    actor_id: str
    role: Role
    number: str
    blocked: bool
    now: float


Event = (
    AgentLoggedIn
    | AgentLoggedOut
    | SkillGroupSignedIn
    | SkillGroupSignedOut
    | StateRequested
    | CallArrived
    | AgentAnswered
    | AgentRejected
    | CallerHungUp
    | AgentHungUp
    | HoldRequested
    | ResumeRequested
    | MuteRequested
    | TransferRequested
    | ConsultRequested
    | ConsultAnswered
    | ConsultFailed
    | ConsultCancelRequested
    | ConsultCompleteRequested
    | ConferenceRequested
    | PartyLeft
    | PickupRequested
    | SupervisorRequested
    | BlacklistChanged
)
