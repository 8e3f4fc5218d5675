"""Database engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, and with SQLite's own transaction handling
(the driver's is switched off) so that DDL is transactional: a failed migration leaves the
file as it was, as PostgreSQL does natively.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kefu.errors import ConfigError

SUPPORTED = ("sqlite", "postgresql")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url`; a URL kefu cannot use raises ConfigError."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "KEFU_DATABASE_URL",
            f"{url!r} is not a database URL",
            "Use sqlite:///path/kefu.db or postgresql+psycopg://user:pass@host:5432/db.",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise ConfigError(
            "KEFU_DATABASE_URL",
            f"database {backend!r} is not supported",
            "Use sqlite:///path/kefu.db or postgresql+psycopg://user:pass@host:5432/db.",
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if backend == "sqlite":
            engine = create_engine(parsed, connect_args={"check_same_thread": False}, **kwargs)
            _configure_sqlite(engine)
        else:
            engine = create_engine(
                parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5}, **kwargs
            )
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            "KEFU_DATABASE_URL", f"no driver for {parsed.drivername!r} ({exc})", "Use +psycopg."
        ) from None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLite, not the driver, handle transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Nothing yet: reads before the first write run on the latest committed data, as in
        # PostgreSQL's READ COMMITTED, and hold no lock (see _before_execute).
        return None

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        # The first write of a transaction takes the write lock with BEGIN IMMEDIATE. A
        # deferred BEGIN would fail with "database is locked" (no wait) when it read, another
        # connection then committed, and it wrote; a BEGIN IMMEDIATE at the start would hold
        # the lock through reads, and a second session in the same thread (the web request's
        # and the center's) would wait on it for busy_timeout and fail.
        if not conn.in_transaction():
            return
        dbapi = conn.connection.dbapi_connection
        if dbapi.in_transaction or _READS.match(statement):
            return
        dbapi.execute("BEGIN IMMEDIATE")


_READS = re.compile(r"\s*(SELECT|PRAGMA|EXPLAIN)\b", re.IGNORECASE)


def check_database(engine: Engine) -> None:
    """Connect and run a trivial query; an unreachable database raises ConfigError."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ConfigError(
            "KEFU_DATABASE_URL",
            f"cannot connect to {engine.url.render_as_string(hide_password=True)}: {reason}",
            "Check that the server runs and the URL, user and password are right.",
        ) from None


def ensure_data_dir(path: Path) -> Path:
    """Create the data directory if needed and prove it is writable."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            "KEFU_DATA_DIR",
            f"{path} is not a writable directory ({exc.strerror or exc})",
            "Point KEFU_DATA_DIR (or --data-dir) at a directory this user can write.",
        ) from None
    return path


class Database:
    """An engine and its session factory: the one handle adapters use to reach storage."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._unit = threading.local()  # this thread's shared session inside `unit()`

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Open the database at `url`."""
        return cls(make_engine(url))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error.

        Inside `unit()` on the same thread it is the unit's session: the unit commits."""
        shared: Session | None = getattr(self._unit, "session", None)
        if shared is not None:
            yield shared
            return
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def unit(self) -> Iterator[None]:
        """One transaction for every `session()` this thread opens in the block: committed
        at its end, rolled back if it raises. Several small writers, one commit."""
        if getattr(self._unit, "session", None) is not None:
            yield  # already in a unit: join it
            return
        with self._sessions() as session, session.begin():
            self._unit.session = session
            try:
                yield
            finally:
                self._unit.session = None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
