"""Validation of one conversation record against the interchange format.

Problems name the field path, e.g. `utterances[3].start: expected a number, got "abc"`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from kefu.qa.errors import RecordError

ROLES = frozenset({"agent", "customer", "system"})
EVENTS = frozenset({"ring", "answer", "hold_start", "hold_end", "transfer", "conference", "hangup"})
PARTIES = frozenset({"agent", "customer", "system"})


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:60]


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(path, f"expected a number, got {_show(value)}")
    return float(value)


def validate(record: Any) -> tuple[list[dict[str, Any]], list[tuple[float, str, str]], list[str]]:
    """Check a record; return its utterances, its events as (t, type, by), and warnings.

    Raises RecordError on the first problem.
    """
    if not isinstance(record, dict):
        raise RecordError("", f"expected a conversation object, got {_show(record)}")
    rid = record.get("id")
    if rid is None:
        raise RecordError("id", "missing")
    if not isinstance(rid, str | int) or isinstance(rid, bool):
        raise RecordError("id", f"expected a string, got {_show(rid)}")
    channel = record.get("channel")
    if channel not in ("voice", "chat"):
        raise RecordError("channel", f'expected "voice" or "chat", got {_show(channel)}')
    direction = record.get("direction")
    if direction is not None and direction not in ("inbound", "outbound"):
        raise RecordError("direction", f'expected "inbound" or "outbound", got {_show(direction)}')
    started = record.get("started_at")
    if started is not None:
        try:
            dt.datetime.fromisoformat(str(started))
        except ValueError:
            raise RecordError(
                "started_at", f"expected an ISO 8601 time, got {_show(started)}"
            ) from None
    utts = record.get("utterances")
    if not isinstance(utts, list):
        raise RecordError(
            "utterances", f"expected a list, got {_show(utts)}" if utts is not None else "missing"
        )
    timed = 0
    for i, u in enumerate(utts):
        # Hot loop: exact type checks first, the careful path only to explain a problem.
        if type(u) is not dict:
            raise RecordError(f"utterances[{i}]", f"expected an object, got {_show(u)}")
        if u.get("role") not in ROLES:
            raise RecordError(
                f"utterances[{i}].role",
                f"expected agent, customer or system, got {_show(u.get('role'))}",
            )
        if type(u.get("text")) is not str:
            raise RecordError(
                f"utterances[{i}].text", f"expected a string, got {_show(u.get('text'))}"
            )
        start = u.get("start")
        end = u.get("end")
        if start is None and end is None:
            continue
        ts = type(start)
        te = type(end)
        if (ts is float or ts is int) and (te is float or te is int):
            if end < start:  # type: ignore[operator]
                raise RecordError(
                    f"utterances[{i}].end", f"ends ({end}) before it starts ({start})"
                )
            timed += 1
            continue
        for key, value in (("start", start), ("end", end)):
            if value is not None:
                _number(value, f"utterances[{i}].{key}")
    if channel == "voice" and timed and timed != len(utts):
        missing = next(
            i for i, u in enumerate(utts) if u.get("start") is None or u.get("end") is None
        )
        raise RecordError(
            f"utterances[{missing}].start", "missing while other utterances have times"
        )
    events: list[tuple[float, str, str]] = []
    warnings: list[str] = []
    raw_events = record.get("events")
    if raw_events is not None:
        if not isinstance(raw_events, list):
            raise RecordError("events", f"expected a list, got {_show(raw_events)}")
        for i, ev in enumerate(raw_events):
            where = f"events[{i}]"
            if not isinstance(ev, dict):
                raise RecordError(where, f"expected an object, got {_show(ev)}")
            t = _number(ev.get("t"), f"{where}.t")
            kind = ev.get("type")
            if not isinstance(kind, str):
                raise RecordError(f"{where}.type", f"expected a string, got {_show(kind)}")
            if kind not in EVENTS:
                warnings.append(f"{where}.type: unknown event type {_show(kind)}, ignored")
                continue
            by = ev.get("by")
            if by is not None and by not in PARTIES:
                raise RecordError(
                    f"{where}.by", f"expected agent, customer or system, got {_show(by)}"
                )
            events.append((t, kind, by or ""))
    if timed != len(utts):
        # No usable timestamps: drop partial ones so the context sees none.
        utts = [{"role": u["role"], "text": u["text"]} for u in utts]
    return utts, events, warnings
