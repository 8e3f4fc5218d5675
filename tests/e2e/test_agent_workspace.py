"""(a) An agent logs in, goes idle, gets a call from the real center with a screen pop,
answers, hangs up and writes a ticket from the call — in Chromium against `kefu serve`.

The call is injected through the demo-only API (POST /api/sim/calls), which offers it to
the center's core as a trunk would; ringing, the screen pop (WebSocket), answer and
hang-up all go through the same ContactCenter that a SIP switch drives.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from kefu.store.models import Call, Disposition, Ticket

try:
    from .conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer
except ImportError:  # tests/e2e is not a package
    from conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer  # type: ignore[no-redef]


def test_agent_takes_a_call_and_writes_a_ticket(kefu_server: KefuServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page.goto(kefu_server.url + "/workspace")
    expect(page).to_have_url(kefu_server.url + "/login?next=/workspace")
    page.fill("#agent_no", "1001")
    page.fill("#extension", "8001")
    page.fill("#agent_password", E2E_PASSWORD)
    page.screenshot(path=str(SCREENSHOTS / "a1-login.png"))
    page.click("#agent-login-btn")
    expect(page).to_have_url(kefu_server.url + "/workspace")
    expect(page.locator("#state-badge")).to_have_text("示忙")  # the seat logs in busy
    page.click("#btn-idle")
    expect(page.locator("#state-badge")).to_have_text("空闲")
    expect(page.locator("#script-panel-body")).to_contain_text("开头语")

    # a call arrives from the trunk (demo injection into the real center)
    res = kefu_server.api("supervisor").post(
        "/api/sim/calls", json={"caller": "13800138000", "dialed": "4006001234"}
    )
    assert res.status_code == 201, res.text
    call_id = res.json()["call_id"]
    expect(page.locator("#caller-number")).to_have_text("13800138000")
    expect(page.locator("#state-badge")).to_have_text("振铃")
    expect(page.locator("#caller-region")).to_contain_text("北京")
    expect(page.locator("#customer-new")).to_be_visible()  # unknown caller: a new record
    page.screenshot(path=str(SCREENSHOTS / "a2-screen-pop.png"))

    page.click("#btn-answer")
    expect(page.locator("#state-badge")).to_have_text("通话中")
    page.fill("#cust-name", "王阿姨")
    page.fill("#cust-address", "北京市朝阳区幸福路1号")
    page.click("#btn-save-customer")
    expect(page.locator("#customer-msg")).to_have_text("已保存")
    page.fill("#kb-q", "续重")
    page.click("#kb-form button")
    expect(page.locator("#kb-results")).to_contain_text("快递资费标准")
    page.screenshot(path=str(SCREENSHOTS / "a3-on-call.png"))

    page.click("#btn-hangup")
    expect(page.locator("#state-badge")).to_have_text("文书处理")
    expect(page.locator("#acw-countdown")).to_be_visible()

    page.select_option("#ticket-type", "complaint")
    page.fill("#ticket-title", "快递延误投诉")
    page.fill("textarea[name=f_content]", "客户反映快递三天未送达")
    page.click("#btn-ticket")
    expect(page.locator("#ticket-msg")).to_contain_text("工单已提交")
    page.screenshot(path=str(SCREENSHOTS / "a4-ticket.png"))

    with kefu_server.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is Disposition.ANSWERED
        ticket = s.scalar(select(Ticket).where(Ticket.call_id == call_id))
        assert ticket is not None and ticket.customer_id == call.customer_id
        assert ticket.due_at is not None

    page.goto(kefu_server.url + "/tickets")
    expect(page.locator("#tickets")).to_contain_text("快递延误投诉")
    page.screenshot(path=str(SCREENSHOTS / "a5-tickets.png"))
    page.goto(kefu_server.url + f"/customers/{ticket.customer_id}")
    expect(page.locator("main")).to_contain_text("王阿姨")
    page.screenshot(path=str(SCREENSHOTS / "a6-customer.png"))
    page.close()


def test_admin_pages_render(kefu_server: KefuServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page.goto(kefu_server.url + "/login?mode=staff")
    page.fill("#username", "admin1")
    page.fill("#staff_password", E2E_PASSWORD)
    page.click("#staff-login-btn")
    expect(page).to_have_url(kefu_server.url + "/admin")
    expect(page.locator("#users")).to_contain_text("agent1")
    page.screenshot(path=str(SCREENSHOTS / "admin.png"), full_page=True)
    page.goto(kefu_server.url + "/kb?q=桩号")
    expect(page.locator("main")).to_contain_text("高速公路道路救援流程")
    page.screenshot(path=str(SCREENSHOTS / "kb.png"))
    page.close()
