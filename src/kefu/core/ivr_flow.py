"""IVR flows: YAML files, loaded and checked into immutable node graphs (CC-03).

A flow is designed, not coded. It names the numbers that reach it (several numbers may share
one flow), carries a version, and lists nodes by id; each node names the nodes it goes to.
Loading checks everything it can before a call ever reaches the flow, and reports every
problem as `file:line: problem`, with lines taken from the YAML node marks.

Node types: play, menu, collect, password, hours, branch, set, lookup, book, pay, queue,
voicemail, transfer, hangup. See docs/ivr.md for the fields of each.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from kefu.core.calendar import HolidayCalendar
from kefu.core.ivr_events import IvrError
from kefu.core.ivr_grammar import DATE_GRAMMAR, DTMF_KEYS, Grammar, GrammarKind
from kefu.core.ivr_password import DEFAULT_MAX_FAILURES


class FlowError(IvrError):
    """A flow file has problems; each reads `file:line: problem`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NodeType(enum.Enum):
    """The kinds of node a flow is built from."""

    PLAY = "play"
    MENU = "menu"
    COLLECT = "collect"
    PASSWORD = "password"
    HOURS = "hours"
    BRANCH = "branch"
    SET = "set"
    LOOKUP = "lookup"
    BOOK = "book"
    PAY = "pay"
    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    TRANSFER = "transfer"
    HANGUP = "hangup"


SAY_KINDS = frozenset({"digits", "number", "amount", "date"})


@dataclass(frozen=True, slots=True)
class Say:
    """A prompt item that speaks a variable's value."""

    kind: str
    variable: str


PromptItem = str | Say


@dataclass(frozen=True, slots=True)
class InputSpec:
    """How a node that reads keys waits, retries and gives up."""

    timeout: float = 5.0  # seconds for the first key, from the end of the prompt
    inter_digit_timeout: float = 3.0
    retries: int = 3  # failed attempts allowed before `on_failure`
    invalid_prompts: tuple[PromptItem, ...] = ()
    timeout_prompts: tuple[PromptItem, ...] = ()
    on_failure: str | None = None  # None: hang up
    zero_out: bool = True  # `0` as the first key goes to the flow's zero-out node


@dataclass(frozen=True, slots=True)
class PlayNode:
    """Play prompts, then go on."""

    id: str
    line: int
    prompts: tuple[PromptItem, ...]
    interruptible: bool
    next: str


@dataclass(frozen=True, slots=True)
class MenuNode:
    """Play a menu and go where the key pressed says."""

    id: str
    line: int
    prompts: tuple[PromptItem, ...]
    interruptible: bool
    choices: Mapping[str, str]
    input: InputSpec


@dataclass(frozen=True, slots=True)
class CollectNode:
    """Read an entry in a grammar into a variable."""

    id: str
    line: int
    prompts: tuple[PromptItem, ...]
    interruptible: bool
    grammar: Grammar
    variable: str
    next: str
    input: InputSpec


@dataclass(frozen=True, slots=True)
class PasswordNode:
    """Read a password and have it verified; lock after too many wrong tries in a day."""

    id: str
    line: int
    prompts: tuple[PromptItem, ...]
    interruptible: bool
    grammar: Grammar
    account_variable: str
    next: str
    locked: str
    wrong_prompts: tuple[PromptItem, ...]
    max_failures_per_day: int
    timeout_result: float
    input: InputSpec


WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHEDULE_KEYS = frozenset({"workday", "restday", "holiday", *WEEKDAY_KEYS})

Interval = tuple[dt.time, dt.time]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Office hours by kind of day; a day kind left out is closed all day."""

    hours: Mapping[str, tuple[Interval, ...]]

    def intervals(self, day: dt.date, calendar: HolidayCalendar) -> tuple[Interval, ...]:
        """The open intervals of `day` (make-up workdays use the workday hours)."""
        info = calendar.day(day)
        name = WEEKDAY_KEYS[day.weekday()]
        if info.is_workday:
            if day.weekday() < 5 and name in self.hours:
                return self.hours[name]
            return self.hours.get("workday", ())
        if info.festival is not None:
            return self.hours.get("holiday", ())
        if name in self.hours:
            return self.hours[name]
        return self.hours.get("restday", ())

    def is_open(self, moment: dt.datetime, calendar: HolidayCalendar) -> bool:
        """True when `moment` (local time) falls inside an open interval."""
        clock = moment.time()
        return any(lo <= clock < hi for lo, hi in self.intervals(moment.date(), calendar))


@dataclass(frozen=True, slots=True)
class HoursNode:
    """Branch on office hours, after hours and public holidays."""

    id: str
    line: int
    schedule: Schedule
    open: str
    closed: str
    holiday: str | None


@dataclass(frozen=True, slots=True)
class BranchNode:
    """Branch on a variable's value (e.g. member or non-member)."""

    id: str
    line: int
    variable: str
    cases: Mapping[str, str]
    default: str


