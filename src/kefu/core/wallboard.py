"""Read-only views for the console and the wallboard (CC-06, AG-12)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kefu.core.agent import AgentState


@dataclass(frozen=True, slots=True)
class WaitingCallView:
    """A call waiting (or ringing) in a queue (AG-12)."""

    call_id: str
    caller: str
    region: str
    queue: str
    priority: int
    waited: float
    position: int  # 0 while ringing or waiting for its own agent
    ringing: tuple[str, ...]
    waiting_for: tuple[str, ...]  # owner or designated agents it waits for


@dataclass(frozen=True, slots=True)
class QueueView:
    """One queue on the wallboard."""

    name: str
    waiting: int
    ringing: int
    longest_wait: float
    staffed: int
    idle: int
    aht: float
    estimated_wait: float  # for a caller joining now
    offered: int
    answered: int
    abandoned: int


@dataclass(frozen=True, slots=True)
class AgentView:
    """One agent on the console."""

    agent_id: str
    state: AgentState
    reason: str
    since: float
    call_id: str
    queues: tuple[str, ...]
    answered: int
    missed_total: int
    pending: str


@dataclass(frozen=True, slots=True)
class Wallboard:
    """The whole center at `now` (CC-06)."""

    now: float
    queues: tuple[QueueView, ...]
    agents: Mapping[AgentState, int]
    calls_connected: int
