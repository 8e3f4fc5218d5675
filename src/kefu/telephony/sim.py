"""The discrete-event simulator: virtual time, the real core.

A heap of simulated events (arrivals, hang-ups, abandonments, answers, shifts and breaks,
interval ticks) is merged with the core's own deadlines (`next_deadline()` /
`handle_timer(now)`). Each event is turned into the same core event the SIP adapter would
send, and the commands that come back are interpreted the way a switch would: `RingAgent`
makes the phone answer after `answer_delay` (or not, with the group's `no_answer` chance),
`CallRecord(ANSWERED)` starts the talk time, and so on. KPIs are built from the core's
`CallRecord` and `CallHandled` commands, so what is measured here is what production
reports.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kefu.core.acd import ContactCenter
from kefu.core.agent import AgentState
from kefu.core.call import Outcome
from kefu.core.commands import CallHandled, CallRecord, PlayAnnouncement, RingAgent
from kefu.core.errors import CoreError
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLoggedIn,
    AgentLoggedOut,
    CallArrived,
    CallerHungUp,
    StateRequested,
)
from kefu.telephony.scenario import Distribution, Scenario, clock_seconds

_ARRIVAL, _HANGUP, _ABANDON, _ANSWER, _LOGIN, _LOGOUT, _BREAK, _BREAK_END, _TICK = range(9)
_DRAIN_SECONDS = 4 * 3600.0  # after arrivals stop, calls in progress may finish this long
_BUSY_STATES = (
    AgentState.RINGING,
    AgentState.ON_CALL,
    AgentState.ON_HOLD,
    AgentState.AFTER_CALL_WORK,
)
_STAFFED_STATES = (AgentState.IDLE, *_BUSY_STATES)


def sampler(d: Distribution, rng: random.Random) -> Callable[[], float]:
    """A function drawing durations from the distribution."""
    mean = d.mean
    if d.distribution == "constant":
        return lambda: mean
    if d.distribution == "lognormal":
        sd = d.sd if d.sd is not None else mean
        sigma = math.sqrt(math.log(1.0 + (sd / mean) ** 2))
        mu = math.log(mean) - sigma * sigma / 2.0
        lognorm = rng.lognormvariate
        return lambda: lognorm(mu, sigma)
    rate = 1.0 / mean
    expo = rng.expovariate
    return lambda: expo(rate)


@dataclass(slots=True)
class QueueKpi:
    """Counters for one queue (and one interval, or the whole run)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0  # to another queue, voicemail, callback, or rejected at max wait
    answered_in_time: int = 0
    wait_answered: float = 0.0
    wait_abandoned: float = 0.0
    longest_wait: float = 0.0
    handled: int = 0
    handle_time: float = 0.0

    def add(self, o: QueueKpi) -> None:
        """Accumulate another counter set."""
        self.offered += o.offered
        self.answered += o.answered
        self.abandoned += o.abandoned
        self.overflowed += o.overflowed
        self.answered_in_time += o.answered_in_time
        self.wait_answered += o.wait_answered
        self.wait_abandoned += o.wait_abandoned
        self.longest_wait = max(self.longest_wait, o.longest_wait)
        self.handled += o.handled
        self.handle_time += o.handle_time

    @property
    def service_level(self) -> float:
        """Answered within the threshold / (answered + abandoned)."""
        d = self.answered + self.abandoned
        return self.answered_in_time / d if d else 1.0

    @property
    def asa(self) -> float:
        """Average speed of answer (seconds) of answered calls."""
        return self.wait_answered / self.answered if self.answered else 0.0

    @property
    def aht(self) -> float:
        """Average handle time (talk + after-call work) of calls finished."""
        return self.handle_time / self.handled if self.handled else 0.0


@dataclass(slots=True)
class AgentKpi:
    """Totals for one agent group."""

    agents: int = 0
    answered: int = 0
    missed: int = 0
    staffed_seconds: float = 0.0
    busy_seconds: float = 0.0

    @property
    def occupancy(self) -> float:
        """Time handling calls / time available or handling calls."""
        return self.busy_seconds / self.staffed_seconds if self.staffed_seconds else 0.0


