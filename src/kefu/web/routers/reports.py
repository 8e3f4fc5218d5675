"""Reports (CC-09, CC-10, CC-11): pages with ECharts charts, JSON tables, CSV and XLSX exports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kefu.services import reports
from kefu.services.reports import Dimension, Period, ReportError
from kefu.store.models import Role
from kefu.web.auth import SessionDep, SessionUser, require_role
from kefu.web.errors import Invalid
from kefu.web.pages import render

router = APIRouter(tags=["reports"])

REPORT_ROLES = (Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)
ReportUser = Annotated[SessionUser, require_role(*REPORT_ROLES)]
ReportName = Literal["traffic", "regions", "satisfaction"]
MAX_DAYS = 400
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(start: dt.date | None, end: dt.date | None) -> Period:
    today = dt.datetime.now(reports.TZ).date()
    last = end or today
    first = start or (last - dt.timedelta(days=6))
    if last < first:
        raise Invalid("end is before start")
    if (last - first).days >= MAX_DAYS:
        raise Invalid(f"a report covers at most {MAX_DAYS} days")
    try:
        return Period.local_days(first, last)
    except (ReportError, OverflowError, ValueError) as exc:
        raise Invalid(str(exc)) from None


def _table(
    session: Any,
    report: str,
    start: dt.date | None,
    end: dt.date | None,
    by: Dimension,
    queue_id: int | None,
    agent_id: int | None,
) -> reports.Table:
    period = _period(start, end)
    try:
        return reports.build_table(
            session, report, period, by, queue_id=queue_id, agent_id=agent_id
        )
    except ReportError as exc:
        raise Invalid(str(exc)) from None


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(request: Request, user: ReportUser) -> HTMLResponse:
    """The reports page: pick a report, dimension and dates; charts and tables load by API."""
    return render(request, "reports/index.html", user=user, labels=reports.labels())


@router.get("/api/reports/{report}", summary="A report table as JSON")
def report_json(
    report: ReportName,
    session: SessionDep,
    user: ReportUser,
    start: dt.date | None = None,
    end: dt.date | None = None,
    by: Dimension = Dimension.PLATFORM,
    queue_id: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    agent_id: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """Rows of `report` for [start, end] (Asia/Shanghai days, default the last 7)."""
    tab = _table(session, report, start, end, by, queue_id, agent_id)
    return {
        "report": report,
        "by": by.value,
        "columns": list(tab.columns),
        "headers": list(tab.headers),
        "rows": [list(r) for r in tab.rows],
    }


@router.get("/api/reports/{report}/export", summary="A report table as CSV or XLSX")
def report_export(
    report: ReportName,
    session: SessionDep,
    user: ReportUser,
    format: Literal["csv", "xlsx"] = "csv",
    start: dt.date | None = None,
    end: dt.date | None = None,
    by: Dimension = Dimension.PLATFORM,
    queue_id: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    agent_id: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> Response:
    """Download the table; the file name carries the report, grouping and dates."""
    tab = _table(session, report, start, end, by, queue_id, agent_id)
    period = _period(start, end)
    first = period.start.astimezone(reports.TZ).date().isoformat()
    last = (period.end - dt.timedelta(days=1)).astimezone(reports.TZ).date().isoformat()
    name = f"{tab.name}_{first}_{last}.{format}"
    if format == "csv":
        body, media = reports.to_csv(tab), "text/csv; charset=utf-8"
    else:
        body, media = reports.to_xlsx(tab), XLSX
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
