"""POST /api/agent/dial (click-to-dial, SLA-03) and the workspace's 拨号/外呼 box.

The full call (phones ringing, trunk, CDR) is proven over real SIP in
tests/test_sip_click_to_dial.py. Here: roles, bad input, SIP off, and the refusals a
`SipLine` gives before anything rings (its switch is not started: nothing may ring).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.core.calling_hours import CallingHours
from kefu.store.db import Database
from kefu.store.models import AuditEntry, Call
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig
from kefu.telephony.sip.line import SipLine


def test_only_seats_may_dial(client_for: Callable[[str], TestClient]) -> None:
    for role in ("qa", "supervisor", "admin"):
        res = client_for(role).post("/api/agent/dial", json={"number": "13900001111"})
        assert res.status_code == 403, (role, res.text)


def test_bad_numbers_are_refused_naming_the_field(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    for bad in ("", "12ab34", "123", "+86 139 0000 1111 2222 3333 44", "1390000111#"):
        res = agent.post("/api/agent/dial", json={"number": bad})
        assert res.status_code == 422, (bad, res.text)
    res = agent.post("/api/agent/dial", json={"number": "abc"})
    assert "number" in res.json()["message"] and "not a phone number" in res.json()["message"]
    assert agent.post("/api/agent/dial", json={}).status_code == 422


def test_sip_off_is_a_clear_503(client_for: Callable[[str], TestClient]) -> None:
    res = client_for("team_leader").post("/api/agent/dial", json={"number": "139-0000-1111"})
    assert res.status_code == 503
    assert res.json()["error_id"] == "sip-off" and "--sip" in res.json()["message"]


def test_refusals_of_the_line_outside_hours_and_no_trunk_are_audited(
    app: FastAPI, client_for: Callable[[str], TestClient], web_db: Database, tmp_path: Path
) -> None:
    agent = client_for("agent")
    line = SipLine(SipSwitch(SwitchConfig()), app.state.center, recordings=tmp_path / "rec")
    app.state.sip_line = line
    res = agent.post("/api/agent/dial", json={"number": "13900001111"})
    assert res.status_code == 503 and res.json()["error_id"] == "dial-no-trunk"
    line.trunk = "gateway"
    line.hours = CallingHours()
    lunch = dt.datetime(2026, 12, 4, 12, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    line.wall_clock = lambda: lunch
    res = agent.post("/api/agent/dial", json={"number": "139 0000 1111"})
    assert res.status_code == 403 and res.json()["error_id"] == "dial-outside-hours"
    assert "07:00-12:00, 14:00-18:00, 19:00-22:00" in res.json()["message"]
    assert "12:30" in res.json()["message"]
    line.wall_clock = lambda: lunch + 2 * 3600  # 14:30: allowed, but no phone registered
    res = agent.post("/api/agent/dial", json={"number": "13900001111"})
    assert res.status_code == 409 and res.json()["error_id"] == "dial-not-registered"
    assert "8001" in res.json()["message"]
    with web_db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "agent.click_to_dial")).all()
        assert [r.detail["reason"] for r in rows] == [
            "no-trunk",
            "outside-hours",
            "not-registered",
        ]
        assert all(r.target == "13900001111" and r.actor_name == "agent1" for r in rows)
        assert s.scalars(select(Call)).first() is None  # nothing was dialled


def test_workspace_has_the_dial_box_with_the_hours(client_for: Callable[[str], TestClient]) -> None:
    page = client_for("agent").get("/workspace").text
    assert 'id="btn-dial"' in page and "拨号/外呼" in page
    assert "07:00-12:00, 14:00-18:00, 19:00-22:00" in page
