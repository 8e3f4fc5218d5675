"""batch.parse (orjson first, stdlib on refusal) gives exactly what json.loads gives."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kefu.qa.batch import parse

CORPUS = Path(__file__).parent / "qa_corpus" / "corpus.jsonl"

EDGE = [
    '{"a": 1, "a": 2}',
    '{"t": NaN, "u": Infinity, "v": -Infinity}',
    '{"id": 123456789012345678901234567890, "utterances": []}',
    '{"id": -9223372036854775809, "utterances": [{"role": "agent", "text": "x", "start": 1}]}',
    '{"id": "a", "utterances": [{"start": 1, "end": 99999999999999999999}]}',
    '{"id": "a", "utterances": [{"start": null}], "events": [{"t": -99999999999999999999}]}',
    '{"id": "a", "utterances": ["x", {"start": 1e300}]}',
    '{"n": -0, "f": -0.0, "e": 1e400, "g": 1.5e-320}',
    '{"s": "\\ud800", "p": "\\ud83d\\ude00"}',
    '{"x": 0.1, "y": 1.0, "z": 100, "w": 2.675, "v": 1e16}',
    '  [1, 2, {"中": "文\\n"}]  \n',
]
BAD = ['{"a": ', '{"a": 1,}', "", "nul", '{"a" 1}', '["\x01"]']


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b and (not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b))


def test_corpus_lines_parse_as_the_stdlib_does() -> None:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 400
    for line in lines:
        assert _same(parse(line), json.loads(line))


@pytest.mark.parametrize("text", EDGE)
def test_edge_values_parse_as_the_stdlib_does(text: str) -> None:
    assert _same(parse(text), json.loads(text))


@pytest.mark.parametrize("text", BAD)
def test_bad_json_raises_the_stdlib_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as ours:
        parse(text)
    with pytest.raises(json.JSONDecodeError) as std:
        json.loads(text)
    assert (ours.value.msg, ours.value.colno) == (std.value.msg, std.value.colno)
