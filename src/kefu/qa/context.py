"""One conversation prepared for checking: the texts, one automaton pass, the timeline.

Everything a condition needs is computed here once per conversation, lazily where it is
only needed by some rules (the timeline, the raw joined text, the holiday).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from operator import itemgetter
from typing import Any

from kefu.core.calendar import Greeting, HolidayCalendar
from kefu.qa.text import SEP, normalize

_ROLE = itemgetter("role")
_TEXT = itemgetter("text")
_START = itemgetter("start")
_END = itemgetter("end")
_PLUS_ONE = (1).__add__  # a C-level callable, so the offsets are summed without Python code

_BEIJING = dt.timezone(dt.timedelta(hours=8))

#: A hit: (position, utterance index or -1, span start, span end, time or -1.0, raw span).
#: Text hits sit at their utterance index; events and waits between two utterances sit at
#: a half position, so "before" and "after" compare them with utterances directly.
Hit = tuple[float, int, int, int, float, bool]

#: Matches as (phrase id, start, end) over the concatenated normalised text.
Matcher = Callable[[str], list[tuple[int, int, int]]]


_GREETINGS: dict[tuple[int, dt.date], Greeting | None] = {}


def _greeting(cal: HolidayCalendar, day: dt.date) -> Greeting | None:
    # The calendar answer for a day never changes for a given calendar: cache it.
    key = (id(cal), day)
    if key not in _GREETINGS:
        if len(_GREETINGS) > 100_000:
            _GREETINGS.clear()
        _GREETINGS[key] = cal.greeting(day)
    return _GREETINGS[key]


class Timeline:
    """Gaps, overlaps, holds and speech rate, from timestamps and events, in one loop."""

    __slots__ = ("agent_chars", "agent_talk", "holds", "overlaps", "silences", "waits")

    def __init__(self, ctx: Context) -> None:
        holds: list[tuple[float, float]] = []
        open_at: float | None = None
        for t, kind, _by in ctx.events:
            if kind == "hold_start":
                open_at = t
            elif kind == "hold_end" and open_at is not None:
                holds.append((open_at, t))
                open_at = None
        self.holds = holds
        overlaps: list[tuple[int, float]] = []
        silences: list[tuple[int, float, float]] = []
        waits: list[tuple[int, float, float]] = []
        agent_talk = 0.0
        agent_chars = 0
        roles, starts, ends = ctx.roles, ctx.starts, ctx.ends
        norm_starts = ctx.norm_starts
        last_end = -1.0
        last_customer_end = -1.0
        customer_open = -1.0  # end of the customer's latest utterance
        for i in range(ctx.n):
            s = starts[i]
            e = ends[i]
            role = roles[i]
            if role == "agent":
                agent_talk += e - s
                agent_chars += norm_starts[i + 1] - norm_starts[i] - 1
                if customer_open - s >= 0.0 and i and roles[i - 1] == "customer":
                    overlaps.append((i, customer_open - s))
                if last_customer_end >= 0.0 and s - last_customer_end > 0.0:
                    waits.append((i, last_customer_end, s))
                last_customer_end = -1.0
            elif role == "customer":
                customer_open = e
                last_customer_end = e
            if last_end >= 0.0 and s > last_end:
                silences.append((i, last_end, s))
            if e > last_end:
                last_end = e
        self.overlaps = overlaps
        self.silences = silences
        self.waits = waits
        self.agent_talk = agent_talk
        self.agent_chars = agent_chars

    def in_hold(self, a: float, b: float) -> bool:
        """True when the interval [a, b] overlaps a hold."""
        return any(h0 < b and a < h1 for h0, h1 in self.holds)


class Context:
    """A conversation ready for the conditions of the rulebook."""

    __slots__ = (
        "_cal",
        "_greeting",
        "_raw",
        "_roles_idx",
        "_timeline",
        "channel",
        "direction",
        "ends",
        "events",
        "has_events",
        "has_times",
        "joined",
        "n",
        "norm_starts",
        "record",
        "roles",
        "set_hits",
        "started_at",
        "starts",
        "texts",
    )

    def __init__(
        self,
        record: dict[str, Any],
        utterances: list[dict[str, Any]],
        events: list[tuple[float, str, str]],
        matcher: Matcher,
        phrase_sets: list[tuple[tuple[int, int], ...]],
        calendar: HolidayCalendar,
    ) -> None:
        self.record = record
        self.channel: str = record["channel"]
        self.direction: str = record.get("direction") or "inbound"
        self.started_at: str | None = record.get("started_at")
        self.n = n = len(utterances)
        self.roles: list[str] = list(map(_ROLE, utterances))
        self.texts: list[str] = list(map(_TEXT, utterances))
        try:
            self.starts: list[float] = list(map(_START, utterances))
            self.ends: list[float] = list(map(_END, utterances))
            self.has_times = self.channel == "voice" and n > 0
        except KeyError:
            self.starts = []
            self.ends = []
            self.has_times = False
        self.events = events
        self.has_events = bool(events) and self.channel == "voice"
        joined = normalize(SEP.join(self.texts))
        self.joined = joined
        offs = [0, *accumulate(map(_PLUS_ONE, map(len, joined.split(SEP))))]
        self.norm_starts = offs
        set_hits: dict[int, list[tuple[int, int, int, int]]] = {}
        if n:
            get = set_hits.get
            for pid, start, end in matcher(joined):
                u = bisect_right(offs, start) - 1
                base = offs[u]
                hit0 = (u, start - base, end - base)
                for sid, local in phrase_sets[pid]:
                    lst = get(sid)
                    if lst is None:
                        set_hits[sid] = [(*hit0, local)]
                    else:
                        lst.append((*hit0, local))
        self.set_hits = set_hits
        self._roles_idx: dict[str, list[int]] = {}
        self._timeline: Timeline | None = None
        self._raw: tuple[str, list[int]] | None = None
        self._greeting: tuple[bool, Greeting | None] | None = None
        self._cal = calendar

    def role_index(self, role: str) -> list[int]:
        """Indices of the utterances spoken by `role` ('any' for all)."""
        idx = self._roles_idx.get(role)
        if idx is None:
            if role == "any":
                idx = list(range(self.n))
            else:
                idx = [i for i, r in enumerate(self.roles) if r == role]
            self._roles_idx[role] = idx
        return idx

    def norm_text(self, u: int) -> str:
        """The normalised text of utterance `u`."""
        return self.joined[self.norm_starts[u] : self.norm_starts[u + 1] - 1]

    def raw(self) -> tuple[str, list[int]]:
        """The raw texts joined by newlines, and where each utterance starts."""
        if self._raw is None:
            offs = [0]
            for t in self.texts:
                offs.append(offs[-1] + len(t) + 1)
            self._raw = ("\n".join(self.texts), offs)
        return self._raw

    @property
    def timeline(self) -> Timeline:
        """The timeline, computed on first use."""
        if self._timeline is None:
            self._timeline = Timeline(self)
        return self._timeline

    def time_of(self, u: int) -> float:
        """Start time of utterance `u`, or -1.0 when there are no timestamps."""
        return float(self.starts[u]) if self.has_times else -1.0

    def pos_of_time(self, t: float) -> float:
        """The half position of an instant between utterances."""
        if not self.has_times:
            return float(self.n) - 0.5
        return bisect_right(self.starts, t) - 0.5

    def holiday(self) -> tuple[bool, Greeting | None]:
        """(known, greeting due): known is False without `started_at`."""
        if self._greeting is None:
            if not self.started_at:
                self._greeting = (False, None)
            else:
                when = dt.datetime.fromisoformat(str(self.started_at))
                if when.tzinfo is not None:  # the calendar is Beijing time's
                    when = when.astimezone(_BEIJING)
                self._greeting = (True, _greeting(self._cal, when.date()))
        return self._greeting
