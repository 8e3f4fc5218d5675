"""Queues: configuration, the waiting line, the idle-agent index and the wait estimator.

Indexes (routing never scans all agents):
- `waiting`: a heap of (-caller priority, arrival seq, epoch, call). Entries go stale when
  the call leaves or is pushed again (its `epoch` changes); stale entries are dropped when
  they reach the top, and the heap is compacted when stale entries dominate.
- `idle`: a heap of idle eligible agents keyed by the strategy (longest idle: idle-since;
  fewest calls: calls answered; round robin: the agent's last turn in this queue; random:
  a draw from the engine's seeded RNG). An entry is valid while the agent is IDLE and its
  `idle_token` is unchanged. Choosing an agent is O(log n) amortised.

Estimated wait: a caller at position k, with every one of the c staffed agents busy, is
answered at the k-th agent release. With exponential-ish handle times each busy agent
releases at rate 1/AHT, so releases come at rate c/AHT and the k-th is expected after
k * AHT / c (exact for M/M/c). AHT is an exponentially weighted moving average of this
queue's recent handle times (talk + after-call work), so the estimate follows the live
queue rather than a daily average.
"""

from __future__ import annotations

import enum
import heapq
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kefu.core.agent import AgentState
from kefu.core.call import CallState

if TYPE_CHECKING:
    from kefu.core.agent import Agent
    from kefu.core.call import Call

_IDLE = AgentState.IDLE
_QUEUED = CallState.QUEUED
AHT_SMOOTHING = 0.05  # weight of the newest handle time in the moving average


class Strategy(enum.Enum):
    """How a queue picks among idle agents (CC-02)."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    RANDOM = "random"
    RING_ALL = "ring_all"


class OverflowKind(enum.Enum):
    """What happens to a call that waited too long."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue. `numbers` are the called numbers (400 and local) that land in it."""

    name: str
    numbers: tuple[str, ...] = ()
    priority: int = 0  # higher queues are served first by agents in several queues
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> minimum level
    ring_timeout: float = 20.0
    max_wait: float | None = None
    overflow: OverflowKind = OverflowKind.REJECT
    overflow_queue: str | None = None
    owner_wait: float = 20.0  # how long the caller's own agent (所属坐席) is waited for
    announce: bool = True  # position and estimated wait when the caller joins
    announce_interval: float | None = None  # repeat every N s while waiting
    aht_hint: float = 180.0  # starting value of the handle-time average
    join_empty: bool = True  # False: overflow at once when no agent is staffed
    level_first: bool = False  # prefer higher skill levels before the strategy


class Queue:
    """A queue's runtime: waiting calls, idle agents, counters."""

    __slots__ = (
        "abandoned",
        "aht",
        "answered",
        "config",
        "idle",
        "idle_compact_at",
        "name",
        "offered",
        "priority",
        "required",
        "staffed",
        "strategy",
        "turn",
        "waiting",
        "waiting_compact_at",
    )

    def __init__(self, config: QueueConfig) -> None:
        self.config = config
        self.name = config.name
        self.priority = config.priority
        self.strategy = config.strategy
        self.required = tuple(config.skills.items())
        self.waiting: list[tuple[int, int, int, Call]] = []
        self.idle: list[tuple[int, float, float, int, int, Agent]] = []
        self.staffed = 0  # agents logged in, eligible, and not busy or on break
        self.aht = config.aht_hint
        self.turn = 0  # round-robin counter
        self.offered = 0
        self.answered = 0
        self.abandoned = 0
        self.idle_compact_at = 1024
        self.waiting_compact_at = 1024

    def eligible(self, agent: Agent) -> bool:
        """Whether the agent's signed-in skills meet every required level."""
        return all(agent.level(skill) >= level for skill, level in self.required)

    # -- idle agents -------------------------------------------------------------------
    def push_idle(self, agent: Agent, rng: random.Random) -> None:
        """Index an agent who just became idle (or whose eligibility changed)."""
        s = self.strategy
        if s is Strategy.LONGEST_IDLE or s is Strategy.RING_ALL:
            key = agent.idle_since
        elif s is Strategy.FEWEST_CALLS:
            key = float(agent.answered)
        elif s is Strategy.ROUND_ROBIN:
            key = float(agent.rr_turn.get(self.name, -1))
        else:
            key = rng.random()
        pref = -sum(agent.level(sk) for sk, _ in self.required) if self.config.level_first else 0
        idle = self.idle
        heapq.heappush(idle, (pref, key, agent.idle_since, agent.seq, agent.idle_token, agent))
        if len(idle) >= self.idle_compact_at:  # stale entries are a memory guard only
            self.idle = [e for e in idle if e[5].state is _IDLE and e[5].idle_token == e[4]]
            heapq.heapify(self.idle)
            self.idle_compact_at = max(1024, 2 * len(self.idle))

    def pop_idle(self) -> Agent | None:
        """Remove and return the best idle agent, or None."""
        idle = self.idle
        while idle:
            e = heapq.heappop(idle)
            a = e[5]
            if a.state is _IDLE and a.idle_token == e[4]:
                return a
        return None

    def pop_all_idle(self) -> list[Agent]:
        """Remove and return every idle agent (ring-all), best first."""
        out: list[Agent] = []
        seen: set[int] = set()
        idle = self.idle
        while idle:
            e = heapq.heappop(idle)
            a = e[5]
            if a.state is _IDLE and a.idle_token == e[4] and a.seq not in seen:
                seen.add(a.seq)
                out.append(a)
        return out

    # -- waiting calls -----------------------------------------------------------------
    def push_waiting(self, call: Call) -> None:
        """Put a call in line (again), keeping its place by priority and arrival."""
        call.epoch += 1
        w = self.waiting
        heapq.heappush(w, (-call.priority, call.seq, call.epoch, call))
        if len(w) >= self.waiting_compact_at:
            self.waiting = [e for e in w if self._valid(e)]
            heapq.heapify(self.waiting)
            self.waiting_compact_at = max(1024, 2 * len(self.waiting))

    def _valid(self, e: tuple[int, int, int, Call]) -> bool:
        c = e[3]
        return c.state is _QUEUED and c.epoch == e[2] and c.queue is self

    def head(self) -> Call | None:
        """The first valid waiting call, without removing it."""
        w = self.waiting
        while w:
            e = w[0]
            c = e[3]
            if c.state is _QUEUED and c.epoch == e[2] and c.queue is self:
                return c
            heapq.heappop(w)
        return None

    def pop_head(self) -> Call | None:
        """Remove and return the first valid waiting call."""
        c = self.head()
        if c is not None:
            heapq.heappop(self.waiting)
            c.epoch += 1
        return c

    def position(self, call: Call) -> int:
        """1-based place of a waiting call in this queue's line."""
        key = (-call.priority, call.seq)
        ahead = 0
        for e in self.waiting:
            if (e[0], e[1]) < key and self._valid(e):
                ahead += 1
        return ahead + 1

    def estimated_wait(self, position: int) -> float:
        """Expected seconds until answer for the caller at `position` (see module doc)."""
        return position * self.aht / max(self.staffed, 1)

    def record_handle(self, seconds: float) -> None:
        """Feed one finished call's handle time into the moving average."""
        self.aht += AHT_SMOOTHING * (seconds - self.aht)
