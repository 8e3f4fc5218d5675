"""Official holiday schedules an admin enters or imports (SV-04), stored in the database and
loaded into the calendar the center, the IVR, chat and the workspace use.

File format (UTF-8 text, one entry a line; `#` starts a comment):

    2027-01-01, new_year            a day off of a festival (code or name: 元旦, 春节 ...)
    2027-02-05..2027-02-11, 春节     a range of days off, both ends included
    2027-02-14, workday             a make-up workday (调休上班, 补班)

Every year named in a file is replaced as a whole: the file is that year's official notice.
A bad line is reported as `FILE:LINE: what is wrong`, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kefu.core.calendar import DayInfo, Festival, HolidayCalendar, YearSchedule
from kefu.errors import KefuError
from kefu.store.db import Database
from kefu.store.models import HolidayDay, User
from kefu.store.repositories import AuditRepository

log = logging.getLogger(__name__)
NAMES_FILE = Path(__file__).with_name("holidays.yaml")
MAX_SPAN_DAYS = 31  # a range longer than this is a typo
FIRST_YEAR, LAST_YEAR = 2000, 2099  # the lunar estimate's range


class HolidayError(KefuError):
    """A holiday schedule that cannot be read or stored; the message names file and line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@functools.cache
def _names() -> tuple[dict[str, Festival], frozenset[str]]:
    with NAMES_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    names: dict[str, Festival] = {f.value: f for f in Festival}
    for code, aliases in data["festivals"].items():
        for alias in aliases:
            names[str(alias)] = Festival(code)
    return names, frozenset(str(w) for w in data["workday"])


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed day: a festival's day off, or a make-up workday (festival None)."""

    day: dt.date
    festival: Festival | None
    line: int


def parse(text: str, source: str = "<input>") -> list[YearSchedule]:
    """The schedules in a holiday file; HolidayError lists every bad line as source:line."""
    names, workday_words = _names()
    problems: list[str] = []
    entries: list[Entry] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{n}"
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if len(parts) != 2 or not parts[0] or not parts[1]:
            problems.append(f"{where}: expected 'DATE, FESTIVAL' or 'DATE, workday'")
            continue
        when, what = parts
        try:
            first, _, last = when.partition("..")
            start = _date(first)
            end = _date(last) if last else start
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if end < start or (end - start).days >= MAX_SPAN_DAYS:
            problems.append(f"{where}: range {when} must run forward, at most {MAX_SPAN_DAYS} days")
            continue
        if not FIRST_YEAR <= start.year <= LAST_YEAR or end.year != start.year:
            problems.append(f"{where}: {when} must lie within one year {FIRST_YEAR}-{LAST_YEAR}")
            continue
        festival: Festival | None
        if what in workday_words:
            festival = None
        elif what in names:
            festival = names[what]
        else:
            choices = ", ".join(f.value for f in Festival)
            problems.append(f"{where}: unknown festival {what!r} (one of {choices}, or workday)")
            continue
        day = start
        while day <= end:
            entries.append(Entry(day, festival, n))
            day += dt.timedelta(days=1)
    seen: dict[dt.date, int] = {}
    for e in entries:
        if e.day in seen:
            problems.append(f"{source}:{e.line}: {e.day} already given on line {seen[e.day]}")
        else:
            seen[e.day] = e.line
        if e.festival is None and e.day.weekday() < 5:
            problems.append(f"{source}:{e.line}: {e.day} is a weekday: not a make-up workday")
    if not entries and not problems:
        problems.append(f"{source}: no holiday entries")
    if problems:
        raise HolidayError(problems)
    return _schedules(entries)


def _schedules(entries: Iterable[Entry]) -> list[YearSchedule]:
    holidays: dict[int, dict[dt.date, Festival]] = {}
    workdays: dict[int, set[dt.date]] = {}
    for e in entries:
        holidays.setdefault(e.day.year, {})
        workdays.setdefault(e.day.year, set())
        if e.festival is None:
            workdays[e.day.year].add(e.day)
        else:
            holidays[e.day.year][e.day] = e.festival
    return [
        YearSchedule(year, holidays[year], frozenset(workdays[year])) for year in sorted(holidays)
    ]


def save(session: Session, schedules: Iterable[YearSchedule], actor: User | None = None) -> None:
    """Store the schedules, each replacing its whole year; audited."""
    for s in schedules:
        session.execute(delete(HolidayDay).where(HolidayDay.year == s.year))
        for day, festival in sorted(s.holidays.items()):
            session.add(HolidayDay(year=s.year, day=day, festival=festival.value))
        for day in sorted(s.workdays):
            session.add(HolidayDay(year=s.year, day=day, festival=None))
        AuditRepository(session).record(
            "holidays.import",
            actor=actor,
            target=str(s.year),
            detail={"holidays": len(s.holidays), "workdays": len(s.workdays)},
        )
    session.flush()


def load(session: Session) -> dict[int, YearSchedule]:
    """Every stored schedule, by year."""
    entries = [
        Entry(r.day, Festival(r.festival) if r.festival else None, 0)
        for r in session.scalars(select(HolidayDay).order_by(HolidayDay.day))
    ]
    return {s.year: s for s in _schedules(entries)}


def year_days(calendar: HolidayCalendar, year: int) -> list[dict[str, Any]]:
    """The year's days off and make-up workdays as the calendar answers them, with where the
    answer comes from (imported, official library, estimated)."""
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        info = calendar.day(day)
        weekend = day.weekday() >= 5
        if info.festival is not None or (weekend and info.is_workday):
            out.append(
                {
                    "date": day.isoformat(),
                    "festival": info.festival.value if info.festival else None,
                    "workday": info.is_workday,
                    "coverage": info.coverage.value,
                }
            )
        day += dt.timedelta(days=1)
    return out


class StoredCalendar(HolidayCalendar):
    """The calendar with the stored schedules, re-read at most every `max_age` seconds so an
    import from the CLI reaches a running `kefu serve` too."""

    def __init__(self, db: Database, max_age: float = 60.0) -> None:
        super().__init__()
        self.db = db
        self.max_age = max_age
        self._loaded = -float("inf")
        self.refresh()

    def refresh(self) -> None:
        """Read the stored schedules now."""
        with self.db.session() as session:
            schedules: Mapping[int, YearSchedule] = load(session)
        self._schedules = dict(schedules)
        self._loaded = time.monotonic()

    def day(self, date: dt.date) -> DayInfo:
        """As `HolidayCalendar.day`, with the stored schedules fresh (a database error keeps
        the schedules read last: the IVR must answer)."""
        if time.monotonic() - self._loaded > self.max_age:
            try:
                self.refresh()
            except SQLAlchemyError:
                log.exception("holiday calendar: cannot re-read the schedules")
                self._loaded = time.monotonic()
        return super().day(date)
