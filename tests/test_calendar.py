"""SV-04: holidays and business days, official, imported and estimated years."""

import datetime as dt

from kefu.core.calendar import Coverage, Festival, Greeting, HolidayCalendar, YearSchedule


def test_official_spring_festival_and_make_up_workday() -> None:
    cal = HolidayCalendar()
    spring = cal.day(dt.date(2026, 2, 17))
    assert spring.festival is Festival.SPRING_FESTIVAL
    assert spring.greeting is Greeting.NEW_YEAR
    assert spring.coverage is Coverage.OFFICIAL
    assert not spring.is_workday
    # 2026-02-14 is a Saturday worked in lieu of the Spring Festival break (调休).
    assert cal.is_workday(dt.date(2026, 2, 14))
    assert cal.greeting(dt.date(2026, 10, 1)) is Greeting.FESTIVAL
    assert cal.greeting(dt.date(2026, 11, 23)) is None


def test_uncovered_year_is_estimated_from_lunar_calendar_and_never_raises() -> None:
    cal = HolidayCalendar()
    assert not cal.covered(2027)
    day = cal.day(dt.date(2027, 2, 6))  # lunar new year 2027
    assert day.festival is Festival.SPRING_FESTIVAL
    assert day.estimated
    assert cal.day(dt.date(2027, 6, 9)).festival is Festival.DRAGON_BOAT
    assert cal.day(dt.date(2027, 9, 15)).greeting is Greeting.FESTIVAL
    assert cal.day(dt.date(2027, 4, 5)).festival is Festival.QINGMING
    assert cal.day(dt.date(2027, 4, 5)).greeting is None
    assert not cal.is_workday(dt.date(2027, 3, 6))  # a Saturday
    assert cal.is_workday(dt.date(2027, 3, 8))


def test_imported_schedule_overrides_estimate() -> None:
    cal = HolidayCalendar()
    cal.add_schedule(
        YearSchedule(
            2027,
            holidays={dt.date(2027, 2, 10): Festival.SPRING_FESTIVAL},
            workdays=frozenset({dt.date(2027, 2, 20)}),
        )
    )
    assert cal.covered(2027)
    day = cal.day(dt.date(2027, 2, 10))
    assert day.coverage is Coverage.IMPORTED and day.greeting is Greeting.NEW_YEAR
    assert cal.is_workday(dt.date(2027, 2, 20))  # Saturday, make-up workday
    assert cal.day(dt.date(2027, 2, 6)).festival is None  # the import is authoritative