@dataclass(slots=True)
class SimResult:
    """What a run produced."""

    scenario: str
    seed: int
    interval_seconds: float
    start_seconds: float
    answer_within: float
    target: float
    intervals: dict[tuple[int, str], QueueKpi] = field(default_factory=dict)
    occupancy: dict[int, float] = field(default_factory=dict)  # interval -> center-wide
    queues: dict[str, QueueKpi] = field(default_factory=dict)
    agent_groups: dict[str, AgentKpi] = field(default_factory=dict)
    agents: dict[str, AgentKpi] = field(default_factory=dict)  # per agent (agents = 1)
    rejected: int = 0  # blacklist or no queue, before any queue
    ivr_exits: int = 0
    still_waiting: int = 0
    arrivals: int = 0
    events: int = 0
    # Announced estimated wait vs the wait that followed (callers who joined a line).
    ewt_calls: int = 0
    ewt_estimated: float = 0.0
    ewt_actual: float = 0.0
    ewt_abs_error: float = 0.0
    ewt_naive_abs_error: float = 0.0  # announcing the mean wait of answered calls so far
    wall_seconds: float = 0.0

    def interval_label(self, index: int) -> str:
        """'08:30' for an interval index."""
        t = self.start_seconds + index * self.interval_seconds
        return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}"


