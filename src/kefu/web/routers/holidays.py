"""Holiday schedules (SV-04): an admin enters or imports a year's official notice; the running
calendar (IVR, chat, console greetings) uses it at once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, UploadFile
from pydantic import BaseModel, Field

from kefu.core.calendar import Festival, YearSchedule
from kefu.services import holidays
from kefu.store.models import User
from kefu.web.auth import AdminUser, SessionDep
from kefu.web.errors import Invalid

router = APIRouter(tags=["holidays"])
MAX_FILE_BYTES = 256 * 1024
Year = Annotated[int, Path(ge=holidays.FIRST_YEAR, le=holidays.LAST_YEAR)]


class YearIn(BaseModel):
    """A year's official schedule: days off by festival, and make-up workdays (调休)."""

    holidays: dict[dt.date, Festival] = Field(max_length=120)
    workdays: list[dt.date] = Field(default_factory=list, max_length=30)


@router.get("/api/admin/holidays/{year}")
def year_days(request: Request, user: AdminUser, year: Year) -> dict[str, Any]:
    """The year's days off and make-up workdays as the running calendar answers them, and
    whether they come from an imported schedule, the official library or an estimate."""
    calendar = request.app.state.center.calendar
    return {
        "year": year,
        "covered": calendar.covered(year),
        "days": holidays.year_days(calendar, year),
    }


@router.put("/api/admin/holidays/{year}")
def put_year(
    request: Request, user: AdminUser, session: SessionDep, year: Year, body: YearIn
) -> dict[str, Any]:
    """Enter a year's schedule by hand, replacing what was stored for it."""
    lines = [f"{d.isoformat()}, {f.value}" for d, f in sorted(body.holidays.items())]
    lines += [f"{d.isoformat()}, workday" for d in sorted(body.workdays)]
    try:
        schedules = holidays.parse("\n".join(lines), "body")
    except holidays.HolidayError as exc:
        raise Invalid(str(exc), exc.problems) from None
    if any(s.year != year for s in schedules):
        raise Invalid(f"every day must lie in {year}")
    _store(request, session, user.id, schedules)
    return year_days(request, user, year)


@router.post("/api/admin/holidays/import")
async def import_file(
    request: Request, user: AdminUser, session: SessionDep, file: UploadFile
) -> dict[str, Any]:
    """Import a holiday file (see kefu.services.holidays); errors name file:line."""
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Invalid("file: larger than 256 KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("file: not UTF-8 text") from None
    try:
        schedules = holidays.parse(text, file.filename or "upload")
    except holidays.HolidayError as exc:
        raise Invalid(str(exc), exc.problems) from None
    _store(request, session, user.id, schedules)
    return {
        "years": [
            {"year": s.year, "holidays": len(s.holidays), "workdays": len(s.workdays)}
            for s in schedules
        ]
    }


def _store(request: Request, session: Any, user_id: int, schedules: list[YearSchedule]) -> None:
    holidays.save(session, schedules, session.get(User, user_id))
    calendar = request.app.state.center.calendar
    for s in schedules:  # the running calendar answers with it at once
        calendar.add_schedule(s)