@dataclass(frozen=True, slots=True)
class SetNode:
    """Set call variables (a value `$name` copies another variable)."""

    id: str
    line: int
    values: tuple[tuple[str, str], ...]
    next: str


@dataclass(frozen=True, slots=True)
class LookupNode:
    """Ask the service for data (a balance) and store the answer in variables."""

    id: str
    line: int
    action: str
    args: tuple[str, ...]
    next: str
    on_failure: str | None
    timeout: float


@dataclass(frozen=True, slots=True)
class BookNode:
    """Book an expert appointment that must be paid within a window."""

    id: str
    line: int
    expert_variable: str
    date_variable: str
    variable: str
    pay_within: dt.timedelta
    next: str


@dataclass(frozen=True, slots=True)
class PayNode:
    """Take the payment for a booked appointment."""

    id: str
    line: int
    appointment_variable: str
    amount_variable: str | None
    amount: str | None
    next: str
    on_failure: str | None
    expired: str | None
    timeout: float


@dataclass(frozen=True, slots=True)
class QueueNode:
    """Hand the call to an ACD queue."""

    id: str
    line: int
    queue: str
    priority: int


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    """Hand the call to a voicemail box."""

    id: str
    line: int
    box: str


@dataclass(frozen=True, slots=True)
class TransferNode:
    """Forward the call to an outside number."""

    id: str
    line: int
    number: str


@dataclass(frozen=True, slots=True)
class HangupNode:
    """Hang up."""

    id: str
    line: int
    reason: str


Node = (
    PlayNode
    | MenuNode
    | CollectNode
    | PasswordNode
    | HoursNode
    | BranchNode
    | SetNode
    | LookupNode
    | BookNode
    | PayNode
    | QueueNode
    | VoicemailNode
    | TransferNode
    | HangupNode
)

# Nodes that pass straight through without waiting for the caller or the service.
INSTANT_NODES: tuple[type, ...] = (HoursNode, BranchNode, SetNode, BookNode)


@dataclass(frozen=True, slots=True)
class Flow:
    """A checked IVR flow."""

    name: str
    version: int
    numbers: tuple[str, ...]
    start: str
    nodes: Mapping[str, Node]
    zero_out: str | None = None
    timezone: str = "Asia/Shanghai"
    source: str = "<string>"
    description: str = ""

    def local(self, moment: dt.datetime) -> dt.datetime:
        """`moment` in the flow's time zone (a naive time is taken as local already)."""
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class FlowDirectory:
    """Which flow answers which dialled number."""

    flows: tuple[Flow, ...]
    by_number: Mapping[str, Flow] = field(default_factory=dict)

    @classmethod
    def of(cls, flows: Iterable[Flow]) -> FlowDirectory:
        """Index flows by number; two flows claiming one number is an error."""
        items = tuple(flows)
        index: dict[str, Flow] = {}
        problems: list[str] = []
        for flow in items:
            for number in flow.numbers:
                other = index.get(number)
                if other is not None:
                    problems.append(
                        f"{flow.source}:1: number {number} is already used by flow "
                        f"{other.name} ({other.source})"
                    )
                index[number] = flow
        if problems:
            raise FlowError(problems)
        return cls(items, index)

    def for_number(self, number: str) -> Flow | None:
        """The flow that answers `number`, if any."""
        return self.by_number.get(number)


# --- loading ------------------------------------------------------------------------------


