"""CC-05: the automatic outbound dialer (外呼任务), pure.

A campaign is a task list (numbers, with an optional owner agent and customer id) dialled
for one queue in one of three modes:

- preview: an idle agent is reserved and shown the task; the number is dialled only after
  the agent accepts (a skip closes the task undialled). The answered call goes to that agent.
- progressive: one call per idle agent, each call claims an agent; an answered call never
  finds all agents taken unless an agent left in the meantime.
- predictive: more calls than idle agents, the dial ratio following the measured answer
  rate; if the abandon rate over the recent window of answered calls exceeds the cap
  (3 % by default) the ratio drops to 1.0 until the rate is back under the cap.

An answered call goes to the ACD as an outbound-originated call for the agent the dialer
picked (the owner agent if idle in the queue, else the longest-known idle agent): the
adapter turns `ConnectCall` into a `CallArrived` naming that agent as owner. If no agent is
free when the customer answers, the call is abandoned (`DropCall`: a short message, then
hang-up) and counts toward the abandon rate.

Events in (`Tick`, `AgentsAvailable`, `CallResult`, `PreviewAccepted`, `PreviewSkipped`,
`CampaignControl`), commands out (`DialNumber`, `ReserveAgent`, `OfferPreview`,
`ReleaseAgent`, `ConnectCall`, `DropCall`, `TaskUpdated`, `CampaignFinished`). Time is
injected: `now` in seconds for due times, `local` the center's wall-clock time of day for
the calling hours (SLA-03).
"""

from __future__ import annotations

import datetime as dt
import enum
import heapq
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kefu.core.calling_hours import CallingHours
from kefu.core.errors import ConfigInvalid, CoreError


