"""CC-05 virtual run: the dialer and the real ACD core in simulated time.

The dialer's commands are carried out the way a trunk and phones would: `DialNumber`
comes back as a `CallResult` after a ring time drawn for the outcome (answered, busy, no
answer), `ConnectCall` becomes a `CallArrived` in the ACD naming the picked agent as the
owner, the agent's phone answers the `RingAgent` after a second and hangs up after the talk
time, and after-call work ends by the ACD's own timer. What is reported (abandon rate,
which agent took which customer) is counted from what the ACD and the dialer said.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from dataclasses import dataclass, field
from typing import Any

from kefu.core.acd import CenterConfig, ContactCenter
from kefu.core.agent import AgentState
from kefu.core.commands import Command, RingAgent
from kefu.core.dialer import (
    AgentsAvailable,
    CallResult,
    CampaignConfig,
    CampaignControl,
    CampaignFinished,
    ConnectCall,
    Control,
    Counts,
    Dialer,
    DialerCommand,
    DialNumber,
    DialOutcome,
    Mode,
    OfferPreview,
    Pacing,
    PreviewAccepted,
    PreviewSkipped,
    Task,
    Tick,
)
from kefu.core.events import AgentAnswered, AgentHungUp, AgentLoggedIn, CallArrived
from kefu.core.queue import QueueConfig

_RESULT, _ANSWER, _HANGUP, _PREVIEW = range(4)  # simulated event kinds


@dataclass(frozen=True, slots=True)
class OutboundScenario:
    """A virtual campaign: agents, customers' answer behaviour, talk times."""

    mode: Mode = Mode.PREDICTIVE
    agents: int = 10
    tasks: int = 2000
    answer_rate: float = 0.3
    busy_rate: float = 0.15  # the rest of the unanswered calls ring out
    ring_answered: float = 12.0  # mean seconds until an answering customer picks up
    ring_out: float = 30.0  # seconds until an unanswered call gives up
    talk: float = 90.0  # mean talk seconds (exponential)
    acw: float = 5.0
    owner_share: float = 0.3  # tasks naming an owner agent
    skip_rate: float = 0.1  # preview: share of tasks the agent skips
    max_attempts: int = 3
    retry_seconds: float = 600.0
    abandon_cap: float = 0.03
    seed: int = 1
    start: dt.time = dt.time(9, 0)  # the local clock at t=0 (inside the calling hours)
    max_seconds: float = 7 * 86400.0  # the calling hours pause it overnight


@dataclass(slots=True)
class OutboundResult:
    counts: Counts
    seconds: float
    connected_to: dict[str, str] = field(default_factory=dict)  # call id -> agent rung
    owners: dict[str, str] = field(default_factory=dict)  # call id -> owner of the task
    owner_was_idle: dict[str, bool] = field(default_factory=dict)
    dialed_before_accept: int = 0
    max_recent_abandon: float = 0.0
    finished: bool = False

    @property
    def abandon_rate(self) -> float:
        return self.counts.abandon_rate()


def _local(start: dt.time, now: float) -> dt.time:
    base = dt.datetime.combine(dt.date(2026, 1, 5), start)
    return (base + dt.timedelta(seconds=now)).time()


