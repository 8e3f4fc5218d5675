"""The FastAPI application factory. Settings come in; nothing is read at import time.

Wiring, in one place: the session codec (secret from the data dir), the CSRF cookie
middleware, the error catalogue, templates and static files, the live hub and the center
runtime (started and stopped with the app), and one router per resource.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu import __version__
from kefu.config import Settings
from kefu.core.acd import HoldPolicy
from kefu.services import kb, recordings, tickets
from kefu.services.callbacks import Reminders
from kefu.services.center import Center
from kefu.services.chat import ChatService
from kefu.services.holidays import StoredCalendar
from kefu.services.ivr_locks import DbPasswordLocks
from kefu.services.live import LiveHub
from kefu.services.reports import TZ
from kefu.store.db import Database
from kefu.web import errors
from kefu.web.auth import LoginThrottle, Sessions, load_secret, sessions_of

HERE = Path(__file__).resolve().parent
ESCALATION_PERIOD_S = 60.0
log = logging.getLogger(__name__)
# Routers of this package: each module exposes `router`. The optional ones belong to
# features that may not be present in every build.
ROUTERS = (
    "auth",
    "agent",
    "workspace",
    "customers",
    "tickets",
    "kb",
    "blacklist",
    "chat",
    "admin",
    "recordings",
    "voicemails",
    "holidays",
    "campaigns",
)
OPTIONAL_ROUTERS = ("wallboard", "qa", "reports")
# Paths reachable without logging in (the route-coverage test checks every other one).
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/health",
        "/login",
        "/api/auth/login",
        "/api/auth/csrf",
        "/chat",
        "/api/chat/public/start",
        "/ws/chat/public/{token}",
        "/static",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
    }
)


def create_app(settings: Settings, db: Database | None = None, *, demo: bool = False) -> FastAPI:
    """Build the web application for `settings`, on `db` or the database they name.

    `demo` enables the call-injection endpoints (/api/sim/*) that offer calls into the
    center as a trunk would (tests and demonstrations without a SIP trunk).
    """
    database = db or Database.from_url(settings.resolved_database_url)
    with database.session() as session:  # templates of BF-01..04 and the standard scripts
        tickets.seed_types(session)
        kb.seed(session)
    hub = LiveHub()
    center = Center(
        database,
        hub,
        hold=HoldPolicy(settings.hold_warn_s, settings.hold_limit_s, settings.hold_resume_at_limit),
    )

    center.calendar = StoredCalendar(database)  # SV-04: the admin's holiday schedules
    reminders = Reminders(database, hub, grace=dt.timedelta(seconds=settings.callback_grace_s))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await center.start()
        line = None
        if settings.sip_enabled:  # real phones: the switch runs in this process
            from kefu.telephony.sip.line import close_line, open_line

            line = await open_line(center, settings)
        app.state.sip_line = line
        runner = _campaign_runner(app, center, settings, line, demo)
        if runner is not None:
            await runner.start()
        app.state.campaigns = runner
        # live demo traffic (kefu.services.demo.demo_app sets it for `kefu serve --demo`)
        traffic = getattr(app.state, "demo_traffic", None)
        if traffic is not None:
            await traffic.start()
        escalator = asyncio.create_task(_escalate_forever(database), name="kefu-escalation")
        purger = asyncio.create_task(
            _purge_recordings_daily(database, settings), name="kefu-recording-purge"
        )
        # SLA-05: callback reminders fire in the agent's workspace at the promised time
        reminding = asyncio.create_task(reminders.run_forever(), name="kefu-callback-reminders")
        try:
            yield
        finally:
            if traffic is not None:
                await traffic.stop()
            for task in (escalator, purger, reminding):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if runner is not None:
                await runner.stop()
            if line is not None:
                await close_line(line)
            await center.stop()

    app = FastAPI(
        title="kefu",
        version=__version__,
        description="kefu (客服) contact center API",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.demo = demo
    app.state.hub = hub
    app.state.center = center
    app.state.reminders = reminders
    app.state.chat = ChatService(database, hub, calendar=center.calendar)
    app.state.sessions = Sessions(load_secret(settings.data_dir))
    app.state.throttle = LoginThrottle()
    errors.install(app)

    app.add_middleware(SessionCookieMiddleware)

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

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for name in ROUTERS + OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(f"kefu.web.routers.{name}")
        except ModuleNotFoundError as exc:
            if name in OPTIONAL_ROUTERS and exc.name == f"kefu.web.routers.{name}":
                continue
            raise
        app.include_router(module.router)
    return app


def _campaign_runner(
    app: FastAPI, center: Center, settings: Settings, line: Any, demo: bool
) -> Any:
    """CC-05: campaigns dial through the SIP trunk when there is one, virtual customers in
    demo mode; with neither, campaigns can be managed but nothing dials."""
    from zoneinfo import ZoneInfo

    from kefu.services.campaign_runner import CampaignRunner, VirtualTrunk

    port: Any = None
    if line is not None and getattr(line, "trunk", None) is not None:
        from kefu.telephony.sip.dialer_line import SipCampaignPort

        port = SipCampaignPort(line)
    elif demo:
        port = getattr(app.state, "campaign_trunk", None) or VirtualTrunk(center)
    if port is None:
        return None
    tz = ZoneInfo(settings.outbound_timezone)
    return CampaignRunner(
        center,
        port,
        hours=settings.calling_hours,
        local_time=lambda: dt.datetime.now(tz).time(),
    )


async def _escalate_forever(db: Database) -> None:
    """SLA-02: escalate overdue tickets every minute."""
    while True:
        try:
            with db.session() as session:
                tickets.escalate_overdue(session)
        except SQLAlchemyError:
            log.exception("ticket escalation failed")
        await asyncio.sleep(ESCALATION_PERIOD_S)


async def _purge_recordings_daily(db: Database, settings: Settings) -> None:
    """CC-04: every day at recording_purge_time, delete recordings past the retention."""
    wake = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    while True:
        # from after the last wake: a sleep that ends a little early must not purge twice
        now = max(dt.datetime.now(dt.UTC), wake + dt.timedelta(seconds=1))
        wake = recordings.next_purge_at(now, settings.recording_purge_time)
        await asyncio.sleep((wake - dt.datetime.now(dt.UTC)).total_seconds())
        try:
            report = await asyncio.to_thread(
                recordings.scheduled_purge,
                db,
                settings.data_dir,
                settings.recording_retention_days,
            )
            # CC-03: wrong-password counts of days before yesterday lock nothing any more
            yesterday = wake.astimezone(TZ).date() - dt.timedelta(days=1)
            await asyncio.to_thread(DbPasswordLocks(db).forget_before, yesterday)
        except (SQLAlchemyError, OSError):
            log.exception("recording purge failed")
            continue
        if report is not None:
            log.info(
                "recording purge: %d purged, %d already gone, %d failed, %d held; "
                "voicemails: %d purged, %d kept for a callback",
                len(report.purged),
                len(report.missing),
                len(report.failed),
                report.kept_on_hold,
                len(report.voicemails) + len(report.voicemails_missing),
                report.voicemails_kept,
            )


def all_routes(app: FastAPI) -> list[Any]:
    """Every route of the app, with included routers expanded (FastAPI may wrap them)."""
    out: list[Any] = []

    def walk(routes: Any) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            else:
                out.append(r)

    walk(app.router.routes)
    return out


class SessionCookieMiddleware:
    """Every client gets a session cookie carrying its CSRF token; every response gets the
    nosniff and frame-deny headers.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request in an extra task with memory streams, which was most of a request's overhead
    under load (bench/web_load.py).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        sessions = sessions_of(request)
        data = sessions.read(request)
        fresh = "c" not in data
        if fresh:
            data = {**data, "c": secrets.token_urlsafe(24)}
            scope["kefu.session"] = data

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if fresh and "set-cookie" not in headers:
                    cookie = Response()
                    sessions.write(request, cookie, scope.get("kefu.session") or data)
                    for key, value in cookie.raw_headers:
                        if key == b"set-cookie":
                            headers.append("set-cookie", value.decode("latin-1"))
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
