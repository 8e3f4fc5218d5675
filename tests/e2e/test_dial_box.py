"""The workspace's 拨号/外呼 box in Chromium: it posts to /api/agent/dial and shows the
server's answer. The demo server runs without SIP, so the answer is the clear 503 (the
call itself is proven over real SIP in tests/test_sip_click_to_dial.py)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

try:
    from .conftest import E2E_PASSWORD, KefuServer
except ImportError:  # tests/e2e is not a package
    from conftest import E2E_PASSWORD, KefuServer  # type: ignore[no-redef]


def test_dial_box_reports_bad_numbers_and_sip_off(kefu_server: KefuServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page.goto(kefu_server.url + "/login?next=/workspace")
    page.fill("#agent_no", "1001")
    page.fill("#extension", "8001")
    page.fill("#agent_password", E2E_PASSWORD)
    page.click("#agent-login-btn")
    expect(page).to_have_url(kefu_server.url + "/workspace")
    expect(page.locator("#btn-dial")).to_have_text("拨号/外呼")
    expect(page.locator("#dial-box")).to_contain_text("07:00-12:00, 14:00-18:00, 19:00-22:00")
    page.fill("#dial-number", "139-abc")
    page.click("#btn-dial")
    expect(page.locator("#toast")).to_contain_text("not a phone number")
    page.fill("#dial-number", "139-0000-1111")
    page.click("#btn-dial")
    expect(page.locator("#toast")).to_contain_text("kefu serve --sip")
    page.close()
