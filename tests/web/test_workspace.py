"""Workspace pages: rendered for agents and leaders, refused to others; the screen pop is
only for the agent the call is offered to; the script panel shows the holiday greeting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient

from kefu.web.routers.workspace import greeting_today


def test_workspace_page(client_for: Callable[[str], TestClient]) -> None:
    page = client_for("agent").get("/workspace")
    assert page.status_code == 200
    assert "坐席工作台" in page.text and 'name="csrf-token"' in page.text
    assert "转外线" not in page.text  # outside transfer is off by default (AG-08)
    assert client_for("team_leader").get("/workspace").status_code == 200
    assert client_for("qa").get("/workspace").status_code == 403


def test_screen_pop_only_for_the_offered_agent(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    leader = client_for("team_leader")
    boss = client_for("supervisor")
    agent.post("/api/agent/state", json={"state": "idle"})
    call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
    assert agent.get(f"/api/workspace/pop/{call_id}").status_code == 200
    assert leader.get(f"/api/workspace/pop/{call_id}").status_code == 404
    # a known caller pops their record, not a new one
    assert agent.get(f"/api/workspace/pop/{call_id}").json()["is_new"] is False


def test_holiday_greeting() -> None:
    assert greeting_today(dt.datetime(2026, 10, 1, 2, tzinfo=dt.UTC)) == "festival"
    assert greeting_today(dt.datetime(2026, 1, 1, 2, tzinfo=dt.UTC)) == "new_year"
    assert greeting_today(dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)) is None


def test_pages_render_for_their_roles(client_for: Callable[[str], TestClient]) -> None:
    qa = client_for("qa")
    for path in ("/customers", "/tickets", "/kb"):
        assert qa.get(path).status_code == 200, path
    admin = client_for("admin")
    assert "IVR" in admin.get("/admin").text
    assert admin.get("/password").status_code == 200
    assert admin.get("/").headers["location"] == "/admin"
