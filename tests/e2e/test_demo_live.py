"""`kefu serve --demo` (the README's run command) shows a living contact center within a
minute, in Chromium: the wallboard moves (bot agents ring, talk, wrap up; waiting calls),
a human agent who logs in and goes idle gets a demo call with a screen pop, and a QA
result of a bot's call appears on the QA page (issue 6 item 8).

Nothing is injected: the traffic is the demo's own (kefu.services.demo), at its default
rate, through the real center, core and QA engine. Screenshots: test-output/screenshots/
demo-*.png.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import func, select

try:
    from .conftest import CHROMIUM, CHROMIUM_ARGS, E2E_PASSWORD, SCREENSHOTS, _seed, free_port
except ImportError:  # tests/e2e is not a package
    from conftest import (  # type: ignore[no-redef]
        CHROMIUM,
        CHROMIUM_ARGS,
        E2E_PASSWORD,
        SCREENSHOTS,
        _seed,
        free_port,
    )

from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import QaFinding, QaResult

LIVE_WITHIN_S = 60.0


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float, Path]]:
    """`kefu serve --demo` on a free port; yields (url, monotonic start time, data dir)."""
    data_dir = tmp_path_factory.mktemp("kefu-demo")
    db = Database.from_url(f"sqlite:///{data_dir / 'kefu.db'}")
    migrate.upgrade(db.engine)
    _seed(db)  # known passwords for super1, qa1 and agent1 (1001/8001)
    db.dispose()
    port = free_port()
    kefu = shutil.which("kefu", path=str(Path(sys.executable).parent)) or "kefu"
    env = {**os.environ, "KEFU_CONFIG": str(data_dir / "none.toml")}
    log_path = data_dir / "serve.log"
    log = log_path.open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [kefu, "serve", "--port", str(port), "--data-dir", str(data_dir), "--demo"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() - started > 30:
            process.kill()
            pytest.fail("kefu serve --demo did not start:\n" + log_path.read_text())
        time.sleep(0.2)
    try:
        yield url, started, data_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _staff_login(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.click("button[data-tab=staff]")
    page.fill("#username", username)
    page.fill("#staff_password", E2E_PASSWORD)
    page.click("#staff-login-btn")
    page.wait_for_load_state("networkidle")


def test_demo_is_alive_within_a_minute(demo_server: tuple[str, float, Path]) -> None:
    url, started, data_dir = demo_server
    started_wall = time.time() - (time.monotonic() - started)
    assert "Demo traffic on: 6 bot agents" in (data_dir / "serve.log").read_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = dict(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            board = browser.new_context(**ctx).new_page()
            _staff_login(board, url, "super1")
            board.goto(url + "/wallboard")
            board.locator("#live:not(.off)").wait_for(timeout=10_000)
            agents = board.locator("#agents tbody")
            expect(agents).to_contain_text("坐席01", timeout=10_000)
            expect(agents).to_contain_text("9006")

            # a human agent logs in alongside the bots and goes idle
            desk = browser.new_context(**ctx).new_page()
            desk.goto(url + "/login")
            desk.fill("#agent_no", "1001")
            desk.fill("#extension", "8001")
            desk.fill("#agent_password", E2E_PASSWORD)
            desk.click("#agent-login-btn")
            expect(desk).to_have_url(url + "/workspace")
            # the seat logs in busy; wait until the page shows it, or the click can land
            # before the page's script has bound the buttons (seen on a loaded machine)
            expect(desk.locator("#state-badge")).to_have_text("示忙", timeout=10_000)
            desk.click("#btn-idle")
            expect(desk.locator("#state-badge")).to_have_text("空闲")

            # the board moves: bots ring and talk
            left = lambda: max(1.0, LIVE_WITHIN_S - (time.monotonic() - started)) * 1000  # noqa: E731
            agents.locator('[data-state="on_call"]').first.wait_for(timeout=left())
            board.screenshot(path=str(SCREENSHOTS / "demo-1-wallboard.png"))

            # a demo call rings at the human agent: the screen pop
            expect(desk.locator("#state-badge")).to_have_text("振铃", timeout=left() + 30_000)
            expect(desk.locator("#caller-number")).to_have_text(re.compile(r"^1\d{10}$"))
            expect(desk.locator("#caller-region")).not_to_be_empty()
            desk.screenshot(path=str(SCREENSHOTS / "demo-2-screen-pop.png"))

            # QA results of the bots' calls: the first was stored within the minute
            qa = browser.new_context(**ctx).new_page()
            _staff_login(qa, url, "qa1")
            while True:
                qa.goto(url + "/qa")
                rows = qa.locator("#qa-results tbody a")
                try:
                    rows.first.wait_for(timeout=3_000)
                    break
                except PlaywrightError:
                    if time.monotonic() - started > LIVE_WITHIN_S + 30:
                        raise
            expect(rows.first).to_contain_text("demo-web-")
            qa.screenshot(path=str(SCREENSHOTS / "demo-3-qa-results.png"))
            rows.first.click()
            expect(qa.locator("body")).to_contain_text("坐席")
            qa.screenshot(path=str(SCREENSHOTS / "demo-4-qa-detail.png"))
            board.screenshot(path=str(SCREENSHOTS / "demo-5-wallboard-later.png"))
            db = Database.from_url(f"sqlite:///{data_dir / 'kefu.db'}")
            try:
                with db.session() as s:
                    first = s.scalar(select(func.min(QaResult.checked_at)))
                    assert s.scalar(select(func.count()).select_from(QaFinding)) > 0
            finally:
                db.dispose()
            assert first is not None
            first_s = first.replace(tzinfo=first.tzinfo or dt.UTC).timestamp() - started_wall
            assert first_s <= LIVE_WITHIN_S, f"first QA result after {first_s:.0f} s"
        finally:
            browser.close()
