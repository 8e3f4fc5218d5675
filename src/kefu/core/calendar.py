"""Business days and public holidays of mainland China (SV-04).

How it works: a day is answered from the first source that covers its year.
1. A schedule an admin entered or imported for that year (`YearSchedule`): the official
   notice, with its make-up workdays (调休).
2. `chinese-calendar`, which carries the official notices for the years it knows.
3. An estimate: the festival days themselves (New Year's Day, the Spring Festival, Qingming,
   May Day, Dragon Boat, Mid-Autumn, National Day) from the lunar calendar and fixed dates,
   and weekends off. The answer says it is an estimate, so the console can warn; it never
   raises.

Pure: no clock, no I/O. The caller passes the date and any imported schedules.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import chinese_calendar
from lunardate import LunarDate


class Festival(enum.Enum):
    """A public holiday of the official calendar."""

    NEW_YEAR = "new_year"
    SPRING_FESTIVAL = "spring_festival"
    QINGMING = "qingming"
    LABOUR_DAY = "labour_day"
    DRAGON_BOAT = "dragon_boat"
    MID_AUTUMN = "mid_autumn"
    NATIONAL_DAY = "national_day"


class Greeting(enum.Enum):
    """Which holiday greeting the norms ask for (新年好 or 节日好), if any."""

    NEW_YEAR = "new_year"  # 新年好
    FESTIVAL = "festival"  # 节日好


class Coverage(enum.Enum):
    """Where the answer for a day came from."""

    IMPORTED = "imported"
    OFFICIAL = "official"
    ESTIMATED = "estimated"


GREETING_OF: Mapping[Festival, Greeting | None] = {
    Festival.NEW_YEAR: Greeting.NEW_YEAR,
    Festival.SPRING_FESTIVAL: Greeting.NEW_YEAR,
    Festival.QINGMING: None,  # a day of remembrance: no festive greeting
    Festival.LABOUR_DAY: Greeting.FESTIVAL,
    Festival.DRAGON_BOAT: Greeting.FESTIVAL,
    Festival.MID_AUTUMN: Greeting.FESTIVAL,
    Festival.NATIONAL_DAY: Greeting.FESTIVAL,
}

_LIBRARY_NAMES: Mapping[str, Festival] = {
    "New Year's Day": Festival.NEW_YEAR,
    "Spring Festival": Festival.SPRING_FESTIVAL,
    "Tomb-sweeping Day": Festival.QINGMING,
    "Labour Day": Festival.LABOUR_DAY,
    "Dragon Boat Festival": Festival.DRAGON_BOAT,
    "Mid-autumn Festival": Festival.MID_AUTUMN,
    "National Day": Festival.NATIONAL_DAY,
}


@dataclass(frozen=True, slots=True)
class DayInfo:
    """What the calendar says of one date."""

    date: dt.date
    is_workday: bool
    festival: Festival | None
    coverage: Coverage

    @property
    def greeting(self) -> Greeting | None:
        """The holiday greeting due on this day, or None for an ordinary day."""
        return GREETING_OF[self.festival] if self.festival is not None else None

    @property
    def estimated(self) -> bool:
        """True when the year has no official schedule: the console shows a warning."""
        return self.coverage is Coverage.ESTIMATED


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """An official schedule for one year, as an admin enters or imports it.

    `holidays` maps each day off to its festival; `workdays` lists the make-up workdays
    that fall on a weekend.
    """

    year: int
    holidays: Mapping[dt.date, Festival]
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for day in (*self.holidays, *self.workdays):
            if day.year != self.year:
                raise ValueError(f"{day.isoformat()} is not in {self.year}")


def festival_days(year: int) -> dict[dt.date, Festival]:
    """The festival days of a year by the fixed and lunar dates (no bridging days)."""
    days: dict[dt.date, Festival] = {dt.date(year, 1, 1): Festival.NEW_YEAR}
    # The Spring Festival break: New Year's Eve to the 3rd day of the first lunar month.
    spring = LunarDate(year, 1, 1).to_solar_date()
    for offset in range(-1, 3):
        days[spring + dt.timedelta(days=offset)] = Festival.SPRING_FESTIVAL
    days[_qingming(year)] = Festival.QINGMING
    days[dt.date(year, 5, 1)] = Festival.LABOUR_DAY
    days[LunarDate(year, 5, 5).to_solar_date()] = Festival.DRAGON_BOAT
    days[LunarDate(year, 8, 15).to_solar_date()] = Festival.MID_AUTUMN
    for d in range(1, 4):
        days[dt.date(year, 10, d)] = Festival.NATIONAL_DAY
    return days


def _qingming(year: int) -> dt.date:
    # Qingming solar term: 4 or 5 April; the 0.2422-day drift formula holds for 2000-2099.
    y = year % 100
    day = int(y * 0.2422 + 4.81) - (y - 1) // 4 if y else 5
    return dt.date(year, 4, day)


class HolidayCalendar:
    """Answers whether a day is a workday and which festival it belongs to."""

    def __init__(self, schedules: Mapping[int, YearSchedule] | None = None) -> None:
        self._schedules: dict[int, YearSchedule] = dict(schedules or {})
        self._estimates: dict[int, dict[dt.date, Festival]] = {}

    def add_schedule(self, schedule: YearSchedule) -> None:
        """Enter or replace the official schedule of one year."""
        self._schedules[schedule.year] = schedule

    def covered(self, year: int) -> bool:
        """True when the year has an official or imported schedule."""
        return year in self._schedules or _library_covers(year)

    def day(self, date: dt.date) -> DayInfo:
        """Everything the calendar knows of `date`."""
        schedule = self._schedules.get(date.year)
        if schedule is not None:
            festival = schedule.holidays.get(date)
            workday = festival is None and (date.weekday() < 5 or date in schedule.workdays)
            return DayInfo(date, workday, festival, Coverage.IMPORTED)
        if _library_covers(date.year):
            on_holiday, name = chinese_calendar.get_holiday_detail(date)
            festival = _LIBRARY_NAMES.get(name) if (on_holiday and name) else None
            workday = chinese_calendar.is_workday(date)
            return DayInfo(date, workday, festival, Coverage.OFFICIAL)
        estimate = self._estimates.get(date.year)
        if estimate is None:
            estimate = self._estimates[date.year] = festival_days(date.year)
        festival = estimate.get(date)
        return DayInfo(date, festival is None and date.weekday() < 5, festival, Coverage.ESTIMATED)

    def is_workday(self, date: dt.date) -> bool:
        """True on a working day, make-up workdays included."""
        return self.day(date).is_workday

    def greeting(self, date: dt.date) -> Greeting | None:
        """The holiday greeting due on `date`, if any."""
        return self.day(date).greeting


def _library_covers(year: int) -> bool:
    lo, hi = _library_years()
    return lo <= year <= hi


@functools.cache
def _library_years() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)