class _Map(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int
    key_lines: dict[str, int]
    duplicates: list[tuple[str, int]]


class _Seq(list[Any]):
    """A YAML sequence that remembers its line and the line of each item."""

    line: int
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences carry line numbers."""


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.duplicates = []
    for key_node, value_node in node.value:
        key = _key_text(loader.construct_object(key_node, deep=True))
        line = key_node.start_mark.line + 1
        if key in out:
            out.duplicates.append((key, line))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_seq(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_flow(path: str | Path) -> Flow:
    """Read and check one flow file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError([f"{p}:1: cannot read: {exc.strerror}"]) from None
    return parse_flow(text, str(p))


def load_flows(paths: Iterable[str | Path]) -> FlowDirectory:
    """Read and check several flow files, and index them by number."""
    flows: list[Flow] = []
    problems: list[str] = []
    for path in paths:
        try:
            flows.append(load_flow(path))
        except FlowError as exc:
            problems.extend(exc.problems)
    if problems:
        raise FlowError(problems)
    return FlowDirectory.of(flows)


def parse_flow(text: str, source: str = "<string>") -> Flow:
    """Check a flow's YAML text; raise `FlowError` listing every problem found."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise FlowError([f"{source}:{line}: not valid YAML: {exc.problem}"]) from None
    if not isinstance(data, _Map):
        raise FlowError([f"{source}:1: a flow is a mapping with flow, version, start, nodes"])
    checker = _Checker(source)
    flow = checker.flow(data)
    if checker.problems or flow is None:
        raise FlowError(sorted(checker.problems, key=_problem_line))
    return flow


def _problem_line(problem: str) -> int:
    match = re.search(r":(\d+): ", problem)
    return int(match.group(1)) if match else 0


_TOP_KEYS = frozenset(
    {"flow", "version", "description", "numbers", "start", "timezone", "zero_out"}
    | {"defaults", "nodes"}
)
_DEFAULT_KEYS = frozenset(
    {"timeout", "inter_digit_timeout", "retries", "invalid_prompts", "timeout_prompts"}
    | {"on_failure"}
)
_INPUT_KEYS = _DEFAULT_KEYS | {"prompts", "interruptible", "zero_out"}
_NODE_KEYS: Mapping[NodeType, frozenset[str]] = {
    NodeType.PLAY: frozenset({"prompts", "interruptible", "next"}),
    NodeType.MENU: _INPUT_KEYS | {"choices"},
    NodeType.COLLECT: _INPUT_KEYS | {"grammar", "variable", "next"},
    NodeType.PASSWORD: _INPUT_KEYS
    | {"grammar", "account_variable", "next", "locked", "wrong_prompts"}
    | {"max_failures_per_day", "result_timeout"},
    NodeType.HOURS: frozenset({"schedule", "open", "closed", "holiday"}),
    NodeType.BRANCH: frozenset({"variable", "cases", "default"}),
    NodeType.SET: frozenset({"values", "next"}),
    NodeType.LOOKUP: frozenset({"action", "args", "next", "on_failure", "timeout"}),
    NodeType.BOOK: frozenset(
        {"expert_variable", "date_variable", "variable", "pay_within_minutes", "next"}
    ),
    NodeType.PAY: frozenset(
        {"appointment_variable", "amount_variable", "amount", "next", "on_failure"}
        | {"expired", "timeout"}
    ),
    NodeType.QUEUE: frozenset({"queue", "priority"}),
    NodeType.VOICEMAIL: frozenset({"box"}),
    NodeType.TRANSFER: frozenset({"number"}),
    NodeType.HANGUP: frozenset({"reason"}),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_PHONE = re.compile(r"^\+?[0-9]{3,20}$")
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")


class _Checker:
    """Walks the loaded YAML, collecting problems and building nodes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.targets: list[tuple[str, int]] = []  # (node id, line) to resolve at the end
        self.defaults = InputSpec()

    def error(self, line: int, message: str) -> None:
        self.problems.append(f"{self.source}:{line}: {message}")

    def line_of(self, m: _Map, key: str) -> int:
        return m.key_lines.get(key, m.line)

    def unknown_keys(self, m: _Map, allowed: frozenset[str], where: str) -> None:
        for key, line in m.duplicates:
            self.error(line, f"{where}: {key!r} is given twice")
        for key in m:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.error(self.line_of(m, key), f"{where}: unknown field {key!r} ({hint})")

    # Scalars ---------------------------------------------------------------------------

    def string(self, m: _Map, key: str, where: str, required: bool = True) -> str | None:
        if key not in m:
            if required:
                self.error(m.line, f"{where}: missing {key!r}")
            return None
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.error(self.line_of(m, key), f"{where}: {key!r} must be text")
            return None
        return str(value)

    def name(self, m: _Map, key: str, where: str, required: bool = True) -> str | None:
        value = self.string(m, key, where, required)
        if value is not None and not _NAME.match(value):
            self.error(self.line_of(m, key), f"{where}: {key!r} is not a valid name: {value!r}")
            return None
        return value

    def target(self, m: _Map, key: str, where: str, required: bool = True) -> str | None:
        value = self.string(m, key, where, required)
        if value is not None:
            self.targets.append((value, self.line_of(m, key)))
        return value

    def number(self, m: _Map, key: str, where: str, default: float, minimum: float = 0.0) -> float:
        if key not in m:
            return default
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= minimum:
            self.error(self.line_of(m, key), f"{where}: {key!r} must be a number > {minimum:g}")
            return default
        return float(value)

    def integer(self, m: _Map, key: str, where: str, default: int, minimum: int = 0) -> int:
        if key not in m:
            return default
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(
                self.line_of(m, key), f"{where}: {key!r} must be a whole number >= {minimum}"
            )
            return default
        return value

    def boolean(self, m: _Map, key: str, where: str, default: bool) -> bool:
        if key not in m:
            return default
        value = m[key]
        if not isinstance(value, bool):
            self.error(self.line_of(m, key), f"{where}: {key!r} must be true or false")
            return default
        return value

    def mapping(self, m: _Map, key: str, where: str, required: bool = True) -> _Map | None:
        if key not in m:
            if required:
                self.error(m.line, f"{where}: missing {key!r}")
            return None
        value = m[key]
        if not isinstance(value, _Map):
            self.error(self.line_of(m, key), f"{where}: {key!r} must be a mapping")
            return None
        return value

    def prompts(
        self, m: _Map, key: str, where: str, default: tuple[PromptItem, ...] = ()
    ) -> tuple[PromptItem, ...]:
        if key not in m:
            return default
        value = m[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(self.line_of(m, key), f"{where}: {key!r} must be a list of prompt ids")
            return default
        lines = getattr(value, "item_lines", [self.line_of(m, key)] * len(value))
        items: list[PromptItem] = []
        for item, line in zip(value, lines, strict=True):
            if isinstance(item, str) and _NAME.match(item):
                items.append(item)
            elif isinstance(item, _Map) and set(item) == {"say", "variable"}:
                kind, var = item["say"], item["variable"]
                if kind not in SAY_KINDS:
                    kinds = ", ".join(sorted(SAY_KINDS))
                    self.error(line, f"{where}: say {kind!r} is not one of {kinds}")
                elif not isinstance(var, str) or not _NAME.match(var):
                    self.error(line, f"{where}: say needs a variable name")
                else:
                    items.append(Say(kind, var))
            else:
                self.error(
                    line,
                    f"{where}: prompt {item!r} must be a prompt id or "
                    "{say: kind, variable: name}",
                )
        return tuple(items)

    # The flow ---------------------------------------------------------------------------

    def flow(self, data: _Map) -> Flow | None:
        where = "flow"
        self.unknown_keys(data, _TOP_KEYS, where)
        name = self.name(data, "flow", where)
        version = self.integer(data, "version", where, 0, minimum=1)
        if "version" not in data:
            self.error(data.line, "flow: missing 'version'")
        numbers = self.numbers(data)
        start = self.target(data, "start", where)
        zero_out = self.target(data, "zero_out", where, required=False)
        timezone = self.string(data, "timezone", where, required=False) or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(self.line_of(data, "timezone"), f"flow: unknown time zone {timezone!r}")
        description = self.string(data, "description", where, required=False) or ""
        defaults = self.mapping(data, "defaults", where, required=False)
        if defaults is not None:
            self.unknown_keys(defaults, _DEFAULT_KEYS, "defaults")
            self.defaults = self.input_spec(defaults, "defaults", InputSpec())
        nodes_map = self.mapping(data, "nodes", where)
        nodes: dict[str, Node] = {}
        if nodes_map is not None:
            if not nodes_map:
                self.error(nodes_map.line, "flow: 'nodes' is empty")
            for node_id, spec in nodes_map.items():
                line = nodes_map.key_lines[node_id]
                if not _NAME.match(node_id):
                    self.error(line, f"node {node_id!r}: not a valid node id")
                    continue
                if not isinstance(spec, _Map):
                    self.error(line, f"node {node_id}: must be a mapping with a 'type'")
                    continue
                spec.line = line  # "missing field" problems point at the node's id
                node = self.node(node_id, spec)
                if node is not None:
                    nodes[node_id] = node
            for key, line in nodes_map.duplicates:
                self.error(line, f"node {key}: defined twice")
        known = set(nodes_map or {})
        for target, line in self.targets:
            if target not in known:
                self.error(line, f"no node named {target!r}")
        self.instant_cycles(nodes)
        if name is None or start is None or self.problems:
            return None
        return Flow(
            name=name,
            version=version,
            numbers=numbers,
            start=start,
            nodes=MappingProxyType(nodes),
            zero_out=zero_out,
            timezone=timezone,
            source=self.source,
            description=description,
        )

    def numbers(self, data: _Map) -> tuple[str, ...]:
        if "numbers" not in data:
            return ()
        value = data["numbers"]
        if not isinstance(value, _Seq):
            self.error(self.line_of(data, "numbers"), "flow: 'numbers' must be a list")
            return ()
        out: list[str] = []
        for item, line in zip(value, value.item_lines, strict=True):
            text = str(item) if isinstance(item, int | str) and not isinstance(item, bool) else ""
            if not _PHONE.match(text):
                self.error(line, f"flow: {item!r} is not a phone number")
            elif text in out:
                self.error(line, f"flow: number {text} is listed twice")
            else:
                out.append(text)
        return tuple(out)

    def input_spec(self, m: _Map, where: str, base: InputSpec) -> InputSpec:
        on_failure = self.target(m, "on_failure", where, required=False)
        return InputSpec(
            timeout=self.number(m, "timeout", where, base.timeout),
            inter_digit_timeout=self.number(
                m, "inter_digit_timeout", where, base.inter_digit_timeout
            ),
            retries=self.integer(m, "retries", where, base.retries),
            invalid_prompts=self.prompts(m, "invalid_prompts", where, base.invalid_prompts),
            timeout_prompts=self.prompts(m, "timeout_prompts", where, base.timeout_prompts),
            on_failure=on_failure if on_failure is not None else base.on_failure,
            zero_out=self.boolean(m, "zero_out", where, base.zero_out),
        )

    def grammar(self, m: _Map, where: str, default: Grammar | None) -> Grammar | None:
        if "grammar" not in m:
            if default is None:
                self.error(m.line, f"{where}: missing 'grammar'")
            return default
        spec = m["grammar"]
        line = self.line_of(m, "grammar")
        if isinstance(spec, str):
            spec_map = _Map({"type": spec})
            spec_map.line, spec_map.key_lines, spec_map.duplicates = line, {}, []
            spec = spec_map
        if not isinstance(spec, _Map):
            self.error(line, f"{where}: 'grammar' must be digits, amount or date")
            return None
        self.unknown_keys(spec, frozenset({"type", "min", "max", "decimals"}), f"{where} grammar")
        kind_text = self.string(spec, "type", f"{where} grammar")
        kinds = {k.value: k for k in GrammarKind}
        if kind_text not in kinds:
            if kind_text is not None:
                self.error(
                    self.line_of(spec, "type"),
                    f"{where}: unknown grammar {kind_text!r} (digits, amount, date)",
                )
            return None
        kind = kinds[kind_text]
        if kind is GrammarKind.DATE:
            if "min" in spec or "max" in spec:
                self.error(line, f"{where}: a date grammar is always 8 digits (YYYYMMDD)")
            return DATE_GRAMMAR
        low = self.integer(spec, "min", f"{where} grammar", 1, minimum=1)
        high = self.integer(
            spec, "max", f"{where} grammar", 12 if kind is GrammarKind.AMOUNT else 32
        )
        decimals = self.integer(spec, "decimals", f"{where} grammar", 2, minimum=1)
        if "decimals" in spec and kind is not GrammarKind.AMOUNT:
            self.error(self.line_of(spec, "decimals"), f"{where}: only amounts have decimals")
        if high < low:
            self.error(line, f"{where}: grammar max ({high}) is below min ({low})")
        return Grammar(kind, low, high, decimals)

    def node(self, node_id: str, m: _Map) -> Node | None:
        where = f"node {node_id}"
        kind_text = self.string(m, "type", where)
        types = {t.value: t for t in NodeType}
        if kind_text is None:
            return None
        if kind_text not in types:
            self.error(
                self.line_of(m, "type"),
                f"{where}: unknown node type {kind_text!r} ({', '.join(types)})",
            )
            return None
        kind = types[kind_text]
        self.unknown_keys(m, _NODE_KEYS[kind] | {"type"}, where)
        builders = {
            NodeType.PLAY: self.node_play,
            NodeType.MENU: self.node_menu,
            NodeType.COLLECT: self.node_collect,
            NodeType.PASSWORD: self.node_password,
            NodeType.HOURS: self.node_hours,
            NodeType.BRANCH: self.node_branch,
            NodeType.SET: self.node_set,
            NodeType.LOOKUP: self.node_lookup,
            NodeType.BOOK: self.node_book,
            NodeType.PAY: self.node_pay,
            NodeType.QUEUE: self.node_queue,
            NodeType.VOICEMAIL: self.node_voicemail,
            NodeType.TRANSFER: self.node_transfer,
            NodeType.HANGUP: self.node_hangup,
        }
        return builders[kind](node_id, m, where)

    def node_play(self, node_id: str, m: _Map, where: str) -> Node | None:
        prompts = self.prompts(m, "prompts", where)
        if not prompts:
            self.error(m.line, f"{where}: a play node needs 'prompts'")
        nxt = self.target(m, "next", where)
        interruptible = self.boolean(m, "interruptible", where, True)
        return None if nxt is None else PlayNode(node_id, m.line, prompts, interruptible, nxt)

    def node_menu(self, node_id: str, m: _Map, where: str) -> Node | None:
        prompts = self.prompts(m, "prompts", where)
        choices_map = self.mapping(m, "choices", where)
        choices: dict[str, str] = {}
        if choices_map is not None:
            for key, target in choices_map.items():
                line = choices_map.key_lines[key]
                if key not in DTMF_KEYS:
                    self.error(line, f"{where}: choice {key!r} is not one DTMF key (quote * and #)")
                elif not isinstance(target, str):
                    self.error(line, f"{where}: choice {key} must name a node")
                else:
                    choices[key] = target
                    self.targets.append((target, line))
            if not choices_map:
                self.error(choices_map.line, f"{where}: a menu needs at least one choice")
        spec = self.input_spec(m, where, self.defaults)
        interruptible = self.boolean(m, "interruptible", where, True)
        return MenuNode(node_id, m.line, prompts, interruptible, MappingProxyType(choices), spec)

    def node_collect(self, node_id: str, m: _Map, where: str) -> Node | None:
        prompts = self.prompts(m, "prompts", where)
        grammar = self.grammar(m, where, None)
        variable = self.name(m, "variable", where)
        nxt = self.target(m, "next", where)
        spec = self.input_spec(m, where, self.defaults)
        interruptible = self.boolean(m, "interruptible", where, True)
        if grammar is None or variable is None or nxt is None:
            return None
        return CollectNode(node_id, m.line, prompts, interruptible, grammar, variable, nxt, spec)

    def node_password(self, node_id: str, m: _Map, where: str) -> Node | None:
        prompts = self.prompts(m, "prompts", where)
        grammar = self.grammar(m, where, Grammar(GrammarKind.DIGITS, 6, 6))
        if grammar is not None and grammar.kind is not GrammarKind.DIGITS:
            self.error(self.line_of(m, "grammar"), f"{where}: a password is read as digits")
        account = self.name(m, "account_variable", where)
        nxt = self.target(m, "next", where)
        locked = self.target(m, "locked", where)
        wrong = self.prompts(m, "wrong_prompts", where)
        limit = self.integer(m, "max_failures_per_day", where, DEFAULT_MAX_FAILURES, minimum=1)
        result_timeout = self.number(m, "result_timeout", where, 10.0)
        spec = self.input_spec(m, where, self.defaults)
        interruptible = self.boolean(m, "interruptible", where, True)
        if grammar is None or account is None or nxt is None or locked is None:
            return None
        return PasswordNode(
            node_id,
            m.line,
            prompts,
            interruptible,
            grammar,
            account,
            nxt,
            locked,
            wrong,
            limit,
            result_timeout,
            spec,
        )

    def node_hours(self, node_id: str, m: _Map, where: str) -> Node | None:
        schedule_map = self.mapping(m, "schedule", where)
        hours: dict[str, tuple[Interval, ...]] = {}
        if schedule_map is not None:
            self.unknown_keys(schedule_map, SCHEDULE_KEYS, f"{where} schedule")
            for key, value in schedule_map.items():
                if key in SCHEDULE_KEYS:
                    hours[key] = self.intervals(value, schedule_map.key_lines[key], where)
        opened = self.target(m, "open", where)
        closed = self.target(m, "closed", where)
        holiday = self.target(m, "holiday", where, required=False)
        if opened is None or closed is None:
            return None
        return HoursNode(
            node_id, m.line, Schedule(MappingProxyType(hours)), opened, closed, holiday
        )

    def intervals(self, value: Any, line: int, where: str) -> tuple[Interval, ...]:
        if value is None:
            return ()
        if not isinstance(value, _Seq):
            self.error(line, f'{where}: hours must be a list like ["08:00-12:00"]')
            return ()
        out: list[Interval] = []
        for item, item_line in zip(value, value.item_lines, strict=True):
            match = _INTERVAL.match(item) if isinstance(item, str) else None
            if match is None:
                self.error(item_line, f"{where}: {item!r} is not HH:MM-HH:MM (quote it)")
                continue
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
                self.error(item_line, f"{where}: {item!r} is not a time of day")
                continue
            end = dt.time.max if h2 == 24 else dt.time(h2, m2)
            if dt.time(h1, m1) >= end:
                self.error(item_line, f"{where}: {item!r} ends before it starts")
                continue
            out.append((dt.time(h1, m1), end))
        return tuple(out)

    def node_branch(self, node_id: str, m: _Map, where: str) -> Node | None:
        variable = self.name(m, "variable", where)
        cases_map = self.mapping(m, "cases", where)
        cases: dict[str, str] = {}
        if cases_map is not None:
            for key, target in cases_map.items():
                line = cases_map.key_lines[key]
                if not isinstance(target, str):
                    self.error(line, f"{where}: case {key} must name a node")
                    continue
                cases[key] = target
                self.targets.append((target, line))
        default = self.target(m, "default", where)
        if variable is None or default is None:
            return None
        return BranchNode(node_id, m.line, variable, MappingProxyType(cases), default)

    def node_set(self, node_id: str, m: _Map, where: str) -> Node | None:
        values_map = self.mapping(m, "values", where)
        values: list[tuple[str, str]] = []
        if values_map is not None:
            for key, value in values_map.items():
                line = values_map.key_lines[key]
                if not _NAME.match(key):
                    self.error(line, f"{where}: {key!r} is not a variable name")
                elif isinstance(value, _Map | list) or value is None:
                    self.error(line, f"{where}: {key} must be set to a plain value")
                else:
                    values.append((key, _key_text(value)))
        nxt = self.target(m, "next", where)
        return None if nxt is None else SetNode(node_id, m.line, tuple(values), nxt)

    def node_lookup(self, node_id: str, m: _Map, where: str) -> Node | None:
        action = self.name(m, "action", where)
        args: list[str] = []
        raw = m.get("args", [])
        if not isinstance(raw, list) or not all(isinstance(a, str) and _NAME.match(a) for a in raw):
            self.error(self.line_of(m, "args"), f"{where}: 'args' must list variable names")
        else:
            args = list(raw)
        nxt = self.target(m, "next", where)
        on_failure = self.target(m, "on_failure", where, required=False)
        timeout = self.number(m, "timeout", where, 10.0)
        if action is None or nxt is None:
            return None
        return LookupNode(node_id, m.line, action, tuple(args), nxt, on_failure, timeout)

    def node_book(self, node_id: str, m: _Map, where: str) -> Node | None:
        expert = self.name(m, "expert_variable", where)
        date = self.name(m, "date_variable", where)
        variable = self.name(m, "variable", where, required=False) or "appointment_id"
        minutes = self.number(m, "pay_within_minutes", where, 30.0)
        nxt = self.target(m, "next", where)
        if expert is None or date is None or nxt is None:
            return None
        window = dt.timedelta(minutes=minutes)
        return BookNode(node_id, m.line, expert, date, variable, window, nxt)

    def node_pay(self, node_id: str, m: _Map, where: str) -> Node | None:
        appointment = self.name(m, "appointment_variable", where, required=False)
        amount_variable = self.name(m, "amount_variable", where, required=False)
        amount = self.string(m, "amount", where, required=False)
        if amount is not None and not _AMOUNT.match(amount):
            self.error(self.line_of(m, "amount"), f"{where}: amount {amount!r} is not like 200.00")
        if (amount is None) == (amount_variable is None):
            self.error(m.line, f"{where}: give exactly one of 'amount' and 'amount_variable'")
        nxt = self.target(m, "next", where)
        on_failure = self.target(m, "on_failure", where, required=False)
        expired = self.target(m, "expired", where, required=False)
        timeout = self.number(m, "timeout", where, 30.0)
        if nxt is None:
            return None
        return PayNode(
            node_id,
            m.line,
            appointment or "appointment_id",
            amount_variable,
            amount,
            nxt,
            on_failure,
            expired,
            timeout,
        )

    def node_queue(self, node_id: str, m: _Map, where: str) -> Node | None:
        queue = self.name(m, "queue", where)
        priority = self.integer(m, "priority", where, 0)
        return None if queue is None else QueueNode(node_id, m.line, queue, priority)

    def node_voicemail(self, node_id: str, m: _Map, where: str) -> Node | None:
        box = self.name(m, "box", where)
        return None if box is None else VoicemailNode(node_id, m.line, box)

    def node_transfer(self, node_id: str, m: _Map, where: str) -> Node | None:
        number = self.string(m, "number", where)
        if number is not None and not _PHONE.match(number):
            self.error(self.line_of(m, "number"), f"{where}: {number!r} is not a phone number")
            return None
        return None if number is None else TransferNode(node_id, m.line, number)

    def node_hangup(self, node_id: str, m: _Map, where: str) -> Node | None:
        reason = self.string(m, "reason", where, required=False) or "completed"
        return HangupNode(node_id, m.line, reason)

    def instant_cycles(self, nodes: Mapping[str, Node]) -> None:
        """Report loops made only of nodes that never wait: a call would spin forever."""
        state: dict[str, int] = {}  # 1: on the path, 2: done

        def visit(node_id: str) -> bool:
            node = nodes.get(node_id)
            if node is None or not isinstance(node, INSTANT_NODES):
                return False
            if state.get(node_id) == 1:
                self.error(node.line, f"node {node_id}: loops back to itself without waiting")
                return True
            if state.get(node_id) == 2:
                return False
            state[node_id] = 1
            found = any(visit(t) for t in successors(node))
            state[node_id] = 2
            return found

        for node_id in nodes:
            if visit(node_id):
                return


def successors(node: Node) -> tuple[str, ...]:
    """The ids of the nodes `node` can go to (zero-out not included)."""
    out: list[str | None] = []
    if isinstance(node, PlayNode | CollectNode | SetNode | BookNode):
        out.append(node.next)
    if isinstance(node, MenuNode):
        out.extend(node.choices.values())
    if isinstance(node, MenuNode | CollectNode | PasswordNode):
        out.append(node.input.on_failure)
    if isinstance(node, PasswordNode):
        out.extend((node.next, node.locked))
    if isinstance(node, HoursNode):
        out.extend((node.open, node.closed, node.holiday))
    if isinstance(node, BranchNode):
        out.extend((*node.cases.values(), node.default))
    if isinstance(node, LookupNode):
        out.extend((node.next, node.on_failure))
    if isinstance(node, PayNode):
        out.extend((node.next, node.on_failure, node.expired))
    return tuple(t for t in out if t is not None)


def prompt_ids(node: Node) -> frozenset[str]:
    """The prompt ids a node may play (spoken variables not included)."""
    items: list[PromptItem] = []
    if isinstance(node, PlayNode | MenuNode | CollectNode | PasswordNode):
        items.extend(node.prompts)
    if isinstance(node, MenuNode | CollectNode | PasswordNode):
        items.extend((*node.input.invalid_prompts, *node.input.timeout_prompts))
    if isinstance(node, PasswordNode):
        items.extend(node.wrong_prompts)
    return frozenset(i for i in items if isinstance(i, str))


def lint_flow(flow: Flow, uploaded_prompts: Collection[str] | None = None) -> list[str]:
    """Warnings that do not stop a flow from loading, as `file:line: problem`.

    Nodes that no call can reach, and (given the ids of the uploaded prompt files)
    prompts that have no audio yet. The admin UI shows them beside the flow.
    """
    seen: set[str] = set()
    todo = [flow.start, *([flow.zero_out] if flow.zero_out else [])]
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        todo.extend(successors(flow.nodes[node_id]))
    out: list[tuple[int, str]] = []
    for node_id, node in flow.nodes.items():
        if node_id not in seen:
            out.append((node.line, f"node {node_id}: no call can reach it"))
        if uploaded_prompts is not None:
            for missing in sorted(prompt_ids(node) - set(uploaded_prompts)):
                out.append((node.line, f"node {node_id}: prompt {missing!r} has no audio"))
    return [f"{flow.source}:{line}: {text}" for line, text in sorted(out)]
