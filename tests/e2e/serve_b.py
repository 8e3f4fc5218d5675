"""A real `kefu serve` for the part-B browser tests, on a seeded SQLite database.

Seeds: a supervisor, a QA reviewer, a team leader and an agent (1001/8001) with known
passwords; a queue with today's calls and survey answers (for the reports page); one QA
result computed by the real engine for the agent's conversation.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from kefu.qa.engine import Engine
from kefu.services import qa_review, users
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import (
    Call,
    Direction,
    Disposition,
    Queue,
    Recording,
    Role,
    SurveyResponse,
    Team,
    User,
)

PASSWORD = "E2e-Passw0rd"
SH = ZoneInfo("Asia/Shanghai")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

CONVERSATION = {
    "id": "e2e-qa-1",
    "channel": "voice",
    "direction": "inbound",
    "agent": {"id": "1001"},
    "customer": {"number": "13800138000"},
    "events": [
        {"t": 0, "type": "ring"},
        {"t": 4, "type": "answer"},
        {"t": 60, "type": "hangup", "by": "agent"},
    ],
    "utterances": [
        {"role": "agent", "start": 4.5, "end": 6, "text": "喂，说话。"},
        {"role": "customer", "start": 6.5, "end": 9, "text": "我的订单号是12345678，怎么还没到？"},
        {"role": "agent", "start": 9.5, "end": 14, "text": "这个应该不关我的事，你问快递去。"},
        {"role": "customer", "start": 15, "end": 16, "text": "好吧。"},
    ],
}


@dataclass(frozen=True)
class Server:
    """A running server and where its database lives."""

    url: str
    db_url: str
    data_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tone_wav(path: Path, seconds: float = 2.0) -> None:
    """A stereo 8 kHz WAV: a 440 Hz tone left (customer), silence right (agent)."""
    rate = 8000
    frames = bytearray()
    for i in range(int(rate * seconds)):
        v = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
        frames += struct.pack("<hh", v, 0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def seed(db: Database, data_dir: Path) -> None:
    """Users, today's CDRs and surveys, one engine-checked QA result with its recording."""
    for username, role, agent_no, ext in (
        ("super1", Role.SUPERVISOR, None, None),
        ("qa1", Role.QA, None, None),
        ("leader1", Role.TEAM_LEADER, "2001", "8201"),
        ("agent1", Role.AGENT, "1001", "8001"),
    ):
        users.create_user(
            db, username, PASSWORD, role, display_name=username, agent_no=agent_no, extension=ext
        )
    now = dt.datetime.now(SH).replace(minute=0, second=0, microsecond=0)
    with db.session() as s:
        team = Team(name="一组")
        queue = Queue(name="售前", service_level_s=20)
        s.add_all([team, queue])
        s.flush()
        agent = s.query(User).filter_by(username="agent1").one().agent
        assert agent is not None
        agent.user.team_id = team.id
        regions = ["北京", "上海", "广东广州", "北京", "浙江杭州", "北京"]
        for i in range(18):
            offered = now - dt.timedelta(hours=i * 7 % 96)
            answered = i % 4 != 3
            wait = 5.0 + 3 * (i % 6)
            s.add(
                Call(
                    id=f"e2e-call-{i}",
                    direction=Direction.INBOUND,
                    caller=f"1380013{i:04d}",
                    callee="4008001000",
                    caller_region=regions[i % len(regions)],
                    queue_id=queue.id,
                    agent_id=agent.id if answered else None,
                    offered_at=offered,
                    wait_seconds=wait,
                    answered_at=offered + dt.timedelta(seconds=wait) if answered else None,
                    ended_at=offered + dt.timedelta(seconds=wait + (120 + 20 * i) * answered),
                    held_seconds=10.0 if answered and i % 3 == 0 else 0.0,
                    disposition=Disposition.ANSWERED if answered else Disposition.ABANDONED,
                )
            )
            if answered:
                s.add(
                    SurveyResponse(
                        call_id=f"e2e-call-{i}",
                        agent_id=agent.id,
                        score=5 - i % 3,
                        answered_at=offered + dt.timedelta(minutes=5),
                    )
                )
        record = dict(CONVERSATION, started_at=now.isoformat())
        out = Engine.load().check(record)
        qa_review.store_result(s, out, record, call_id="e2e-call-0")
        _tone_wav(data_dir / "e2e-call-0.wav")
        s.add(
            Recording(call_id="e2e-call-0", path="e2e-call-0.wav", duration_s=2.0, created_at=now)
        )


def start(tmp: Path) -> Iterator[Server]:
    """Seed a database, run `python -m kefu serve` on a free port, stop it afterwards."""
    data_dir = tmp / "data"
    data_dir.mkdir()
    db_url = f"sqlite:///{data_dir / 'kefu.db'}"
    db = Database.from_url(db_url)
    migrate.upgrade(db.engine)
    seed(db, data_dir)
    db.dispose()
    port = _free_port()
    env = dict(os.environ, KEFU_CONFIG=str(tmp / "none.toml"))
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "serve.log").read_text())
            time.sleep(0.2)
        yield Server(url, db_url, data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def api_login(url: str, **body: str) -> httpx.Client:
    """An API client logged in with the CSRF header set."""
    client = httpx.Client(base_url=url, timeout=10)
    client.get("/login")
    client.headers["X-CSRF-Token"] = client.get("/api/auth/csrf").json()["csrf_token"]
    res = client.post("/api/auth/login", json={"password": PASSWORD, **body})
    assert res.status_code == 200, res.text
    client.headers["X-CSRF-Token"] = client.get("/api/auth/csrf").json()["csrf_token"]
    return client


def browser_login(page: object, url: str, username: str) -> None:
    """Log in through the staff form of the login page."""
    page.goto(url + "/login")  # type: ignore[attr-defined]
    page.click("button[data-tab=staff]")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#staff_password", PASSWORD)  # type: ignore[attr-defined]
    page.click("#staff-login-btn")  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
