"""Erlang C: the M/M/c queue's waiting probability, service level, ASA and staffing.

Used by `kefu staff` and by the simulator's validation tests. Erlang B is computed with
the stable recurrence B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1)), and Erlang C from it:
C = c·B / (c - A·(1 - B)). No factorials, so hundreds of agents are fine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of an M/M/c/c system with offered load `load` (Erlangs)."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability that a caller waits (M/M/c); 1.0 when the queue is unstable."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def service_level(agents: int, load: float, aht: float, answer_within: float) -> float:
    """Share of callers answered within `answer_within` seconds (no abandonment)."""
    if agents <= load:
        return 0.0
    c = erlang_c(agents, load)
    return 1.0 - c * math.exp(-(agents - load) * answer_within / aht)


def average_speed_of_answer(agents: int, load: float, aht: float) -> float:
    """Mean wait in seconds over all callers (M/M/c)."""
    if agents <= load:
        return math.inf
    return erlang_c(agents, load) * aht / (agents - load)


@dataclass(frozen=True, slots=True)
class Staffing:
    """Agents needed for one interval and what they achieve."""

    calls: float
    load: float  # Erlangs
    agents: int
    service_level: float
    asa: float
    occupancy: float


def agents_needed(
    calls: float,
    aht: float,
    interval_seconds: float,
    target: float,
    answer_within: float,
    max_occupancy: float = 1.0,
) -> Staffing:
    """The fewest agents whose Erlang C service level meets `target` in the interval."""
    load = calls * aht / interval_seconds
    n = max(1, math.floor(load) + 1) if load > 0 else 0
    if n == 0:
        return Staffing(calls, 0.0, 0, 1.0, 0.0, 0.0)
    while service_level(n, load, aht, answer_within) < target or load / n > max_occupancy:
        n += 1
    return Staffing(
        calls,
        load,
        n,
        service_level(n, load, aht, answer_within),
        average_speed_of_answer(n, load, aht),
        load / n,
    )
