"""Shared fixtures: real databases (SQLite and PostgreSQL), each test on a fresh one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kefu.store import migrate
from kefu.store.db import Database

REPO = Path(__file__).resolve().parent.parent


def _pg_admin_url() -> str:
    url = os.environ.get("KEFU_TEST_DATABASE_URL")
    if not url:
        pytest.fail(
            "KEFU_TEST_DATABASE_URL is not set: run the suite with `make test`, which starts "
            "PostgreSQL (scripts/pg-test-server.sh)"
        )
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each kind; PostgreSQL gets a fresh database per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kefu.db'}"
        return
    admin_url = make_url(_pg_admin_url())
    name = f"kefu_t_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database of each kind."""
    database = Database.from_url(database_url)
    migrate.upgrade(database.engine)
    try:
        yield database
    finally:
        database.dispose()