class Mode(enum.Enum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


class DialOutcome(enum.Enum):
    """What the trunk said about one attempt."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"


class TaskStatus(enum.Enum):
    PENDING = "pending"  # waiting for its turn (or its retry time)
    PREVIEWING = "previewing"  # shown to a reserved agent
    DIALING = "dialing"  # a call is out
    CONNECTED = "connected"  # answered and handed to an agent: done
    SKIPPED = "skipped"  # the previewing agent skipped it: done, never dialled
    EXHAUSTED = "exhausted"  # max attempts used without a connection: done
    CANCELLED = "cancelled"  # the campaign was stopped before it was done


DONE = frozenset({TaskStatus.CONNECTED, TaskStatus.SKIPPED, TaskStatus.EXHAUSTED})


class CampaignState(enum.Enum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


class Control(enum.Enum):
    START = "start"
    PAUSE = "pause"
    STOP = "stop"


_CONTROL: Mapping[tuple[CampaignState, Control], CampaignState] = {
    (CampaignState.DRAFT, Control.START): CampaignState.RUNNING,
    (CampaignState.PAUSED, Control.START): CampaignState.RUNNING,
    (CampaignState.RUNNING, Control.START): CampaignState.RUNNING,
    (CampaignState.RUNNING, Control.PAUSE): CampaignState.PAUSED,
    (CampaignState.PAUSED, Control.PAUSE): CampaignState.PAUSED,
    (CampaignState.DRAFT, Control.STOP): CampaignState.STOPPED,
    (CampaignState.RUNNING, Control.STOP): CampaignState.STOPPED,
    (CampaignState.PAUSED, Control.STOP): CampaignState.STOPPED,
    (CampaignState.STOPPED, Control.STOP): CampaignState.STOPPED,
}

ABANDONED = "abandoned"  # retry-delay key for a call answered with no agent free

DEFAULT_RETRY: Mapping[str, float] = {
    DialOutcome.BUSY.value: 300.0,
    DialOutcome.NO_ANSWER.value: 1800.0,
    DialOutcome.FAILED.value: 3600.0,
    ABANDONED: 600.0,
}


@dataclass(frozen=True, slots=True)
class Task:
    """One line of the task list."""

    id: str
    number: str
    owner_agent: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Pacing:
    """Predictive pacing knobs."""

    abandon_cap: float = 0.03  # of answered calls, over the recent window
    window: int = 100  # answered calls the abandon rate is measured over
    answer_window: int = 200  # dial results the answer rate is measured over
    min_sample: int = 20  # dial results before the ratio may leave 1.0
    max_ratio: float = 3.0
    # The ratio aims at this share of the cap, so noise stays under the cap itself.
    aim: float = 0.4
    step: float = 0.05  # how fast the gain towards 1/answer-rate moves per result


@dataclass(frozen=True, slots=True)
class CampaignConfig:
    name: str
    queue: str
    mode: Mode
    max_attempts: int = 3
    retry_delay: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RETRY))
    hours: CallingHours = field(default_factory=CallingHours)
    pacing: Pacing = field(default_factory=Pacing)
    preview_timeout: float = 120.0  # an unanswered preview goes back to the list

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigInvalid(f"campaign {self.name}: max_attempts must be at least 1")
        for key, delay in self.retry_delay.items():
            if key not in DEFAULT_RETRY:
                raise ConfigInvalid(
                    f"campaign {self.name}: retry_delay {key!r} is not one of "
                    f"{', '.join(DEFAULT_RETRY)}"
                )
            if delay < 0:
                raise ConfigInvalid(f"campaign {self.name}: retry_delay {key} is negative")
        p = self.pacing
        if not 0 < p.abandon_cap < 1:
            raise ConfigInvalid(f"campaign {self.name}: abandon cap must be between 0 and 1")
        if p.max_ratio < 1:
            raise ConfigInvalid(f"campaign {self.name}: max_ratio must be at least 1.0")

    def delay(self, key: str) -> float:
        return self.retry_delay.get(key, DEFAULT_RETRY[key])


# == events ==================================================================================
@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: dial what is due. `local` is the center's wall-clock time of day."""

    now: float
    local: dt.time


@dataclass(frozen=True, slots=True)
class AgentsAvailable:
    """The idle agents of the campaign's queue, longest idle first (from the ACD)."""

    now: float
    idle: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CallResult:
    call_id: str
    outcome: DialOutcome
    now: float


@dataclass(frozen=True, slots=True)
class PreviewAccepted:
    agent_id: str
    task_id: str
    now: float


@dataclass(frozen=True, slots=True)
class PreviewSkipped:
    agent_id: str
    task_id: str
    now: float


@dataclass(frozen=True, slots=True)
class CampaignControl:
    action: Control
    now: float


DialerEvent = (
    Tick | AgentsAvailable | CallResult | PreviewAccepted | PreviewSkipped | CampaignControl
)


# == commands ================================================================================
@dataclass(frozen=True, slots=True)
class DialNumber:
    call_id: str
    task_id: str
    number: str
    attempt: int
    agent_id: str | None  # the claimed agent (preview, progressive); None in predictive


@dataclass(frozen=True, slots=True)
class ReserveAgent:
    """Preview: keep the agent out of the ACD's rotation while the task is shown."""

    agent_id: str
    task_id: str


@dataclass(frozen=True, slots=True)
class OfferPreview:
    agent_id: str
    task: Task
    attempt: int


@dataclass(frozen=True, slots=True)
class ReleaseAgent:
    agent_id: str
    task_id: str


@dataclass(frozen=True, slots=True)
class ConnectCall:
    """The customer answered: hand the call to the ACD for `agent_id` (as its owner)."""

    call_id: str
    task_id: str
    agent_id: str
    queue: str
    number: str
    customer_id: str | None


@dataclass(frozen=True, slots=True)
class DropCall:
    """The customer answered with no agent free: play the short message and hang up."""

    call_id: str
    task_id: str


@dataclass(frozen=True, slots=True)
class TaskUpdated:
    task_id: str
    status: TaskStatus
    attempts: int
    last_outcome: str | None  # a DialOutcome value or "abandoned"
    next_at: float | None  # when a pending task may be dialled again


@dataclass(frozen=True, slots=True)
class CampaignFinished:
    name: str
    state: CampaignState


DialerCommand = (
    DialNumber
    | ReserveAgent
    | OfferPreview
    | ReleaseAgent
    | ConnectCall
    | DropCall
    | TaskUpdated
    | CampaignFinished
)


# == runtime =================================================================================
class _Task:
    __slots__ = ("attempts", "due", "last", "status", "task")

    def __init__(self, task: Task) -> None:
        self.task = task
        self.status = TaskStatus.PENDING
        self.attempts = 0
        self.due = 0.0
        self.last: str | None = None


@dataclass(slots=True)
class _Call:
    call_id: str
    task: _Task
    agent: str | None


@dataclass(slots=True)
class Counts:
    dialed: int = 0
    answered: int = 0  # customer answered (connected + abandoned)
    connected: int = 0
    abandoned: int = 0
    busy: int = 0
    no_answer: int = 0
    failed: int = 0
    skipped: int = 0

    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0


class Dialer:
    """One campaign's dialer. Feed events to `handle`; carry out the commands it returns."""

    def __init__(
        self,
        config: CampaignConfig,
        tasks: Iterable[Task],
        state: CampaignState = CampaignState.DRAFT,
    ) -> None:
        self.config = config
        self.state = state
        self.tasks: dict[str, _Task] = {}
        self._due: list[tuple[float, int, str]] = []
        self._seq = 0
        for t in tasks:
            self.add(t)
        self.idle: list[str] = []  # the ACD's idle agents, longest idle first
        self.calls: dict[str, _Call] = {}
        self.claimed: dict[str, str] = {}  # agent -> call id or task id (preview)
        self.previews: dict[str, tuple[_Task, float]] = {}  # agent -> task, shown at
        self.counts = Counts()
        self._answers: deque[bool] = deque(maxlen=config.pacing.answer_window)
        self._drops: deque[bool] = deque(maxlen=config.pacing.window)
        self.gain = 0.0  # 0: ratio 1.0; 1: ratio 1/answer rate
        self._finished = False

    # -- setup / restore ----------------------------------------------------------------------
    def add(
        self,
        task: Task,
        status: TaskStatus = TaskStatus.PENDING,
        attempts: int = 0,
        due: float = 0.0,
        last: str | None = None,
    ) -> None:
        """Add a task (a stored one keeps its attempts, due time and status)."""
        if task.id in self.tasks:
            raise CoreError(f"campaign {self.config.name}: task {task.id!r} listed twice")
        t = _Task(task)
        # A task that was out when the service stopped is dialled again.
        if status in (TaskStatus.PREVIEWING, TaskStatus.DIALING):
            status = TaskStatus.PENDING
        t.status, t.attempts, t.due, t.last = status, attempts, due, last
        self.tasks[task.id] = t
        if status is TaskStatus.PENDING:
            self._push(t)

    def _push(self, t: _Task) -> None:
        self._seq += 1
        heapq.heappush(self._due, (t.due, self._seq, t.task.id))

    # -- public -------------------------------------------------------------------------------
    def handle(self, event: DialerEvent) -> list[DialerCommand]:
        out: list[DialerCommand] = []
        if isinstance(event, Tick):
            self._expire_previews(event.now, out)
            self._pace(event.now, event.local, out)
        elif isinstance(event, AgentsAvailable):
            self._agents(event, out)
        elif isinstance(event, CallResult):
            self._result(event, out)
        elif isinstance(event, PreviewAccepted):
            self._accepted(event, out)
        elif isinstance(event, PreviewSkipped):
            self._skipped(event, out)
        else:
            self._control(event, out)
        self._check_finished(out)
        return out

    def ratio(self) -> float:
        """Calls out per free agent now: 1.0 except in predictive mode."""
        if self.config.mode is not Mode.PREDICTIVE:
            return 1.0
        p = self.config.pacing
        if len(self._answers) < p.min_sample or self.recent_abandon_rate() > p.abandon_cap:
            return 1.0
        rate = sum(self._answers) / len(self._answers)
        full = p.max_ratio if rate <= 0 else min(p.max_ratio, 1.0 / rate)
        return 1.0 + (full - 1.0) * self.gain

    def recent_abandon_rate(self) -> float:
        return sum(self._drops) / len(self._drops) if self._drops else 0.0

    def pending(self) -> int:
        return sum(1 for t in self.tasks.values() if t.status is TaskStatus.PENDING)

    def status_counts(self) -> dict[TaskStatus, int]:
        out = dict.fromkeys(TaskStatus, 0)
        for t in self.tasks.values():
            out[t.status] += 1
        return out

    # -- internals ----------------------------------------------------------------------------
    def _free_agents(self) -> list[str]:
        return [a for a in self.idle if a not in self.claimed]

    def _next_task(self, now: float) -> _Task | None:
        while self._due:
            due, _, tid = self._due[0]
            t = self.tasks[tid]
            if t.status is not TaskStatus.PENDING or t.due != due:
                heapq.heappop(self._due)  # stale entry
                continue
            if due > now:
                return None
            heapq.heappop(self._due)
            return t
        return None

    def _pace(self, now: float, local: dt.time, out: list[DialerCommand]) -> None:
        if self.state is not CampaignState.RUNNING or not self.config.hours.allows(local):
            return
        mode = self.config.mode
        free = self._free_agents()
        if mode is Mode.PREVIEW:
            for agent in free:
                t = self._next_task(now)
                if t is None:
                    return
                t.status = TaskStatus.PREVIEWING
                self.claimed[agent] = t.task.id
                self.previews[agent] = (t, now)
                out.append(ReserveAgent(agent, t.task.id))
                out.append(OfferPreview(agent, t.task, t.attempts + 1))
                out.append(self._update(t))
        elif mode is Mode.PROGRESSIVE:
            for agent in free:
                t = self._next_task(now)
                if t is None:
                    return
                self._dial(t, agent, out)
        else:
            unclaimed_calls = sum(1 for c in self.calls.values() if c.agent is None)
            want = math.floor(len(free) * self.ratio() + 1e-9) - unclaimed_calls
            for _ in range(max(0, want)):
                t = self._next_task(now)
                if t is None:
                    return
                self._dial(t, None, out)

    def _dial(self, t: _Task, agent: str | None, out: list[DialerCommand]) -> None:
        t.attempts += 1
        t.status = TaskStatus.DIALING
        call_id = f"{self.config.name}-{t.task.id}-{t.attempts}"
        self.calls[call_id] = _Call(call_id, t, agent)
        if agent is not None:
            self.claimed[agent] = call_id
        self.counts.dialed += 1
        out.append(DialNumber(call_id, t.task.id, t.task.number, t.attempts, agent))
        out.append(self._update(t))

    def _update(self, t: _Task) -> TaskUpdated:
        nxt = t.due if t.status is TaskStatus.PENDING else None
        return TaskUpdated(t.task.id, t.status, t.attempts, t.last, nxt)

    def _agents(self, e: AgentsAvailable, out: list[DialerCommand]) -> None:
        self.idle = list(e.idle)

    def _pick_agent(self, c: _Call) -> str | None:
        """Owner if idle in the queue, else the claimed agent, else the longest idle.

        Preview is the exception: the agent who accepted the task takes its call.

        An owner claimed by another call still out swaps claims with this call's agent, so
        the owner gets its customer and the other call still has an agent.
        """
        owner = c.task.task.owner_agent
        idle = self.idle
        if self.config.mode is Mode.PREVIEW and c.agent in idle:
            return c.agent  # the agent who accepted the preview takes the call
        if owner is not None and owner in idle:
            holder = self.claimed.get(owner)
            if holder is None or holder == c.call_id:
                return owner
            other = self.calls.get(holder)
            if other is not None and c.agent is not None and c.agent in idle:
                other.agent = c.agent
                self.claimed[c.agent] = other.call_id
                self.claimed[owner] = c.call_id
                c.agent = owner
                return owner
        if c.agent is not None and c.agent in idle:
            return c.agent
        free = self._free_agents()
        return free[0] if free else None

    def _result(self, e: CallResult, out: list[DialerCommand]) -> None:
        c = self.calls.get(e.call_id)
        if c is None:
            raise CoreError(f"campaign {self.config.name}: no call {e.call_id!r} is out")
        t = c.task
        answered = e.outcome is DialOutcome.ANSWERED
        agent = self._pick_agent(c) if answered else None
        del self.calls[e.call_id]
        if c.agent is not None and self.claimed.get(c.agent) == c.call_id:
            del self.claimed[c.agent]
        self._answers.append(answered)
        if answered:
            self.counts.answered += 1
            if agent is not None:
                self.idle.remove(agent)  # the ACD rings it now; the next update confirms
                self.counts.connected += 1
                self._drops.append(False)
                t.status, t.last = TaskStatus.CONNECTED, DialOutcome.ANSWERED.value
                out.append(
                    ConnectCall(
                        c.call_id,
                        t.task.id,
                        agent,
                        self.config.queue,
                        t.task.number,
                        t.task.customer_id,
                    )
                )
                out.append(self._update(t))
            else:
                self.counts.abandoned += 1
                self._drops.append(True)
                out.append(DropCall(c.call_id, t.task.id))
                self._retry(t, ABANDONED, e.now, out)
        else:
            if e.outcome is DialOutcome.BUSY:
                self.counts.busy += 1
            elif e.outcome is DialOutcome.NO_ANSWER:
                self.counts.no_answer += 1
            else:
                self.counts.failed += 1
            if c.agent is not None:
                out.append(ReleaseAgent(c.agent, t.task.id))
            self._retry(t, e.outcome.value, e.now, out)
        self._adapt()

    def _retry(self, t: _Task, key: str, now: float, out: list[DialerCommand]) -> None:
        t.last = key
        if self.state is CampaignState.STOPPED:
            t.status = TaskStatus.CANCELLED
        elif t.attempts >= self.config.max_attempts:
            t.status = TaskStatus.EXHAUSTED
        else:
            t.status = TaskStatus.PENDING
            t.due = now + self.config.delay(key)
            self._push(t)
        out.append(self._update(t))

    def _adapt(self) -> None:
        """Move the gain: down fast when abandons near the cap, up slowly when clear."""
        if self.config.mode is not Mode.PREDICTIVE:
            return
        p = self.config.pacing
        rate = self.recent_abandon_rate()
        if rate > p.abandon_cap:
            self.gain = 0.0
        elif rate > p.abandon_cap * p.aim:
            self.gain = max(0.0, self.gain - 4 * p.step)
        else:
            self.gain = min(1.0, self.gain + p.step)

    def _preview_of(self, agent: str, task_id: str) -> _Task:
        shown = self.previews.get(agent)
        if shown is None or shown[0].task.id != task_id:
            raise CoreError(f"agent {agent} is not previewing task {task_id!r}")
        del self.previews[agent]
        return shown[0]

    def _accepted(self, e: PreviewAccepted, out: list[DialerCommand]) -> None:
        t = self._preview_of(e.agent_id, e.task_id)
        del self.claimed[e.agent_id]
        self._dial(t, e.agent_id, out)

    def _skipped(self, e: PreviewSkipped, out: list[DialerCommand]) -> None:
        t = self._preview_of(e.agent_id, e.task_id)
        del self.claimed[e.agent_id]
        t.status, t.last = TaskStatus.SKIPPED, "skipped"
        self.counts.skipped += 1
        out.append(ReleaseAgent(e.agent_id, t.task.id))
        out.append(self._update(t))

    def _expire_previews(self, now: float, out: list[DialerCommand]) -> None:
        for agent, (t, shown) in list(self.previews.items()):
            if (
                now - shown >= self.config.preview_timeout
                or self.state is not CampaignState.RUNNING
            ):
                del self.previews[agent]
                del self.claimed[agent]
                t.status = TaskStatus.PENDING
                self._push(t)
                out.append(ReleaseAgent(agent, t.task.id))
                out.append(self._update(t))

    def _control(self, e: CampaignControl, out: list[DialerCommand]) -> None:
        nxt = _CONTROL.get((self.state, e.action))
        if nxt is None:
            raise CoreError(
                f"campaign {self.config.name}: cannot {e.action.value} when {self.state.value}"
            )
        self.state = nxt
        if nxt is CampaignState.STOPPED:
            for agent, (t, _) in list(self.previews.items()):
                del self.previews[agent]
                del self.claimed[agent]
                out.append(ReleaseAgent(agent, t.task.id))
            for t in self.tasks.values():
                if t.status in (TaskStatus.PENDING, TaskStatus.PREVIEWING):
                    t.status = TaskStatus.CANCELLED
                    out.append(self._update(t))
        elif nxt is CampaignState.PAUSED:
            self._expire_previews(e.now, out)

    def _check_finished(self, out: list[DialerCommand]) -> None:
        if self._finished or self.calls or self.previews:
            return
        if self.state is CampaignState.STOPPED or (
            self.state is CampaignState.RUNNING
            and all(t.status in DONE for t in self.tasks.values())
        ):
            if self.state is CampaignState.RUNNING:
                self.state = CampaignState.FINISHED
            self._finished = True
            out.append(CampaignFinished(self.config.name, self.state))


def parse_mode(text: str) -> Mode:
    try:
        return Mode(text.strip().lower())
    except ValueError:
        raise ConfigInvalid(
            f"mode {text!r} is not one of {', '.join(m.value for m in Mode)}"
        ) from None
