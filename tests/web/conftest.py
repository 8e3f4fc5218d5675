"""Web fixtures: an app on a fresh SQLite database, users of every role, logged-in clients.

    def test_x(client_for):            # a TestClient logged in as a role, with CSRF header
        c = client_for("supervisor")
        c.post("/api/...", json={...})

    def test_y(anon):                  # a TestClient that is not logged in

`users` maps role -> (username, password, agent_no, extension); agents and team leaders
have agent records. `app` is created with demo=True (the /api/sim call-injection path).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kefu.config import Settings
from kefu.security.password import hash_password
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import Agent, Role, User
from kefu.web.app import create_app

PASSWORD = "Passw0rd-test"

USERS: dict[str, tuple[str, str | None, str | None]] = {
    # role: (username, agent_no, extension)
    "agent": ("agent1", "1001", "8001"),
    "team_leader": ("leader1", "2001", "8201"),
    "qa": ("qa1", None, None),
    "supervisor": ("super1", None, None),
    "admin": ("admin1", None, None),
}


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def web_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database with one user of each role."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    with db.session() as session:  # one argon2 hash for all: hashing is slow on purpose
        for role, (username, agent_no, extension) in USERS.items():
            user = User(
                username=username, display_name=username, role=Role(role), password_hash=_hash()
            )
            if agent_no and extension:
                user.agent = Agent(agent_no=agent_no, extension=extension)
            session.add(user)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def app(tmp_path: Path, web_db: Database) -> FastAPI:
    """The web app (demo mode) over `web_db`, with its data dir in tmp_path."""
    settings = Settings(data_dir=tmp_path / "data", database_url=str(web_db.engine.url))
    return create_app(settings, web_db, demo=True)


def csrf_of(client: TestClient) -> str:
    """Fetch a page so the client gets its session cookie, and return its CSRF token."""
    client.get("/login")
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return str(token)


def login(client: TestClient, role: str) -> TestClient:
    """Log `client` in as the fixture user of `role` and set its CSRF header."""
    csrf_of(client)
    username, agent_no, extension = USERS[role]
    body = (
        {"agent_no": agent_no, "extension": extension, "password": PASSWORD}
        if role == "agent"
        else {"username": username, "password": PASSWORD}
    )
    res = client.post("/api/auth/login", json=body)
    assert res.status_code == 200, res.text
    csrf_of(client)  # the token is renewed at login
    return client


@pytest.fixture
def anon(app: FastAPI) -> Iterator[TestClient]:
    """A client that is not logged in (lifespan running: the center's timer task is up)."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """A factory of clients logged in as a role; all share the running app."""
    clients: list[TestClient] = []
    stack = TestClient(app, follow_redirects=False)
    stack.__enter__()

    def make(role: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        clients.append(client)
        return login(client, role)

    try:
        yield make
    finally:
        stack.__exit__(None, None, None)
