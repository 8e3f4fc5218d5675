"""CLI: `kefu assist guard|suggest|greeting` (SV-03, SV-04). Output is JSON, one object a line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kefu.assist.errors import AssistError
from kefu.assist.guard import guard_with
from kefu.assist.playbook import Playbook
from kefu.assist.scenario import closing, opening, suggest

assist_app = typer.Typer(
    help="Agent assist: scripts for the scenario, the holiday greeting, the draft guard.",
    no_args_is_help=True,
)

Profile = Annotated[str, typer.Option("--profile", "-p", help="QA profile (rulebook) to use.")]
Day = Annotated[
    str | None,
    typer.Option("--day", help="Date for holiday greetings, YYYY-MM-DD (default today)."),
]


def _json(obj: Any) -> str:
    def plain(o: Any) -> Any:
        if isinstance(o, enum.Enum):
            return o.value
        raise TypeError(type(o).__name__)

    data = obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = dataclasses.asdict(obj)
    return json.dumps(data, ensure_ascii=False, default=plain)


def _day(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise AssistError(f"--day: expected YYYY-MM-DD, got {text!r}") from None


def _conversation(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssistError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw) if path.suffix == ".json" else json.loads(raw.splitlines()[0])
    except (ValueError, IndexError) as exc:
        raise AssistError(f"{path}:1: not a conversation: {exc}") from None
    if isinstance(data, list):
        data = data[0] if data else {}
    if not isinstance(data, dict) or not isinstance(data.get("utterances"), list):
        raise AssistError(f"{path}: expected a conversation with 'utterances'")
    return data


def _guarded_load(profile: str) -> Playbook:
    from kefu.cli import fail

    try:
        return Playbook.load(profile)
    except AssistError as exc:
        raise fail(str(exc)) from None


@assist_app.command("guard")
def guard_cmd(
    text: Annotated[str, typer.Argument(help="The agent's draft; '-' reads stdin.")],
    profile: Profile = "default",
) -> None:
    """Forbidden phrases in a chat draft, with spans and replacements (exit 1 if any)."""
    book = _guarded_load(profile)
    draft = sys.stdin.read() if text == "-" else text
    hits = guard_with(draft, book)
    for hit in hits:
        typer.echo(_json(hit))
    raise typer.Exit(1 if hits else 0)


@assist_app.command("suggest")
def suggest_cmd(
    path: Annotated[
        Path, typer.Argument(help="A conversation so far (.json, or .jsonl: first line).")
    ],
    profile: Profile = "default",
    day: Day = None,
    now: Annotated[float | None, typer.Option(help="Seconds on the call's clock.")] = None,
    draft: Annotated[str | None, typer.Option(help="The reply the agent is typing.")] = None,
    agent_id: Annotated[str | None, typer.Option("--agent-id", help="The agent's ID.")] = None,
) -> None:
    """The standard script for each scenario the conversation is in, most urgent first."""
    from kefu.cli import fail

    book = _guarded_load(profile)
    try:
        record = _conversation(path)
        when = _day(day) if day else _started(record) or _day(None)
    except AssistError as exc:
        raise fail(str(exc)) from None
    for s in suggest(record["utterances"], book, day=when, now=now, draft=draft, agent_id=agent_id):
        typer.echo(_json(s))


def _started(record: dict[str, Any]) -> dt.date | None:
    text = record.get("started_at")
    if not isinstance(text, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise AssistError(f"started_at: not an ISO time: {text!r}") from None
    if stamp.tzinfo is not None:  # holidays are Beijing dates
        stamp = stamp.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return stamp.date()


@assist_app.command("greeting")
def greeting_cmd(profile: Profile = "default", day: Day = None) -> None:
    """The opening and closing lines for a day (新年好 / 节日好 on holidays), with warnings."""
    from kefu.cli import fail

    book = _guarded_load(profile)
    try:
        when = _day(day)
    except AssistError as exc:
        raise fail(str(exc)) from None
    typer.echo(_json(opening(book, when)))
    typer.echo(_json(closing(book, when)))


def register(app: typer.Typer) -> None:
    """Add `kefu assist` to the root command."""
    app.add_typer(assist_app, name="assist")
