"""The wallboard over real SIP calls (CC-06) and missed calls per agent (AG-11).

Peers on loopback are the in-process softphones: customers (unregistered, they only dial),
agents' phones (registered; one declines every call with 486, one never answers) and the
trunk's gateway (auto-answer). The first test runs the `kefu serve` app with its switch and
reads the board three ways: the service, GET /api/wallboard and the /ws/wallboard socket as
the console does (a TestClient in a worker thread, the app's own lifespan on this loop).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.core.agent import AgentState
from kefu.core.supervision import SupervisorAction
from kefu.security.password import sip_ha1
from kefu.services import reports, users, wallboard
from kefu.services.center import Center
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    Call,
    CallLeg,
    Disposition,
    Number,
    NumberTarget,
    Party,
    Queue,
    Role,
)
from kefu.store.models.routing import IvrFlow, IvrFlowVersion
from kefu.telephony.sip.b2bua import free_port
from kefu.telephony.sip.line import SipLine
from kefu.telephony.sip.softphone import Softphone
from test_sip_line import add_agent, close_site, open_site, seed, until

pytestmark = [pytest.mark.timeout(120), pytest.mark.anyio]

SUP_PASSWORD = "Kefu-test-sup01!"
# A menu that waits a minute for a key: the caller stays in the IVR while the test looks.
WAIT_FLOW = """\
flow: wait
version: 1
start: menu
nodes:
  menu:
    type: menu
    prompts: [welcome, menu]
    timeout: 60
    retries: 1
    choices:
      "1": service
  service:
    type: queue
    queue: service
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def seed_board(db: Database) -> dict[str, int]:
    """seed() plus agents 8002..8004 (8004 may dial outside), the IVR 'wait' on 4006 and a
    supervisor (web login sup01, extension 8009). Returns the agent ids by extension and
    the supervisor's user id under 'sup'."""
    ids = {"8001": seed(db)}
    for ext in ("8002", "8003", "8004"):
        ids[ext] = add_agent(db, ext)
    sup = users.create_user(
        db, "sup01", SUP_PASSWORD, Role.SUPERVISOR, agent_no="1009", extension="8009"
    )
    with db.session() as s:
        s.get(Agent, ids["8004"]).may_transfer_outside = True  # type: ignore[union-attr]
        s.scalars(select(Agent).where(Agent.user_id == sup)).one().sip_ha1 = sip_ha1(
            "8009", "kefu", "pw8009"
        )
        flow = IvrFlow(name="wait", active_version=1)
        s.add(flow)
        s.flush()
        s.add(IvrFlowVersion(flow_id=flow.id, version=1, definition=WAIT_FLOW))
        s.add(Number(number="4006", target=NumberTarget.IVR, ivr_flow_id=flow.id))
    ids["sup"] = sup
    return ids


def login(client: TestClient) -> None:
    client.get("/login")
    client.headers["X-CSRF-Token"] = client.get("/api/auth/csrf").json()["csrf_token"]
    res = client.post("/api/auth/login", json={"username": "sup01", "password": SUP_PASSWORD})
    assert res.status_code == 200, res.text
    client.headers["X-CSRF-Token"] = client.get("/api/auth/csrf").json()["csrf_token"]


def by_call(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["call_id"]: c for c in board["calls"]}


def call_ids(line: SipLine) -> dict[str, str]:
    """The line's calls by who placed them (the caller's number or extension)."""
    return {lc.caller: lc.call_id for lc in line.calls.values()}


def check_board(board: dict[str, Any], ids: dict[str, int], calls: dict[str, str]) -> None:
    """The five calls in progress, each in its state, with direction and agents."""
    rows = by_call(board)
    assert set(rows) == set(calls.values())
    talk = rows[calls["13900000001"]]
    assert (talk["state"], talk["direction"], talk["queue"]) == ("on_hold", "inbound", "service")
    assert talk["agent_id"] == str(ids["8001"]) and talk["agent"].startswith("1001")
    assert (talk["caller"], talk["callee"]) == ("13900000001", "4002")
    assert talk["supervisor_mode"] == "listen"
    queued = rows[calls["13900000002"]]
    assert (queued["state"], queued["queue"], queued["agent_id"]) == ("queued", "service", "")
    in_ivr = rows[calls["13900000003"]]
    assert (in_ivr["state"], in_ivr["ivr_flow"], in_ivr["ivr_node"]) == ("ivr", "wait", "menu")
    assert in_ivr["in_state_s"] >= 0.0 and in_ivr["callee"] == "4006"
    ext = rows[calls["8002"]]
    assert (ext["state"], ext["direction"]) == ("talking", "internal")
    assert (ext["agent_id"], ext["peer_agent_id"]) == (str(ids["8002"]), str(ids["8003"]))
    out = rows[calls["8004"]]
    assert (out["state"], out["direction"], out["agent_id"]) == (
        "talking",
        "outbound",
        str(ids["8004"]),
    )
    assert out["callee"] == "913900009999"
    summary = board["calls_summary"]
    assert (summary["ivr"], summary["queued"], summary["talking"], summary["on_hold"]) == (
        1,
        1,
        2,
        1,
    )
    assert summary["total"] == 5
    agents = {a["agent_id"]: a for a in board["agents"]}
    assert agents[str(ids["8001"])]["state"] == "on_hold"
    for ext_ in ("8002", "8003", "8004"):
        assert agents[str(ids[ext_])]["reason"] == "extension_call"


