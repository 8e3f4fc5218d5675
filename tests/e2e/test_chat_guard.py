"""(d) A chat agent is stopped by the forbidden-phrase guard (SV-03) and sends the standard
wording instead; the customer sees only that. Chromium against `kefu serve`."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

try:
    from .conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer
except ImportError:  # tests/e2e is not a package
    from conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer  # type: ignore[no-redef]


def test_chat_agent_is_stopped_by_the_guard(kefu_server: KefuServer, browser: Any) -> None:
    agent_ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    agent = agent_ctx.new_page()
    agent.goto(kefu_server.url + "/login")
    agent.fill("#agent_no", "2001")
    agent.fill("#extension", "8201")
    agent.fill("#agent_password", E2E_PASSWORD)
    agent.click("#agent-login-btn")
    # a team leader's seat: agents log in by 工号 too, but leaders use the staff form
    if "/login" in agent.url:
        agent.goto(kefu_server.url + "/login?mode=staff")
        agent.fill("#username", "leader1")
        agent.fill("#staff_password", E2E_PASSWORD)
        agent.click("#staff-login-btn")
    expect(agent).to_have_url(kefu_server.url + "/workspace")
    agent.click("#chat-online")
    expect(agent.locator("#chat-waiting")).to_contain_text("暂无等待的会话")

    customer_ctx = browser.new_context(viewport={"width": 800, "height": 700}, locale="zh-CN")
    customer = customer_ctx.new_page()
    customer.goto(kefu_server.url + "/chat")
    customer.fill("#chat-name", "陈先生")
    customer.fill("#chat-phone", "13912345678")
    customer.click("#chat-start-btn")
    expect(customer.locator("#customer-chat-log")).to_contain_text("您好")

    agent.locator(".chat-accept").first.click()
    expect(agent.locator("#chat-customer")).to_have_text("陈先生")
    customer.fill("#customer-chat-input", "我的快递怎么还没到？")
    customer.click("#customer-chat-send")
    expect(agent.locator("#agent-chat-log")).to_contain_text("我的快递怎么还没到")

    agent.fill("#agent-chat-input", "不行就是不行，我也没办法")
    agent.click("#agent-chat-send")
    expect(agent.locator("#guard-box")).to_be_visible()
    expect(agent.locator("#guard-phrase")).not_to_be_empty()
    expect(agent.locator("#guard-replacement")).not_to_be_empty()
    agent.locator("#guard-box").scroll_into_view_if_needed()
    agent.screenshot(path=str(SCREENSHOTS / "d1-guard.png"))

    agent.click("#guard-use")
    replacement = agent.locator("#agent-chat-input").input_value()
    assert replacement
    agent.click("#agent-chat-send")
    expect(agent.locator("#guard-box")).to_be_hidden()
    expect(customer.locator("#customer-chat-log")).to_contain_text(replacement)
    assert "不行就是不行" not in customer.locator("#customer-chat-log").inner_text()
    customer.screenshot(path=str(SCREENSHOTS / "d2-customer-chat.png"))
    agent.click("#chat-close")
    expect(customer.locator("#customer-chat-log")).to_contain_text("本次会话已结束")
    agent_ctx.close()
    customer_ctx.close()
