"""`kefu campaign`: import a task list, list, start, pause, stop, and a virtual run (CC-05)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kefu.errors import KefuError

if TYPE_CHECKING:
    from kefu.store.db import Database

campaign_app = typer.Typer(
    help="Automatic outbound campaigns (外呼任务): task lists dialled for a queue.",
    no_args_is_help=True,
)

DataDirOpt = typer.Option(None, "--data-dir", help="Data directory [env KEFU_DATA_DIR].")
DatabaseOpt = typer.Option(None, "--database-url", help="Database URL [env KEFU_DATABASE_URL].")


def _session_scope(data_dir: Path | None, database_url: str | None) -> Database:
    from kefu.cli import _open_database, _settings
    from kefu.store import migrate

    db = _open_database(_settings(data_dir=data_dir, database_url=database_url))
    migrate.upgrade(db.engine)
    return db


@campaign_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV: number[,owner_agent 工号][,customer_id]."),
    queue: str = typer.Option(..., "--queue", help="The queue whose agents take the calls."),
    mode: str = typer.Option(..., "--mode", help="preview, progressive or predictive."),
    name: str | None = typer.Option(None, "--name", help="Campaign name [the file's stem]."),
    max_attempts: int = typer.Option(3, "--max-attempts", help="Dial attempts per number."),
    abandon_cap: float = typer.Option(0.03, "--abandon-cap", help="Predictive: max abandon."),
    data_dir: Path | None = DataDirOpt,
    database_url: str | None = DatabaseOpt,
) -> None:
    """Import a task list; bad rows are listed as FILE:LINE and the good rows kept."""
    from kefu.cli import console, fail
    from kefu.services import campaigns

    try:
        db = _session_scope(data_dir, database_url)
        with db.session() as session:
            report = campaigns.import_file(
                session,
                file,
                name=name or file.stem,
                queue=queue,
                mode=mode,
                max_attempts=max_attempts,
                abandon_cap=abandon_cap,
            )
    except KefuError as exc:
        raise fail(str(exc)) from None
    for e in report.errors:
        typer.echo(e, err=True)  # one line each, never wrapped: FILE:LINE: what
    console.print(
        f"campaign {report.campaign}: {report.added} tasks added, {len(report.errors)} rows "
        "refused",
        markup=False,
    )
    if report.errors:
        raise typer.Exit(1)


@campaign_app.command("list")
def list_(data_dir: Path | None = DataDirOpt, database_url: str | None = DatabaseOpt) -> None:
    """Campaigns with their state and progress."""
    from kefu.cli import console, fail
    from kefu.services import campaigns

    try:
        db = _session_scope(data_dir, database_url)
        with db.session() as session:
            rows = campaigns.list_campaigns(session)
    except KefuError as exc:
        raise fail(str(exc)) from None
    if not rows:
        console.print("no campaigns", markup=False)
    for p in rows:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(p.by_outcome.items())) or "-"
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(p.by_status.items()))
        console.print(
            f"{p.name}  queue={p.queue} mode={p.mode} state={p.state}  "
            f"{p.done}/{p.total} done ({statuses}); last outcomes: {outcomes}",
            markup=False,
        )


def _control(name: str, action: str, data_dir: Path | None, database_url: str | None) -> None:
    from kefu.cli import console, fail
    from kefu.core.dialer import Control
    from kefu.services import campaigns

    try:
        db = _session_scope(data_dir, database_url)
        with db.session() as session:
            row = campaigns.control(session, name, Control(action))
            state = row.state
    except KefuError as exc:
        raise fail(str(exc)) from None
    console.print(f"campaign {name}: {state}", markup=False)


@campaign_app.command("start")
def start(
    name: str, data_dir: Path | None = DataDirOpt, database_url: str | None = DatabaseOpt
) -> None:
    """Start (or resume) dialling; `kefu serve` runs it within the calling hours."""
    _control(name, "start", data_dir, database_url)


@campaign_app.command("pause")
def pause(
    name: str, data_dir: Path | None = DataDirOpt, database_url: str | None = DatabaseOpt
) -> None:
    """Pause: no new calls; calls already out finish."""
    _control(name, "pause", data_dir, database_url)


@campaign_app.command("stop")
def stop(
    name: str, data_dir: Path | None = DataDirOpt, database_url: str | None = DatabaseOpt
) -> None:
    """Stop for good: the tasks not yet dialled are cancelled."""
    _control(name, "stop", data_dir, database_url)


@campaign_app.command("simulate")
def simulate(
    mode: str = typer.Option("predictive", "--mode", help="preview, progressive, predictive."),
    agents: int = typer.Option(10, "--agents", min=1, max=500),
    tasks: int = typer.Option(2000, "--tasks", min=1, max=200_000),
    answer_rate: float = typer.Option(0.3, "--answer-rate", min=0.01, max=1.0),
    talk: float = typer.Option(90.0, "--talk", min=1.0, help="Mean talk seconds."),
    abandon_cap: float = typer.Option(0.03, "--abandon-cap", min=0.001, max=0.5),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """A virtual campaign against the real ACD core: abandon rate, time, connections."""
    from kefu.cli import console, fail
    from kefu.core.dialer import parse_mode
    from kefu.core.errors import ConfigInvalid
    from kefu.telephony.dialer_sim import OutboundScenario, run_outbound

    try:
        m = parse_mode(mode)
    except ConfigInvalid as exc:
        raise fail(f"--mode: {exc}") from None
    r = run_outbound(
        OutboundScenario(
            mode=m,
            agents=agents,
            tasks=tasks,
            answer_rate=answer_rate,
            talk=talk,
            abandon_cap=abandon_cap,
            seed=seed,
        )
    )
    c = r.counts
    console.print(
        f"mode={m.value} agents={agents} tasks={tasks} answer_rate={answer_rate:.2f}\n"
        f"dialed {c.dialed}, answered {c.answered}, connected {c.connected}, "
        f"abandoned {c.abandoned}, busy {c.busy}, no answer {c.no_answer}, skipped {c.skipped}\n"
        f"abandon rate {100 * r.abandon_rate:.2f}% (cap {100 * abandon_cap:.1f}%), "
        f"worst window {100 * r.max_recent_abandon:.1f}%\n"
        f"campaign time {r.seconds / 3600:.2f} h simulated"
        + ("" if r.finished else " (not finished)"),
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add `kefu campaign` to the CLI."""
    app.add_typer(campaign_app, name="campaign")
