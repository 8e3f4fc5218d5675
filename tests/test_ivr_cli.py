"""`kefu ivr check` and `kefu ivr trace` on the shipped example flows and on broken ones."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kefu.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "ivr"
runner = CliRunner()


def test_the_examples_check_clean() -> None:
    res = runner.invoke(app, ["ivr", "check", *map(str, sorted(EXAMPLES.glob("*.yaml")))])
    assert res.exit_code == 0, res.output
    assert "bank.yaml: ok, flow phone_bank version 1" in res.output
    assert res.output.count(": ok,") == 3


def test_a_broken_flow_names_file_and_line_and_the_good_one_still_checks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: x\nversion: 1\nstart: a\nnodes:\n  a:\n    type: play\n    next: b\n")
    res = runner.invoke(app, ["ivr", "check", str(bad), str(EXAMPLES / "bank.yaml")])
    assert res.exit_code == 2
    assert f"{bad}:5: node a: a play node needs 'prompts'" in res.output
    assert f"{bad}:7: no node named 'b'" in res.output
    assert "bank.yaml: ok" in res.output


def test_missing_prompt_audio_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "bank_welcome.wav").write_bytes(b"")
    res = runner.invoke(
        app, ["ivr", "check", "--prompts", str(tmp_path), str(EXAMPLES / "bank.yaml")]
    )
    assert res.exit_code == 0
    assert "prompt 'enter_card_number' has no audio" in res.output
    assert "prompt 'bank_welcome' has no audio" not in res.output


def test_trace_walks_card_password_and_menu() -> None:
    res = runner.invoke(
        app,
        [
            "ivr", "trace", str(EXAMPLES / "bank.yaml"),
            "--keys", "6222020200112233445 123456 1", "--at", "2026-03-02T10:00",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("PlayPrompt(") and "bank_welcome" in lines[0]
    assert "SetVariable(name='account', value='6222020200112233445')" in lines
    assert any(line.startswith("VerifyPassword(") for line in lines)
    assert any(line.startswith("Lookup(action='balance'") for line in lines)


def test_trace_with_a_wrong_password_never_reaches_the_menu() -> None:
    res = runner.invoke(
        app,
        [
            "ivr", "trace", str(EXAMPLES / "bank.yaml"),
            "--keys", "6222020200112233445 111111 1", "--password-wrong",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Lookup(action='balance'" not in res.output
    assert "password_wrong" in res.output


def test_trace_refuses_bad_keys_and_times() -> None:
    res = runner.invoke(app, ["ivr", "trace", str(EXAMPLES / "bank.yaml"), "--keys", "12a"])
    assert res.exit_code == 2 and "'a' are not keys" in res.output
    res = runner.invoke(app, ["ivr", "trace", str(EXAMPLES / "bank.yaml"), "--at", "monday"])
    assert res.exit_code == 2 and "'monday' is not YYYY-MM-DDTHH:MM" in res.output
    res = runner.invoke(app, ["ivr", "trace", "/nonexistent.yaml"])
    assert res.exit_code == 2 and "/nonexistent.yaml:1: cannot read" in res.output
