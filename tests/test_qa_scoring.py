"""Scoring: start at 100, profile-defined points, fatal fails the call, floor 0, credits,
and evidence on every finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kefu.qa.engine import Engine

RULES = """version: 1
points: {fatal: 100, major: 10, minor: 3}
pass_score: 60
rules:
  - id: MAJ
    severity: major
    message: 大错
    checks: [{forbid: {any: [不知道]}, max: 20}]
  - id: MIN
    severity: minor
    message: 小错
    checks: [{forbid: {any: [就是说]}}]
  - id: CUSTOM
    severity: minor
    points: 7
    message: 自定分
    checks: [{forbid: {any: [比如说]}}]
  - id: FAT
    severity: fatal
    message: 致命
    checks: [{forbid: {any: [滚]}}]
  - id: CRED
    severity: minor
    credit: 2
    message: 称呼
    checks:
      - require: {regex: "[\\u4e00-\\u9fff](先生|女士)"}
        when: {regex: "我姓", role: customer}
        count: 2
"""


def engine(tmp_path: Path, text: str = RULES) -> Engine:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return Engine.load(path)


def chat(*agent: str, customer: str | None = None) -> dict[str, Any]:
    utts = [{"role": "agent", "text": t} for t in agent]
    if customer:
        utts.insert(0, {"role": "customer", "text": customer})
    return {"id": "s", "channel": "chat", "utterances": utts}


def test_deductions_by_severity_and_rule_points(tmp_path: Path) -> None:
    e = engine(tmp_path)
    r = e.check(chat("我不知道", "就是说", "比如说"))
    assert r["score"] == 100 - 10 - 3 - 7
    assert r["passed"] is True
    assert sorted(f["points"] for f in r["findings"]) == [-10, -7, -3]
    clean = e.check(chat("您好"))
    assert clean["score"] == 100 and clean["findings"] == []


def test_fatal_scores_zero_and_fails(tmp_path: Path) -> None:
    r = engine(tmp_path).check(chat("您好", "滚"))
    assert r["score"] == 0 and r["passed"] is False


def test_floor_is_zero_and_pass_score(tmp_path: Path) -> None:
    r = engine(tmp_path).check(chat(*["我不知道"] * 12))
    assert len(r["findings"]) == 12 and r["score"] == 0  # 120 points deducted, floor 0
    many = engine(tmp_path).check(
        chat("我不知道，就是说", "不知道", "我不知道", "真不知道", "不知道")
    )
    assert many["score"] == 100 - 5 * 10 - 3
    assert many["passed"] is False  # under pass_score 60


def test_profile_points_change_the_score(tmp_path: Path) -> None:
    e = engine(tmp_path, RULES.replace("major: 10", "major: 20"))
    assert e.check(chat("我不知道"))["score"] == 80


def test_credit_when_met(tmp_path: Path) -> None:
    e = engine(tmp_path)
    met = e.check(chat("王先生，您好", "王先生，再见", "我不知道", customer="我姓王"))
    assert met["credits"] == [{"rule": "CRED", "points": 2, "message": "CRED"}]
    assert met["score"] == 100 - 10 + 2
    unmet = e.check(chat("您好", customer="我姓王"))
    assert [f["rule"] for f in unmet["findings"]] == ["CRED"] and unmet["score"] == 97
    assert e.check(chat("王先生您好", "王先生"))["credits"] == []  # never triggered, no credit


def test_evidence_on_every_finding() -> None:
    e = Engine.load("default")
    rec = {
        "id": "ev",
        "channel": "voice",
        "events": [
            {"t": 0, "type": "ring"},
            {"t": 3, "type": "answer"},
            {"t": 30, "type": "hangup", "by": "customer"},
        ],
        "utterances": [
            {
                "role": "agent",
                "start": 3.5,
                "end": 8,
                "text": "您好，客服中心，请问有什么可以帮您？",
            },
            {"role": "customer", "start": 9, "end": 12, "text": "我的宽带坏了。"},
            {"role": "agent", "start": 12.5, "end": 16, "text": "这个，我不 知道。"},
        ],
    }
    r = e.check(rec)
    assert r["findings"]
    for f in r["findings"]:
        assert set(f) == {
            "rule",
            "severity",
            "points",
            "utterance",
            "start",
            "span",
            "evidence",
            "message",
        }
        assert f["message"] and f["points"] < 0
        if f["span"] is not None:
            text = rec["utterances"][f["utterance"]]["text"]
            assert text[f["span"][0] : f["span"][1]] == f["evidence"]
    word = next(f for f in r["findings"] if f["rule"] == "FORBID-WORDS")
    assert word["utterance"] == 2 and word["start"] == 12.5 and word["evidence"] == "不 知道"
    closing = next(f for f in r["findings"] if f["rule"] == "CLOSE-ASK-MORE")
    assert closing["utterance"] == 2  # a whole-call requirement points at the last agent line
