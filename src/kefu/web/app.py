"""The FastAPI application factory. Settings come in; nothing is read at import time."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kefu import __version__
from kefu.config import Settings
from kefu.store.db import Database


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """Build the web application for `settings`, on `db` or the database they name."""
    database = db or Database.from_url(settings.resolved_database_url)
    app = FastAPI(
        title="kefu",
        version=__version__,
        description="kefu (客服) contact center API",
    )
    app.state.settings = settings
    app.state.db = database

    @app.get("/health", tags=["system"], summary="Liveness and database check")
    def health() -> JSONResponse:
        body: dict[str, Any] = {"version": __version__, "database": database.engine.dialect.name}
        try:
            with database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            body.update(status="error", detail=type(exc).__name__)
            return JSONResponse(body, status_code=503)
        body["status"] = "ok"
        return JSONResponse(body)

    return app
