"""The playbook: scripts and trigger words by scenario, for one profile, loaded once.

The data lives in scenarios.yaml (beside this module) and in the QA rulebook: a trigger
written "@name" is the rulebook's phrase set `name`, so assist and QA hear the same words.
The forbidden-phrase guard uses the QA engine itself, restricted to the FORBID-* and FILLER
rules of the same profile: one list of phrases and exceptions, not two.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kefu.assist.errors import AssistError
from kefu.qa.engine import Engine
from kefu.qa.errors import QAError
from kefu.qa.rulebook import Rulebook, load_rulebook
from kefu.qa.text import normalize

SCENARIOS_FILE = Path(__file__).with_name("scenarios.yaml")
GUARD_RULE_PREFIX = "FORBID-"
GUARD_RULES_EXTRA = ("FILLER",)
#: Trigger lists kept as written: ASR markers are punctuation, which normalising would erase.
RAW_TRIGGERS = ("inaudible", "fragment")


@dataclass(frozen=True, slots=True)
class Playbook:
    """Everything assist needs for one profile; build it with `Playbook.load`."""

    profile: str
    org: str
    agent_id: str
    reply_hours: int
    silent_wait: float
    fragment_max: int
    org_names: tuple[str, ...]  # normalised parts of the organisation's name
    scripts: Mapping[str, tuple[str, ...]]
    actions: Mapping[str, tuple[str | None, ...]]
    triggers: Mapping[str, tuple[str, ...]]  # normalised, except RAW_TRIGGERS
    patterns: Mapping[str, tuple[re.Pattern[str], ...]]
    greetings: Mapping[str, str]
    wishes: Mapping[str, str]
    warnings: Mapping[str, str]
    by_phrase: tuple[tuple[str, str], ...]  # (normalised phrase, replacement), longest first
    by_rule: Mapping[str, str]
    guard_engine: Engine

    @staticmethod
    def load(profile: str = "default", source: Path = SCENARIOS_FILE) -> Playbook:
        """The playbook of a QA profile; raises AssistError naming the file and the problem."""
        return _load(profile, source)

    def script(self, scenario: str, step: int = 1) -> str:
        """The raw script (placeholders unfilled) of a scenario's step, 1-based, capped."""
        steps = self.scripts[scenario]
        return steps[min(max(step, 1), len(steps)) - 1]

    def action(self, scenario: str, step: int) -> str | None:
        """What follows a step ("hangup", "transfer"), if anything."""
        acts = self.actions.get(scenario, ())
        return acts[step - 1] if 0 < step <= len(acts) else None


@functools.cache
def _load(profile: str, source: Path) -> Playbook:
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AssistError(f"{source}: {exc}") from exc
    if not isinstance(data, dict):
        raise AssistError(f"{source}: expected a mapping at the top")
    try:
        rulebook = load_rulebook(profile)
    except QAError as exc:
        raise AssistError(f"profile '{profile}': {exc}") from exc

    scripts = _strings_map(data, "scripts", source)
    override = (data.get("profiles") or {}).get(profile) or {}
    if not isinstance(override, dict):
        raise AssistError(f"{source}: profiles.{profile}: expected a mapping")
    scripts.update(_strings_map(override, "scripts", source))

    groups = rulebook.phrase_groups
    triggers: dict[str, tuple[str, ...]] = {}
    patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
    for name, items in _strings_map(data, "triggers", source).items():
        if name.endswith("_regex"):
            try:
                patterns[name.removesuffix("_regex")] = tuple(re.compile(p) for p in items)
            except re.error as exc:
                raise AssistError(f"{source}: triggers.{name}: {exc}") from exc
            continue
        words: list[str] = []
        for item in items:
            if item.startswith("@"):
                if item[1:] not in groups:
                    raise AssistError(
                        f"{source}: triggers.{name}: rulebook '{profile}' has no phrase set {item}"
                    )
                words.extend(groups[item[1:]])
            else:
                words.append(item)
        keep = name in RAW_TRIGGERS
        triggers[name] = tuple(dict.fromkeys(w if keep else normalize(w) for w in words if w))

    actions = {
        k: tuple(None if a is None else str(a) for a in v)
        for k, v in (data.get("actions") or {}).items()
    }
    repl = data.get("replacements") or {}
    by_phrase = sorted(
        ((normalize(str(k)), str(v)) for k, v in (repl.get("by_phrase") or {}).items()),
        key=lambda kv: -len(kv[0]),
    )
    org = rulebook.organisation or str(data.get("org_fallback", ""))
    parts = (normalize(p) for p in re.split(r"[（）()、，,/\s]+", org))
    return Playbook(
        profile=profile,
        org=org,
        org_names=tuple(p for p in parts if len(p) >= 2),
        fragment_max=int(data.get("fragment_max", 4)),
        agent_id=str(data.get("agent_id_fallback", "")),
        reply_hours=int(data.get("reply_hours", 24)),
        silent_wait=float(data.get("silent_wait", 3)),
        scripts=scripts,
        actions=actions,
        triggers=triggers,
        patterns=patterns,
        greetings={str(k): str(v) for k, v in (data.get("greetings") or {}).items()},
        wishes={str(k): str(v or "") for k, v in (data.get("wishes") or {}).items()},
        warnings={str(k): str(v) for k, v in (data.get("warnings") or {}).items()},
        by_phrase=tuple(by_phrase),
        by_rule={str(k): str(v) for k, v in (repl.get("by_rule") or {}).items()},
        guard_engine=_guard_engine(rulebook, profile),
    )


def _guard_engine(rulebook: Rulebook, profile: str) -> Engine:
    """The QA engine of the profile with only its forbidden-language rules."""
    rules = [
        r for r in rulebook.rules if r.id.startswith(GUARD_RULE_PREFIX) or r.id in GUARD_RULES_EXTRA
    ]
    return Engine(dataclasses.replace(rulebook, rules=rules), profile)


def _strings_map(data: Mapping[str, Any], key: str, source: Path) -> dict[str, tuple[str, ...]]:
    raw = data.get(key) or {}
    if not isinstance(raw, dict):
        raise AssistError(f"{source}: '{key}' must be a mapping")
    out: dict[str, tuple[str, ...]] = {}
    for name, items in raw.items():
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise AssistError(f"{source}: {key}.{name}: expected a list of strings")
        out[str(name)] = tuple(items)
    return out
