"""The labelled QA corpus (tests/qa_corpus/corpus.jsonl) against the engine.

Each conversation carries `expect: {breach: [...], comply: [...]}`. A breach label is a
positive, a comply label a negative; rules a conversation does not label are ignored for it.
Per rule we compute precision and recall of the engine's findings and require >= 0.95 for
both. The rule IDs are parsed from the spec (QA-RULES.md) at test time, so a rule added to
the catalogue without corpus cases fails the structural test.

Labelling decisions worth knowing (the `note` field of a conversation says which applies):
- A forbidden phrase said by the customer is not a breach.
- An agent quoting the customer inside a restatement (您刚才说"不关我的事"，是吗) is not a
  breach: the agent is confirming what was said, not saying it to the customer.
- 这是我们应该做的 / 这是我应该做的, 您知道吗, 请问您清楚了吗 and 请您大声一点，好吗 are
  standard phrases of the seeds, not forbidden language.
- Numbers read back in Chinese numerals (一三九…, 幺 for 1) count as read back.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shared_dir import SPEC

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "qa_corpus" / "corpus.jsonl"
BUILD = ROOT / "tests" / "qa_corpus" / "build.py"
RULES_MD = SPEC / "QA-RULES.md"

THRESHOLD = 0.95
MIN_CASES = 3
EVENT_TYPES = {"ring", "answer", "hold_start", "hold_end", "transfer", "conference", "hangup"}


def rule_ids() -> list[str]:
    """The rule IDs of the catalogue: first cell of every table row that looks like an ID."""
    ids: list[str] = []
    for line in RULES_MD.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)\s*\|", line)
        if m and m.group(1) != "ID" and m.group(1) not in ids:
            ids.append(m.group(1))
    return ids


@cache
def corpus() -> tuple[dict[str, Any], ...]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def test_catalogue_parses() -> None:
    """The parser finds the catalogue (44 IDs as of this writing; the count is not pinned)."""
    ids = rule_ids()
    assert len(ids) >= 40, ids
    assert {"OPEN-GREETING", "CLOSE-SURVEY", "FILLER", "FORBID-WORDS"} <= set(ids)


def test_corpus_is_built_by_build_py() -> None:
    spec = importlib.util.spec_from_file_location("qa_corpus_build", BUILD)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while being built
    spec.loader.exec_module(mod)
    built = [json.loads(json.dumps(r, ensure_ascii=False)) for r in mod.build()]
    assert built == list(corpus()), "corpus.jsonl is stale: run python tests/qa_corpus/build.py"


def _check_record(rec: dict[str, Any], known: set[str]) -> list[str]:
    errs: list[str] = []
    rid = rec.get("id")
    if not isinstance(rid, str) or not rid:
        errs.append("id missing")
    if rec.get("channel") not in ("voice", "chat"):
        errs.append(f"channel {rec.get('channel')!r}")
    if rec.get("direction", "inbound") not in ("inbound", "outbound"):
        errs.append("direction")
    utts = rec.get("utterances")
    if not isinstance(utts, list) or not utts:
        return [*errs, "utterances missing"]
    timed = rec["channel"] == "voice"
    for i, u in enumerate(utts):
        if u.get("role") not in ("agent", "customer", "system"):
            errs.append(f"utterances[{i}].role")
        if not isinstance(u.get("text"), str) or not u["text"]:
            errs.append(f"utterances[{i}].text")
        if timed:
            s, e = u.get("start"), u.get("end")
            if not isinstance(s, int | float) or not isinstance(e, int | float) or e < s or s < 0:
                errs.append(f"utterances[{i}] times {s}..{e}")
    if timed:
        events = rec.get("events", [])
        kinds = [ev.get("type") for ev in events]
        if kinds[:2] != ["ring", "answer"]:
            errs.append("voice calls start with ring, answer")
        for i, ev in enumerate(events):
            if ev.get("type") not in EVENT_TYPES:
                errs.append(f"events[{i}].type {ev.get('type')!r}")
            if not isinstance(ev.get("t"), int | float):
                errs.append(f"events[{i}].t")
            if ev.get("type") == "hangup" and ev.get("by") not in ("agent", "customer", "system"):
                errs.append(f"events[{i}].by")
        ts = [ev["t"] for ev in events]
        if ts != sorted(ts):
            errs.append("events out of order")
        if kinds.count("hold_start") != kinds.count("hold_end"):
            errs.append("unbalanced hold")
    exp = rec.get("expect", {})
    breach, comply = set(exp.get("breach", [])), set(exp.get("comply", []))
    if breach & comply:
        errs.append(f"both breach and comply: {sorted(breach & comply)}")
    if (breach | comply) - known:
        errs.append(f"unknown rules {sorted((breach | comply) - known)}")
    if not breach | comply:
        errs.append("no labels")
    return [f"{rid}: {e}" for e in errs]


def test_corpus_structure() -> None:
    ids = rule_ids()
    known = set(ids)
    errors = [e for rec in corpus() for e in _check_record(rec, known)]
    assert not errors, errors[:20]
    all_ids = [r["id"] for r in corpus()]
    assert len(all_ids) == len(set(all_ids)), "duplicate ids"
    breach: Counter[str] = Counter()
    comply: Counter[str] = Counter()
    for rec in corpus():
        breach.update(rec["expect"]["breach"])
        comply.update(rec["expect"]["comply"])
    short = {r: (breach[r], comply[r]) for r in ids if min(breach[r], comply[r]) < MIN_CASES}
    assert not short, f"rules with < {MIN_CASES} breach or comply cases: {short}"


def test_corpus_has_the_traps() -> None:
    """The hard cases the brief names are present, labelled the way the docstring says."""
    by_text: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for rec in corpus():
        for u in rec["utterances"]:
            by_text.setdefault(u["text"], []).append((u["role"], rec["expect"]))
    quoted = [t for t in by_text if "“不关我的事”" in t]
    assert quoted and all("FORBID-SHIRK" in exp["comply"] for t in quoted for _, exp in by_text[t])
    proper = [t for t in by_text if "这是我们应该做的" in t]
    assert any("FORBID-WORDS" in exp["comply"] for t in proper for _, exp in by_text[t])
    assert any("您知道吗" in t for t in by_text)
    assert any(re.search(r"[一幺][三八]", t) and "重复" in t for t in by_text)
    starts = {rec.get("started_at", "")[:10] for rec in corpus()}
    assert {"2026-02-17", "2026-10-01", "2026-02-14"} <= starts


# ------------------------------------------------------------------ the engine
@cache
def _engine(profile: str) -> Any:
    from kefu.qa.engine import Engine

    return Engine.load(profile)


def evaluate() -> tuple[dict[str, Counter[str]], list[tuple[str, str, str, str]]]:
    """Run every conversation; per rule tp/fp/fn/tn, and the mismatches (id, rule, want, got)."""
    stats: dict[str, Counter[str]] = {r: Counter() for r in rule_ids()}
    misses: list[tuple[str, str, str, str]] = []
    for rec in corpus():
        payload = {k: v for k, v in rec.items() if k not in ("expect", "note")}
        result = _engine(rec.get("profile", "default")).check(payload)
        assert "error" not in result, (rec["id"], result["error"])
        flagged: dict[str, list[str]] = {}
        for f in result["findings"]:
            flagged.setdefault(f["rule"], []).append(str(f.get("evidence", "")))
        for rule in rec["expect"]["breach"]:
            hit = rule in flagged
            stats[rule]["tp" if hit else "fn"] += 1
            if not hit:
                na = "n/a" if rule in result.get("not_applicable", []) else "no finding"
                misses.append((rec["id"], rule, "breach", na))
        for rule in rec["expect"]["comply"]:
            hit = rule in flagged
            stats[rule]["fp" if hit else "tn"] += 1
            if hit:
                misses.append((rec["id"], rule, "comply", "flagged: " + " | ".join(flagged[rule])))
    return stats, misses


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def table(stats: dict[str, Counter[str]]) -> str:
    """The per-rule precision/recall table, as Markdown."""
    rows = [
        "| rule | breach | comply | TP | FP | FN | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rule, c in stats.items():
        p = _ratio(c["tp"], c["tp"] + c["fp"])
        r = _ratio(c["tp"], c["tp"] + c["fn"])
        rows.append(
            f"| {rule} | {c['tp'] + c['fn']} | {c['fp'] + c['tn']} | {c['tp']} | {c['fp']} | "
            f"{c['fn']} | {p:.2f} | {r:.2f} |"
        )
    return "\n".join(rows)


def test_engine_precision_and_recall_per_rule() -> None:
    stats, misses = evaluate()
    print()
    print(table(stats))
    for m in misses:
        print("MISMATCH", *m)
    low = {}
    for rule, c in stats.items():
        p = _ratio(c["tp"], c["tp"] + c["fp"])
        r = _ratio(c["tp"], c["tp"] + c["fn"])
        if p < THRESHOLD or r < THRESHOLD:
            low[rule] = (round(p, 2), round(r, 2))
    assert not low, f"rules under {THRESHOLD} precision/recall: {low}"


@pytest.mark.parametrize("rule", ["FORBID-SHIRK", "FORBID-WORDS"])
def test_quoted_and_standard_phrases_are_not_flagged(rule: str) -> None:
    """The two traps the spec names explicitly, checked on their own for a clear failure."""
    for rec in corpus():
        if (
            rec["id"].startswith("trap-")
            and rule in rec["expect"]["comply"]
            and rule.lower() in rec["id"]
        ):
            payload = {k: v for k, v in rec.items() if k not in ("expect", "note")}
            result = _engine(rec["profile"]).check(payload)
            got = [f for f in result["findings"] if f["rule"] == rule]
            assert not got, (rec["id"], got)
