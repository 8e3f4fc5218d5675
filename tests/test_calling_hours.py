"""SLA-03: the outbound hours rule (pure) and the number normalisation of click-to-dial."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.core.calling_hours import CallingHours, normalise_number, parse_hours
from kefu.core.errors import ConfigInvalid

RULE = CallingHours()  # the defaults: 07:00-22:00 without 12:00-14:00 and 18:00-19:00


@pytest.mark.parametrize(
    ("hhmm", "allowed"),
    [
        ("00:00", False),
        ("06:59", False),
        ("07:00", True),
        ("09:30", True),
        ("11:59", True),
        ("12:00", False),  # 午休
        ("13:59", False),
        ("14:00", True),
        ("17:59", True),
        ("18:00", False),  # 晚饭
        ("18:59", False),
        ("19:00", True),
        ("21:59", True),
        ("22:00", False),
        ("23:30", False),
    ],
)
def test_the_seeds_hours_table(hhmm: str, allowed: bool) -> None:
    h, m = map(int, hhmm.split(":"))
    assert RULE.allows(dt.time(h, m)) is allowed


def test_windows_and_description() -> None:
    assert RULE.describe() == "07:00-12:00, 14:00-18:00, 19:00-22:00"
    assert CallingHours(quiet=()).describe() == "07:00-22:00"
    # quiet spans sticking out of the day, overlapping or unsorted are cut and merged
    odd = parse_hours(
        "08:00", "20:00", ["19:00-23:00", "05:00-09:00", "12:00-13:00", "12:30-14:00"]
    )
    assert odd.describe() == "09:00-12:00, 14:00-19:00"


@given(st.times())
def test_allowed_exactly_inside_a_window(t: dt.time) -> None:
    inside = any(a <= t.replace(tzinfo=None) < b for a, b in RULE.windows())
    assert RULE.allows(t) is inside
    assert not (t < dt.time(7) or t >= dt.time(22)) or not RULE.allows(t)


@given(st.lists(st.tuples(st.integers(0, 23), st.integers(0, 23)), max_size=4), st.times())
def test_quiet_spans_always_refuse(spans: list[tuple[int, int]], t: dt.time) -> None:
    quiet = [f"{min(a, b):02d}:00-{max(a, b):02d}:30" for a, b in spans]
    rule = parse_hours("06:00", "23:00", quiet)
    for text in quiet:
        a, b = (dt.time(int(x[:2]), int(x[3:])) for x in text.split("-"))
        if a <= t < b:
            assert not rule.allows(t)


@pytest.mark.parametrize(
    ("opens", "closes", "quiet", "where"),
    [
        ("7:00", "25:00", [], "outbound_hours_close"),
        ("22:00", "07:00", [], "not before"),
        ("07:00", "22:00", ["12:00"], "outbound_quiet_hours[0]"),
        ("07:00", "22:00", ["12:00-14:00", "14:00-13:00"], "outbound_quiet_hours[1]"),
        ("seven", "22:00", [], "outbound_hours_open"),
    ],
)
def test_bad_settings_name_the_setting(
    opens: str, closes: str, quiet: list[str], where: str
) -> None:
    with pytest.raises(ConfigInvalid, match=where.replace("[", r"\[").replace("]", r"\]")):
        parse_hours(opens, closes, quiet)


@pytest.mark.parametrize(
    ("typed", "bare"),
    [
        ("13900001111", "13900001111"),
        ("139-0000-1111", "13900001111"),
        (" 139 0000 1111 ", "13900001111"),
        ("(010) 6552-8888", "01065528888"),
        ("+86 139 0000 1111", "+8613900001111"),
    ],
)
def test_numbers_are_normalised(typed: str, bare: str) -> None:
    assert normalise_number(typed) == bare


@pytest.mark.parametrize("bad", ["", "   ", "12ab", "1234", "139*0000", "++861390000", "1" * 21])
def test_bad_numbers_say_so(bad: str) -> None:
    with pytest.raises(ValueError, match="number"):
        normalise_number(bad)
