"""SV-04 admin API: enter or import a year's holidays; the running calendar (console greeting,
chat, IVR) answers from it at once; only admins may."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from kefu.web.routers.workspace import greeting_today

FILE = "2027-01-01..2027-01-03, 元旦\n2027-02-05..2027-02-11, 春节\n2027-02-14, workday\n"


def test_admin_imports_and_enters_a_year(
    app: FastAPI, client_for: Callable[[str], TestClient]
) -> None:
    admin = client_for("admin")
    calendar = app.state.center.calendar
    assert app.state.chat.calendar is calendar  # one calendar for the console, chat and IVR
    before = admin.get("/api/admin/holidays/2027").json()
    assert before["covered"] is False
    assert {d["coverage"] for d in before["days"]} == {"estimated"}
    bad = admin.post(
        "/api/admin/holidays/import",
        files={"file": ("h.txt", "2027-01-01, 元旦\n2027-02-30, 春节\n".encode())},
    )
    assert bad.status_code == 422
    assert bad.json()["details"] == ["h.txt:2: '2027-02-30' is not a date (YYYY-MM-DD)"]
    assert 'id="holiday-form"' in admin.get("/admin").text  # the admin page's import form
    res = admin.post(
        "/api/admin/holidays/import", files={"file": ("2027.txt", FILE.encode("utf-8"))}
    )
    assert res.status_code == 200, res.text
    assert res.json()["years"] == [{"year": 2027, "holidays": 10, "workdays": 1}]
    after = admin.get("/api/admin/holidays/2027").json()
    assert after["covered"] is True
    assert {"date": "2027-02-14", "festival": None, "workday": True, "coverage": "imported"} in (
        after["days"]
    )
    # the console's holiday greeting follows the imported schedule at once
    noon = dt.datetime(2027, 2, 10, 4, tzinfo=dt.UTC)
    assert greeting_today(noon, calendar) == "new_year"
    # entering by hand replaces the year
    res = admin.put(
        "/api/admin/holidays/2027",
        json={"holidays": {"2027-10-01": "national_day"}, "workdays": ["2027-10-09"]},
    )
    assert res.status_code == 200, res.text
    assert [d["date"] for d in res.json()["days"]] == ["2027-10-01", "2027-10-09"]
    assert greeting_today(noon, calendar) is None
    res = admin.put("/api/admin/holidays/2027", json={"holidays": {"2028-01-01": "new_year"}})
    assert res.status_code == 422 and "2027" in res.text
    res = admin.put("/api/admin/holidays/2027", json={"holidays": {"2027-01-01": "xmas"}})
    assert res.status_code == 422
    for role in ("agent", "team_leader", "supervisor", "qa"):
        c = client_for(role)
        assert c.get("/api/admin/holidays/2027").status_code == 403
        assert c.put("/api/admin/holidays/2027", json={"holidays": {}}).status_code == 403
