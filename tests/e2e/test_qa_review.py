"""E2E (SV-02): a QA reviewer opens an engine-checked conversation, sees the findings in
place, overturns the fatal finding and the score recomputes; screenshots at 1366x768."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page, sync_playwright
from sqlalchemy import select

from kefu.store.db import Database
from kefu.store.models import QaResult, QaReview

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
    yield from start(tmp_path_factory.mktemp("serve-b-qa"))


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def _result(server: Server) -> tuple[int, int, int, int]:
    """The stored result: id, score, the fatal finding's id, and the score without it."""
    db = Database.from_url(server.db_url)
    try:
        with db.session() as s:
            r = s.scalar(select(QaResult))
            assert r is not None
            fatal = next(f for f in r.findings if f.severity == "fatal")
            rest = sum(f.points for f in r.findings if f is not fatal)
            return r.id, r.score, fatal.id, max(0, min(100, 100 + rest))
    finally:
        db.dispose()


def test_qa_overturns_a_finding_and_the_score_changes(server: Server, page: Page) -> None:
    result_id, score, fatal_id, expected = _result(server)
    assert score == 0 and expected > 0
    browser_login(page, server.url, "qa1")
    page.goto(server.url + "/qa")
    link = page.locator(f'a[href="/qa/results/{result_id}"]')
    link.wait_for(timeout=10_000)
    assert "138****8000" in page.inner_text("#qa-results")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "qa-list.png"))
    link.click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#score") == "0"
    assert page.locator("mark.hit").count() >= 3  # 喂, 应该, 不关我的事 highlighted in place
    assert "12345678" in page.inner_text("#transcript")
    duration = page.evaluate(
        "new Promise(r => { const a = document.querySelector('#recording');"
        " if (a.readyState >= 1) r(a.duration); else a.onloadedmetadata = () => r(a.duration); })"
    )
    assert abs(duration - 2.0) < 0.05  # the WAV plays through the authorised endpoint
    page.screenshot(path=str(SCREENSHOTS / "qa-detail.png"))

    def answer(dialog: Dialog) -> None:
        dialog.accept("录音显示客户先挂机")

    page.once("dialog", answer)
    page.click(f'#finding-{fatal_id} button[data-decision="overturn"]')
    page.wait_for_function(f"document.querySelector('#score').innerText === '{expected}'")
    assert page.inner_text("#original-score") == "0"
    assert "已推翻" in page.inner_text(f"#finding-{fatal_id}")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "qa-detail-overturned.png"))

    qa = api_login(server.url, username="qa1")
    body = qa.get(f"/api/qa/results/{result_id}").json()
    assert (body["score"], body["original_score"]) == (expected, 0)
    db = Database.from_url(server.db_url)
    try:
        with db.session() as s:
            reviews = s.scalars(select(QaReview)).all()
            assert [(r.score_before, r.score_after, r.comment) for r in reviews] == [
                (0, expected, "录音显示客户先挂机")
            ]
    finally:
        db.dispose()


def test_scorecards_page(server: Server, page: Page) -> None:
    browser_login(page, server.url, "super1")
    page.goto(server.url + "/qa/scorecards")
    page.wait_for_function("document.querySelectorAll('#agents tbody tr td').length > 1")
    page.wait_for_timeout(1500)
    assert "1001 agent1" in page.inner_text("#agents")
    assert page.locator("#trend-chart canvas").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "qa-scorecards.png"))
