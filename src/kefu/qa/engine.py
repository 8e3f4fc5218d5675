"""The QA engine: checks conversations against a compiled rulebook.

Python API::

    from kefu.qa.engine import Engine

    engine = Engine.load("default")            # a profile name, or a path to a YAML rulebook
    result = engine.check(record)              # record: a dict in the interchange format
    # result == {"id": ..., "profile": ..., "score": 87, "passed": True,
    #            "findings": [...], "credits": [...], "not_applicable": [...]}
    # A malformed record gives {"id": ..., "error": "utterances[3].start: expected a number, ..."}
    # and never raises; `engine.check_strict(record)` raises RecordError instead.

How it works: the rulebook is compiled once (every keyword of every rule goes into one
Aho–Corasick automaton). For each conversation the texts are joined with a separator,
normalised with one `str.translate`, and matched in one automaton pass; the hits are
grouped by phrase set. Each rule then only looks up its sets, filters them by role and
range, and relates them (before/after/within) to its trigger. Time-based operators share
one timeline loop, computed only when a rule asks for it. Output is deterministic: findings
follow the rule order of the rulebook, then the position in the call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from kefu.core.calendar import HolidayCalendar
from kefu.qa.context import Context, Hit, Matcher
from kefu.qa.errors import RecordError
from kefu.qa.operators import DATE, EVENTS, TIMES
from kefu.qa.record import validate
from kefu.qa.rulebook import Check, Rule, Rulebook, load_rulebook
from kefu.qa.text import to_original

#: Which automaton library matches phrases. bench/qa_throughput.py measures both:
#: ahocorasick_rs returns (id, start, end) triples from Rust in one call and was about twice
#: as fast on the matching step as pyahocorasick's Python-level iterator; pyahocorasick
#: stays as the fallback.
try:
    import ahocorasick_rs as _rs  # noqa: F401

    AUTOMATON = "ahocorasick_rs"
except ImportError:  # pragma: no cover
    AUTOMATON = "pyahocorasick"


def build_matcher(phrases: list[str], library: str = AUTOMATON) -> Matcher:
    """One automaton over all phrases; returns a function text -> [(phrase id, start, end)]."""
    if not phrases:
        return lambda text: []
    if library == "ahocorasick_rs":
        import ahocorasick_rs

        ac = ahocorasick_rs.AhoCorasick(phrases)

        def match_rs(text: str) -> list[tuple[int, int, int]]:
            found: list[tuple[int, int, int]] = ac.find_matches_as_indexes(text, overlapping=True)
            return found

        return match_rs
    import ahocorasick

    auto = ahocorasick.Automaton()
    for pid, phrase in enumerate(phrases):
        auto.add_word(phrase, (pid, len(phrase)))
    auto.make_automaton()
    it = auto.iter

    def match_py(text: str) -> list[tuple[int, int, int]]:
        return [(pid, end - n + 1, end + 1) for end, (pid, n) in it(text)]

    return match_py


class Engine:
    """A compiled rulebook ready to check conversations."""

    def __init__(
        self,
        rulebook: Rulebook,
        profile: str,
        calendar: HolidayCalendar | None = None,
        library: str = AUTOMATON,
    ) -> None:
        self.rulebook = rulebook
        self.profile = profile
        self.calendar = calendar or HolidayCalendar()
        self.matcher = build_matcher(rulebook.phrases, library)
        self.rules = [r for r in rulebook.rules if r.enabled]

    @classmethod
    def load(
        cls,
        source: str | Path = "default",
        calendar: HolidayCalendar | None = None,
        library: str = AUTOMATON,
    ) -> Engine:
        """Compile a profile (by name) or a rulebook file; raises RulebookError with file:line."""
        rulebook = load_rulebook(source)
        name = str(source) if not str(source).endswith((".yaml", ".yml")) else rulebook.name
        return cls(rulebook, name, calendar, library)

    # -- checking ---------------------------------------------------------------------------
    def check(self, record: Any) -> dict[str, Any]:
        """The QA result of one record, or {"id", "error"} when the record is malformed."""
        try:
            return self.check_strict(record)
        except RecordError as exc:
            rid = record.get("id") if isinstance(record, dict) else None
            return {"id": rid, "error": str(exc)}

    def check_many(self, records: Iterable[Any]) -> Iterator[dict[str, Any]]:
        """Results of many records, in order."""
        for record in records:
            yield self.check(record)

    def check_strict(self, record: Any) -> dict[str, Any]:
        """The QA result of one record; raises RecordError when it is malformed."""
        utts, events, warnings = validate(record)
        ctx = Context(record, utts, events, self.matcher, self.rulebook.phrase_sets, self.calendar)
        findings: list[dict[str, Any]] = []
        credits: list[dict[str, Any]] = []
        not_applicable: list[str] = []
        deducted = 0
        fatal = False
        for rule in self.rules:
            if not self._applies(rule, ctx):
                not_applicable.append(rule.id)
                continue
            found, triggered, applicable = self._evaluate(rule, ctx)
            if not applicable:
                not_applicable.append(rule.id)
                continue
            if found:
                for f in found:
                    findings.append(f)
                    deducted += rule.points
                if rule.severity == "fatal":
                    fatal = True
            elif rule.credit and triggered:
                credits.append({"rule": rule.id, "points": rule.credit, "message": rule.title})
                deducted -= rule.credit
        score = 0 if fatal else max(0, min(100, 100 - deducted))
        result: dict[str, Any] = {
            "id": record["id"],
            "profile": self.profile,
            "score": score,
            "passed": not fatal and score >= self.rulebook.pass_score,
            "findings": findings,
            "credits": credits,
            "not_applicable": not_applicable,
        }
        if warnings:
            result["warnings"] = warnings
        return result

    @staticmethod
    def _applies(rule: Rule, ctx: Context) -> bool:
        if rule.channel is not None and ctx.channel != rule.channel:
            return False
        if rule.direction is not None and ctx.direction != rule.direction:
            return False
        return _can(rule.needs, ctx)

    def _evaluate(self, rule: Rule, ctx: Context) -> tuple[list[dict[str, Any]], bool, bool]:
        out: list[dict[str, Any]] = []
        triggered = False
        applicable = False
        for chk in rule.checks:
            if chk.needs and not _can(chk.needs, ctx):
                continue
            applicable = True
            if chk.kind == "forbid":
                hits = chk.cond.hits(ctx)
                if not hits:
                    continue
                if chk.when is not None:
                    whens = chk.when.hits(ctx)
                    if not whens:
                        continue
                    hits = [h for h in hits if _related(h, whens[0], chk)]
                for h in _distinct(hits)[: chk.max]:
                    out.append(self._finding(rule, chk, ctx, h))
            else:
                if chk.when is None:
                    triggered = True
                    if len(chk.cond.hits(ctx)) < chk.count:
                        out.append(self._finding(rule, chk, ctx, _anchor(chk, ctx)))
                    continue
                whens = chk.when.hits(ctx)
                if not whens:
                    continue
                triggered = True
                hits = chk.cond.hits(ctx)
                n = 0
                for w in whens:
                    if len({h[0] for h in hits if _related(h, w, chk)}) < chk.count:
                        at = _anchor(chk, ctx) if w[0] == -1.0 and w[1] < 0 else None
                        out.append(self._finding(rule, chk, ctx, at or w))
                        n += 1
                        if n >= chk.max:
                            break
        return out, triggered, applicable

    def _finding(self, rule: Rule, chk: Check, ctx: Context, hit: Hit | None) -> dict[str, Any]:
        utt = hit[1] if hit is not None else -1
        t = hit[4] if hit is not None else -1.0
        span: list[int] | None = None
        evidence = ""
        if utt >= 0:
            text = ctx.texts[utt]
            s, e = hit[2], hit[3]  # type: ignore[index]
            if s >= 0:
                if not hit[5]:  # type: ignore[index]
                    s, e = to_original(text, s, e)
                span = [s, e]
                evidence = text[s:e]
            else:
                evidence = text
            if t < 0 and ctx.has_times:
                t = float(ctx.starts[utt])
        return {
            "rule": rule.id,
            "severity": rule.severity,
            "points": -rule.points,
            "utterance": utt if utt >= 0 else None,
            "start": t if t >= 0 and not math.isnan(t) else None,
            "span": span,
            "evidence": evidence,
            "message": chk.message,
        }


def _anchor(chk: Check, ctx: Context) -> Hit | None:
    """The agent utterance a whole-call finding points at (`at: first|last`), if any."""
    if not chk.at:
        return None
    idx = ctx.role_index("agent")
    if not idx:
        return None
    u = idx[0] if chk.at == "first" else idx[-1]
    return (float(u), u, -1, -1, ctx.time_of(u), False)


def _can(needs: frozenset[str], ctx: Context) -> bool:
    """Whether the conversation has what a rule or check needs (times, events, a date)."""
    if not needs:
        return True
    if TIMES in needs and not ctx.has_times:
        return False
    if EVENTS in needs and not ctx.has_events:
        return False
    return not (DATE in needs and not ctx.started_at)


def _related(h: Hit, w: Hit, chk: Check) -> bool:
    """Whether hit `h` stands in the check's relation to trigger `w`."""
    if w[0] == -1.0 and w[1] < 0:  # a whole-call trigger relates to everything
        return True
    rel = chk.relation
    if rel == "after":
        if h[0] < w[0] or (h[0] == w[0] and h[1] >= 0 and h[2] < w[3]):
            return False
    elif rel == "before" and (h[0] > w[0] or (h[0] == w[0] and h[1] >= 0 and h[3] > w[2])):
        return False
    if chk.within_utts and abs(h[0] - w[0]) > chk.within_utts:
        return False
    return not (chk.within_secs and h[4] >= 0 and w[4] >= 0 and abs(h[4] - w[4]) > chk.within_secs)


def _distinct(hits: list[Hit]) -> list[Hit]:
    """Drop hits that overlap a longer hit in the same utterance; keep call order."""
    if len(hits) < 2:
        return hits
    chosen: list[Hit] = []
    for h in sorted(hits, key=lambda h: (h[1], h[2] - h[3], h[2])):
        if h[1] >= 0 and any(c[1] == h[1] and c[2] < h[3] and h[2] < c[3] for c in chosen):
            continue
        chosen.append(h)
    chosen.sort()
    return chosen


ResultSink = Callable[[list[dict[str, Any]]], None]
