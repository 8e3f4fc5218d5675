"""CC-10: agent state time is stored, and occupancy and AHT with after-call work come out of it
exactly, on a known timeline driven through the Center with an injected clock (both DBs)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kefu.core.agent import AgentState
from kefu.services import reports
from kefu.services.center import Center, StateLogWriter
from kefu.services.live import LiveHub
from kefu.services.reports import Dimension, Period
from kefu.store.db import Database
from kefu.store.models import Agent, AgentStateLog, Call, Queue, Role, User

# 09:50 in Shanghai, so the timeline crosses the 10:00 hour boundary at t = 600 s
T0 = dt.datetime(2026, 10, 1, 9, 50, tzinfo=reports.TZ).timestamp()
DAY = Period.local_days(dt.date(2026, 10, 1), dt.date(2026, 10, 1))


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t

    def at(self, offset: float) -> None:
        self.t = T0 + offset


def _seed(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        ids = []
        for no, name in (("3001", "李娜"), ("3002", "王强")):
            user = User(username=f"a{no}", display_name=name, role=Role.AGENT, password_hash="x")
            user.agent = Agent(agent_no=no, extension=f"83{no[2:]}")
            s.add(user)
            s.flush()
            assert user.agent is not None
            ids.append(user.agent.id)
        queue = Queue(name="service", ring_timeout_s=20, max_wait_s=300)
        s.add(queue)
        s.flush()
        return ids[0], ids[1], queue.id


def _timeline(db: Database) -> tuple[int, int, int, str]:
    """Agent A: one call with a 30 s hold and 30 s of after-call work, a 300 s break, out at
    1000 s. Agent B: logged in 100..500 s, 100 s of it busy, no call."""
    a, b, q = _seed(db)
    clock = Clock()
    center = Center(db, LiveHub(), clock=clock)
    center.agent_login(a, ready=True)  # t=0 idle
    clock.at(60)
    call_id = center.offer_call("13800138000", "4001", "service")  # rings A
    clock.at(70)
    center.answer(a, call_id)
    clock.at(100)
    center.agent_login(b, ready=True)
    clock.at(130)
    center.hold(a)
    clock.at(160)
    center.resume(a)
    clock.at(200)
    center.set_state(b, AgentState.BUSY, "培训")
    clock.at(250)
    center.hangup(a)  # after-call work: the core ends it after 30 s
    clock.at(280)
    assert center.tick()
    assert center.agent_view(a).state is AgentState.IDLE
    clock.at(300)
    center.set_state(b, AgentState.IDLE)
    clock.at(400)
    center.set_state(a, AgentState.BREAK, "lunch")
    clock.at(500)
    center.agent_logout(b)
    clock.at(700)
    center.set_state(a, AgentState.IDLE)
    clock.at(1000)
    center.agent_logout(a)
    center.state_log.flush()  # written off the event loop, in order
    return a, b, q, call_id


def test_state_changes_are_stored_as_intervals(db: Database) -> None:
    a, _, _, call_id = _timeline(db)
    with db.session() as s:
        rows = s.scalars(
            select(AgentStateLog).where(AgentStateLog.agent_id == a).order_by(AgentStateLog.id)
        ).all()
        got = [
            (
                r.state,
                round(r.started_at.timestamp() - T0),
                None if r.ended_at is None else round(r.ended_at.timestamp() - T0),
                r.call_id,
                r.reason,
            )
            for r in rows
        ]
        call = s.get(Call, call_id)
        assert call is not None
        assert call.acw_seconds == pytest.approx(30)
        assert call.held_seconds == pytest.approx(30)
    assert got == [
        ("idle", 0, 60, None, ""),
        ("ringing", 60, 70, None, ""),
        ("on_call", 70, 130, call_id, ""),
        ("on_hold", 130, 160, call_id, ""),
        ("on_call", 160, 250, call_id, ""),
        ("after_call_work", 250, 280, call_id, ""),
        ("idle", 280, 400, None, ""),
        ("break", 400, 700, None, "lunch"),
        ("idle", 700, 1000, None, ""),
    ]


def test_occupancy_and_aht_with_acw(db: Database) -> None:
    a, b, q, _ = _timeline(db)
    with db.session() as s:
        facts = reports.call_facts(s, DAY)
        spans = reports.state_spans(s, DAY)
    (platform,) = reports.traffic(facts, Dimension.PLATFORM, DAY, spans)
    # handling: 60 talk + 30 hold + 90 talk + 30 ACW = 210 s; available: A 1000 - 300 break,
    # B 400 (busy counts as available)
    assert platform.occupancy == pytest.approx(210 / 1100)
    assert (platform.talk_s, platform.hold_s, platform.acw_s) == (
        pytest.approx(150),
        pytest.approx(30),
        pytest.approx(30),
    )
    assert platform.aht == pytest.approx(210)
    by_agent = {r.key: r for r in reports.traffic(facts, Dimension.AGENT, DAY, spans)}
    assert by_agent[str(a)].occupancy == pytest.approx(210 / 700)
    assert by_agent[str(b)].occupancy == 0.0  # logged in, no call: a row of its own
    assert by_agent[str(b)].label == "3002 王强"
    assert by_agent[str(b)].answered == 0
    by_queue = {r.key: r for r in reports.traffic(facts, Dimension.QUEUE, DAY, spans)}
    assert by_queue[str(q)].occupancy == pytest.approx(210 / 700)  # only A served it
    assert by_queue[str(q)].aht == pytest.approx(210)
    by_hour = {r.key: r for r in reports.traffic(facts, Dimension.HOUR, DAY, spans)}
    # 09:50-10:00: A available 600 - 200 break, B 400; 10:00-: A idle 700..1000 s only
    assert by_hour["09"].occupancy == pytest.approx(210 / 800)
    assert by_hour["10"].occupancy == 0.0
    assert by_hour["11"].occupancy is None  # nobody logged in
    assert by_hour["09"].aht == pytest.approx(210)
    # a period that cuts the intervals: only 09:55..10:00 (t = 300..600)
    cut = Period(
        dt.datetime.fromtimestamp(T0 + 300, dt.UTC), dt.datetime.fromtimestamp(T0 + 600, dt.UTC)
    )
    with db.session() as s:
        (part,) = reports.traffic([], Dimension.PLATFORM, cut, reports.state_spans(s, cut))
    assert part.occupancy == 0.0  # A idle 100 s then on break; B idle 100 s + busy 0


def test_export_carries_acw_and_occupancy(db: Database) -> None:
    _, _, q, _ = _timeline(db)
    with db.session() as s:
        tab = reports.build_table(s, "traffic", DAY, Dimension.AGENT)
        only_q = reports.build_table(s, "traffic", DAY, Dimension.PLATFORM, queue_id=q)
    assert "acw_s" in tab.columns and "occupancy" in tab.columns
    rows = list(csv.reader(io.StringIO(reports.to_csv(tab).decode("utf-8-sig"))))
    head = rows[0]
    assert "文书处理总时长(秒)" in head and "占用率" in head
    line = next(r for r in rows[1:] if r[0] == "3001 李娜")
    assert float(line[head.index("文书处理总时长(秒)")]) == 30
    assert float(line[head.index("平均处理时长(秒)")]) == 210
    assert float(line[head.index("占用率")]) == pytest.approx(0.3)
    (platform_q,) = [dict(zip(only_q.columns, r, strict=True)) for r in only_q.rows]
    assert platform_q["occupancy"] == pytest.approx(0.3)  # B served no call of the queue


def test_reports_api_and_xlsx_show_occupancy(web_db: Database, client_for) -> None:  # type: ignore[no-untyped-def]
    _timeline(web_db)
    c = client_for("supervisor")
    q = "start=2026-10-01&end=2026-10-01&by=agent"
    body = c.get(f"/api/reports/traffic?{q}").json()
    rows = [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]
    (li,) = [r for r in rows if r["label"] == "3001 李娜"]
    assert (li["acw_s"], li["aht_s"], li["occupancy"]) == (30, 210, 0.3)
    res = c.get(f"/api/reports/traffic/export?format=xlsx&{q}")
    assert res.status_code == 200
    sheet = load_workbook(io.BytesIO(res.content)).active
    assert sheet is not None
    values = list(sheet.values)
    head = list(values[0])
    (line,) = [v for v in values[1:] if v[0] == "3001 李娜"]
    assert line[head.index("占用率")] == 0.3
    assert line[head.index("文书处理总时长(秒)")] == 30


def test_stopping_the_center_writes_the_queued_state_changes(db: Database) -> None:
    a, _, _ = _seed(db)
    clock = Clock()
    center = Center(db, LiveHub(), clock=clock)

    async def serve() -> None:
        await center.start()
        center.agent_login(a, ready=True)
        clock.at(30)
        center.set_state(a, AgentState.BREAK, "tea")
        await center.stop()  # no flush: stop must write them

    asyncio.run(serve())
    with db.session() as s:
        rows = s.execute(
            select(AgentStateLog.state, AgentStateLog.ended_at).order_by(AgentStateLog.id)
        ).all()
    assert [(st, end is None) for st, end in rows] == [("idle", False), ("break", True)]


def test_a_batch_of_changes_is_stored_as_one_change_at_a_time_would_be(db: Database) -> None:
    """The writer closes and inserts a whole batch at once (one UPDATE per agent, one INSERT):
    intervals inside the batch end at the agent's next change, a log-out closes the last."""
    a, b, _ = _seed(db)
    writer = StateLogWriter(db)

    def at(s: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(T0 + s, tz=dt.UTC)

    writer._write([(a, AgentState.IDLE, "", None, at(0))])  # an interval open in the database
    writer._write(
        [
            (a, AgentState("ringing"), "", None, at(10)),
            (b, AgentState.IDLE, "", None, at(11)),
            (a, AgentState("on_call"), "", "c1", at(12)),
            (a, AgentState.LOGGED_OUT, "", None, at(20)),
            (b, AgentState.BREAK, "x" * 80, None, at(30)),
        ]
    )
    with db.session() as s:
        got = [
            (
                r.agent_id,
                r.state,
                round(r.started_at.timestamp() - T0),
                None if r.ended_at is None else round(r.ended_at.timestamp() - T0),
                r.call_id,
                len(r.reason),
            )
            for r in s.scalars(select(AgentStateLog).order_by(AgentStateLog.id))
        ]
    assert got == [
        (a, "idle", 0, 10, None, 0),
        (a, "ringing", 10, 12, None, 0),
        (b, "idle", 11, 30, None, 0),
        (a, "on_call", 12, 20, "c1", 0),
        (b, "break", 30, None, None, 64),
    ]
