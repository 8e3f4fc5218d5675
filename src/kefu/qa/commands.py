"""CLI: `kefu qa`, `kefu rules check|show`, `kefu import stc3`."""

from __future__ import annotations

import enum
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
import yaml

from kefu.errors import KefuError
from kefu.qa.batch import Outcome, expand, items, run
from kefu.qa.engine import Engine
from kefu.qa.errors import QAError, RulebookError
from kefu.qa.examples import example_record
from kefu.qa.report import CsvWriter, dumps, write_html
from kefu.qa.rulebook import load_rulebook, profile_names

if TYPE_CHECKING:  # storage loads SQLAlchemy; only --store needs it
    from kefu.store.db import Database


class Format(enum.StrEnum):
    """Output formats of `kefu qa`."""

    jsonl = "jsonl"
    csv = "csv"
    html = "html"


rules_app = typer.Typer(help="Check and explain QA rulebooks.", no_args_is_help=True)
import_app = typer.Typer(help="Import conversations from other formats.", no_args_is_help=True)


def _die(lines: list[str], code: int = 2) -> typer.Exit:
    for line in lines:
        sys.stderr.write(line + "\n")
    return typer.Exit(code)


def _engine(profile: str | None, rules: Path | None) -> tuple[Engine | None, str | None]:
    if profile and rules:
        raise _die(["error: give --profile or --rules, not both"])
    source = str(rules) if rules else profile
    if source is None:
        # Each record names its profile; compile them all now so a bad one stops the run
        # before anything is written.
        for name in profile_names():
            load_rulebook(name)
        return None, None
    return Engine.load(source), source


def _progress(outcomes: Iterator[Outcome], total: int | None) -> Iterator[Outcome]:
    if not sys.stderr.isatty():
        yield from outcomes
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("质检", total=total)
        for o in outcomes:
            bar.advance(task)
            yield o


def qa(
    paths: Annotated[
        list[str], typer.Argument(help="Conversation files (.jsonl, .json), directories or globs.")
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.jsonl,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile name (default: each record's).")
    ] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="A rulebook YAML file.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Also store the results in the database.")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="With --store [env KEFU_DATA_DIR].")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="With --store [env KEFU_DATABASE_URL].")
    ] = None,
) -> None:
    """Check conversations against the rulebook (质检) and print one result per conversation."""
    try:
        engine, source = _engine(profile, rules)
        files = expand(paths)
        # The database is opened before any work, so a bad one fails the run up front.
        db = _open_store(data_dir, database_url) if store else None
    except RulebookError as exc:
        raise _die(exc.problems) from None
    except KefuError as exc:
        raise _die([f"error: {exc}"]) from None
    total = None
    if sys.stderr.isatty():
        total = sum(_count(f) for f in files)
    keep_records = fmt is Format.html or store
    outcomes = _progress(run(items(files), source, jobs, keep_records, engine), total)
    bad = 0
    kept: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def observed() -> Iterator[Outcome]:
        nonlocal bad
        for o in outcomes:
            for w in o.warnings:
                sys.stderr.write(f"{o.where}: warning: {w}\n")
            if o.error is not None:
                bad += 1
                sys.stderr.write(f"{o.where}: {o.error}\n")
            elif store and o.record is not None:
                kept.append((o.result, o.record))
            yield o

    with _sink(output) as out:
        if fmt is Format.jsonl:
            for o in observed():
                out.write(dumps(o.result) + "\n")
        elif fmt is Format.csv:
            writer = CsvWriter(out)
            for o in observed():
                writer.write(o)
        else:
            write_html(observed(), out)
    if db is not None:
        from kefu.qa.store import store_results

        stored = store_results(db, kept)
        sys.stderr.write(f"stored {stored} result(s) in {db.engine.url.render_as_string()}\n")
    raise typer.Exit(1 if bad else 0)


def _open_store(data_dir: Path | None, database_url: str | None) -> Database:
    from kefu.config import load_settings
    from kefu.store import migrate
    from kefu.store.db import Database, check_database, ensure_data_dir

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    ensure_data_dir(settings.data_dir)
    db = Database.from_url(settings.resolved_database_url)
    check_database(db.engine)
    migrate.upgrade(db.engine)
    return db


