"""Schema migrations (Alembic), run from code: `kefu db upgrade` and the first `kefu serve`.

All pending revisions run in one transaction, so a failing one leaves the database as it
was, on PostgreSQL and on SQLite alike (see kefu.store.db).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from kefu.errors import KefuError

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationError(KefuError):
    """A migration failed; the database was left as it was."""


def _config(extra_locations: Sequence[Path] = ()) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions"), *(str(p) for p in extra_locations)]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    return cfg


def head_revision(extra_locations: Sequence[Path] = ()) -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(_config(extra_locations)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head", extra_locations: Sequence[Path] = ()) -> None:
    """Bring the schema to `target` in one transaction; raise MigrationError on failure."""
    cfg = _config(extra_locations)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, target)
    except (SQLAlchemyError, RuntimeError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MigrationError(f"migration failed, database left unchanged: {reason}") from exc
