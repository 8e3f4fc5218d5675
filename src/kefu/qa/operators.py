"""The operators of a rule condition, compiled from the rulebook into small objects.

Each condition answers `hits(ctx)`: the places in one conversation where it holds. Keyword
operators read the hits of the one automaton pass the context made; nothing here scans the
text again, except regex and similarity, which are limited to their scope.

Operators (YAML key → meaning):
  any / all / none / n_of   keywords, with `except`, `role`, `first`, `last`
  regex                      a pattern over the normalised text (`raw: true`: the raw text),
                             with `exclude` (an utterance matching it does not count)
  similar                    character-bigram similarity to model phrases (`threshold`)
  event                      a call event (`by`, `quiet_before` seconds of silence before it)
  hold / wait / silence      holds, the customer waiting for the agent, dead air (`min` s)
  overlap / rate / answer    talk-over (`min` s), speech rate and answer time (`min`, `max`)
  digits / readback          digit strings said (≥ `min` digits) / not read back
  holiday / direction        the day's greeting (new_year, festival, any) / call direction
  silent_caller              the customer never says anything
  all_of / any_of / not      combinations
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, ClassVar

from kefu.core.calendar import Greeting
from kefu.qa.context import Context, Hit
from kefu.qa.text import DIGIT_RUN, digit_pattern, digits_of, to_original

#: Applicability needs: timestamps, call events, the call date.
TIMES = "times"
EVENTS = "events"
DATE = "date"

NO_HITS: list[Hit] = []


class Cond:
    """A compiled condition."""

    needs: frozenset[str] = frozenset()
    op: ClassVar[str] = ""

    def hits(self, ctx: Context) -> list[Hit]:
        """Where this condition holds in the conversation."""
        raise NotImplementedError


def _conv_hit(ctx: Context) -> Hit:
    return (-1.0, -1, -1, -1, -1.0, False)


class Scope:
    """Role and sentence range: which utterances a text condition looks at."""

    __slots__ = ("first", "last", "role")

    def __init__(self, role: str, first: int, last: int) -> None:
        self.role = role
        self.first = first
        self.last = last

    def bounds(self, ctx: Context) -> tuple[int, int] | None:
        """(lowest, highest) utterance index in scope, or None when the scope is empty."""
        if not self.first and not self.last:
            return (0, ctx.n - 1) if ctx.n else None
        idx = ctx.role_index(self.role)
        if not idx:
            return None
        if self.first:
            return idx[0], idx[min(self.first, len(idx)) - 1]
        return idx[max(len(idx) - self.last, 0)], idx[-1]

    def utterances(self, ctx: Context) -> list[int]:
        """The utterance indices in scope."""
        b = self.bounds(ctx)
        if b is None:
            return []
        idx = ctx.role_index(self.role)
        return [i for i in idx if b[0] <= i <= b[1]]

    def accepts(self, ctx: Context, u: int, lo: int, hi: int) -> bool:
        """True when utterance `u` is in scope (bounds precomputed)."""
        return lo <= u <= hi and (self.role == "any" or ctx.roles[u] == self.role)


class Keyword(Cond):
    """any / all / none / n_of over phrases, with exceptions."""

    op = "keyword"

    def __init__(
        self, mode: str, sid: int, nphr: int, n: int, xsid: int, usid: int, scope: Scope
    ) -> None:
        self.usid = usid
        self.unquoted = False  # drop hits the agent only quotes (inside “…”)
        self.mode = mode
        self.sid = sid
        self.nphr = nphr
        self.n = n
        self.xsid = xsid
        self.scope = scope

    def _matches(self, ctx: Context) -> list[tuple[int, int, int, int]]:
        raw = ctx.set_hits.get(self.sid)
        if not raw:
            return []
        b = self.scope.bounds(ctx)
        if b is None:
            return []
        lo, hi = b
        role = self.scope.role
        roles = ctx.roles
        got = [h for h in raw if lo <= h[0] <= hi and (role == "any" or roles[h[0]] == role)]
        if got and self.xsid >= 0:
            ex = ctx.set_hits.get(self.xsid)
            if ex:
                got = [
                    h
                    for h in got
                    if not any(x[0] == h[0] and x[1] <= h[1] and h[2] <= x[2] for x in ex)
                ]
        if got and self.usid >= 0:
            un = ctx.set_hits.get(self.usid)
            if un:
                skip = {x[0] for x in un}
                got = [h for h in got if h[0] not in skip]
        if got and self.unquoted:
            got = [h for h in got if not _quoted(ctx.texts[h[0]], h[1], h[2])]
        return got

    def hits(self, ctx: Context) -> list[Hit]:
        got = self._matches(ctx)
        mode = self.mode
        if mode == "none":
            return [] if got else [_conv_hit(ctx)]
        if not got:
            return NO_HITS
        if mode == "all" and len({h[3] for h in got}) < self.nphr:
            return NO_HITS
        if mode == "n_of" and len({h[3] for h in got}) < self.n:
            return NO_HITS
        has_t = ctx.has_times
        starts = ctx.starts
        return [
            (float(u), u, s, e, float(starts[u]) if has_t else -1.0, False) for u, s, e, _ in got
        ]


_OPEN = '“「『"‘'
_CLOSE = '”」』"’'


def _quoted(text: str, s: int, e: int) -> bool:
    """Whether the normalised span [s, e) of `text` sits inside quotation marks."""
    if not any(q in text for q in _OPEN):
        return False
    start, _ = to_original(text, s, e)
    before = text[:start]
    if '"' in before and before.count('"') % 2 == 1:
        return True
    opened = sum(before.count(q) for q in "“「『‘")
    closed = sum(before.count(q) for q in "”」』’")
    return opened > closed


_sre_parser: Any = getattr(re, "_parser", None) or __import__("sre_parse")


def first_chars(pattern: re.Pattern[str]) -> str | None:
    """Characters one of which every match starts with, if the pattern says so; else None.

    Lets a regex condition skip the scan (a C `in` test per character instead of the regex
    engine's per-position loop) when none of them occurs in the text.
    """
    try:
        parsed = _sre_parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # pragma: no cover - the pattern compiled, so this is unexpected
        return None
    return _firsts(list(parsed))


def _firsts(items: list[Any]) -> str | None:
    if not items:
        return None
    op, arg = items[0]
    name = str(op)
    if name == "LITERAL":
        return chr(arg)
    if name == "IN":
        chars = []
        for sub_op, sub_arg in arg:
            if str(sub_op) != "LITERAL":
                return None
            chars.append(chr(sub_arg))
        return "".join(chars)
    if name == "BRANCH":
        out = ""
        for alt in arg[1]:
            f = _firsts(list(alt))
            if f is None:
                return None
            out += f
        return "".join(sorted(set(out)))
    if name == "SUBPATTERN":
        return _firsts(list(arg[-1]))
    if name == "ASSERT_NOT" or (name == "ASSERT" and arg[0] < 0):
        return _firsts(items[1:])  # a lookbehind does not consume: look at what follows
    return None


class Regex(Cond):
    """A regular expression over the normalised (or raw) text, with an exclusion pattern."""

    op = "regex"

    def __init__(
        self, pattern: re.Pattern[str], exclude: re.Pattern[str] | None, raw: bool, scope: Scope
    ) -> None:
        self.pattern = pattern
        self.exclude = exclude
        self.raw = raw
        self.scope = scope
        self.needs_one = first_chars(pattern)

    def hits(self, ctx: Context) -> list[Hit]:
        b = self.scope.bounds(ctx)
        if b is None:
            return NO_HITS
        lo, hi = b
        if self.raw:
            text, offs = ctx.raw()
        else:
            text, offs = ctx.joined, ctx.norm_starts
        if self.needs_one is not None and not any(ch in text for ch in self.needs_one):
            return NO_HITS
        start = offs[lo]
        end = offs[hi + 1]
        out: list[Hit] = []
        for m in self.pattern.finditer(text, start, end):
            s = m.start()
            u = bisect_right(offs, s) - 1
            if not self.scope.accepts(ctx, u, lo, hi):
                continue
            if self.exclude is not None:
                seg = ctx.texts[u] if self.raw else ctx.norm_text(u)
                if self.exclude.search(seg):
                    continue
            base = offs[u]
            out.append((float(u), u, s - base, m.end() - base, ctx.time_of(u), self.raw))
        return out


class Similar(Cond):
    """Character-bigram containment of a model phrase in an utterance."""

    op = "similar"

    def __init__(self, models: list[frozenset[str]], threshold: float, scope: Scope) -> None:
        self.models = [sorted(m) for m in models if m]
        self.threshold = threshold
        self.scope = scope

    def hits(self, ctx: Context) -> list[Hit]:
        out: list[Hit] = []
        for u in self.scope.utterances(ctx):
            text = ctx.norm_text(u)
            if not text:
                continue
            # Containment of the model's bigrams, by substring tests (no set per utterance).
            best = max((sum(g in text for g in m) / len(m) for m in self.models), default=0.0)
            if best >= self.threshold:
                out.append((float(u), u, 0, len(text), ctx.time_of(u), False))
        return out


class Event(Cond):
    """A call event of a type, optionally by whom and after some quiet."""

    op = "event"
    needs = frozenset({EVENTS})

    def __init__(self, kind: str, by: str | None, quiet_before: float) -> None:
        self.kind = kind
        self.by = by
        self.quiet_before = quiet_before
        if quiet_before:
            self.needs = frozenset({EVENTS, TIMES})

    def hits(self, ctx: Context) -> list[Hit]:
        out: list[Hit] = []
        for t, kind, by in ctx.events:
            if kind != self.kind or (self.by is not None and by != self.by):
                continue
            if self.quiet_before and ctx.has_times:
                last = max((e for e in ctx.ends if e <= t), default=-1e9)
                if any(s < t < e for s, e in zip(ctx.starts, ctx.ends, strict=True)):
                    last = t
                if t - last < self.quiet_before:
                    continue
            out.append((ctx.pos_of_time(t), -1, -1, -1, t, False))
        return out


class Hold(Cond):
    """Holds longer than `min` seconds (`silent`: the agent never came back on the line)."""

    op = "hold"
    needs = frozenset({EVENTS, TIMES})

    def __init__(self, minimum: float, silent: bool) -> None:
        self.minimum = minimum
        self.silent = silent

    def hits(self, ctx: Context) -> list[Hit]:
        out: list[Hit] = []
        for h0, h1 in ctx.timeline.holds:
            if h1 - h0 <= self.minimum:
                continue
            if self.silent and any(
                h0 < s < h1 for s, r in zip(ctx.starts, ctx.roles, strict=True) if r == "agent"
            ):
                continue
            out.append((ctx.pos_of_time(h1), -1, -1, -1, h1, False))
        return out


class Wait(Cond):
    """The customer waited more than `min` seconds: a hold, or the agent silent."""

    op = "wait"
    needs = frozenset({TIMES})

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def hits(self, ctx: Context) -> list[Hit]:
        tl = ctx.timeline
        out: list[Hit] = [
            (ctx.pos_of_time(h1), -1, -1, -1, h1, False)
            for h0, h1 in tl.holds
            if h1 - h0 > self.minimum
        ]
        for i, a, b in tl.waits:
            if b - a > self.minimum and not tl.in_hold(a, b):
                out.append((i - 0.5, -1, -1, -1, b, False))
        return out


class Silence(Cond):
    """Dead air: nobody speaks for more than `min` seconds, outside a hold."""

    op = "silence"
    needs = frozenset({TIMES})

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def hits(self, ctx: Context) -> list[Hit]:
        tl = ctx.timeline
        return [
            (i - 0.5, -1, -1, -1, a, False)
            for i, a, b in tl.silences
            if b - a > self.minimum and not tl.in_hold(a, b)
        ]


class Overlap(Cond):
    """The agent starts while the customer still talks, by at least `min` seconds."""

    op = "overlap"
    needs = frozenset({TIMES})

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def hits(self, ctx: Context) -> list[Hit]:
        return [
            (float(i), i, 0, len(ctx.texts[i]), ctx.starts[i], True)
            for i, d in ctx.timeline.overlaps
            if d >= self.minimum
        ]


class Rate(Cond):
    """The agent's speech rate (characters per minute of own talk) outside [min, max]."""

    op = "rate"
    needs = frozenset({TIMES})

    def __init__(self, lo: float, hi: float) -> None:
        self.lo = lo
        self.hi = hi

    def hits(self, ctx: Context) -> list[Hit]:
        tl = ctx.timeline
        if tl.agent_talk <= 0:
            return NO_HITS
        rate = tl.agent_chars * 60.0 / tl.agent_talk
        if self.lo <= rate <= self.hi:
            return NO_HITS
        return [(-1.0, -1, -1, -1, -1.0, False)]


class Answer(Cond):
    """Ring-to-answer time outside [min, max] seconds."""

    op = "answer"
    needs = frozenset({EVENTS})

    def __init__(self, lo: float, hi: float) -> None:
        self.lo = lo
        self.hi = hi

    def hits(self, ctx: Context) -> list[Hit]:
        ring = next((t for t, k, _ in ctx.events if k == "ring"), 0.0)
        answer = next((t for t, k, _ in ctx.events if k == "answer"), None)
        if answer is None:
            return NO_HITS
        delay = answer - ring
        if self.lo <= delay <= self.hi:
            return NO_HITS
        return [(-1.0, -1, -1, -1, answer, False)]


class Digits(Cond):
    """Digit strings (digits or Chinese numerals) of at least `min` digits."""

    op = "digits"

    def __init__(self, minimum: int, scope: Scope) -> None:
        self.minimum = minimum
        self.scope = scope

    def found(self, ctx: Context) -> list[tuple[int, int, int, str]]:
        """(utterance, start, end, digits) of every number said in scope."""
        b = self.scope.bounds(ctx)
        if b is None:
            return []
        lo, hi = b
        offs = ctx.norm_starts
        out: list[tuple[int, int, int, str]] = []
        for m in DIGIT_RUN.finditer(ctx.joined, offs[lo], offs[hi + 1]):
            s = m.start()
            u = bisect_right(offs, s) - 1
            if not self.scope.accepts(ctx, u, lo, hi):
                continue
            d = digits_of(m.group())
            if len(d) >= self.minimum and not d.startswith("1111"):
                out.append((u, s - offs[u], m.end() - offs[u], d))
        return out

    def hits(self, ctx: Context) -> list[Hit]:
        return [(float(u), u, s, e, ctx.time_of(u), False) for u, s, e, _ in self.found(ctx)]


class Readback(Cond):
    """A number the customer gave that the agent did not repeat within `within` utterances."""

    op = "readback"

    def __init__(self, minimum: int, within: int) -> None:
        self.digits = Digits(minimum, Scope("customer", 0, 0))
        self.within = within

    def hits(self, ctx: Context) -> list[Hit]:
        out: list[Hit] = []
        for u, s, e, d in self.digits.found(ctx):
            said = False
            pat = digit_pattern(d[-6:])
            offs = ctx.norm_starts
            for v in range(u + 1, min(ctx.n, u + 1 + self.within * 2)):
                if ctx.roles[v] == "agent" and pat.search(ctx.joined, offs[v], offs[v + 1]):
                    said = True
                    break
            if not said:
                out.append((float(u), u, s, e, ctx.time_of(u), False))
        return out


class Holiday(Cond):
    """The call falls on a day that wants a holiday greeting."""

    op = "holiday"
    needs = frozenset({DATE})

    def __init__(self, which: str) -> None:
        self.which = which

    def hits(self, ctx: Context) -> list[Hit]:
        known, greeting = ctx.holiday()
        if not known or greeting is None:
            return NO_HITS
        if self.which == "any" or greeting == Greeting(self.which):
            return [_conv_hit(ctx)]
        return NO_HITS


class Direction(Cond):
    """The call direction is `direction`."""

    op = "direction"

    def __init__(self, direction: str) -> None:
        self.direction = direction

    def hits(self, ctx: Context) -> list[Hit]:
        return [_conv_hit(ctx)] if ctx.direction == self.direction else NO_HITS


class SilentCaller(Cond):
    """The customer never says a word."""

    op = "silent_caller"

    def hits(self, ctx: Context) -> list[Hit]:
        for u in ctx.role_index("customer"):
            if ctx.norm_text(u):
                return NO_HITS
        return [_conv_hit(ctx)]


class AllOf(Cond):
    """Every part holds; the hits are the first part's."""

    op = "all_of"

    def __init__(self, parts: Sequence[Cond]) -> None:
        self.parts = list(parts)
        self.needs = frozenset().union(*(p.needs for p in parts))

    def hits(self, ctx: Context) -> list[Hit]:
        first: list[Hit] = NO_HITS
        for i, p in enumerate(self.parts):
            h = p.hits(ctx)
            if not h:
                return NO_HITS
            if i == 0:
                first = h
        return first


class AnyOf(Cond):
    """Some part holds; the hits are those of the first part (in order) that holds."""

    op = "any_of"

    def __init__(self, parts: Sequence[Cond]) -> None:
        self.parts = list(parts)
        self.needs = frozenset().union(*(p.needs for p in parts))

    def hits(self, ctx: Context) -> list[Hit]:
        # Short-circuit: the parts are tried in order, the first that holds gives the hits.
        for p in self.parts:
            found = p.hits(ctx)
            if found:
                return found
        return NO_HITS


class Not(Cond):
    """The part does not hold anywhere."""

    op = "not"

    def __init__(self, part: Cond) -> None:
        self.part = part
        self.needs = part.needs

    def hits(self, ctx: Context) -> list[Hit]:
        return NO_HITS if self.part.hits(ctx) else [_conv_hit(ctx)]
