"""The chat guard and QA agree: over every agent utterance of the labelled corpus, the
guard reports exactly the FORBID-*/FILLER rules the QA engine reports for that utterance.
(This is what "the guard reuses the QA engine's matching" means in practice.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kefu.assist import Playbook, guard_with
from kefu.qa.engine import Engine

CORPUS = Path(__file__).resolve().parent / "qa_corpus" / "corpus.jsonl"


def _forbid(rule: str) -> bool:
    return rule.startswith("FORBID-") or rule == "FILLER"


def test_guard_agrees_with_qa_on_the_corpus() -> None:
    books: dict[str, Playbook] = {}
    engines: dict[str, Engine] = {}
    disagreements: list[tuple[str, int, list[str], list[str]]] = []
    checked = 0
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        rec: dict[str, Any] = json.loads(line)
        profile = rec.get("profile", "default")
        if profile not in books:
            books[profile] = Playbook.load(profile)
            engines[profile] = Engine.load(profile)
        payload = {k: v for k, v in rec.items() if k not in ("expect", "note")}
        result = engines[profile].check(payload)
        by_utt: dict[int, set[str]] = {}
        for f in result["findings"]:
            if _forbid(f["rule"]) and f["utterance"] is not None:
                by_utt.setdefault(f["utterance"], set()).add(f["rule"])
        for i, u in enumerate(rec["utterances"]):
            if u["role"] != "agent":
                continue
            checked += 1
            got = {h.rule for h in guard_with(u["text"], books[profile])}
            want = by_utt.get(i, set())
            if got != want:
                disagreements.append((rec["id"], i, sorted(got), sorted(want)))
    assert checked > 1000
    assert not disagreements, disagreements[:10]
