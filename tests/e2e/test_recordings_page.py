"""E2E (CC-04): a supervisor searches the recordings by the caller's last digits and plays
one in the browser's <audio> player — in Chromium against a real `kefu serve`; the
playback is in the audit log. A QA reviewer sees the number masked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from kefu.store.models import AuditEntry, Call, Direction, Disposition, Recording
from recordings_seed import write_wav

try:
    from .conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer
except ImportError:  # tests/e2e is not a package
    from conftest import E2E_PASSWORD, SCREENSHOTS, KefuServer  # type: ignore[no-redef]


SECONDS = 2.0


def _seed(server: KefuServer) -> int:
    """One answered inbound call with a 2 s stereo WAV under the server's data dir."""
    write_wav(server.data_dir / "recordings" / "e2e-rec-1.wav", SECONDS)
    now = dt.datetime.now(dt.UTC)
    with server.db.session() as s:
        s.add(
            Call(
                id="e2e-rec-1",
                direction=Direction.INBOUND,
                caller="13912345678",
                callee="4006001001",
                offered_at=now - dt.timedelta(minutes=5),
                answered_at=now - dt.timedelta(minutes=5),
                ended_at=now - dt.timedelta(minutes=3),
                disposition=Disposition.ANSWERED,
            )
        )
        s.flush()
        rec = Recording(
            call_id="e2e-rec-1",
            path="recordings/e2e-rec-1.wav",
            duration_s=SECONDS,
            created_at=now - dt.timedelta(minutes=3),
        )
        s.add(rec)
        s.flush()
        return rec.id


def _login(page: Any, server: KefuServer, username: str) -> None:
    page.goto(server.url + "/login?mode=staff")
    page.fill("#username", username)
    page.fill("#staff_password", E2E_PASSWORD)
    page.click("#staff-login-btn")
    page.wait_for_load_state("networkidle")


def test_search_and_play_a_recording(kefu_server: KefuServer, browser: Any) -> None:
    rec_id = _seed(kefu_server)
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    _login(page, kefu_server, "super1")
    page.click('nav a[href="/recordings"]')
    expect(page).to_have_url(kefu_server.url + "/recordings")
    page.fill('input[name="number"]', "5678")
    page.click("#rec-search")
    row = page.locator(f'#rec-results tr[data-id="{rec_id}"]')
    expect(row).to_contain_text("13912345678")
    expect(page.locator("#rec-total")).to_contain_text("共 1 条")
    row.locator("button.play").click()
    duration = page.evaluate(
        "new Promise((resolve, reject) => {"
        " const a = document.querySelector('#player');"
        " const done = () => resolve({ready: a.readyState, duration: a.duration});"
        " if (a.readyState >= 1) done(); else { a.onloadedmetadata = done;"
        " a.onerror = () => reject(new Error('audio error ' + (a.error && a.error.code))); }"
        " setTimeout(() => reject(new Error('no metadata in 20 s')), 20000); })"
    )
    assert duration["ready"] >= 1
    assert abs(duration["duration"] - SECONDS) < 0.05  # the WAV played through the API
    expect(page.locator("#now-playing")).to_contain_text("e2e-rec-1")
    page.screenshot(path=str(SCREENSHOTS / "recordings.png"))
    # legal hold from the page: a reason is asked, the row shows the lock
    page.once("dialog", lambda d: d.accept("客户投诉升级，保全录音"))
    row.locator("button.hold").click()
    expect(row.locator(".held")).to_be_visible()
    expect(row.locator("button.hold")).to_have_text("解除保全")
    page.close()
    with kefu_server.db.session() as s:
        rec = s.get(Recording, rec_id)
        assert rec is not None and rec.legal_hold and rec.hold_reason == "客户投诉升级，保全录音"
    with kefu_server.db.session() as s:
        played = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "recording.play", AuditEntry.target == f"recording:{rec_id}"
            )
        ).all()
        assert [e.actor_name for e in played] == ["super1"]

    qa = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    _login(qa, kefu_server, "qa1")
    qa.goto(kefu_server.url + "/recordings")
    qa_row = qa.locator(f'#rec-results tr[data-id="{rec_id}"]')
    expect(qa_row).to_contain_text("139****5678")
    assert "13912345678" not in qa.inner_text("#rec-results")
    qa.close()