async def test_every_call_in_progress_is_on_the_wallboard(tmp_path: Path) -> None:
    """A caller in the IVR, one queued, one talking (held, a supervisor listening), an
    extension call and a 9 + number call at once: the service, the HTTP API and the
    WebSocket list each in its state; a state change reaches the socket as an event; after
    the hang-ups the board is empty."""
    from kefu.config import Settings
    from kefu.web.app import create_app

    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    ids = seed_board(db)
    settings = Settings(data_dir=tmp_path, database_url=url, sip_enabled=True, sip_port=free_port())
    app: FastAPI = create_app(settings, Database.from_url(url))
    async with app.router.lifespan_context(app):
        line: SipLine = app.state.sip_line
        center: Center = app.state.center
        line.hours = None  # the outbound hours rule (SLA-03) is not under test
        addr = (settings.sip_host, settings.sip_port)
        pstn = Softphone("gw", "", addr, tone_hz=2000.0)
        await pstn.start(register=False)
        line.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
        line.trunk = "pstn"
        phones = {e: Softphone(e, f"pw{e}", addr) for e in ("8001", "8002", "8003", "8004", "8009")}
        customers = [Softphone(f"1390000000{i}", "x", addr) for i in (1, 2, 3)]
        for p in phones.values():
            await p.start()
        for p in customers:
            await p.start(register=False)
        talk_c, queued_c, ivr_c = customers
        try:
            center.agent_login(ids["8001"], ready=True)
            await talk_c.dial("4002", addr)  # a queue call, answered by 8001
            await until(lambda: phones["8001"].answered.is_set())
            for ext in ("8002", "8003", "8004"):  # idle until their own calls make them busy
                center.agent_login(ids[ext], ready=True)
            await phones["8002"].dial("8003", addr)  # extension to extension
            await until(lambda: phones["8003"].answered.is_set())
            await phones["8004"].dial("913900009999", addr)  # 9 + an outside number
            await until(lambda: pstn.answered.is_set())
            await queued_c.dial("4002", addr)  # nobody idle: it waits
            await until(lambda: center.waiting_calls())
            await ivr_c.dial("4006", addr)  # stays in the menu
            center.supervise(ids["sup"], Role.SUPERVISOR, SupervisorAction.LISTEN, ids["8001"])
            await until(lambda: phones["8009"].answered.is_set())
            center.hold(ids["8001"])
            await until(lambda: len(line.calls) == 5)
            calls = call_ids(line)

            def settled() -> bool:
                rows = by_call(wallboard.snapshot(center, db))
                return (
                    rows.get(calls["13900000001"], {}).get("state") == "on_hold"
                    and rows.get(calls["13900000003"], {}).get("state") == "ivr"
                    and rows.get(calls["8004"], {}).get("state") == "talking"
                )

            await until(settled)
            check_board(wallboard.snapshot(center, db), ids, calls)

            # the console's way: HTTP and the socket, as the supervisor
            snapshot_seen = threading.Event()
            talk_id = calls["13900000001"]

            def console() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
                client = TestClient(app)
                login(client)
                res = client.get("/api/wallboard")
                assert res.status_code == 200, res.text
                with client.websocket_connect("/ws/wallboard") as ws:
                    first = ws.receive_json()
                    snapshot_seen.set()
                    while True:  # until the resume reaches the board
                        msg = ws.receive_json()
                        for e in msg.get("events", []):
                            mine = e.get("type") == "call" and e.get("call_id") == talk_id
                            if mine and e.get("state") == "talking":
                                return res.json(), first, e

            task = asyncio.create_task(asyncio.to_thread(console))
            await until(snapshot_seen.is_set, 30.0)
            center.resume(ids["8001"])
            http, first, event = await asyncio.wait_for(task, 30.0)
            assert first["type"] == "snapshot"
            for board in (http, first):
                check_board(board, ids, calls)
            assert event["agent_id"] == str(ids["8001"]) and event["direction"] == "inbound"
            assert by_call(wallboard.snapshot(center, db))[talk_id]["state"] == "talking"

            for p in (talk_c, queued_c, ivr_c, phones["8002"], phones["8004"]):
                p.hangup()
            await until(lambda: not line.calls, 30.0)
            board = wallboard.snapshot(center, db)
            assert board["calls"] == [] and board["calls_summary"]["total"] == 0
            assert len(center.progress) == 0

            def http_board() -> dict[str, Any]:
                client = TestClient(app)
                login(client)
                return client.get("/api/wallboard").json()  # type: ignore[no-any-return]

            assert (await asyncio.to_thread(http_board))["calls"] == []
        finally:
            for p in [*customers, *phones.values(), pstn]:
                await p.stop()


