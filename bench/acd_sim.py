"""Benchmark: the simulator driving the real ACD core, against a bare heapq M/M/c loop.

Prints, from one run:
1. simulated calls/s for N calls (1,000,000; --quick: 100,000) through 1,000 agents,
   20 queues and 10 skills, with abandonment and 10 s after-call work;
2. the same rate for a minimal heapq M/M/c loop with no routing logic (the floor), the
   same arrival rate, servers and talk time;
3. their ratio;
4. routing-decision latency (p50/p99 of `ContactCenter.handle`) with 10,000 agents logged
   in and 1,000 calls waiting: an agent freeing up and taking the best waiting call, and a
   call arriving while agents are idle.

Rates use process CPU time (time.process_time), so other load on the machine does not
distort the ratio; latencies use perf_counter_ns around each decision.

Usage: python bench/acd_sim.py [--quick] [--calls N] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import os
import random
import statistics
import time
from collections import deque

from kefu.core.acd import CenterConfig, ContactCenter
from kefu.core.agent import AgentState
from kefu.core.commands import RingAgent
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLoggedIn,
    CallArrived,
    CallerHungUp,
    StateRequested,
)
from kefu.core.queue import QueueConfig, Strategy
from kefu.telephony.scenario import (
    AgentSpec,
    ArrivalSpec,
    Distribution,
    QueueSpec,
    Scenario,
)
from kefu.telephony.sim import Simulation

AGENTS = 1000
QUEUES = 20
SKILLS = 10
TALK = 180.0
ACW = 10.0
OCCUPANCY = 0.85
STRATEGIES = [Strategy.LONGEST_IDLE, Strategy.ROUND_ROBIN, Strategy.FEWEST_CALLS, Strategy.RANDOM]


def center_scenario(calls: int) -> Scenario:
    """1,000 agents in 10 skill groups of 100 (each agent has 2 skills), 20 queues."""
    total_rate = OCCUPANCY * AGENTS / (TALK + ACW)  # calls per second
    hours = calls / total_rate / 3600.0
    queues = [
        QueueSpec(
            name=f"q{i}",
            skills={f"s{i % SKILLS}": 1},
            strategy=STRATEGIES[i % len(STRATEGIES)],
            priority=i % 3,
            talk_time=Distribution(mean=TALK),
            patience=Distribution(mean=600.0),
        )
        for i in range(QUEUES)
    ]
    arrivals = [
        ArrivalSpec(queue=f"q{i}", rates=[total_rate * 3600.0 / QUEUES]) for i in range(QUEUES)
    ]
    agents = [
        AgentSpec(
            group=f"g{k}",
            count=AGENTS // SKILLS,
            skills={f"s{k}": 5, f"s{(k + 1) % SKILLS}": 2},
        )
        for k in range(SKILLS)
    ]
    return Scenario(
        name="bench",
        hours=hours,
        interval_minutes=60,
        acw_seconds=ACW,
        queues=queues,
        arrivals=arrivals,
        agents=agents,
    )


def run_core(calls: int, seed: int) -> tuple[float, int]:
    """Calls per second of wall time through the simulator + core."""
    sim = Simulation(center_scenario(calls), seed)
    t0 = time.process_time()
    res = sim.run()
    wall = time.process_time() - t0
    done = sum(k.answered + k.abandoned for k in res.queues.values())
    return done / wall, done


def run_floor(calls: int, seed: int) -> float:
    """Calls per second of a bare M/M/c heapq loop: same load, no routing, no core."""
    rng = random.Random(seed)
    expo = rng.expovariate
    lam = OCCUPANCY * AGENTS / (TALK + ACW)
    mu = 1.0 / (TALK + ACW)
    events: list[tuple[float, int]] = [(expo(lam), 0)]
    free = AGENTS
    line: deque[float] = deque()
    arrived = done = 0
    t0 = time.process_time()
    while events:
        t, kind = heapq.heappop(events)
        if kind == 0:
            arrived += 1
            if arrived < calls:
                heapq.heappush(events, (t + expo(lam), 0))
            if free:
                free -= 1
                done += 1
                heapq.heappush(events, (t + expo(mu), 1))
            else:
                line.append(t)
        elif line:
            line.popleft()
            done += 1
            heapq.heappush(events, (t + expo(mu), 1))
        else:
            free += 1
    return done / (time.process_time() - t0)


Timing = tuple[list[float], list[float]]  # wall µs, thread-CPU µs


def routing_latency(seed: int) -> tuple[Timing, Timing]:
    """Latency (µs) of routing decisions with 10,000 agents and 1,000 waiting calls.

    Each decision is timed twice: wall clock (perf_counter_ns), which includes any
    preemption by other processes, and this thread's CPU time (thread_time_ns), which
    does not.
    """
    rng = random.Random(seed)
    n_agents, waiting = 10_000, 1_000
    queues = tuple(
        QueueConfig(
            f"q{i}",
            skills={f"s{i % SKILLS}": 1},
            strategy=STRATEGIES[i % 4],
            priority=i % 3,
            announce=False,
        )
        for i in range(QUEUES)
    )
    cc = ContactCenter(
        CenterConfig(queues=queues, acw_seconds=0.0, emit_state_changes=False),
        rng=random.Random(seed),
    )
    now = 0.0
    for j in range(n_agents):
        k = j % SKILLS
        cc.handle(AgentLoggedIn(f"a{j}", now, skills={f"s{k}": 5, f"s{(k + 1) % SKILLS}": 2}))
    # Fill every agent with a call, then queue 1,000 more.
    n = 0
    for _ in range(n_agents + waiting):
        n += 1
        now += 0.001
        for cmd in cc.handle(
            CallArrived(
                f"c{n}",
                "13800138000",
                "",
                now,
                queue=f"q{rng.randrange(QUEUES)}",
                priority=rng.randrange(3),
            )
        ):
            if isinstance(cmd, RingAgent):
                cc.handle(AgentAnswered(cmd.agent_id, cmd.call_id, now))
    assert sum(1 for c in cc.calls.values() if c.state.name == "QUEUED") == waiting
    gc.collect()
    gc.freeze()  # the 10,000 agents are long-lived: keep them out of GC passes
    # (a) an agent hangs up and, being free, takes the best waiting call among its queues
    freeing: list[float] = []
    freeing_cpu: list[float] = []
    perf = time.perf_counter_ns
    cpu = time.thread_time_ns
    for _ in range(5_000):
        now += 0.01
        a = cc.agents[f"a{rng.randrange(n_agents)}"]
        if a.state is not AgentState.ON_CALL or a.call is None:
            continue
        ev = AgentHungUp(a.id, a.call.id, now)
        c0 = cpu()
        t0 = perf()
        cmds = cc.handle(ev)  # hang-up, ACW 0, idle, routing decision, ring
        t1 = perf()
        freeing_cpu.append((cpu() - c0) / 1000.0)
        freeing.append((t1 - t0) / 1000.0)
        for cmd in cmds:
            if isinstance(cmd, RingAgent):
                cc.handle(AgentAnswered(cmd.agent_id, cmd.call_id, now))
        n += 1  # keep 1,000 waiting
        for cmd in cc.handle(
            CallArrived(f"c{n}", "13800138000", "", now, queue=f"q{rng.randrange(QUEUES)}")
        ):
            if isinstance(cmd, RingAgent):
                cc.handle(AgentAnswered(cmd.agent_id, cmd.call_id, now))
    # (b) arrivals while agents are idle: free half the agents, then time arrivals
    for c in list(cc.calls.values()):
        if c.state.name == "QUEUED":
            cc.handle(CallerHungUp(c.id, now))
    for j in range(0, n_agents, 2):
        a = cc.agents[f"a{j}"]
        if a.state is AgentState.ON_CALL and a.call is not None:
            cc.handle(AgentHungUp(a.id, a.call.id, now))
    arriving: list[float] = []
    arriving_cpu: list[float] = []
    for _ in range(2_000):
        now += 0.01
        n += 1
        ev = CallArrived(f"c{n}", "13800138000", "", now, queue=f"q{rng.randrange(QUEUES)}")
        c0 = cpu()
        t0 = perf()
        cmds = cc.handle(ev)
        t1 = perf()
        arriving_cpu.append((cpu() - c0) / 1000.0)
        arriving.append((t1 - t0) / 1000.0)
        for cmd in cmds:
            if isinstance(cmd, RingAgent):
                cc.handle(StateRequested(cmd.agent_id, AgentState.BUSY, now))
                cc.handle(StateRequested(cmd.agent_id, AgentState.IDLE, now))
    gc.unfreeze()
    return (freeing, freeing_cpu), (arriving, arriving_cpu)


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main() -> None:
    """Run all four measurements and print them."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100,000 calls instead of 1,000,000")
    ap.add_argument("--calls", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    calls = args.calls or (100_000 if args.quick else 1_000_000)
    print(
        f"ACD simulation benchmark: {calls:,} calls, {AGENTS} agents, {QUEUES} queues, "
        f"{SKILLS} skills, occupancy target {OCCUPANCY:.0%}"
    )
    floor = run_floor(calls, args.seed)
    rate, done = run_core(calls, args.seed)
    print(
        f"  simulator + core : {rate:12,.0f} calls/s  ({done:,} calls in {done / rate:6.1f} s CPU)"
    )
    print(f"  bare M/M/c loop  : {floor:12,.0f} calls/s  ({calls / floor:6.1f} s CPU)")
    print(f"  ratio            : {floor / rate:12.1f} x slower than the floor (target <= 4x)")
    freeing, arriving = routing_latency(args.seed)
    print("routing decisions, 10,000 agents logged in, 1,000 calls waiting (target p99 < 1 ms):")
    for label, (wall, cpu) in (
        ("agent frees up, takes best waiting call", freeing),
        ("call arrives, takes best idle agent    ", arriving),
    ):
        print(
            f"  {label}: wall p50 {statistics.median(wall):6.1f} us p99 {_pct(wall, 0.99):7.1f} us"
            f" | CPU p50 {statistics.median(cpu):6.1f} us p99 {_pct(cpu, 0.99):7.1f} us"
            f"  (n={len(wall)})"
        )
    load = os.getloadavg()[0]
    print(f"machine load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
