"""E2E (CC-03 留言): a supervisor opens the 留言 page from the nav, plays a voicemail in the
browser's <audio> player, marks it 已听 and gives it to an agent as a callback ticket — in
Chromium against a real `kefu serve`. The agent then sees it; QA sees the number masked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from kefu.store.models import AuditEntry, Call, Direction, Disposition, Ticket, Voicemail
from voicemails_seed import write_mono

try:
    from .conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer
except ImportError:  # tests/e2e is not a package
    from conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer  # type: ignore[no-redef]

SECONDS = 1.5


def _seed(server: KefuServer) -> int:
    """One voicemail left 5 minutes ago, with a 1.5 s mono WAV under the data dir."""
    write_mono(server.data_dir / "recordings" / "voicemail" / "e2e-vm-1.wav", SECONDS)
    now = dt.datetime.now(dt.UTC)
    with server.db.session() as s:
        s.add(
            Call(
                id="e2e-vm-1",
                direction=Direction.INBOUND,
                caller="13912340000",
                callee="4006001002",
                offered_at=now - dt.timedelta(minutes=6),
                ended_at=now - dt.timedelta(minutes=5),
                disposition=Disposition.VOICEMAIL,
            )
        )
        s.flush()
        vm = Voicemail(
            call_id="e2e-vm-1",
            box="售后",
            caller="13912340000",
            path="recordings/voicemail/e2e-vm-1.wav",
            duration_s=SECONDS,
            ended_by="key",
            created_at=now - dt.timedelta(minutes=5),
        )
        s.add(vm)
        s.flush()
        return vm.id


def _login(page: Any, server: KefuServer, username: str) -> None:
    page.goto(server.url + "/login?mode=staff")
    page.fill("#username", username)
    page.fill("#staff_password", E2E_PASSWORD)
    page.click("#staff-login-btn")
    page.wait_for_load_state("networkidle")


def test_play_mark_heard_and_assign_a_voicemail(kefu_server: KefuServer, browser: Any) -> None:
    vm_id = _seed(kefu_server)
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    _login(page, kefu_server, "super1")
    page.click('nav a[href="/voicemails"]')
    expect(page).to_have_url(kefu_server.url + "/voicemails")
    page.select_option('select[name="heard"]', "false")
    page.fill('input[name="number"]', "0000")
    page.click("#vm-search")
    row = page.locator(f'#vm-results tr[data-id="{vm_id}"]')
    expect(row).to_contain_text("13912340000")
    expect(row).to_contain_text("未听")
    expect(page.locator("#vm-total")).to_contain_text("共 1 条")
    row.locator("button.play").click()
    media = page.evaluate(
        "new Promise((resolve, reject) => {"
        " const a = document.querySelector('#player');"
        " const done = () => resolve({ready: a.readyState, duration: a.duration});"
        " if (a.readyState >= 1) done(); else { a.onloadedmetadata = done;"
        " a.onerror = () => reject(new Error('audio error ' + (a.error && a.error.code))); }"
        " setTimeout(() => reject(new Error('no metadata in 20 s')), 20000); })"
    )
    assert media["ready"] >= 1
    assert abs(media["duration"] - SECONDS) < 0.05  # the WAV came through the API
    row.locator("button.mark-heard").click()
    page.click("#vm-search")  # the unheard filter now hides it
    expect(page.locator("#vm-total")).to_contain_text("共 0 条")
    page.select_option('select[name="heard"]', "")
    page.click("#vm-search")
    expect(row.locator(".heard")).to_contain_text("已听")
    row.locator("button.make-callback").click()
    page.select_option('#cb-form select[name="agent_id"]', label="1001 agent1")
    page.fill('#cb-form textarea[name="note"]', "客户要求下午回电")
    page.click("#cb-ok")
    expect(row).to_contain_text("待处理")
    expect(row.locator("button.make-callback")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "voicemails.png"))
    page.close()
    with kefu_server.db.session() as s:
        vm = s.get(Voicemail, vm_id)
        assert vm is not None and vm.heard_at is not None and vm.ticket_id is not None
        ticket = s.get(Ticket, vm.ticket_id)
        assert ticket is not None and ticket.body == "客户要求下午回电"
        actions = [
            e.action
            for e in s.scalars(select(AuditEntry).where(AuditEntry.target == f"voicemail:{vm_id}"))
        ]
        assert {"voicemail.play", "voicemail.heard", "voicemail.callback"} <= set(actions)

    mine = kefu_server.api("agent").get("/api/voicemails").json()  # now the agent's callback
    assert [r["id"] for r in mine["rows"]] == [vm_id]
    qa = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    _login(qa, kefu_server, "qa1")
    qa.goto(kefu_server.url + "/voicemails")
    qa_row = qa.locator(f'#vm-results tr[data-id="{vm_id}"]')
    expect(qa_row).to_contain_text("139****0000")
    assert "13912340000" not in qa.inner_text("#vm-results")
    expect(qa_row.locator("button.mark-heard")).to_have_count(0)
    qa.close()
