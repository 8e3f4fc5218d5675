"""A real `kefu serve --demo` for the browser tests, on a free port with a temp data dir.

    def test_x(kefu_server, browser):
        page = browser.new_page()
        page.goto(kefu_server.url + "/login")
        kefu_server.api("supervisor").post("/api/sim/calls", json={"caller": "13800138000"})

The server runs in its own process (the `kefu` console script). Users of every role are
created in its database beforehand with known passwords (`E2E_USERS`, `E2E_PASSWORD`).
Calls come from the real center through the demo-only call-injection API (/api/sim/calls),
which offers them exactly as a trunk would (CallArrived into the core).
Browsers: Playwright driving Debian's Chromium (/usr/bin/chromium); screenshots go to
test-output/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kefu.security.password import hash_password
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import Agent, Role, User

E2E_PASSWORD = "E2e-agent-pass1"
E2E_USERS = {
    # role: (username, agent_no, extension)
    "agent": ("agent1", "1001", "8001"),
    "team_leader": ("leader1", "2001", "8201"),
    "supervisor": ("super1", None, None),
    "admin": ("admin1", None, None),
    "qa": ("qa1", None, None),
}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class KefuServer:
    """A running `kefu serve` process."""

    url: str
    data_dir: Path
    db: Database
    process: subprocess.Popen[bytes]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def api(self, role: str) -> httpx.Client:
        """An HTTP client logged in as the e2e user of `role`, with its CSRF header."""
        if role not in self.clients:
            client = httpx.Client(base_url=self.url, timeout=10)
            token = client.get("/api/auth/csrf").json()["csrf_token"]
            client.headers["X-CSRF-Token"] = token
            username, agent_no, extension = E2E_USERS[role]
            body: dict[str, Any] = {"password": E2E_PASSWORD}
            if role == "agent":
                body |= {"agent_no": agent_no, "extension": extension}
            else:
                body["username"] = username
            res = client.post("/api/auth/login", json=body)
            res.raise_for_status()
            client.headers["X-CSRF-Token"] = client.get("/api/auth/csrf").json()["csrf_token"]
            self.clients[role] = client
        return self.clients[role]


def _seed(db: Database) -> None:
    pw = hash_password(E2E_PASSWORD)
    with db.session() as session:
        for role, (username, agent_no, extension) in E2E_USERS.items():
            user = User(username=username, display_name=username, role=Role(role), password_hash=pw)
            if agent_no and extension:
                user.agent = Agent(agent_no=agent_no, extension=extension)
            session.add(user)


@pytest.fixture(scope="module")
def kefu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KefuServer]:
    """`kefu serve --demo` on a free port, with seeded users; stopped after the module."""
    data_dir = tmp_path_factory.mktemp("kefu-e2e")
    db = Database.from_url(f"sqlite:///{data_dir / 'kefu.db'}")
    migrate.upgrade(db.engine)
    _seed(db)
    port = free_port()
    kefu = shutil.which("kefu", path=str(Path(sys.executable).parent)) or "kefu"
    env = {**os.environ, "KEFU_CONFIG": str(data_dir / "none.toml")}
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        # --demo-rate 0: the call-injection API only, no demo traffic (deterministic tests)
        [
            kefu,
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--demo",
            "--demo-rate",
            "0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("kefu serve did not start:\n" + (data_dir / "serve.log").read_text())
        time.sleep(0.2)
    server = KefuServer(url, data_dir, db, process)
    try:
        yield server
    finally:
        for c in server.clients.values():
            c.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        db.dispose()


@pytest.fixture(scope="module")
def browser(kefu_server: KefuServer) -> Iterator[Any]:
    """Headless Chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
