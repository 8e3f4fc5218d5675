"""Simulation scenarios: the YAML format, its validation (file:line errors) and conversion
to the core's configuration. The format is documented in docs/simulation.md.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kefu.core.acd import CenterConfig
from kefu.core.queue import OverflowKind, QueueConfig, Strategy
from kefu.core.routing import RoutingRule
from kefu.errors import KefuError

_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)$")


class ScenarioError(KefuError):
    """A scenario file is wrong; the message starts with `file:line:`."""


def clock_seconds(text: str) -> float:
    """'08:30' -> 30600.0 (hours may exceed 24 for multi-day runs)."""
    m = _CLOCK.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a HH:MM time")
    return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Distribution(_Model):
    """A positive random duration in seconds."""

    distribution: Literal["exponential", "lognormal", "constant"] = "exponential"
    mean: float = Field(gt=0)
    sd: float | None = Field(default=None, gt=0)


class OverflowSpec(_Model):
    """Where a call goes after `max_wait`."""

    to: Literal["queue", "voicemail", "callback", "reject"]
    queue: str | None = None


class QueueSpec(_Model):
    """A queue and how its calls behave."""

    name: str = Field(min_length=1)
    numbers: list[str] = []
    priority: int = 0
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: dict[str, int] = {}
    ring_timeout: float = Field(default=20.0, gt=0)
    max_wait: float | None = Field(default=None, gt=0)
    overflow: OverflowSpec | None = None
    owner_wait: float = Field(default=20.0, ge=0)
    announce: bool = False
    talk_time: Distribution
    patience: Distribution | None = None  # omitted: callers never abandon


class CallerMix(_Model):
    """Callers whose numbers start with `prefix` make up `weight` of a stream."""

    prefix: str = Field(pattern=r"^\d{1,11}$")
    weight: float = Field(gt=0)


class ArrivalSpec(_Model):
    """A Poisson stream of calls to a number (through the IVR) or straight to a queue."""

    number: str | None = None
    queue: str | None = None
    rates: list[float] = Field(min_length=1)  # calls per hour, one per `rate_minutes`
    ivr: dict[str, float] | None = None  # queue name (or 'leave') -> probability
    callers: list[CallerMix] = []
    priority: int = 0
    owner_share: float = Field(default=0.0, ge=0, le=1)  # callers who have their own agent
    owner_group: str | None = None

    @field_validator("rates")
    @classmethod
    def _non_negative(cls, v: list[float]) -> list[float]:
        if any(r < 0 or math.isnan(r) for r in v):
            raise ValueError("rates must be >= 0 calls per hour")
        return v


class BreakSpec(_Model):
    """A break (小休) at a clock time."""

    at: str
    minutes: float = Field(gt=0)

    @field_validator("at")
    @classmethod
    def _clock(cls, v: str) -> str:
        clock_seconds(v)
        return v


class AgentSpec(_Model):
    """A group of identical agents with shifts and breaks."""

    group: str = Field(min_length=1)
    count: int = Field(ge=1)
    skills: dict[str, int] = {}
    shifts: list[str] = []  # 'HH:MM-HH:MM'; empty: logged in for the whole run
    breaks: list[BreakSpec] = []
    no_answer: float = Field(default=0.0, ge=0, lt=1)  # chance an offer is not answered

    @field_validator("shifts")
    @classmethod
    def _shifts(cls, v: list[str]) -> list[str]:
        for s in v:
            start, sep, end = s.partition("-")
            if not sep or clock_seconds(end) <= clock_seconds(start):
                raise ValueError(f"shift {s!r} must be 'HH:MM-HH:MM' with end after start")
        return v


class RuleSpec(_Model):
    """A routing rule (region or number list to a queue or designated agents)."""

    name: str
    regions: list[str] = []
    numbers: list[str] = []
    queues: list[str] = []
    to_queue: str | None = None
    to_agents: list[str] = []
    wait: float = Field(default=20.0, ge=0)


class ServiceLevelSpec(_Model):
    """The service-level target, e.g. 80 % answered within 20 s."""

    answer_within: float = Field(default=20.0, gt=0)
    target: float = Field(default=0.8, gt=0, le=1)


class Scenario(_Model):
    """A whole simulation scenario."""

    name: str = "scenario"
    seed: int | None = None
    start: str = "00:00"
    hours: float | None = Field(default=None, gt=0)
    rate_minutes: float = Field(default=60.0, gt=0)
    interval_minutes: float = Field(default=30.0, gt=0)
    service_level: ServiceLevelSpec = ServiceLevelSpec()
    acw_seconds: float = Field(default=30.0, ge=0)
    answer_delay: float = Field(default=0.0, ge=0)
    max_missed_rings: int = Field(default=3, ge=1)
    queues: list[QueueSpec] = Field(min_length=1)
    arrivals: list[ArrivalSpec] = Field(min_length=1)
    agents: list[AgentSpec] = Field(min_length=1)
    rules: list[RuleSpec] = []
    blacklist: list[str] = []

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        clock_seconds(v)
        return v

    def duration(self) -> float:
        """Seconds during which calls arrive."""
        if self.hours is not None:
            return self.hours * 3600.0
        return max(len(a.rates) for a in self.arrivals) * self.rate_minutes * 60.0

    def agent_ids(self, spec_index: int) -> list[str]:
        """Agent ids of one group: '<group>-<n>'."""
        spec = self.agents[spec_index]
        return [f"{spec.group}-{i + 1}" for i in range(spec.count)]

    def center_config(self, emit_state_changes: bool = False) -> CenterConfig:
        """The core configuration this scenario describes."""
        queues = []
        for q in self.queues:
            kind = OverflowKind(q.overflow.to) if q.overflow else OverflowKind.REJECT
            queues.append(
                QueueConfig(
                    name=q.name,
                    numbers=tuple(q.numbers),
                    priority=q.priority,
                    strategy=q.strategy,
                    skills=dict(q.skills),
                    ring_timeout=q.ring_timeout,
                    max_wait=q.max_wait,
                    overflow=kind,
                    overflow_queue=q.overflow.queue if q.overflow else None,
                    owner_wait=q.owner_wait,
                    announce=q.announce,
                    aht_hint=q.talk_time.mean + self.acw_seconds,
                )
            )
        rules = tuple(
            RoutingRule(
                name=r.name,
                regions=tuple(r.regions),
                numbers=frozenset(r.numbers),
                queues=tuple(r.queues),
                to_queue=r.to_queue,
                to_agents=tuple(r.to_agents),
                wait=r.wait,
            )
            for r in self.rules
        )
        return CenterConfig(
            queues=tuple(queues),
            rules=rules,
            blacklist=frozenset(self.blacklist),
            acw_seconds=self.acw_seconds,
            max_missed_rings=self.max_missed_rings,
            emit_state_changes=emit_state_changes,
        )


# -- loading with line numbers -------------------------------------------------------------
def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the deepest YAML node along `loc`."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    found = v
                    line = k.start_mark.line + 1
                    break
            if found is None:
                return line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _cross_check(sc: Scenario) -> list[tuple[tuple[int | str, ...], str]]:
    problems: list[tuple[tuple[int | str, ...], str]] = []
    names = [q.name for q in sc.queues]
    known = set(names)
    numbers = {n for q in sc.queues for n in q.numbers}
    groups = {a.group for a in sc.agents}
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append((("queues", i, "name"), f"queue {name!r} is defined twice"))
    for i, q in enumerate(sc.queues):
        if q.overflow and q.overflow.to == "queue" and q.overflow.queue not in known:
            problems.append(
                (("queues", i, "overflow"), f"overflow queue {q.overflow.queue!r} is not defined")
            )
    for i, a in enumerate(sc.arrivals):
        if (a.number is None) == (a.queue is None) and a.ivr is None:
            problems.append((("arrivals", i), "give exactly one of number, queue or ivr"))
        if a.queue is not None and a.queue not in known:
            problems.append((("arrivals", i, "queue"), f"queue {a.queue!r} is not defined"))
        if a.number is not None and a.ivr is None and a.number not in numbers:
            problems.append(
                (("arrivals", i, "number"), f"number {a.number!r} is not listed by any queue")
            )
        if a.ivr is not None:
            for k, p in a.ivr.items():
                if k != "leave" and k not in known:
                    problems.append((("arrivals", i, "ivr", k), f"queue {k!r} is not defined"))
                if p < 0:
                    problems.append((("arrivals", i, "ivr", k), "probability must be >= 0"))
            total = sum(a.ivr.values())
            if abs(total - 1.0) > 1e-6:
                problems.append((("arrivals", i, "ivr"), f"probabilities sum to {total:g}, not 1"))
        if a.owner_share > 0 and a.owner_group not in groups:
            problems.append(
                (("arrivals", i, "owner_group"), "owner_share needs an existing owner_group")
            )
    for i, r in enumerate(sc.rules):
        if r.to_queue is not None and r.to_queue not in known:
            problems.append((("rules", i, "to_queue"), f"queue {r.to_queue!r} is not defined"))
        if not r.regions and not r.numbers:
            problems.append((("rules", i), "a rule needs regions or numbers"))
    return problems


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and validate scenario YAML; errors read `source:line: problem`."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{source}:{line}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}:1: a scenario is a mapping (name, queues, arrivals ...)")
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if isinstance(p, int | str))
        where = ".".join(str(p) for p in loc) or "scenario"
        msg = err["msg"].removeprefix("Value error, ")
        raise ScenarioError(f"{source}:{_line_of(root, loc)}: {where}: {msg}") from None
    problems = _cross_check(sc)
    if problems:
        loc, msg = problems[0]
        where = ".".join(str(p) for p in loc)
        raise ScenarioError(f"{source}:{_line_of(root, loc)}: {where}: {msg}")
    return sc


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, str(path))