def _count(path: Path) -> int:
    if path.suffix != ".jsonl":
        return 1
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


class _sink:
    """stdout, or a file written through a temporary name so it is never half-written."""

    def __init__(self, output: Path | None) -> None:
        self.output = output
        self.tmp: str | None = None
        self.fh: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if self.output is None:
            return sys.stdout
        fd, self.tmp = tempfile.mkstemp(dir=self.output.parent or Path("."), prefix=".kefu-qa-")
        self.fh = io.open(fd, "w", encoding="utf-8", newline="")  # noqa: UP020
        return self.fh

    def __exit__(self, kind: object, *_: object) -> None:
        if self.fh is None or self.tmp is None or self.output is None:
            sys.stdout.flush()
            return
        self.fh.close()
        if kind is None:
            os.replace(self.tmp, self.output)
        else:
            os.unlink(self.tmp)


@rules_app.command("check")
def rules_check(
    file: Annotated[Path, typer.Argument(help="A rulebook or profile YAML file.")],
) -> None:
    """Validate a rulebook: exit 0 when it is good, 2 with `file:line: problem` lines."""
    try:
        rb = load_rulebook(file)
    except RulebookError as exc:
        raise _die(exc.problems) from None
    typer.echo(
        f"{file}: ok, version {rb.version}, {len(rb.rules)} rules, {len(rb.phrases)} phrases"
    )


@rules_app.command("show")
def rules_show(
    rule_id: Annotated[str, typer.Argument(help="A rule ID, e.g. OPEN-GREETING.")],
    profile: Annotated[str, typer.Option("--profile", "-p")] = "default",
    rules: Annotated[Path | None, typer.Option("--rules")] = None,
) -> None:
    """Show a rule: its definition, phrases, and a breaching and a complying example."""
    try:
        engine = Engine.load(str(rules) if rules else profile)
    except RulebookError as exc:
        raise _die(exc.problems) from None
    rule = engine.rulebook.rule(rule_id)
    if rule is None:
        raise _die([f"error: no rule '{rule_id}' in {rules or profile}"])
    src = {k: v for k, v in rule.source.items() if k != "examples"}
    typer.echo(f"# {rule.id} {rule.title} ({rule.severity}, -{rule.points})")
    typer.echo(yaml.safe_dump(src, allow_unicode=True, sort_keys=False).rstrip())
    groups = sorted(set(_groups(src)))
    for g in groups:
        phrases = engine.rulebook.phrase_groups.get(g, [])
        typer.echo(f"@{g}: {'、'.join(phrases)}")
    for kind in ("breach", "comply"):
        ex = rule.examples.get(kind)
        if ex is None:
            continue
        record = example_record(rule.id, kind, ex)
        result = engine.check(record)
        typer.echo(f"\n## {kind}")
        for u in record["utterances"]:
            typer.echo(f"  {u['role']}: {u['text']}")
        mine = [f for f in result.get("findings", []) if f["rule"] == rule.id]
        if mine:
            for f in mine:
                typer.echo(f"  → {f['rule']} {f['points']} 「{f['evidence']}」 {f['message']}")
        else:
            typer.echo("  → no finding")


def _groups(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith("@"):
        yield value[1:]
    elif isinstance(value, dict):
        for v in value.values():
            yield from _groups(v)
    elif isinstance(value, list):
        for v in value:
            yield from _groups(v)


@import_app.command("stc3")
def import_stc3(
    file: Annotated[Path, typer.Argument(help="An STC-3 JSON file (e.g. train_data_cn.json).")],
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Convert STC-3 dialogues to conversation JSON Lines (chat; helpdesk → agent)."""
    from kefu.qa.stc3 import read

    try:
        records = list(read(file))
    except QAError as exc:
        raise _die([f"error: {exc}"]) from None
    with _sink(output) as out:
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    """Add the QA commands to the `kefu` app."""
    app.command("qa")(qa)
    app.add_typer(rules_app, name="rules")
    app.add_typer(import_app, name="import")
