"""The rulebook: YAML, versioned, validated with `file:line` errors, compiled once.

Format (see rules/default.yaml):

    version: 3                      # required
    name: default
    extends: default                # profiles: the rulebook they change
    organisation: 欧飞
    points: {fatal: 100, major: 10, minor: 3}
    pass_score: 60
    thresholds: {answer_max: 15}    # numbers a condition names as "$answer_max"
    phrases: {greeting: [您好, ...]}  # standard phrases by scenario, used as "@greeting"
    rules:
      - id: OPEN-GREETING
        title: 开头语
        severity: major             # fatal | major | minor
        points: 10                  # optional: overrides the severity's points
        message: 开头语不规范       # the finding's message (Chinese lives here, not in code)
        applies: {channel: voice, direction: outbound}
        enabled: true
        credit: 2                   # points given back when every check was met
        checks:
          - require: CONDITION      # breach when it does not hold ...
            when: CONDITION         # ... after/before each place this holds
            relation: after         # after | before | any
            within: {utterances: 2} # or {seconds: 10}
            count: 1
          - forbid: CONDITION       # breach at each place it holds
        examples: {breach: CONVERSATION, comply: CONVERSATION}

A profile changes points, thresholds and phrase sets key by key, and rules by ID (the
fields it gives replace the default's); rules with new IDs are added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kefu.qa import operators as ops
from kefu.qa.errors import RulebookError
from kefu.qa.text import bigrams, normalize
from kefu.qa.yamlsrc import LDict, LList, at, load

RULES_DIR = Path(__file__).parent / "rules"
SEVERITIES = ("fatal", "major", "minor")
ROLES = ("agent", "customer", "system", "any")
EVENT_TYPES = ("ring", "answer", "hold_start", "hold_end", "transfer", "conference", "hangup")

_TOP = {
    "version", "name", "extends", "organisation", "description", "points", "pass_score",
    "thresholds", "phrases", "rules",
}  # fmt: skip
_RULE = {
    "id", "title", "severity", "points", "message", "applies", "enabled", "credit", "checks",
    "examples", "seeds", "description",
}  # fmt: skip
_CHECK = {"forbid", "require", "when", "relation", "within", "count", "max", "message", "at"}

_SCOPE = {"role", "first", "last"}
_REGEX_VARIANTS = str.maketrans("您嘛壹", "你吗一")
_OPTIONS: dict[str, set[str]] = {
    "any": {"except", "unless", "unquoted"} | _SCOPE,
    "all": {"except", "unless", "unquoted"} | _SCOPE,
    "none": {"except", "unless", "unquoted"} | _SCOPE,
    "n_of": {"except", "unless", "unquoted", "n"} | _SCOPE,
    "regex": {"exclude", "raw"} | _SCOPE,
    "similar": {"threshold"} | _SCOPE,
    "event": {"by", "quiet_before"},
    "hold": {"silent"},
    "wait": set(),
    "silence": set(),
    "overlap": set(),
    "rate": set(),
    "answer": set(),
    "digits": _SCOPE,
    "readback": {"within"},
    "holiday": set(),
    "direction": set(),
    "silent_caller": set(),
    "all_of": set(),
    "any_of": set(),
    "not": set(),
}


@dataclass(slots=True)
class Check:
    """One check of a rule, compiled."""

    kind: str  # forbid | require
    cond: ops.Cond
    when: ops.Cond | None
    relation: str
    within_utts: float
    within_secs: float
    count: int
    max: int
    message: str
    at: str = ""  # first | last: the agent utterance a whole-call finding points at
    needs: frozenset[str] = frozenset()


@dataclass(slots=True)
class Rule:
    """A compiled rule."""

    id: str
    title: str
    severity: str
    points: int
    message: str
    checks: list[Check]
    credit: int
    channel: str | None
    direction: str | None
    enabled: bool
    needs: frozenset[str]
    source: dict[str, Any]
    examples: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Rulebook:
    """A compiled rulebook: rules in order, and the phrase table for the automaton."""

    name: str
    version: str
    organisation: str
    pass_score: int
    rules: list[Rule]
    phrases: list[str]  # normalised phrase by phrase id
    phrase_sets: list[tuple[tuple[int, int], ...]]  # phrase id -> ((set id, index), ...)
    sources: list[str]
    phrase_groups: dict[str, list[str]]

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this ID, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)


def profile_path(name: str) -> Path:
    """The file of a profile name (`default` is the default rulebook)."""
    if name == "default":
        return RULES_DIR / "default.yaml"
    return RULES_DIR / "profiles" / f"{name}.yaml"


def profile_names() -> list[str]:
    """Every shipped profile, default first."""
    return ["default", *sorted(p.stem for p in (RULES_DIR / "profiles").glob("*.yaml"))]


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read(path: Path, problems: list[str], seen: tuple[Path, ...] = ()) -> LDict | None:
    where = _label(path)
    data = load(path, where)
    if not isinstance(data, LDict):
        problems.append(f"{where}:1: a rulebook is a mapping with 'version' and 'rules'")
        return None
    for key in data:
        if key not in _TOP:
            problems.append(f"{at(data, key)}: unknown key '{key}'")
    if "version" not in data:
        problems.append(f"{where}:{data.line}: missing 'version'")
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        problems.append(f"{at(data, 'extends')}: 'extends' must be a profile name or a path")
        return data
    base_path = (
        (path.parent / parent) if parent.endswith((".yaml", ".yml")) else profile_path(parent)
    )
    if not base_path.exists():
        problems.append(f"{at(data, 'extends')}: no rulebook '{parent}' to extend")
        return data
    if base_path.resolve() in seen:
        problems.append(f"{at(data, 'extends')}: 'extends' loops back to '{parent}'")
        return data
    base = _read(base_path, problems, (*seen, path.resolve()))
    return data if base is None else _merge(base, data, problems)


def _merge(base: LDict, over: LDict, problems: list[str]) -> LDict:
    out = LDict(base)
    out.line, out.file, out.lines = base.line, base.file, dict(base.lines)
    for key, value in over.items():
        if key in ("points", "thresholds", "phrases") and isinstance(value, dict):
            merged = LDict(base.get(key) or {})
            src = base.get(key)
            merged.line = getattr(src, "line", 0)
            merged.file = getattr(src, "file", over.file)
            merged.lines = dict(getattr(src, "lines", {}))
            for k, v in value.items():
                merged[k] = v
                merged.lines[k] = value.lines[k] if isinstance(value, LDict) else 0
            merged.file = over.file if not src else merged.file
            # Keep lines right for keys that came from the profile.
            if isinstance(value, LDict) and src:
                merged = _with_origin(merged, value)
            out[key] = merged
        elif key == "rules" and isinstance(value, list):
            rules = LList(base.get("rules") or [])
            src_rules = base.get("rules")
            rules.line = getattr(src_rules, "line", 0)
            rules.file = getattr(src_rules, "file", "")
            rules.lines = list(getattr(src_rules, "lines", []))
            index = {r.get("id"): i for i, r in enumerate(rules) if isinstance(r, dict)}
            for rule in value:
                if not isinstance(rule, LDict):
                    continue
                i = index.get(rule.get("id"))
                if i is None:
                    rules.append(rule)
                    rules.lines.append(rule.line)
                else:
                    merged_rule = LDict(rules[i])
                    old = rules[i]
                    merged_rule.line, merged_rule.file = old.line, old.file
                    merged_rule.lines = dict(old.lines)
                    for k, v in rule.items():
                        merged_rule[k] = v
                        merged_rule.lines[k] = rule.lines[k]
                    rules[i] = _with_origin(merged_rule, rule)
            out["rules"] = rules
        else:
            out[key] = value
        out.lines[key] = over.lines[key]
    out.file = over.file
    return out


class _Mixed(LDict):
    """A merged mapping whose keys come from two files."""

    origin: dict[str, str]


def _with_origin(merged: LDict, over: LDict) -> LDict:
    out = _Mixed(merged)
    out.line, out.file, out.lines = merged.line, merged.file, dict(merged.lines)
    out.origin = {k: over.file for k in over}
    return out


def _where(node: Any, key: str | int | None = None) -> str:
    if isinstance(node, _Mixed) and isinstance(key, str) and key in node.origin:
        return f"{node.origin[key]}:{node.lines.get(key, node.line)}"
    return at(node, key)


class _Compiler:
    """Turns the merged YAML into compiled rules; collects every problem with its place."""

    def __init__(self, data: LDict, problems: list[str]) -> None:
        self.data = data
        self.problems = problems
        self.thresholds: dict[str, Any] = dict(data.get("thresholds") or {})
        self.groups: dict[str, Any] = dict(data.get("phrases") or {})
        self.phrase_ids: dict[str, int] = {}
        self.phrase_sets: list[list[tuple[int, int]]] = []
        self.nsets = 0

    def err(self, node: Any, key: str | int | None, problem: str) -> None:
        self.problems.append(f"{_where(node, key)}: {problem}")

    # -- values ---------------------------------------------------------------------------
    def number(self, node: Any, key: str, default: float | None = None) -> float:
        value = node.get(key, default) if isinstance(node, dict) else default
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in self.thresholds:
                self.err(node, key, f"unknown threshold '{value}'")
                return 0.0
            value = self.thresholds[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.err(node, key, f"expected a number, got {value!r}")
            return 0.0
        return float(value)

    def phrase_list(self, node: Any, key: str | int) -> list[str]:
        value = node[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.err(node, key, "expected a non-empty list of phrases")
            return []
        out: list[str] = []
        for i, item in enumerate(value):
            where: tuple[Any, str | int] = (value, i) if isinstance(value, LList) else (node, key)
            if isinstance(item, str) and item.startswith("@"):
                group = self.groups.get(item[1:])
                if group is None:
                    self.err(*where, f"unknown phrase set '{item}'")
                    continue
                out.extend(str(g) for g in group)
            elif isinstance(item, str | int) and not isinstance(item, bool):
                out.append(str(item))
            else:
                self.err(*where, f"expected a phrase, got {item!r}")
        return out

    def add_set(self, phrases: list[str]) -> int:
        sid = self.nsets
        self.nsets += 1
        for local, phrase in enumerate(phrases):
            norm = normalize(phrase)
            if not norm:
                continue
            pid = self.phrase_ids.get(norm)
            if pid is None:
                pid = self.phrase_ids[norm] = len(self.phrase_sets)
                self.phrase_sets.append([])
            self.phrase_sets[pid].append((sid, local))
        return sid

    def scope(self, node: LDict, default_role: str = "agent") -> ops.Scope:
        role = node.get("role", default_role)
        if role not in ROLES:
            self.err(node, "role", f"unknown role '{role}' (agent, customer, system, any)")
            role = default_role
        first = int(self.number(node, "first", 0))
        last = int(self.number(node, "last", 0))
        if first and last:
            self.err(node, "first", "give 'first' or 'last', not both")
        return ops.Scope(str(role), first, last)

    def regex(self, node: LDict, key: str, raw: bool) -> re.Pattern[str] | None:
        pattern = node[key]
        if not isinstance(pattern, str):
            self.err(node, key, "expected a regular expression")
            return None
        if not raw:
            pattern = pattern.translate(_REGEX_VARIANTS)
        try:
            return re.compile(pattern)
        except re.error as exc:
            self.err(node, key, f"bad regular expression: {exc}")
            return None

    # -- conditions -----------------------------------------------------------------------
    def cond(self, parent: Any, key: str | int, default_role: str = "agent") -> ops.Cond:
        node = parent[key]
        fallback: ops.Cond = ops.Not(ops.SilentCaller())
        if not isinstance(node, LDict):
            self.err(parent, key, "a condition is a mapping with one operator")
            return fallback
        found = [k for k in node if k in _OPTIONS]
        if len(found) != 1:
            unknown = [k for k in node if k not in _OPTIONS]
            if not found and unknown:
                self.err(node, unknown[0], f"unknown operator '{unknown[0]}'")
            else:
                self.err(
                    parent, key, f"a condition has exactly one operator, got {found or 'none'}"
                )
            return fallback
        op = found[0]
        for k in node:
            if k != op and k not in _OPTIONS[op]:
                if k in _OPTIONS:
                    self.err(node, k, f"a condition has exactly one operator: '{op}' and '{k}'")
                else:
                    self.err(node, k, f"unknown option '{k}' for operator '{op}'")
        arg = node[op]
        if op in ("any", "all", "none", "n_of"):
            if op == "n_of" and "n" not in node:
                self.err(node, op, "'n_of' needs 'n'")
            phrases = self.phrase_list(node, op)
            sid = self.add_set(phrases)
            xsid = self.add_set(self.phrase_list(node, "except")) if "except" in node else -1
            usid = self.add_set(self.phrase_list(node, "unless")) if "unless" in node else -1
            n = int(self.number(node, "n", 1))
            scope = self.scope(node, default_role)
            kw = ops.Keyword(op, sid, len(phrases), n, xsid, usid, scope)
            kw.unquoted = bool(node.get("unquoted", False))
            return kw
        if op == "regex":
            raw = bool(node.get("raw", False))
            pat = self.regex(node, "regex", raw)
            exc = self.regex(node, "exclude", raw) if "exclude" in node else None
            return ops.Regex(pat, exc, raw, self.scope(node, default_role)) if pat else fallback
        if op == "similar":
            models = [bigrams(normalize(p)) for p in self.phrase_list(node, "similar")]
            threshold = self.number(node, "threshold", 0.6)
            return ops.Similar(models, threshold, self.scope(node, default_role))
        if op == "event":
            if arg not in EVENT_TYPES:
                self.err(node, "event", f"unknown event type '{arg}'")
            by = node.get("by")
            if by is not None and by not in ("agent", "customer", "system"):
                self.err(node, "by", f"unknown party '{by}'")
            return ops.Event(str(arg), by, self.number(node, "quiet_before", 0))
        if op in ("hold", "wait", "silence", "overlap", "rate", "answer", "readback"):
            if not isinstance(arg, LDict):
                self.err(node, op, f"'{op}' takes a mapping such as {{min: 10}}")
                return fallback
            allowed = {"min", "max", "silent", "within"}
            for k in arg:
                if k not in allowed:
                    self.err(arg, k, f"unknown option '{k}' for operator '{op}'")
            lo = self.number(arg, "min", 0)
            hi = self.number(arg, "max", 1e9)
            if op == "hold":
                return ops.Hold(lo, bool(arg.get("silent", False)))
            if op == "wait":
                return ops.Wait(lo)
            if op == "silence":
                return ops.Silence(lo)
            if op == "overlap":
                return ops.Overlap(lo)
            if op == "rate":
                return ops.Rate(lo, hi)
            if op == "answer":
                return ops.Answer(lo, hi)
            return ops.Readback(int(lo or 6), int(self.number(arg, "within", 3)))
        if op == "digits":
            return ops.Digits(int(self.number(node, "digits", 6)), self.scope(node, "customer"))
        if op == "holiday":
            if arg not in ("new_year", "festival", "any"):
                self.err(
                    node, "holiday", f"unknown holiday greeting '{arg}' (new_year, festival, any)"
                )
            return ops.Holiday(str(arg))
        if op == "direction":
            if arg not in ("inbound", "outbound"):
                self.err(node, "direction", f"unknown direction '{arg}'")
            return ops.Direction(str(arg))
        if op == "silent_caller":
            return ops.SilentCaller()
        if op in ("all_of", "any_of"):
            if not isinstance(arg, list) or not arg:
                self.err(node, op, f"'{op}' takes a list of conditions")
                return fallback
            parts = [self.cond(arg, i, default_role) for i in range(len(arg))]
            return ops.AllOf(parts) if op == "all_of" else ops.AnyOf(parts)
        return ops.Not(self.cond(node, "not", default_role))

    # -- rules ----------------------------------------------------------------------------
    def rules(self) -> list[Rule]:
        data = self.data
        points = dict(data.get("points") or {})
        for sev in SEVERITIES:
            points.setdefault(sev, {"fatal": 100, "major": 10, "minor": 3}[sev])
        raw_rules = data.get("rules")
        if not isinstance(raw_rules, list):
            self.err(data, "rules" if "rules" in data else None, "'rules' must be a list")
            return []
        out: list[Rule] = []
        seen: set[str] = set()
        for i, node in enumerate(raw_rules):
            if not isinstance(node, LDict):
                self.err(raw_rules, i, "a rule is a mapping with 'id' and 'checks'")
                continue
            rule = self.rule(node, points)
            if rule is None:
                continue
            if rule.id in seen:
                self.err(node, "id", f"duplicate rule ID '{rule.id}'")
            seen.add(rule.id)
            out.append(rule)
        return out

    def rule(self, node: LDict, points: dict[str, Any]) -> Rule | None:
        for k in node:
            if k not in _RULE:
                self.err(node, k, f"unknown key '{k}' in a rule")
        rid = node.get("id")
        if not isinstance(rid, str) or not re.fullmatch(r"[A-Z][A-Z0-9-]*", rid):
            self.err(
                node,
                "id" if "id" in node else None,
                f"a rule needs an ID like 'OPEN-GREETING', got {rid!r}",
            )
            return None
        severity = node.get("severity", "major")
        if severity not in SEVERITIES:
            self.err(node, "severity", f"unknown severity '{severity}' (fatal, major, minor)")
            severity = "major"
        pts = int(self.number(node, "points", points[severity]))
        message = node.get("message")
        if not isinstance(message, str) or not message:
            self.err(
                node, "message" if "message" in node else None, f"rule {rid} needs a 'message'"
            )
            message = rid
        applies = node.get("applies") or {}
        channel = applies.get("channel") if isinstance(applies, dict) else None
        direction = applies.get("direction") if isinstance(applies, dict) else None
        if channel not in (None, "voice", "chat"):
            self.err(applies, "channel", f"unknown channel '{channel}'")
        if direction not in (None, "inbound", "outbound"):
            self.err(applies, "direction", f"unknown direction '{direction}'")
        checks_node = node.get("checks")
        checks: list[Check] = []
        if not isinstance(checks_node, LList) or not checks_node:
            self.err(
                node, "checks" if "checks" in node else None, f"rule {rid} needs a list of 'checks'"
            )
        else:
            for i in range(len(checks_node)):
                chk = self.check(checks_node, i, message)
                if chk is not None:
                    checks.append(chk)
        for chk in checks:
            chk.needs = chk.cond.needs | (chk.when.needs if chk.when else frozenset())
        # The rule as a whole needs what every one of its checks needs.
        needs = frozenset.intersection(*(c.needs for c in checks)) if checks else frozenset()
        examples = node.get("examples") or {}
        if not isinstance(examples, dict):
            self.err(node, "examples", "'examples' is a mapping {breach: ..., comply: ...}")
            examples = {}
        for k in examples:
            if k not in ("breach", "comply"):
                self.err(examples, k, f"unknown example kind '{k}' (breach, comply)")
        return Rule(
            id=rid,
            title=str(node.get("title", rid)),
            severity=str(severity),
            points=pts,
            message=message,
            checks=checks,
            credit=int(self.number(node, "credit", 0)),
            channel=channel,
            direction=direction,
            enabled=bool(node.get("enabled", True)),
            needs=needs,
            source=_plain(node),
            examples=_plain(examples),
        )

    def check(self, parent: LList, i: int, message: str) -> Check | None:
        node = parent[i]
        if not isinstance(node, LDict):
            self.err(parent, i, "a check is a mapping with 'forbid' or 'require'")
            return None
        for k in node:
            if k not in _CHECK:
                self.err(node, k, f"unknown key '{k}' in a check")
        kinds = [k for k in ("forbid", "require") if k in node]
        if len(kinds) != 1:
            self.err(parent, i, "a check has exactly one of 'forbid' or 'require'")
            return None
        kind = kinds[0]
        cond = self.cond(node, kind)
        when = self.cond(node, "when") if "when" in node else None
        relation = node.get("relation", "after" if when is not None else "any")
        if relation not in ("after", "before", "any"):
            self.err(node, "relation", f"unknown relation '{relation}' (after, before, any)")
        within = node.get("within") or {}
        wu = ws = 0.0
        if within:
            if not isinstance(within, LDict) or not set(within) <= {"utterances", "seconds"}:
                self.err(node, "within", "'within' is {utterances: N} or {seconds: S}")
            else:
                wu = self.number(within, "utterances", 0)
                ws = self.number(within, "seconds", 0)
        return Check(
            kind=kind,
            cond=cond,
            when=when,
            relation=str(relation),
            within_utts=wu,
            within_secs=ws,
            count=int(self.number(node, "count", 1)),
            max=int(self.number(node, "max", 5 if kind == "forbid" else 1)),
            message=str(node.get("message", message)),
            at=self.anchor(node),
        )

    def anchor(self, node: LDict) -> str:
        at = node.get("at", "")
        if at not in ("", "first", "last"):
            self.err(node, "at", f"unknown anchor '{at}' (first, last)")
            return ""
        return str(at)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_rulebook(source: str | Path) -> Rulebook:
    """Load, validate and compile a rulebook: a profile name or a YAML path."""
    path = Path(source)
    if not (isinstance(source, Path) or str(source).endswith((".yaml", ".yml"))):
        path = profile_path(str(source))
        if not path.exists():
            raise RulebookError(
                [f"unknown profile '{source}' (known: {', '.join(profile_names())})"]
            )
    problems: list[str] = []
    data = _read(path, problems)
    if data is None or problems:
        raise RulebookError(problems or [f"{path}: not a rulebook"])
    comp = _Compiler(data, problems)
    for key in ("points", "thresholds", "phrases"):
        if key in data and not isinstance(data[key], dict):
            comp.err(data, key, f"'{key}' must be a mapping")
    for name, group in comp.groups.items():
        if not isinstance(group, list) or not all(isinstance(p, str) for p in group):
            comp.err(data["phrases"], name, f"phrase set '{name}' must be a list of phrases")
    rules = comp.rules()
    pass_score = int(comp.number(data, "pass_score", 60))
    if problems:
        raise RulebookError(problems)
    phrases = [""] * len(comp.phrase_ids)
    for text, pid in comp.phrase_ids.items():
        phrases[pid] = text
    return Rulebook(
        name=str(data.get("name", path.stem)),
        version=str(data.get("version")),
        organisation=str(data.get("organisation", "")),
        pass_score=pass_score,
        rules=rules,
        phrases=phrases,
        phrase_sets=[tuple(s) for s in comp.phrase_sets],
        sources=[str(path)],
        phrase_groups={
            k: [str(p) for p in v] for k, v in comp.groups.items() if isinstance(v, list)
        },
    )
