"""SLA-03: when the center may call customers (seed 002, 电话沟通的礼仪).

The seed says not before 07:00, not after 22:00, and not during the midday rest or meal
times (午休和用餐时间), without giving those times. The defaults here pick 12:00-14:00
(lunch and the midday rest) and 18:00-19:00 (dinner); installations change them in the
settings. Times are local wall-clock times; the caller converts `now` to the center's
timezone (the rule itself knows no clock and no timezone).

A window is half-open: calls may start at 07:00 and at 14:00, not at 22:00 or 12:00.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kefu.core.errors import ConfigInvalid

Span = tuple[dt.time, dt.time]

_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True, slots=True)
class CallingHours:
    """The day's allowed span for outbound calls, minus the quiet spans inside it."""

    opens: dt.time = dt.time(7, 0)
    closes: dt.time = dt.time(22, 0)
    quiet: tuple[Span, ...] = ((dt.time(12, 0), dt.time(14, 0)), (dt.time(18, 0), dt.time(19, 0)))

    def allows(self, local: dt.time) -> bool:
        """Whether a call may start at local wall-clock time `local`."""
        t = local.replace(tzinfo=None)
        if not self.opens <= t < self.closes:
            return False
        return not any(a <= t < b for a, b in self.quiet)

    def windows(self) -> tuple[Span, ...]:
        """The allowed spans of the day, in order (the quiet spans cut out)."""
        out: list[Span] = []
        start = self.opens
        for a, b in sorted(self.quiet):
            a, b = max(a, self.opens), min(b, self.closes)
            if a >= b:
                continue
            if start < a:
                out.append((start, a))
            start = max(start, b)
        if start < self.closes:
            out.append((start, self.closes))
        return tuple(out)

    def describe(self) -> str:
        """The allowed spans as text, e.g. '07:00-12:00, 14:00-18:00, 19:00-22:00'."""
        return ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in self.windows()) or "never"


def _time(text: str, where: str) -> dt.time:
    m = _HHMM.fullmatch(text.strip())
    if m is None:
        raise ConfigInvalid(f"{where}: {text!r} is not a time of day as HH:MM")
    return dt.time(int(m.group(1)), int(m.group(2)))


def parse_hours(opens: str, closes: str, quiet: Sequence[str]) -> CallingHours:
    """Build the rule from settings text ('07:00', '22:00', ['12:00-14:00', ...])."""
    o, c = _time(opens, "outbound_hours_open"), _time(closes, "outbound_hours_close")
    if o >= c:
        raise ConfigInvalid(f"outbound hours: opens {opens} is not before closes {closes}")
    spans: list[Span] = []
    for i, text in enumerate(quiet):
        a, sep, b = text.partition("-")
        where = f"outbound_quiet_hours[{i}]"
        if not sep:
            raise ConfigInvalid(f"{where}: {text!r} is not a span as HH:MM-HH:MM")
        ta, tb = _time(a, where), _time(b, where)
        if ta >= tb:
            raise ConfigInvalid(f"{where}: {text!r} ends before it starts")
        spans.append((ta, tb))
    return CallingHours(o, c, tuple(spans))


_SEPARATORS = re.compile(r"[\s\-.()（）]")
_NUMBER = re.compile(r"\+?[0-9]{5,20}")


def normalise_number(text: str) -> str:
    """A customer number as the trunk gets it: spaces, dashes, dots and brackets dropped.

    Raises ValueError naming what is wrong. The outside prefix is not part of it: the
    console dials customers straight through the trunk (only phones dial the prefix).
    """
    number = _SEPARATORS.sub("", text)
    if not number:
        raise ValueError("number: empty")
    if not _NUMBER.fullmatch(number):
        raise ValueError(
            f"number: {text!r} is not a phone number (5 to 20 digits, an optional leading +)"
        )
    return number
