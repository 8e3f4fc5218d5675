"""Import of the NTCIR STC-3 Chinese dialogue-quality data into the conversation format.

STC-3 items are `{id, turns: [{sender: customer|helpdesk, utterances: [...]}],
annotations?: [{quality: {A, E, S}}]}`. Each utterance becomes one utterance of a chat
(`helpdesk` is the agent); the mean of the annotators' S (satisfaction) scores is kept in
`stc3.mean_s` so QA scores can be compared with human judgement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kefu.qa.errors import QAError

ROLE = {"customer": "customer", "helpdesk": "agent"}


def convert(item: dict[str, Any]) -> dict[str, Any]:
    """One STC-3 dialogue as a conversation record."""
    utterances = []
    for turn in item.get("turns", []):
        role = ROLE.get(turn.get("sender"))
        if role is None:
            raise QAError(f"{item.get('id')}: unknown sender {turn.get('sender')!r}")
        for text in turn.get("utterances", []):
            utterances.append({"role": role, "text": str(text)})
    record: dict[str, Any] = {
        "id": str(item["id"]),
        "channel": "chat",
        "source": "stc3",
        "utterances": utterances,
    }
    scores = [a["quality"]["S"] for a in item.get("annotations", []) if "quality" in a]
    if scores:
        record["stc3"] = {"mean_s": sum(scores) / len(scores), "annotators": len(scores)}
    return record


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Every dialogue of an STC-3 JSON file, converted."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise QAError(f"{path}: cannot read STC-3 data: {exc}") from None
    if not isinstance(data, list):
        raise QAError(f"{path}: expected a list of dialogues")
    for item in data:
        yield convert(item)


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (ties get their average rank)."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / (vx * vy) ** 0.5 if vx and vy else 0.0
