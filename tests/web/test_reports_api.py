"""Report endpoints (CC-09/10/11): roles, JSON figures, CSV and XLSX exports."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from kefu.store.db import Database

from .seed_b import seed_cdrs

Q = "start=2026-10-01&end=2026-11-01"


def test_logged_out_and_wrong_roles(anon, client_for) -> None:
    assert anon.get(f"/api/reports/traffic?{Q}").status_code == 401
    assert anon.get(f"/api/reports/traffic/export?{Q}").status_code == 401
    assert anon.get("/reports").status_code == 303
    for role in ("agent", "qa"):
        c = client_for(role)
        assert c.get(f"/api/reports/traffic?{Q}").status_code == 403
        assert c.get(f"/api/reports/regions/export?{Q}&format=xlsx").status_code == 403
        assert c.get("/reports").status_code == 403


def test_traffic_by_queue(client_for, web_db: Database) -> None:
    with web_db.session() as s:
        seed_cdrs(s, agent_nos=("3001", "3002"))
    c = client_for("supervisor")
    res = c.get(f"/api/reports/traffic?{Q}&by=queue")
    assert res.status_code == 200
    body = res.json()
    rows = {r[0]: dict(zip(body["columns"], r, strict=True)) for r in body["rows"]}
    assert rows["售前"]["offered"] == 3 and rows["售前"]["abandoned"] == 1
    assert rows["售后"]["service_level"] == 0.5
    assert body["headers"][1] == "呼入量"
    plat = c.get(f"/api/reports/traffic?{Q}").json()["rows"][0]
    assert plat[1:4] == [5, 3, 2]
    hours = c.get(f"/api/reports/traffic?{Q}&by=hour").json()["rows"]
    assert len(hours) == 24 and hours[9][1] == 2


def test_regions_satisfaction_and_filters(client_for, web_db: Database) -> None:
    with web_db.session() as s:
        ids = seed_cdrs(s, agent_nos=("3001", "3002"))
    c = client_for("team_leader")
    regions = c.get(f"/api/reports/regions?{Q}").json()["rows"]
    assert regions[0][:3] == ["北京", 2, 2]
    sat = c.get(f"/api/reports/satisfaction?{Q}&by=agent").json()
    first = dict(zip(sat["columns"], sat["rows"][0], strict=True))
    assert (first["label"], first["count"], first["average"]) == ("3001 李娜", 2, 4.5)
    one = c.get(f"/api/reports/traffic?{Q}&queue_id={ids.q2}").json()["rows"][0]
    assert one[1] == 2
    assert c.get(f"/api/reports/satisfaction?{Q}&by=hour").status_code == 422
    assert c.get("/api/reports/traffic?start=2026-10-05&end=2026-10-01").status_code == 422
    assert c.get("/api/reports/traffic?start=2020-01-01&end=2026-10-01").status_code == 422
    assert c.get(f"/api/reports/nope?{Q}").status_code == 422


def test_exports(client_for, web_db: Database) -> None:
    with web_db.session() as s:
        seed_cdrs(s, agent_nos=("3001", "3002"))
    c = client_for("admin")
    res = c.get(f"/api/reports/traffic/export?{Q}&by=day&format=csv")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/csv")
    assert "traffic-day_2026-10-01_2026-11-01.csv" in res.headers["content-disposition"]
    lines = res.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("分组,呼入量")
    assert lines[1].startswith("2026-10-01,4,3,1,")
    assert len(lines) == 1 + 32
    res = c.get(f"/api/reports/satisfaction/export?{Q}&format=xlsx")
    assert res.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(res.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("分组", "评价数", "平均分", "满意数", "满意率")
    assert rows[1][1:4] == (3, 4, 2)


def test_page_renders(client_for) -> None:
    c = client_for("supervisor")
    res = c.get("/reports")
    assert res.status_code == 200
    assert "echarts.min.js" in res.text and "话务报表" in res.text
