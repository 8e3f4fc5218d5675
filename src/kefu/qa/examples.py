"""The rulebook's per-rule examples, written in a short form, as conversation records.

An example is a mapping with `utterances` as strings `"A: text"` (agent), `"C: text"`
(customer) or `"S: text"` (system), optionally timed `"A 6.5-10.1: text"`, and `events` as
strings `"ring 0"`, `"hangup 95.5 agent"`. Other keys (direction, started_at, channel) are
copied. The channel is voice when the utterances are timed, chat otherwise.
"""

from __future__ import annotations

import re
from typing import Any

_LINE = re.compile(r"^\s*([ACS])(?:\s+([\d.]+)-([\d.]+))?\s*:\s?(.*)$", re.S)
_ROLES = {"A": "agent", "C": "customer", "S": "system"}


def example_record(rule_id: str, kind: str, example: dict[str, Any]) -> dict[str, Any]:
    """The conversation record of one example (`kind` is breach or comply)."""
    utterances: list[dict[str, Any]] = []
    timed = False
    for line in example.get("utterances", []):
        if isinstance(line, dict):
            utterances.append(dict(line))
            timed = timed or "start" in line
            continue
        m = _LINE.match(str(line))
        if m is None:
            raise ValueError(f"{rule_id} {kind}: bad example line {line!r}")
        role, start, end, text = m.groups()
        utt: dict[str, Any] = {"role": _ROLES[role], "text": text}
        if start is not None:
            utt["start"] = float(start)
            utt["end"] = float(end)
            timed = True
        utterances.append(utt)
    events: list[dict[str, Any]] = []
    for ev in example.get("events", []):
        if isinstance(ev, dict):
            events.append(dict(ev))
            continue
        parts = str(ev).split()
        item: dict[str, Any] = {"t": float(parts[1]), "type": parts[0]}
        if len(parts) > 2:
            item["by"] = parts[2]
        events.append(item)
    record: dict[str, Any] = {
        "id": f"{rule_id}:{kind}",
        "channel": example.get("channel", "voice" if timed else "chat"),
        "utterances": utterances,
    }
    if events:
        record["events"] = events
    for key in ("direction", "started_at", "profile"):
        if key in example:
            record[key] = str(example[key])
    return record
