"""The `kefu` command line. Each capability registers its commands here, in one place.

Errors that a user can fix are printed as one line on stderr with exit code 2, never as a
traceback.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from kefu import __version__
from kefu.core.supervision import Role  # the same values as the store's; no SQLAlchemy
from kefu.errors import ConfigError, KefuError

if TYPE_CHECKING:
    from kefu.config import Settings
    from kefu.store.db import Database

app = typer.Typer(
    name="kefu",
    help="kefu (客服): contact center with the service norms built in.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a KefuError raised by a command into a one-line error and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KefuError as exc:
            raise fail(str(exc)) from None

    return wrapper


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


# The commands import what they use when they run: `kefu --help` and the light commands
# need not load pydantic settings, SQLAlchemy, Alembic and argon2 first.
def _settings(**flags: Any) -> Settings:
    from kefu.config import load_settings

    return load_settings(**flags)


def _open_database(settings: Settings) -> Database:
    """Data directory writable, database reachable; else a one-line ConfigError."""
    from kefu.store.db import Database, check_database, ensure_data_dir

    ensure_data_dir(settings.data_dir)
    db = Database.from_url(settings.resolved_database_url)
    check_database(db.engine)
    return db


DataDirOpt = typer.Option(None, "--data-dir", help="Data directory [env KEFU_DATA_DIR].")
DatabaseOpt = typer.Option(None, "--database-url", help="Database URL [env KEFU_DATABASE_URL].")


@app.command()
@guarded
def serve(
    host: str | None = typer.Option(None, help="Address to listen on [env KEFU_HOST]."),
    port: int | None = typer.Option(None, help="HTTP port [env KEFU_PORT]."),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Demo: live traffic, bot agents, QA results, and the call-injection API (/api/sim).",
    ),
    demo_rate: float = typer.Option(
        1.0,
        "--demo-rate",
        min=0.0,
        help="Demo call arrival rate multiplier; 0: injection API only.",
    ),
    sip: bool | None = typer.Option(
        None,
        "--sip/--no-sip",
        help="Run the SIP switch in this process on sip_host:sip_port [env KEFU_SIP_ENABLED].",
    ),
) -> None:
    """Run the contact center: migrate, create the admin on first start, serve HTTP."""
    import uvicorn

    from kefu.services import users
    from kefu.services.demo import demo_app, login_hint
    from kefu.store import migrate
    from kefu.web.app import create_app

    settings = _settings(
        host=host, port=port, data_dir=data_dir, database_url=database_url, sip_enabled=sip
    )
    db = _open_database(settings)
    migrate.upgrade(db.engine)
    password = users.ensure_admin(db)
    if password is not None:
        console.print(
            f"Created user [bold]{users.ADMIN_USERNAME}[/] with password [bold]{password}[/]"
            " (shown once; change it at first login)."
        )
    _check_port_free(
        settings.host,
        settings.port,
        kind=socket.SOCK_STREAM,
        setting="KEFU_PORT",
        label=f"{settings.host}:{settings.port}",
        fix="Stop what uses it or pick another with --port or KEFU_PORT.",
    )
    if settings.sip_enabled:
        _check_port_free(
            settings.sip_host,
            settings.sip_port,
            kind=socket.SOCK_DGRAM,
            setting="KEFU_SIP_PORT",
            label=f"udp:{settings.sip_host}:{settings.sip_port} for SIP",
            fix="Stop what uses it, pick another with KEFU_SIP_PORT, or run with --no-sip.",
        )
    web = create_app(settings, db) if not demo else demo_app(settings, db, rate=demo_rate)
    if demo:
        console.print(login_hint(settings, web), markup=False)
    console.print(f"kefu serving on http://{settings.host}:{settings.port}")
    if settings.sip_enabled:
        tcp = " and tcp" if settings.sip_tcp else ""
        console.print(f"SIP on udp{tcp}:{settings.sip_host}:{settings.sip_port}")
    uvicorn.run(
        web,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
    )


def _check_port_free(
    host: str, port: int, *, kind: int, setting: str, label: str, fix: str
) -> None:
    """Bind and release the port first, so a busy one is a one-line error, not a traceback."""
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(setting, f"cannot listen on {label} ({exc.strerror})", fix) from None


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@guarded
def db_upgrade(data_dir: Path | None = DataDirOpt, database_url: str | None = DatabaseOpt) -> None:
    """Migrate the database schema to the newest revision."""
    from kefu.store import migrate

    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    before = migrate.current_revision(db.engine)
    migrate.upgrade(db.engine)
    after = migrate.current_revision(db.engine)
    console.print(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("current")
@guarded
def db_current(data_dir: Path | None = DataDirOpt, database_url: str | None = DatabaseOpt) -> None:
    """Print the schema revision of the database and of the code."""
    from kefu.store import migrate

    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    console.print(f"database: {migrate.current_revision(db.engine) or 'empty'}")
    console.print(f"code:     {migrate.head_revision()}")


admin_app = typer.Typer(help="Administration: users and passwords.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("reset-password")
@guarded
def admin_reset_password(
    username: str = typer.Argument(..., help="The user whose password to reset."),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
) -> None:
    """Give USERNAME a new random password, printed once."""
    from kefu.services import users
    from kefu.store import migrate

    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    migrate.upgrade(db.engine)
    password = users.reset_password(db, username)
    console.print(f"New password for [bold]{username}[/]: [bold]{password}[/] (shown once)")


@admin_app.command("create-user")
@guarded
def admin_create_user(
    username: str = typer.Argument(...),
    role: Role = typer.Option(..., help="agent, team_leader, qa, supervisor or admin."),
    agent_no: str | None = typer.Option(None, help="Agent number (工号), for agents."),
    extension: str | None = typer.Option(None, help="Extension, for agents."),
    display_name: str = typer.Option("", help="Name shown in the console."),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
) -> None:
    """Create a user with a random password, printed once."""
    from kefu.security.password import generate_password
    from kefu.services import users
    from kefu.store import migrate
    from kefu.store.models import Role as StoreRole

    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    migrate.upgrade(db.engine)
    password = generate_password()
    users.create_user(
        db,
        username,
        password,
        StoreRole(role.value),
        display_name=display_name,
        agent_no=agent_no,
        extension=extension,
    )
    console.print(f"Created [bold]{username}[/] ({role.value}) with password [bold]{password}[/]")


recordings_app = typer.Typer(
    help="Call recordings: search, retention purge (CC-04).", no_args_is_help=True
)
app.add_typer(recordings_app, name="recordings")


def _positive_days(value: str, option: str) -> int:
    """A whole number of days, at least 1; else a one-line error naming the option."""
    try:
        days = int(value)
    except ValueError:
        raise fail(f"{option}: a whole number of days expected, got {value!r}") from None
    if not 1 <= days <= 36500:
        raise fail(f"{option}: between 1 and 36500 days, got {days}")
    return days


@recordings_app.command("list")
@guarded
def recordings_list(
    since: str | None = typer.Option(None, help="From this date or date-time (local time)."),
    until: str | None = typer.Option(None, help="Up to this date (included) or date-time."),
    agent: str | None = typer.Option(None, help="Agent number (工号)."),
    number: str | None = typer.Option(None, help="Caller or callee: full number or last digits."),
    purged: bool | None = typer.Option(
        None, "--purged/--available", help="Only purged, or only playable recordings."
    ),
    limit: int = typer.Option(20, min=1, max=10_000, help="At most this many, newest first."),
    full_numbers: bool = typer.Option(
        False, "--full-numbers", help="Print phone numbers in full (masked by default)."
    ),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
) -> None:
    """List recordings, newest call first: id, time, direction, numbers, agent, length."""
    from kefu.security.masking import mask_phone
    from kefu.services import recordings
    from kefu.services.reports import TZ
    from kefu.store import migrate

    try:
        flt = recordings.RecordingFilter(
            start=recordings.parse_time(since, "--since"),
            end=recordings.parse_time(until, "--until", end=True),
            agent_no=agent,
            number=recordings.parse_number(number, "--number"),
            purged=purged,
        ).check()
    except recordings.RecordingsError as exc:
        raise fail("--until: must be after --since" if exc.param == "end" else str(exc)) from None
    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    migrate.upgrade(db.engine)
    with db.session() as session:
        rows, total = recordings.search(session, flt, recordings.system_viewer(), limit=limit)
    show = (lambda n: n) if full_numbers else mask_phone
    for r in rows:
        state = "purged" if r.purged_at else ("held" if r.legal_hold else "ok")
        typer.echo(  # tab-separated: rich would expand the tabs
            f"{r.id}\t{r.offered_at.astimezone(TZ):%Y-%m-%d %H:%M:%S}\t{r.direction}\t"
            f"{show(r.caller)}\t{show(r.callee)}\t{r.agent_no or '-'}\t{r.duration_s:.1f}s\t"
            f"{state}\t{r.call_id}",
        )
    console.print(f"{len(rows)} of {total} recordings", markup=False)


@recordings_app.command("purge")
@guarded
def recordings_purge(
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        metavar="DAYS",
        help="Purge recordings made more than DAYS days ago [default: recording_retention_days].",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would go; change nothing."),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
) -> None:
    """Delete recording and voicemail files past the retention period; rows stay, marked purged.

    Recordings on legal hold, of calls with an open complaint ticket or a pending QA appeal,
    or with retain_until in the future are kept. The purge is audited.
    """
    from kefu.services import recordings
    from kefu.store import migrate

    days = _positive_days(older_than, "--older-than") if older_than is not None else None
    settings = _settings(data_dir=data_dir, database_url=database_url)
    if days is None:
        days = settings.recording_retention_days
        if days == 0:
            console.print(
                "recording_retention_days is 0 (keep forever): nothing purged. "
                "Set KEFU_RECORDING_RETENTION_DAYS or pass --older-than DAYS.",
                markup=False,
            )
            return
    db = _open_database(settings)
    migrate.upgrade(db.engine)
    with db.session() as session:
        report = recordings.purge(session, settings.data_dir, days, dry_run=dry_run, via="cli")
    verb = "would purge" if dry_run else "purged"
    for rid, path, size in report.purged:
        console.print(f"{verb} recording {rid}: {path} ({size} bytes)", markup=False)
    for rid in report.missing:
        console.print(f"{verb} recording {rid}: file already missing", markup=False)
    for rid, error in report.failed:
        err_console.print(f"could not delete recording {rid}: {error}", markup=False)
    for vid, path, size in report.voicemails:
        console.print(f"{verb} voicemail {vid}: {path} ({size} bytes)", markup=False)
    for vid in report.voicemails_missing:
        console.print(f"{verb} voicemail {vid}: file already missing", markup=False)
    for vid, error in report.voicemails_failed:
        err_console.print(f"could not delete voicemail {vid}: {error}", markup=False)
    console.print(
        f"{verb} {len(report.purged) + len(report.missing)} recordings older than {days} days "
        f"({report.bytes_freed} bytes), kept {report.kept_on_hold} on hold, "
        f"{len(report.failed)} failed" + (" (dry run: nothing changed)" if dry_run else ""),
        markup=False,
    )
    vm_done = len(report.voicemails) + len(report.voicemails_missing)
    console.print(
        f"{verb} {vm_done} voicemails, kept {report.voicemails_kept} with an open callback, "
        f"{len(report.voicemails_failed)} failed",
        markup=False,
    )
    if report.failed or report.voicemails_failed:
        raise typer.Exit(1)


holidays_app = typer.Typer(
    help="Official holiday schedules with make-up workdays (SV-04).", no_args_is_help=True
)
app.add_typer(holidays_app, name="holidays")


@holidays_app.command("import")
@guarded
def holidays_import(
    file: Path = typer.Argument(..., help="Holiday file: 'DATE[..DATE], FESTIVAL|workday' lines."),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
) -> None:
    """Store the years FILE lists, each replacing what was stored for it (errors: FILE:LINE)."""
    from kefu.services import holidays
    from kefu.store import migrate

    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot read ({exc})") from None
    try:
        schedules = holidays.parse(text, str(file))
    except holidays.HolidayError as exc:
        for problem in exc.problems:
            err_console.print(f"[bold red]error:[/] {problem}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    migrate.upgrade(db.engine)
    with db.session() as session:
        holidays.save(session, schedules)
    for s in schedules:
        console.print(
            f"{s.year}: {len(s.holidays)} days off, {len(s.workdays)} make-up workdays stored"
        )


@holidays_app.command("list")
@guarded
def holidays_list(
    year: int = typer.Argument(..., help="The year to show."),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
) -> None:
    """The year's days off and make-up workdays, and where each answer comes from."""
    from kefu.services import holidays
    from kefu.store import migrate

    if not holidays.FIRST_YEAR <= year <= holidays.LAST_YEAR:
        raise typer.BadParameter(
            f"{year} is outside {holidays.FIRST_YEAR}-{holidays.LAST_YEAR}", param_hint="YEAR"
        )
    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    migrate.upgrade(db.engine)
    calendar = holidays.StoredCalendar(db)
    for d in holidays.year_days(calendar, year):
        what = d["festival"] or "workday"
        console.print(f"{d['date']}  {what:<16} {d['coverage']}")
    if not calendar.covered(year):
        err_console.print(
            f"warning: {year} has no official schedule: estimated from the lunar calendar"
        )


# Each other capability keeps its commands in its own package (`<package>/commands.py`,
# with `register(app)`) and adds one line to `_register`.
def _register() -> None:
    from kefu.assist import commands as assist_commands
    from kefu.qa import commands as qa_commands
    from kefu.services import campaign_commands
    from kefu.telephony import commands as telephony_commands
    from kefu.telephony import ivr_commands
    from kefu.telephony.sip import commands as sip_commands

    qa_commands.register(app)
    assist_commands.register(app)
    telephony_commands.register(app)
    sip_commands.register(app)
    ivr_commands.register(app)
    campaign_commands.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
