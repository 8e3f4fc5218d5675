"""SV-04: an admin imports a year's official holiday schedule (file with file:line errors,
`kefu holidays import|list`), it is stored and the calendar answers from it (both DBs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kefu.cli import app
from kefu.core.calendar import Coverage, Festival
from kefu.services import holidays
from kefu.store.db import Database
from kefu.store.models import AuditEntry, HolidayDay

runner = CliRunner()

GOOD = """\
# 2027 official notice (a test year the library does not cover)
2027-01-01..2027-01-03, 元旦
2027-02-05..2027-02-11, 春节
2027-02-14, workday
2027-02-20, 补班   # Saturday
"""

BAD = """\
2027-01-01, 元旦
2027-13-01, 春节
2027-02-10, 圣诞节
2027-02-12, workday
2027-01-01, new_year
oops
2027-02-20..2027-02-01, spring_festival
"""


def test_parse_reports_every_bad_line_by_file_and_line() -> None:
    with pytest.raises(holidays.HolidayError) as err:
        holidays.parse(BAD, "h.txt")
    problems = err.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [
        "h.txt:2",
        "h.txt:3",
        "h.txt:6",
        "h.txt:7",
        "h.txt:4",
        "h.txt:5",
    ]
    text = "\n".join(problems)
    assert "'2027-13-01' is not a date" in text
    assert "unknown festival '圣诞节'" in text
    assert "2027-02-12 is a weekday" in text
    assert "already given on line 1" in text
    with pytest.raises(holidays.HolidayError, match=r"empty\.txt: no holiday entries"):
        holidays.parse("# nothing\n", "empty.txt")


def test_stored_schedule_drives_the_calendar(db: Database) -> None:
    (schedule,) = holidays.parse(GOOD, "2027.txt")
    assert (len(schedule.holidays), len(schedule.workdays)) == (10, 2)
    calendar = holidays.StoredCalendar(db)
    assert calendar.day(dt.date(2027, 2, 8)).coverage is Coverage.ESTIMATED
    with db.session() as s:
        holidays.save(s, [schedule])
    calendar.refresh()
    day = calendar.day(dt.date(2027, 2, 8))
    assert (day.festival, day.is_workday, day.coverage) == (
        Festival.SPRING_FESTIVAL,
        False,
        Coverage.IMPORTED,
    )
    assert calendar.is_workday(dt.date(2027, 2, 14))  # Sunday, make-up workday
    assert calendar.is_workday(dt.date(2027, 2, 12))  # an ordinary Friday
    assert not calendar.is_workday(dt.date(2027, 2, 13))  # an ordinary Saturday
    assert calendar.greeting(dt.date(2027, 1, 2)) is not None
    # importing the year again replaces it as a whole
    (again,) = holidays.parse("2027-02-06, spring_festival\n", "fix.txt")
    with db.session() as s:
        holidays.save(s, [again])
        assert s.scalars(select(HolidayDay.day).where(HolidayDay.year == 2027)).all() == [
            dt.date(2027, 2, 6)
        ]
        assert (
            len(s.scalars(select(AuditEntry).where(AuditEntry.action == "holidays.import")).all())
            == 2
        )


def _cli(db: Database, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app,
        [
            "holidays",
            *args,
            "--data-dir",
            str(tmp_path / "data"),
            "--database-url",
            db.engine.url.render_as_string(hide_password=False),
        ],
        env={"KEFU_CONFIG": str(tmp_path / "none.toml")},
    )


def test_cli_import_and_list(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(BAD, encoding="utf-8")
    r = _cli(db, tmp_path, "import", str(bad))
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{bad}:2: '2027-13-01' is not a date" in r.stderr
    assert f"{bad}:4: 2027-02-12 is a weekday" in r.stderr
    with db.session() as s:
        assert s.scalars(select(HolidayDay)).all() == []  # nothing stored
    good = tmp_path / "2027.txt"
    good.write_text(GOOD, encoding="utf-8")
    r = _cli(db, tmp_path, "import", str(good))
    assert r.exit_code == 0, r.output
    assert "2027: 10 days off, 2 make-up workdays stored" in r.stdout
    r = _cli(db, tmp_path, "list", "2027")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["2027-01-01", "new_year", "imported"]
    assert ["2027-02-14", "workday", "imported"] in [ln.split() for ln in lines]
    assert len(lines) == 12 and "warning" not in r.stderr
    r = _cli(db, tmp_path, "list", "2031")
    assert r.exit_code == 0 and "estimated from the lunar calendar" in r.stderr
    r = _cli(db, tmp_path, "import", str(tmp_path / "missing.txt"))
    assert r.exit_code == 2 and "missing.txt: cannot read" in r.stderr
    r = _cli(db, tmp_path, "list", "1990")
    assert r.exit_code == 2 and "YEAR" in r.stderr