class _Sim:
    def __init__(self, s: OutboundScenario) -> None:
        self.s = s
        self.rng = random.Random(s.seed)
        self.queue = "outbound"
        self.cc = ContactCenter(
            CenterConfig(queues=(QueueConfig(self.queue, announce=False),), acw_seconds=s.acw),
            rng=random.Random(s.seed + 1),
        )
        agent_ids = [f"a{i:02d}" for i in range(s.agents)]
        for i, a in enumerate(agent_ids):
            self.cc.handle(AgentLoggedIn(a, 0.0, extension=str(8001 + i)))
        rng = self.rng
        tasks = [
            Task(
                f"t{i}",
                f"1380000{i:04d}",
                owner_agent=rng.choice(agent_ids) if rng.random() < s.owner_share else None,
            )
            for i in range(s.tasks)
        ]
        self.by_id = {t.id: t for t in tasks}
        retry = dict.fromkeys(("busy", "no_answer", "failed", "abandoned"), s.retry_seconds)
        config = CampaignConfig(
            "sim",
            self.queue,
            s.mode,
            max_attempts=s.max_attempts,
            retry_delay=retry,
            pacing=Pacing(abandon_cap=s.abandon_cap),
        )
        self.dialer = Dialer(config, tasks)
        self.result = OutboundResult(self.dialer.counts, 0.0)
        self.heap: list[tuple[float, int, int, tuple[str, Any]]] = []
        self.seq = 0
        self.accepted: set[str] = set()

    def push(self, when: float, kind: int, payload: tuple[str, Any]) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, kind, payload))

    def idle(self) -> tuple[str, ...]:
        agents = [a for a in self.cc.agents.values() if a.state is AgentState.IDLE]
        return tuple(a.id for a in sorted(agents, key=lambda a: (a.idle_since, a.seq)))

    def acd(self, commands: list[Command], now: float) -> None:
        for c in commands:
            if isinstance(c, RingAgent):
                self.result.connected_to.setdefault(c.call_id, c.agent_id)
                self.push(now + 1.0, _ANSWER, (c.agent_id, c.call_id))

    def dial(self, cmds: list[DialerCommand], now: float) -> None:
        s, rng, result = self.s, self.rng, self.result
        todo = list(cmds)
        while todo:
            c = todo.pop(0)
            if isinstance(c, DialNumber):
                if s.mode is Mode.PREVIEW and c.task_id not in self.accepted:
                    result.dialed_before_accept += 1
                r = rng.random()
                if r < s.answer_rate:
                    outcome, after = DialOutcome.ANSWERED, rng.expovariate(1 / s.ring_answered)
                elif r < s.answer_rate + s.busy_rate:
                    outcome, after = DialOutcome.BUSY, 2.0
                else:
                    outcome, after = DialOutcome.NO_ANSWER, s.ring_out
                self.push(now + after, _RESULT, (c.call_id, outcome))
            elif isinstance(c, ConnectCall):
                owner = self.by_id[c.task_id].owner_agent
                if owner is not None:
                    result.owners[c.call_id] = owner
                    result.owner_was_idle[c.call_id] = owner in self.idle()
                arrived = CallArrived(
                    c.call_id, c.number, "outbound", now, queue=c.queue, owner_agent=c.agent_id
                )
                self.acd(self.cc.handle(arrived), now)
                todo.extend(self.dialer.handle(AgentsAvailable(now, self.idle())))
            elif isinstance(c, OfferPreview):
                self.push(now + 5.0, _PREVIEW, (c.agent_id, c.task.id))
            elif isinstance(c, CampaignFinished):
                result.finished = True

    def event(self, kind: int, payload: tuple[str, Any], now: float) -> None:
        if kind == _RESULT:
            self.dial(self.dialer.handle(CallResult(payload[0], payload[1], now)), now)
        elif kind == _ANSWER:
            agent, call_id = payload
            self.acd(self.cc.handle(AgentAnswered(agent, call_id, now)), now)
            self.push(now + self.rng.expovariate(1 / self.s.talk), _HANGUP, payload)
        elif kind == _HANGUP:
            self.acd(self.cc.handle(AgentHungUp(payload[0], payload[1], now)), now)
        else:
            agent, task_id = payload
            if self.rng.random() < self.s.skip_rate:
                self.dial(self.dialer.handle(PreviewSkipped(agent, task_id, now)), now)
            else:
                self.accepted.add(task_id)
                self.dial(self.dialer.handle(PreviewAccepted(agent, task_id, now)), now)

    def run(self) -> OutboundResult:
        d, cc, result = self.dialer, self.cc, self.result
        self.dial(d.handle(CampaignControl(Control.START, 0.0)), 0.0)
        self.dial(d.handle(AgentsAvailable(0.0, self.idle())), 0.0)
        now = next_tick = 0.0
        while not result.finished and now < self.s.max_seconds:
            deadline = cc.next_deadline()
            now = min(
                self.heap[0][0] if self.heap else next_tick,
                next_tick,
                deadline if deadline is not None else next_tick,
            )
            if deadline is not None and deadline <= now:
                self.acd(cc.handle_timer(now), now)
            elif self.heap and self.heap[0][0] <= now:
                _, _, kind, payload = heapq.heappop(self.heap)
                self.event(kind, payload, now)
            else:
                self.dial(d.handle(Tick(now, _local(self.s.start, now))), now)
                next_tick = now + 1.0
                continue
            self.dial(d.handle(AgentsAvailable(now, self.idle())), now)
            if d.counts.answered >= d.config.pacing.window:
                result.max_recent_abandon = max(result.max_recent_abandon, d.recent_abandon_rate())
        result.seconds = now
        return result


def run_outbound(s: OutboundScenario) -> OutboundResult:
    """Run the campaign until every task is done (or `max_seconds`)."""
    return _Sim(s).run()
