"""report.dumps (orjson when safe) writes exactly what json.dumps writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kefu.qa.engine import Engine
from kefu.qa.report import dumps

CORPUS = Path(__file__).parent / "qa_corpus" / "corpus.jsonl"


def _std(result: dict[str, Any]) -> str:
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


def test_corpus_results_dump_as_the_stdlib_does() -> None:
    engine = Engine.load("default")
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    results = [engine.check(json.loads(line)) for line in lines]
    assert sum(len(r.get("findings", ())) for r in results) > 100
    for r in results:
        assert dumps(r) == _std(r)


def _finding(start: Any, evidence: str = "好的") -> dict[str, Any]:
    return {"rule": "X", "points": -2, "utterance": 1, "start": start, "span": [0, 2],
            "evidence": evidence, "message": "提示"}  # fmt: skip


@pytest.mark.parametrize(
    "result",
    [
        {"id": 1.5e20, "error": "id: expected a string"},
        {"id": 2**70, "error": "x"},
        {"id": "a", "findings": [_finding(1e-05), _finding(0.0), _finding(-0.0)]},
        {"id": "a", "findings": [_finding(1e16), _finding(9999999999999998.0)]},
        {"id": "a", "findings": [_finding(float("nan")), _finding(float("inf"))]},
        {"id": "a", "findings": [_finding(12.34, 'a\\ud800b\x1f\x7f\u2028\t"\\中😀')]},
        {"id": "a", "findings": [_finding(None, "\ud800")]},
        {"id": "a", "score": 87, "passed": True, "not_applicable": ["R1"], "credits": []},
    ],
)
def test_edge_results_dump_as_the_stdlib_does(result: dict[str, Any]) -> None:
    assert dumps(result) == _std(result)