async def test_a_click_to_dial_call_rings_then_talks_on_the_wallboard(tmp_path: Path) -> None:
    """Click-to-dial: ringing (the agent's phone, then the customer's), talking once the
    customer answers, with the agent and the outbound direction; gone after the hang-up."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    seed(db)
    site = await open_site(tmp_path, db)
    pstn = Softphone("gw", "", site.addr, tone_hz=2000.0, answer_delay=1.5)
    agent = Softphone("8001", "pw8001", site.addr, answer_delay=1.0)
    try:
        await pstn.start(register=False)
        await agent.start()
        site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
        site.line.trunk = "pstn"
        site.center.agent_login(site.agent_id, ready=True)
        call_id = site.line.click_to_dial(site.agent_id, "13900001111")

        def row() -> dict[str, Any]:
            return by_call(wallboard.snapshot(site.center, db)).get(call_id, {})

        first = row()
        assert (first["state"], first["direction"]) == ("ringing", "click_to_dial")
        assert first["agent_id"] == str(site.agent_id) and first["callee"] == "13900001111"
        await until(lambda: row().get("state") == "talking", 30.0)
        assert pstn.answered.is_set()
        pstn.hangup()
        await until(lambda: not site.line.calls)
        assert row() == {} and len(site.center.progress) == 0
    finally:
        for p in (agent, pstn):
            await p.stop()
        await close_site(site)


# ---- AG-11: missed calls per agent ------------------------------------------------------


async def test_missed_calls_per_agent_on_sip(tmp_path: Path) -> None:
    """A phone that declines (486), one that never answers (the queue's ring timeout is
    2 s) and an agent with no phone registered: each misses three rings in a row and goes
    busy; the wallboard's agent rows, the agent report and the CDR legs say 3 each."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    seed(db)
    with db.session() as s:
        q = Queue(name="miss", ring_timeout_s=2, max_wait_s=120)
        s.add(q)
        s.flush()
        s.add(Number(number="4007", target=NumberTarget.QUEUE, queue_id=q.id))
    site = await open_site(tmp_path, db)
    decline_id = site.agent_id  # 8001
    silent_id = add_agent(db, "8002")
    absent_id = add_agent(db, "8003")  # never registers
    decline = Softphone("8001", "pw8001", site.addr, busy=True)
    silent = Softphone("8002", "pw8002", site.addr, auto_answer=False)
    customer = Softphone("13900000009", "x", site.addr)
    try:
        for p in (decline, silent):
            await p.start()
        await customer.start(register=False)
        for aid in (decline_id, silent_id, absent_id):
            site.center.agent_login(aid, ready=True)
        await customer.dial("4007", site.addr)
        call_id = next(iter(site.line.calls))

        def silent_rings() -> bool:  # the board shows the call ringing the silent phone
            row = by_call(wallboard.snapshot(site.center, db)).get(call_id, {})
            return row.get("state") == "ringing" and str(silent_id) in row.get("ringing", [])

        await until(silent_rings, 30.0)

        def all_busy() -> bool:
            return all(
                site.center.agent_view(a).state is AgentState.BUSY
                for a in (decline_id, silent_id, absent_id)
            )

        await until(all_busy, 45.0)
        board = wallboard.snapshot(site.center, db)
        rows = {a["agent_id"]: a for a in board["agents"]}
        for aid in (decline_id, silent_id, absent_id):
            row = rows[str(aid)]
            assert (row["missed"], row["state"], row["reason"]) == (3, "busy", "missed_rings")
        assert by_call(board)[call_id]["state"] == "queued"  # nobody left to ring
        customer.hangup()
        await until(lambda: not site.line.calls)
        assert by_call(wallboard.snapshot(site.center, db)) == {}
    finally:
        for p in (customer, decline, silent):
            await p.stop()
        await close_site(site)
    with db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is Disposition.ABANDONED
        legs = s.scalars(select(CallLeg).where(CallLeg.party == Party.AGENT)).all()
        per_agent: dict[int | None, int] = {}
        for leg in legs:
            assert leg.call_id == call_id and leg.answered_at is None and leg.ended_at
            assert leg.hangup_by is Party.AGENT  # missed, not withdrawn
            per_agent[leg.agent_id] = per_agent.get(leg.agent_id, 0) + 1
        assert per_agent == {decline_id: 3, silent_id: 3, absent_id: 3}
        assert {leg.address for leg in legs} == {"8001", "8002", "8003"}
        start = call.offered_at - dt.timedelta(hours=1)
        period = reports.Period(start, start + dt.timedelta(hours=2))
        tab = reports.build_table(s, "traffic", period, reports.Dimension.AGENT)
        assert "missed" in tab.columns and "未接次数" in tab.headers
        col = tab.columns.index("missed")
        missed = {r[0]: r[col] for r in tab.rows if r[col]}
        assert missed == {"1001 agent8001": 3, "18002 agent8002": 3, "18003 agent8003": 3}
        one = reports.build_table(s, "traffic", period, reports.Dimension.AGENT, agent_id=silent_id)
        assert [r[col] for r in one.rows] == [3]
        # other dimensions do not carry the column
        assert "missed" not in reports.build_table(s, "traffic", period).columns