class Simulation:
    """One run of a scenario against a fresh `ContactCenter`."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        self.sc = scenario
        self.seed = seed if seed is not None else (scenario.seed or 0)
        self.rng = random.Random(self.seed)
        self.center = ContactCenter(
            scenario.center_config(), rng=random.Random(self.seed + 1_000_003)
        )
        self.start = clock_seconds(scenario.start)
        self.duration = scenario.duration()
        self.interval = scenario.interval_minutes * 60.0
        self.rate_period = scenario.rate_minutes * 60.0
        self.answer_within = scenario.service_level.answer_within
        self._events: list[tuple[float, int, int, Any, Any]] = []
        self._seq = 0
        self._waiting: dict[str, int] = {}  # call id -> abandonment token (calls not answered)
        self._talk: dict[str, Callable[[], float]] = {
            q.name: sampler(q.talk_time, self.rng) for q in scenario.queues
        }
        self._patience: dict[str, Callable[[], float] | None] = {
            q.name: (sampler(q.patience, self.rng) if q.patience else None) for q in scenario.queues
        }
        self._queue_of_number = {n: q.name for q in scenario.queues for n in q.numbers}
        self._no_answer: dict[str, float] = {}
        self._answer_delay = scenario.answer_delay
        # First estimate announced to each caller, and the naive one (mean wait so far).
        self._announced: dict[str, tuple[float, float]] = {}
        self._waits = [0.0, 0]
        self._handle = self.center.handle
        self._group_of: dict[str, str] = {}
        self.result = SimResult(
            scenario.name,
            self.seed,
            self.interval,
            self.start,
            self.answer_within,
            scenario.service_level.target,
        )

    # -- scheduling -------------------------------------------------------------------------
    def _push(self, t: float, kind: int, a: Any = None, b: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, self._seq, kind, a, b))

    def _next_arrival(self, stream: int, t: float) -> float | None:
        """Next arrival of a piecewise-constant Poisson stream after `t` (None: no more)."""
        rates = self.sc.arrivals[stream].rates
        period = self.rate_period
        while t < self.duration:
            k = min(int(t // period), len(rates) - 1)
            rate = rates[k] / 3600.0
            boundary = (k + 1) * period if k < len(rates) - 1 else self.duration
            boundary = min(boundary, self.duration)
            if rate > 0:
                nxt = t + self.rng.expovariate(rate)
                if nxt < boundary:
                    return nxt
            t = boundary  # memoryless: restart at the rate change
        return None

    def _schedule_agents(self) -> None:
        sc = self.sc
        for i, spec in enumerate(sc.agents):
            for aid in sc.agent_ids(i):
                self._no_answer[aid] = spec.no_answer
                self._group_of[aid] = spec.group
                shifts: list[str | None] = list(spec.shifts) or [None]
                for shift in shifts:
                    if shift is None:
                        begin, end = 0.0, None
                    else:
                        s, _, e = shift.partition("-")
                        begin = clock_seconds(s) - self.start
                        end = clock_seconds(e) - self.start
                    self._push(max(begin, 0.0), _LOGIN, aid, i)
                    if end is not None:
                        self._push(end, _LOGOUT, aid)
                for br in spec.breaks:
                    at = clock_seconds(br.at) - self.start
                    if at >= 0:
                        self._push(at, _BREAK, aid, 0)
                        self._push(at + br.minutes * 60.0, _BREAK_END, aid)
            self.result.agent_groups[spec.group] = AgentKpi(agents=spec.count)

    # -- KPIs -------------------------------------------------------------------------------
    def _kpi(self, queue: str, t: float) -> QueueKpi:
        key = (int(t // self.interval), queue)
        k = self.result.intervals.get(key)
        if k is None:
            k = self.result.intervals[key] = QueueKpi()
        return k

    def _on_record(self, r: CallRecord, now: float) -> None:
        if not r.queue:
            self.result.rejected += 1
            self._waiting.pop(r.call_id, None)
            return
        waited = r.waited
        k = self._kpi(r.queue, now - waited)
        k.offered += 1
        if waited > k.longest_wait:
            k.longest_wait = waited
        o = r.outcome
        if o is Outcome.ANSWERED:
            est = self._announced.pop(r.call_id, None)
            if est is not None:
                res = self.result
                res.ewt_calls += 1
                res.ewt_estimated += est[0]
                res.ewt_actual += waited
                res.ewt_abs_error += abs(est[0] - waited)
                res.ewt_naive_abs_error += abs(est[1] - waited)
            self._waits[0] += waited
            self._waits[1] += 1
            k.answered += 1
            k.wait_answered += waited
            if waited <= self.answer_within:
                k.answered_in_time += 1
            self._waiting.pop(r.call_id, None)
            self._push(now + self._talk[r.queue](), _HANGUP, r.agent_id, r.call_id)
        elif o is Outcome.ABANDONED:
            self._announced.pop(r.call_id, None)
            k.abandoned += 1
            k.wait_abandoned += waited
        else:
            k.overflowed += 1
            if o is not Outcome.OVERFLOWED:
                self._waiting.pop(r.call_id, None)

    def _apply(self, cmds: list[Any], now: float) -> None:
        for cmd in cmds:
            t = type(cmd)
            if t is CallRecord:
                self._on_record(cmd, now)
            elif t is RingAgent:
                p = self._no_answer[cmd.agent_id]
                if p and self.rng.random() < p:
                    continue  # the ring timeout will fire in the core
                if self._answer_delay > 0:
                    self._push(now + self._answer_delay, _ANSWER, cmd.agent_id, cmd.call_id)
                else:
                    self._apply(self._handle(AgentAnswered(cmd.agent_id, cmd.call_id, now)), now)
            elif t is CallHandled:
                k = self._kpi(cmd.queue, now)
                k.handled += 1
                k.handle_time += cmd.talk + cmd.acw
            elif t is PlayAnnouncement and cmd.call_id not in self._announced:
                w = self._waits
                self._announced[cmd.call_id] = (cmd.estimated_wait, w[0] / w[1] if w[1] else 0.0)

    def _tick(self, index: int, state: dict[str, float]) -> None:
        busy = staffed = 0.0
        now = index * self.interval
        for aid in self._group_of:
            a = self.center.agents.get(aid)
            if a is None:
                continue
            times = a.time_in
            cur = now - a.since
            b = sum(times[_IDX[s]] for s in _BUSY_STATES)
            st = b + times[_IDX[AgentState.IDLE]]
            if a.state in _BUSY_STATES:
                b += cur
                st += cur
            elif a.state is AgentState.IDLE:
                st += cur
            busy += b
            staffed += st
        d_st = staffed - state.get("staffed", 0.0)
        d_b = busy - state.get("busy", 0.0)
        state["staffed"], state["busy"] = staffed, busy
        if index > 0 and d_st > 0:
            self.result.occupancy[index - 1] = d_b / d_st

    # -- the loop ---------------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None = None) -> SimResult:
        """Run to the end of the scenario (plus draining); return the KPIs."""
        wall = time.perf_counter()
        sc = self.sc
        rng = self.rng
        center = self.center
        handle = center.handle
        handle_timer = center.handle_timer
        next_deadline = center.next_deadline
        apply = self._apply
        events = self._events
        res = self.result
        waiting = self._waiting
        patience = self._patience
        self._schedule_agents()
        for i in range(len(sc.arrivals)):
            t0 = self._next_arrival(i, 0.0)
            if t0 is not None:
                self._push(t0, _ARRIVAL, i)
        n_ticks = math.ceil((self.duration + _DRAIN_SECONDS) / self.interval) + 1
        for k in range(n_ticks):
            self._push(k * self.interval, _TICK, k)
        streams = [self._stream(i) for i in range(len(sc.arrivals))]
        tick_state: dict[str, float] = {}
        horizon = self.duration + _DRAIN_SECONDS
        inf = math.inf
        heappush = heapq.heappush
        heappop = heapq.heappop
        n_events = 0
        next_progress = 0.0
        step = max(self.duration / 200.0, 1.0)
        while True:
            dl = next_deadline()
            t_ev = events[0][0] if events else inf
            if dl is not None and dl <= t_ev:
                if dl > horizon:
                    break
                apply(handle_timer(dl), dl)
                n_events += 1
                continue
            if t_ev > horizon:
                break
            now, _, kind, a, b = heappop(events)
            n_events += 1
            if kind == _ARRIVAL:
                res.arrivals += 1
                cid, caller, dialed, queue, prio, owner = streams[a]()
                nxt = self._next_arrival(a, now)
                if nxt is not None:
                    self._seq += 1
                    heappush(events, (nxt, self._seq, _ARRIVAL, a, None))
                if queue == "":
                    res.ivr_exits += 1
                    continue
                waiting[cid] = 1
                apply(handle(CallArrived(cid, caller, dialed, now, queue, prio, owner)), now)
                if cid in waiting:
                    q = queue if queue is not None else self._queue_of_number.get(dialed)
                    draw = patience.get(q) if q is not None else None
                    if draw is not None:
                        self._seq += 1
                        heappush(events, (now + draw(), self._seq, _ABANDON, cid, None))
            elif kind == _HANGUP:
                apply(handle(AgentHungUp(a, b, now)), now)
            elif kind == _ABANDON:
                if a in waiting:
                    del waiting[a]
                    apply(handle(CallerHungUp(a, now)), now)
            elif kind == _ANSWER:
                ag = center.agents.get(a)
                if (
                    ag is not None
                    and ag.state is AgentState.RINGING
                    and ag.call is not None
                    and ag.call.id == b
                ):
                    apply(handle(AgentAnswered(a, b, now)), now)
            elif kind == _TICK:
                self._tick(a, tick_state)
                if now > self.duration and not center.calls:
                    break
                if progress is not None and now >= next_progress:
                    progress(min(now / self.duration, 1.0))
                    next_progress = now + step
            else:
                self._schedule_event(kind, a, b, now)
            if progress is not None and kind == _ARRIVAL and now >= next_progress:
                progress(min(now / self.duration, 1.0))
                next_progress = now + step
        res.events = n_events
        self._finish(horizon)
        res.wall_seconds = time.perf_counter() - wall
        if progress is not None:
            progress(1.0)
        _ = rng
        return res

    def _schedule_event(self, kind: int, aid: str, arg: Any, now: float) -> None:
        center = self.center
        try:
            if kind == _LOGIN:
                spec = self.sc.agents[arg]
                self._apply(
                    center.handle(AgentLoggedIn(aid, now, extension=aid, skills=dict(spec.skills))),
                    now,
                )
            elif kind == _LOGOUT:
                self._apply(center.handle(AgentLoggedOut(aid, now)), now)
            elif kind == _BREAK:
                self._apply(center.handle(StateRequested(aid, AgentState.BREAK, now)), now)
            elif kind == _BREAK_END:
                self._apply(center.handle(StateRequested(aid, AgentState.IDLE, now)), now)
        except CoreError:
            if kind == _BREAK and arg < 20:
                self._push(now + 15.0, _BREAK, aid, arg + 1)  # ringing now: try again soon

    def _stream(self, i: int) -> Callable[[], tuple[str, str, str, str | None, int, str | None]]:
        spec = self.sc.arrivals[i]
        rng = self.rng
        rand = rng.random
        counter = [0]
        prefixes = [c.prefix for c in spec.callers] or ["1380013"]
        weights = [c.weight for c in spec.callers] or [1.0]
        cum = []
        acc = 0.0
        for w in weights:
            acc += w
            cum.append(acc / sum(weights))
        dialed = spec.number or ""
        targets: list[str | None]
        if spec.ivr:
            names = list(spec.ivr)
            targets = ["" if n == "leave" else n for n in names]
            tcum = []
            acc = 0.0
            for n in names:
                acc += spec.ivr[n]
                tcum.append(acc)
        else:
            targets = [spec.queue]
            tcum = [1.0]
        owners: list[str] = []
        if spec.owner_share > 0 and spec.owner_group is not None:
            gi = [a.group for a in self.sc.agents].index(spec.owner_group)
            owners = self.sc.agent_ids(gi)
        prio = spec.priority
        share = spec.owner_share

        def draw() -> tuple[str, str, str, str | None, int, str | None]:
            counter[0] += 1
            cid = f"{i}-{counter[0]}"
            p = prefixes[bisect.bisect_left(cum, rand()) if len(cum) > 1 else 0]
            width = 11 - len(p)
            caller = p + (f"{rng.randrange(10**width):0{width}d}" if width > 0 else "")
            queue = targets[bisect.bisect_left(tcum, rand()) if len(tcum) > 1 else 0]
            owner = owners[rng.randrange(len(owners))] if owners and rand() < share else None
            return cid, caller, dialed, queue, prio, owner

        return draw

    def _finish(self, horizon: float) -> None:
        res = self.result
        for (_, qname), k in res.intervals.items():
            tot = res.queues.setdefault(qname, QueueKpi())
            tot.add(k)
        for q in self.sc.queues:
            res.queues.setdefault(q.name, QueueKpi())
        res.still_waiting = len(self.center.calls)
        end = min(horizon, max(self.duration, 0.0))
        for aid, group in self._group_of.items():
            a = self.center.agents.get(aid)
            if a is None:
                continue
            times = self.center.time_in_states(aid, max(end, a.since))
            busy = sum(times[s] for s in _BUSY_STATES)
            one = AgentKpi(1, a.answered, a.missed_total, busy + times[AgentState.IDLE], busy)
            res.agents[aid] = one
            g = res.agent_groups[group]
            g.answered += one.answered
            g.missed += one.missed
            g.busy_seconds += busy
            g.staffed_seconds += one.staffed_seconds


_IDX = {s: i for i, s in enumerate(AgentState)}


def simulate(
    scenario: Scenario, seed: int | None = None, progress: Callable[[float], None] | None = None
) -> SimResult:
    """Run a scenario once."""
    return Simulation(scenario, seed).run(progress)
