"""Reports (CC-09, CC-10, CC-11) over seeded CDRs with known figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from kefu.services import reports
from kefu.services.reports import Dimension, Period
from kefu.store.db import Database

from .seed_b import seed_cdrs

OCT = Period.local_days(dt.date(2026, 10, 1), dt.date(2026, 11, 1))


def _by_key(rows):
    return {r.key: r for r in rows}


def test_platform_figures(db: Database) -> None:
    with db.session() as s:
        seed_cdrs(s)
        facts = reports.call_facts(s, OCT)
    (row,) = reports.traffic(facts, Dimension.PLATFORM, OCT)
    # c1..c5 are inbound in the period; c6 is outbound, c7 is in December.
    assert (row.offered, row.answered, row.abandoned) == (5, 3, 2)
    assert row.answered_in_sl == 2  # c1 waited 10 <= 20, c4 waited 30 <= 30; c2 waited 25 > 20
    assert row.service_level == pytest.approx(2 / 5)
    assert row.abandon_rate == pytest.approx(2 / 5)
    assert row.asa == pytest.approx((10 + 25 + 30) / 3)  # c2's wait comes from queued->answered
    assert row.talk_s == pytest.approx(240 + 120 + 180)
    assert row.hold_s == pytest.approx(60 + 20)
    assert row.aht == pytest.approx((540 + 80) / 3)
    assert row.occupancy is None


def test_by_queue_and_agent(db: Database) -> None:
    with db.session() as s:
        ids = seed_cdrs(s)
        facts = reports.call_facts(s, OCT)
    q = _by_key(reports.traffic(facts, Dimension.QUEUE, OCT))
    q1, q2 = q[str(ids.q1)], q[str(ids.q2)]
    assert (q1.label, q1.offered, q1.answered, q1.abandoned, q1.answered_in_sl) == (
        "售前",
        3,
        2,
        1,
        1,
    )
    assert q1.asa == pytest.approx(17.5)
    assert q1.aht == pytest.approx((360 + 60) / 2)
    assert (q2.label, q2.offered, q2.answered, q2.abandoned, q2.answered_in_sl) == (
        "售后",
        2,
        1,
        1,
        1,
    )
    assert q2.service_level == pytest.approx(0.5)
    assert q2.aht == pytest.approx(200)
    a = _by_key(reports.traffic(facts, Dimension.AGENT, OCT))
    assert a[str(ids.a1)].label == "1001 李娜"
    assert (a[str(ids.a1)].answered, a[str(ids.a1)].talk_s) == (2, pytest.approx(420))
    assert a[str(ids.a2)].answered == 1
    assert a[""].abandoned == 2
    n = _by_key(reports.traffic(facts, Dimension.NUMBER, OCT))
    assert (n["4008001000"].offered, n["01088886666"].offered) == (4, 1)


def test_filters(db: Database) -> None:
    with db.session() as s:
        ids = seed_cdrs(s)
        only_q2 = reports.call_facts(s, OCT, queue_id=ids.q2)
        only_a2 = reports.call_facts(s, OCT, agent_id=ids.a2)
    assert len(only_q2) == 2
    assert len(only_a2) == 1


def test_time_buckets_are_local_time(db: Database) -> None:
    with db.session() as s:
        seed_cdrs(s)
        facts = reports.call_facts(s, OCT)
    hours = _by_key(reports.traffic(facts, Dimension.HOUR, OCT))
    assert len(hours) == 24
    assert {k: r.offered for k, r in hours.items() if r.offered} == {
        "09": 2,
        "10": 1,
        "23": 1,
        "00": 1,
    }
    days = _by_key(reports.traffic(facts, Dimension.DAY, OCT))
    assert len(days) == 32  # every day of October plus 1 November, empty ones as zeros
    assert days["2026-10-01"].offered == 4  # 23:30 Beijing time is still 1 October
    assert days["2026-11-01"].offered == 1  # 00:10 Beijing time on 1 November is 31 October UTC
    assert days["2026-10-15"].offered == 0
    months = _by_key(reports.traffic(facts, Dimension.MONTH, OCT))
    assert {k: r.offered for k, r in months.items()} == {"2026-10": 4, "2026-11": 1}


def test_regions(db: Database) -> None:
    with db.session() as s:
        seed_cdrs(s)
        facts = reports.call_facts(s, OCT)
    rows = {r.region: r for r in reports.regions(facts)}
    assert rows["北京"].offered == 2 and rows["北京"].answered == 2
    assert rows["北京"].share == pytest.approx(0.4)
    assert (rows["上海"].offered, rows["上海"].answered) == (1, 0)
    assert rows["广东广州"].offered == 1
    assert rows[""].offered == 1
    assert next(iter(reports.regions(facts))).region == "北京"


def test_satisfaction(db: Database) -> None:
    with db.session() as s:
        ids = seed_cdrs(s)
        (all_,) = reports.satisfaction(s, OCT)
        agents = _by_key(reports.satisfaction(s, OCT, Dimension.AGENT))
        queues = _by_key(reports.satisfaction(s, OCT, Dimension.QUEUE))
        days = _by_key(reports.satisfaction(s, OCT, Dimension.DAY))
    assert (all_.count, all_.average, all_.satisfied) == (3, pytest.approx(4.0), 2)
    assert all_.satisfied_rate == pytest.approx(2 / 3)
    assert all_.by_score == {5: 1, 3: 1, 4: 1}
    a1 = agents[str(ids.a1)]
    assert (a1.count, a1.average, a1.satisfied) == (2, pytest.approx(4.5), 2)
    assert (agents[str(ids.a2)].count, agents[str(ids.a2)].satisfied) == (1, 0)
    assert (queues[str(ids.q1)].count, queues[str(ids.q1)].average) == (2, pytest.approx(4.0))
    assert queues[str(ids.q2)].satisfied == 1
    assert days["2026-10-01"].count == 3
    with pytest.raises(reports.ReportError):
        reports.satisfaction(s, OCT, Dimension.HOUR)


def test_exports_csv_and_xlsx(db: Database) -> None:
    with db.session() as s:
        seed_cdrs(s)
        tab = reports.build_table(s, "traffic", OCT, Dimension.QUEUE)
    assert tab.headers[:4] == ("分组", "呼入量", "接通量", "呼损量")
    text = reports.to_csv(tab).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("分组,呼入量,接通量,呼损量")
    assert lines[1].startswith("售前,3,2,1,")
    book = load_workbook(io.BytesIO(reports.to_xlsx(tab)))
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("分组", "呼入量", "接通量")
    assert values[2][:4] == ("售后", 2, 1, 1)
    assert values[2][6] == pytest.approx(0.5)
    assert values[1][0] == "售前"  # rows by offered, descending


def test_unknown_report_and_bad_period(db: Database) -> None:
    with db.session() as s, pytest.raises(reports.ReportError):
        reports.build_table(s, "nope", OCT)
    with pytest.raises(reports.ReportError):
        Period(OCT.end, OCT.start)
    with pytest.raises(reports.ReportError):
        Period(dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2))
