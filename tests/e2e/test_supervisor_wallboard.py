"""E2E (CC-06, AG-20): a supervisor sees a logged-in agent on the wallboard and forces the
agent busy, in headless Chromium against a real `kefu serve`; screenshots at 1366x768."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from kefu.store.db import Database
from kefu.store.models import AuditEntry

try:
    from .serve_b import CHROMIUM_ARGS, SCREENSHOTS, Server, api_login, browser_login, start
except ImportError:  # tests/e2e is not a package
    from serve_b import (  # type: ignore[no-redef]
        CHROMIUM_ARGS,
        SCREENSHOTS,
        Server,
        api_login,
        browser_login,
        start,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start(tmp_path_factory.mktemp("serve-b-sup"))


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def test_supervisor_forces_agent_busy(server: Server, page: Page) -> None:
    agent = api_login(server.url, agent_no="1001", extension="8001")
    state = agent.post("/api/agent/state", json={"state": "idle"})
    assert state.status_code == 200, state.text
    agent_id = state.json()["agent_id"]
    assert state.json()["state"] == "idle"

    browser_login(page, server.url, "super1")
    page.goto(server.url + "/wallboard")
    row = page.locator(f"#agent-{agent_id}")
    row.locator('[data-state="idle"]').wait_for(timeout=10_000)
    assert "1001" in row.inner_text()
    page.locator("#live:not(.off)").wait_for(timeout=10_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "wallboard.png"))

    row.locator('button[data-act="force_busy"]').click()
    page.locator("#confirm[open]").wait_for()
    assert "强制示忙" in page.inner_text("#confirm-text")
    page.fill("#confirm-reason", "班组会议")
    page.screenshot(path=str(SCREENSHOTS / "wallboard-confirm.png"))
    page.click("#confirm-ok")
    row.locator('[data-state="busy"]').wait_for(timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "wallboard-busy.png"))

    seat = agent.get("/api/agent/state").json()
    assert (seat["state"], seat["reason"]) == ("busy", "班组会议")
    db = Database.from_url(server.db_url)
    try:
        with db.session() as s:
            entries = s.scalars(
                select(AuditEntry).where(AuditEntry.action == "supervisor.force_busy")
            ).all()
            assert [(e.actor_name, e.target, e.detail["allowed"]) for e in entries] == [
                ("super1", "1001", True)
            ]
    finally:
        db.dispose()


def test_reports_page_draws_charts(server: Server, page: Page) -> None:
    browser_login(page, server.url, "super1")
    page.goto(server.url + "/reports")
    page.locator("#rp-table tbody tr td").first.wait_for(timeout=10_000)
    page.select_option("#rp-by", "day")
    page.click("#rp-run")
    page.wait_for_function("document.querySelectorAll('#rp-table tbody tr').length >= 7")
    assert page.locator("#rp-chart canvas").count() == 1
    page.wait_for_timeout(1500)  # let ECharts finish its entry animation
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports-traffic-day.png"))
    page.select_option("#rp-report", "regions")
    page.click("#rp-run")
    page.wait_for_function("document.querySelector('#rp-table thead').innerText.includes('归属地')")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SCREENSHOTS / "reports-regions.png"))
    with page.expect_download() as dl:
        page.click("#rp-xlsx")
    assert dl.value.suggested_filename.endswith(".xlsx")
    assert Path(dl.value.path()).stat().st_size > 1000
