"""`kefu assist guard|suggest|greeting`, run through Typer's runner on a root app that
registers only the assist commands (the lead wires `register` into kefu.cli)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from kefu.assist.commands import register

app = typer.Typer()
register(app)
runner = CliRunner()


def lines(out: str) -> list[dict[str, object]]:
    return [json.loads(x) for x in out.splitlines() if x.strip()]


def test_guard_reports_and_exits_1() -> None:
    res = runner.invoke(app, ["assist", "guard", "喂，大声点！"])
    assert res.exit_code == 1, res.output
    hits = lines(res.stdout)
    assert [h["rule"] for h in hits] == ["FORBID-ADDRESS", "FORBID-COMMAND"]
    assert hits[1]["phrase"] == "大声点" and hits[1]["start"] == 2


def test_guard_clean_draft_exits_0() -> None:
    res = runner.invoke(app, ["assist", "guard", "不客气，这是我们应该做的。"])
    assert res.exit_code == 0 and res.stdout.strip() == ""


def test_greeting_on_national_day() -> None:
    res = runner.invoke(app, ["assist", "greeting", "--day", "2026-10-01", "-p", "oufei"])
    assert res.exit_code == 0, res.output
    o, c = lines(res.stdout)
    assert str(o["script"]).startswith("节日好，欧飞") and o["holiday"] == "festival"
    assert "祝您节日愉快" in str(c["script"])


def test_greeting_2027_carries_the_warning() -> None:
    res = runner.invoke(app, ["assist", "greeting", "--day", "2027-02-06"])
    o, _ = lines(res.stdout)
    assert o["estimated"] is True and o["warnings"]


def test_suggest_reads_a_conversation(tmp_path: Path) -> None:
    conv = {
        "id": "c1",
        "channel": "voice",
        "started_at": "2026-09-30T18:00:00Z",
        "utterances": [
            {"role": "agent", "text": "节日好，客服中心，请问有什么可以帮您？"},
            {"role": "customer", "text": "你们这帮骗子，他妈的！"},
        ],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(conv, ensure_ascii=False), encoding="utf-8")
    res = runner.invoke(app, ["assist", "suggest", str(path)])
    assert res.exit_code == 0, res.output
    first = lines(res.stdout)[0]
    assert first["scenario"] == "abuse" and first["step"] == 1


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["assist", "greeting", "--day", "10/01/2026"])
    assert res.exit_code == 2 and "--day" in res.stderr
    res = runner.invoke(app, ["assist", "guard", "喂", "-p", "nope"])
    assert res.exit_code == 2 and "nope" in res.stderr
    missing = tmp_path / "missing.json"
    res = runner.invoke(app, ["assist", "suggest", str(missing)])
    assert res.exit_code == 2 and "missing.json" in res.stderr
