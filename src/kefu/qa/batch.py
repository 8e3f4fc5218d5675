"""Batch QA: read conversations from files, check them (optionally on N processes), in order.

Input: `.jsonl` (one conversation per line) and `.json` (one conversation or a list), given
as files, directories (searched recursively) or globs. Every item carries its location
(`calls.jsonl:17`) so a problem can be reported where it is.
"""

from __future__ import annotations

import glob
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from kefu.qa.engine import Engine
from kefu.qa.errors import QAError, RecordError
from kefu.qa.rulebook import profile_names

INPUT_SUFFIXES = (".jsonl", ".json")

try:  # orjson parses a call about 3x faster than the stdlib (bench/qa_throughput.py)
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover
    _fast_loads = json.loads  # type: ignore[assignment]

# orjson reads an integer beyond 64 bits as a float; json.loads keeps it exact.
_BIG = 9.2e18


def parse(text: str) -> Any:
    """One conversation's JSON text, exactly as `json.loads` reads it, for checking.

    orjson first; anything it refuses (NaN, bad JSON, lone surrogates) or may have read
    differently (a huge integer where the QA uses it) goes to the stdlib, so values and
    error messages stay those of `json.loads`.
    """
    try:
        value = _fast_loads(text)
    except ValueError:
        return json.loads(text)
    if type(value) is dict and _lossy(value):
        return json.loads(text)
    return value


def _lossy(record: dict[str, Any]) -> bool:
    """Whether a value the QA reads (id, times) may be a huge integer orjson made a float."""
    if type(record.get("id")) is float:
        return True
    nums: list[Any] = []
    try:
        utts = record.get("utterances")
        if type(utts) is list:
            nums.extend(map(dict.get, utts, repeat("start")))
            nums.extend(map(dict.get, utts, repeat("end")))
        events = record.get("events")
        if type(events) is list:
            nums.extend(map(dict.get, events, repeat("t")))
    except TypeError:  # not an object: invalid anyway, the stdlib reads it as before
        return True
    if not nums:
        return False
    try:
        return bool(max(map(abs, nums)) >= _BIG)  # C-level, for the usual all-numbers case
    except TypeError:  # untimed or malformed: look at the floats one by one
        return any(type(v) is float and not -_BIG < v < _BIG for v in nums)


@dataclass(frozen=True, slots=True)
class Item:
    """One input record: where it is, and its raw JSON text (or the parsed value)."""

    where: str
    text: str | None
    value: Any = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one item, with the record (kept for the HTML report) and problems."""

    where: str
    result: dict[str, Any]
    record: dict[str, Any] | None
    error: str | None
    warnings: tuple[str, ...]


def expand(paths: Iterable[str]) -> list[Path]:
    """Files named by paths, directories and globs, in a stable order; raises QAError if none."""
    files: list[Path] = []
    for raw in paths:
        if any(ch in raw for ch in "*?["):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                raise QAError(f"{raw}: no file matches")
            files.extend(Path(m) for m in matches if Path(m).is_file())
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in INPUT_SUFFIXES and p.is_file())
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise QAError(f"{raw}: no such file or directory")
    return files


def items(files: Iterable[Path]) -> Iterator[Item]:
    """Every record of the files, with its location."""
    for path in files:
        if path.suffix == ".json":
            try:
                value = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield Item(
                    f"{path}:{getattr(exc, 'lineno', 1)}", None, _Bad(f"invalid JSON: {exc}")
                )
                continue
            records = value if isinstance(value, list) else [value]
            for i, rec in enumerate(records):
                yield Item(f"{path}[{i}]" if isinstance(value, list) else str(path), None, rec)
            continue
        with path.open(encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    yield Item(f"{path}:{lineno}", line)


class _Bad:
    """A value that could not be read at all."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


class Checker:
    """Checks items with one engine, or with the engine the record's `profile` names."""

    def __init__(self, fixed: Engine | None, keep_records: bool) -> None:
        self.fixed = fixed
        self.engines: dict[str, Engine] = {}
        self.keep_records = keep_records

    def engine_for(self, record: Any) -> Engine:
        """The engine for a record: the fixed one, or its profile's."""
        if self.fixed is not None:
            return self.fixed
        name = record.get("profile") if isinstance(record, dict) else None
        name = name if isinstance(name, str) and name else "default"
        if name not in self.engines:
            if name not in profile_names():
                raise RecordError(
                    "profile", f"unknown profile {json.dumps(name, ensure_ascii=False)}"
                )
            self.engines[name] = Engine.load(name)
        return self.engines[name]

    def __call__(self, item: Item) -> Outcome:
        """Check one item; never raises for a bad record."""
        record: Any = item.value
        if item.text is not None:
            try:
                # Kept records are stored or shown whole: read those with the stdlib.
                record = json.loads(item.text) if self.keep_records else parse(item.text)
            except json.JSONDecodeError as exc:
                problem = f"invalid JSON: {exc.msg} (column {exc.colno})"
                return Outcome(item.where, {"id": None, "error": problem}, None, problem, ())
        if isinstance(record, _Bad):
            return Outcome(
                item.where, {"id": None, "error": record.problem}, None, record.problem, ()
            )
        try:
            result = self.engine_for(record).check_strict(record)
        except RecordError as exc:
            rid = record.get("id") if isinstance(record, dict) else None
            return Outcome(item.where, {"id": rid, "error": str(exc)}, None, str(exc), ())
        warnings = tuple(result.pop("warnings", ()))
        return Outcome(item.where, result, record if self.keep_records else None, None, warnings)


_worker: Checker | None = None


def _init_worker(source: str | None, keep_records: bool) -> None:
    global _worker
    _worker = Checker(Engine.load(source) if source is not None else None, keep_records)


def _work(item: Item) -> Outcome:
    assert _worker is not None
    return _worker(item)


def run(
    its: Iterable[Item],
    source: str | None,
    jobs: int,
    keep_records: bool = False,
    engine: Engine | None = None,
) -> Iterator[Outcome]:
    """Outcomes of all items, in input order, on `jobs` processes."""
    if jobs <= 1:
        checker = Checker(
            engine if engine is not None else (Engine.load(source) if source else None),
            keep_records,
        )
        yield from map(checker, its)
        return
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(source, keep_records)) as pool:
        yield from pool.imap(_work, its, chunksize=64)


ResultSink = Callable[[list[dict[str, Any]]], None]
