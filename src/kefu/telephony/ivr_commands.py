"""`kefu ivr check` and `kefu ivr trace`: validate IVR flow files and walk them by keys.

A designer checks a flow before uploading it, and walks a caller's path through it
("press 1, then the card number, then the password") without a phone: the trace is the
commands the core's IVR interpreter would give the switch.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from kefu.core.calendar import HolidayCalendar
from kefu.core.ivr import format_trace, simulate_path
from kefu.core.ivr_flow import FlowError, lint_flow, load_flow

ivr_app = typer.Typer(help="Check IVR flow files and walk them by keys (docs/ivr.md).")


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=flag)
        out[name] = value
    return out


def _prompt_ids(directory: Path) -> set[str]:
    if not directory.is_dir():
        raise typer.BadParameter(f"{directory} is not a directory", param_hint="--prompts")
    return {p.stem for p in directory.iterdir() if p.suffix.lower() == ".wav"}


@ivr_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Flow YAML files.")],
    prompts: Annotated[
        Path | None,
        typer.Option("--prompts", help="Directory of prompt WAVs: warn about prompts without."),
    ] = None,
) -> None:
    """Validate flows: exit 0 when all load, 2 with `file:line: problem` lines when not."""
    from kefu.cli import err_console

    audio = _prompt_ids(prompts) if prompts is not None else None
    failed = False
    for file in files:
        try:
            flow = load_flow(file)
        except FlowError as exc:
            failed = True
            for problem in exc.problems:
                err_console.print(f"[bold red]error:[/] {problem}", markup=True, soft_wrap=True)
            continue
        for warning in lint_flow(flow, audio):
            err_console.print(f"[yellow]warning:[/] {warning}", markup=True, soft_wrap=True)
        numbers = ", ".join(flow.numbers) or "no numbers"
        typer.echo(
            f"{file}: ok, flow {flow.name} version {flow.version}, "
            f"{len(flow.nodes)} nodes, {numbers}"
        )
    if failed:
        raise typer.Exit(2)


@ivr_app.command("trace")
def trace(
    file: Annotated[Path, typer.Argument(help="A flow YAML file.")],
    keys: Annotated[
        str,
        typer.Option(
            "--keys",
            help="Keys pressed after each prompt; `_` waits out a timeout.",
        ),
    ] = "",
    at: Annotated[
        str,
        typer.Option("--at", help="When the call comes, YYYY-MM-DDTHH:MM in the flow's zone."),
    ] = "",
    var: Annotated[
        list[str] | None, typer.Option("--var", help="A call variable, NAME=VALUE (repeat).")
    ] = None,
    lookup: Annotated[
        list[str] | None,
        typer.Option("--lookup", help="A value a lookup returns, NAME=VALUE (repeat)."),
    ] = None,
    password_ok: Annotated[
        bool, typer.Option("--password-ok/--password-wrong", help="How passwords verify.")
    ] = True,
    payment_ok: Annotated[
        bool, typer.Option("--payment-ok/--payment-failed", help="How payments end.")
    ] = True,
) -> None:
    """Walk a flow with the given keys and print the commands the IVR gives, one a line."""
    from kefu.cli import fail

    try:
        flow = load_flow(file)
    except FlowError as exc:
        raise fail("\n".join(exc.problems)) from None
    try:
        now = dt.datetime.fromisoformat(at) if at else dt.datetime.now().replace(microsecond=0)
    except ValueError:
        raise typer.BadParameter(f"{at!r} is not YYYY-MM-DDTHH:MM", param_hint="--at") from None
    bad = sorted(set(keys) - set("0123456789*#_ \t"))
    if bad:
        raise typer.BadParameter(f"{''.join(bad)!r} are not keys", param_hint="--keys")
    commands = simulate_path(
        flow,
        keys,
        now.replace(tzinfo=None),
        variables=_pairs(var or [], "--var"),
        calendar=HolidayCalendar(),
        password_ok=password_ok,
        payment_ok=payment_ok,
        lookup_values=_pairs(lookup or [], "--lookup"),
    )
    typer.echo(format_trace(commands))


def register(app: typer.Typer) -> None:
    """Add `kefu ivr` to the CLI."""
    app.add_typer(ivr_app, name="ivr")
