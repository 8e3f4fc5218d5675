"""CC-05 campaigns in the store: import with FILE:LINE errors, control, progress, the dialer's
storage round trip, and the `kefu campaign` commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kefu.cli import app
from kefu.core.dialer import (
    AgentsAvailable,
    CallResult,
    CampaignState,
    Control,
    DialNumber,
    DialOutcome,
    TaskStatus,
    TaskUpdated,
    Tick,
)
from kefu.services import campaigns
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import Agent, Campaign, CampaignTask, Customer, Queue, Role, User

WALL = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)

CSV = """number,owner_agent,customer_id
139 0000 0001,1024,
13900000002,,{cust}
not-a-number,,
13900000001,,
13900000003,9999,
13900000004,,77777
13900000005,,abc
"""


def _seed(db: Database) -> int:
    with db.session() as s:
        s.add(Queue(name="sales"))
        u = User(username="li", role=Role.AGENT, password_hash="x")
        u.agent = Agent(agent_no="1024", extension="8001")
        c = Customer(name="王", phone="13900000002")
        s.add_all([u, c])
        s.flush()
        return c.id


def _import(db: Database, text: str, **kw: object) -> campaigns.ImportReport:
    args: dict[str, object] = {"name": "spring", "queue": "sales", "mode": "progressive"}
    args.update(kw)
    with db.session() as s:
        return campaigns.import_tasks(s, text, "list.csv", **args)  # type: ignore[arg-type]


def test_import_keeps_good_rows_and_names_bad_ones(db: Database) -> None:
    cust = _seed(db)
    report = _import(db, CSV.format(cust=cust))
    assert report.added == 2
    assert report.errors == [
        "list.csv:4: number: 'not-a-number' is not a phone number "
        "(5 to 20 digits, an optional leading +)",
        "list.csv:5: number 13900000001 is already in the campaign",
        "list.csv:6: owner_agent '9999' is not an agent number (工号)",
        "list.csv:7: customer_id 77777 does not exist",
        "list.csv:8: customer_id 'abc' is not a number",
    ]
    with db.session() as s:
        rows = s.scalars(select(CampaignTask).order_by(CampaignTask.id)).all()
        got = [(r.number, r.owner_agent, r.customer_id, r.source_line) for r in rows]
        assert got == [("13900000001", "1024", None, 2), ("13900000002", None, cust, 3)]
        c = s.scalar(select(Campaign))
        assert c is not None and (c.mode, c.state, c.queue) == ("progressive", "draft", "sales")


def test_import_refuses_unknown_queue_mode_and_column(db: Database) -> None:
    _seed(db)
    with pytest.raises(campaigns.CampaignError, match="queue 'nope': not configured"):
        _import(db, "13900000001\n", queue="nope")
    with pytest.raises(campaigns.CampaignError, match="mode 'robot'"):
        _import(db, "13900000001\n", mode="robot")
    with pytest.raises(campaigns.CampaignError, match=r"list.csv:1: unknown column 'phone2'"):
        _import(db, "number,phone2\n13900000001,1\n")


def test_headerless_file_and_a_second_import_extend_the_campaign(db: Database) -> None:
    _seed(db)
    assert _import(db, "13900000001\n13900000002,1024\n").added == 2
    second = _import(db, "13900000002\n13900000003\n")
    assert (second.added, second.errors) == (
        1,
        ["list.csv:1: number 13900000002 is already in the campaign"],
    )
    with db.session() as s:
        assert len(s.scalars(select(CampaignTask)).all()) == 3


def test_control_and_progress(db: Database) -> None:
    _seed(db)
    _import(db, "13900000001\n13900000002\n")
    with db.session() as s:
        assert campaigns.control(s, "spring", Control.START).state == "running"
        assert campaigns.control(s, "spring", Control.PAUSE).state == "paused"
        with pytest.raises(campaigns.CampaignError, match="nothing': not found"):
            campaigns.control(s, "nothing", Control.PAUSE)
        campaigns.control(s, "spring", Control.STOP)
        with pytest.raises(campaigns.CampaignError, match="cannot start when stopped"):
            campaigns.control(s, "spring", Control.START)
        p = campaigns.progress(s, "spring")
    assert (p.total, p.done, p.by_status) == (2, 2, {"cancelled": 2})


def test_the_dialer_state_survives_a_restart(db: Database) -> None:
    _seed(db)
    _import(db, "13900000001\n13900000002,1024\n", retry_delays={"busy": 120.0})
    with db.session() as s:
        campaigns.control(s, "spring", Control.START)
        d = campaigns.load_dialer(s, "spring", 1000.0, WALL)
    assert d.state is CampaignState.RUNNING
    d.handle(AgentsAvailable(1000.0, ("1024", "2048")))
    out = d.handle(Tick(1000.0, dt.time(10, 0)))
    dials = [c for c in out if isinstance(c, DialNumber)]
    assert len(dials) == 2
    out += d.handle(CallResult(dials[0].call_id, DialOutcome.BUSY, 1005.0))
    out += d.handle(CallResult(dials[1].call_id, DialOutcome.ANSWERED, 1006.0))
    updates = [c for c in out if isinstance(c, TaskUpdated)]
    with db.session() as s:
        campaigns.save_updates(s, "spring", updates, 1000.0, WALL, {"1": dials[0].call_id})
        p = campaigns.progress(s, "spring")
        first = s.scalar(select(CampaignTask).where(CampaignTask.task_key == "1"))
        assert first is not None
        assert first.next_at == WALL + dt.timedelta(seconds=125)
        assert first.last_call_id == dials[0].call_id
    assert p.by_status == {"pending": 1, "connected": 1}
    assert p.by_outcome == {"busy": 1, "answered": 1}
    with db.session() as s:  # a new process: the busy number is due 125 s after WALL
        d2 = campaigns.load_dialer(s, "spring", 50.0, WALL + dt.timedelta(seconds=10))
    assert d2.tasks["1"].attempts == 1 and d2.tasks["2"].status is TaskStatus.CONNECTED
    d2.handle(AgentsAvailable(50.0, ("1024",)))
    assert [c for c in d2.handle(Tick(164.0, dt.time(10))) if isinstance(c, DialNumber)] == []
    [again] = [c for c in d2.handle(Tick(165.0, dt.time(10))) if isinstance(c, DialNumber)]
    assert again.attempt == 2


def test_cli_import_list_start_pause(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    _seed(db)
    db.dispose()
    f = tmp_path / "spring.csv"
    f.write_text("number,owner_agent\n13900000001,1024\nbad,\n13900000002,\n", encoding="utf-8")
    common = ["--data-dir", str(tmp_path), "--database-url", url]
    runner = CliRunner()
    r = runner.invoke(
        app, ["campaign", "import", str(f), "--queue", "sales", "--mode", "predictive", *common]
    )
    assert r.exit_code == 1, r.output  # rows were refused: say so in the exit code
    assert f"{f}:3: number: 'bad' is not a phone number" in r.output
    assert "campaign spring: 2 tasks added, 1 rows refused" in r.output
    r = runner.invoke(app, ["campaign", "start", "spring", *common])
    assert r.exit_code == 0 and "campaign spring: running" in r.output
    r = runner.invoke(app, ["campaign", "pause", "spring", *common])
    assert r.exit_code == 0 and "campaign spring: paused" in r.output
    r = runner.invoke(app, ["campaign", "list", *common])
    assert "spring  queue=sales mode=predictive state=paused  0/2 done (pending 2)" in r.output
    r = runner.invoke(app, ["campaign", "pause", "nope", *common])
    assert r.exit_code == 2 and "campaign 'nope': not found" in r.output
    r = runner.invoke(
        app,
        [
            "campaign",
            "import",
            str(tmp_path / "x.csv"),
            "--queue",
            "sales",
            "--mode",
            "preview",
            *common,
        ],
    )
    assert r.exit_code == 2 and "x.csv: no such file" in r.output


def test_cli_simulate_reports_the_abandon_rate_under_the_cap() -> None:
    r = CliRunner().invoke(
        app, ["campaign", "simulate", "--agents", "8", "--tasks", "800", "--answer-rate", "0.3"]
    )
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("abandon rate"))
    assert float(line.split()[2].rstrip("%")) <= 3.0
