"""Scenario files: validation with file:line errors, the example scenarios, reproducibility,
KPI conservation and the `kefu simulate` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.telephony.scenario import ScenarioError, load_scenario, parse_scenario
from kefu.telephony.sim import simulate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))

BASE = """\
name: t
queues:
  - name: q
    numbers: ["100"]
    talk_time: {mean: 60}
arrivals:
  - queue: q
    rates: [60]
agents:
  - group: g
    count: 2
"""


def test_examples_exist_and_load() -> None:
    assert len(EXAMPLES) >= 2
    for path in EXAMPLES:
        assert load_scenario(path).queues


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (BASE.replace("talk_time: {mean: 60}", "talk_time: {mean: -1}"), 5, "greater than 0"),
        (BASE.replace("rates: [60]", "rates: [60, -5]"), 8, ">= 0"),
        (BASE.replace("  - queue: q\n", "  - queue: nope\n"), 7, "'nope' is not defined"),
        (BASE.replace("    count: 2\n", "    count: 2\n    colour: red\n"), 12, "colour"),
        (BASE + "rules:\n  - name: r\n    to_queue: q\n", 13, "regions or numbers"),
        (BASE.replace("  - queue: q\n", "  - number: '100'\n    ivr: {q: 0.5}\n"), 8, "sum to 0.5"),
        (BASE + "start: '25:99'\n", 12, "HH:MM"),
        ("name: [unclosed\n", 2, "invalid YAML"),
    ],
)
def test_errors_name_the_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "s.yaml")
    msg = str(exc.value)
    assert msg.startswith(f"s.yaml:{line}:"), msg
    assert fragment in msg


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    sc = load_scenario(EXAMPLES[0])
    a, b, c = simulate(sc, 5), simulate(sc, 5), simulate(sc, 6)
    key = lambda r: [(q, k.offered, k.answered, k.wait_answered) for q, k in r.queues.items()]  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(c)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_call_is_accounted_for(path: Path) -> None:
    res = simulate(load_scenario(path), 11)
    offered = sum(k.offered for k in res.queues.values())
    outcomes = sum(k.answered + k.abandoned + k.overflowed for k in res.queues.values())
    assert offered == outcomes + res.still_waiting
    overflow_in = offered - (res.arrivals - res.ivr_exits - res.rejected)
    assert overflow_in >= 0  # each overflow is offered again to its next queue
    handled = sum(k.handled for k in res.queues.values())
    assert handled == sum(k.answered for k in res.queues.values())
    for g in res.agent_groups.values():
        assert 0.0 < g.occupancy <= 1.0


def test_guangdong_callers_reach_the_cantonese_queue() -> None:
    res = simulate(load_scenario(ROOT / "examples/scenarios/guangdong-cantonese.yaml"), 3)
    offered = {q: k.offered for q, k in res.queues.items()}
    share = offered["cantonese"] / (res.arrivals - res.rejected)
    assert 0.33 < share < 0.47  # 40 % of callers have Guangdong numbers


def test_ivr_branch_probabilities_split_the_stream() -> None:
    text = BASE.replace("  - queue: q\n", "  - number: '100'\n    ivr: {q: 0.75, leave: 0.25}\n")
    text = text.replace("rates: [60]", "rates: [4000]").replace("count: 2", "count: 80")
    res = simulate(parse_scenario(text), 1)
    assert res.ivr_exits / res.arrivals == pytest.approx(0.25, abs=0.03)


def test_abandonment_and_missed_rings_show_up() -> None:
    text = BASE.replace("talk_time: {mean: 60}", "talk_time: {mean: 600}\n    patience: {mean: 30}")
    text = text.replace("    count: 2\n", "    count: 2\n    no_answer: 0.3\n")
    res = simulate(parse_scenario(text + "hours: 3\n"), 2)
    assert res.queues["q"].abandoned > 20
    assert res.agent_groups["g"].missed > 0


def test_cli_formats(tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(EXAMPLES[0])
    out = runner.invoke(app, ["simulate", path, "--seed", "4", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["seed"] == 4 and doc["queues"] and doc["intervals"] and doc["agent_groups"]
    assert sum(a["answered"] for a in doc["agents"]) == sum(q["answered"] for q in doc["queues"])
    out = runner.invoke(app, ["simulate", path, "--format", "csv", "--report", "queues"])
    assert out.exit_code == 0
    assert out.stdout.splitlines()[0].startswith("queue,offered,answered,abandoned")
    out = runner.invoke(app, ["simulate", path, "--report", "agents"])
    assert out.exit_code == 0 and "occupancy" in out.stdout
    out = runner.invoke(app, ["simulate", path, "--report", "agent-detail", "--format", "csv"])
    assert out.exit_code == 0 and out.stdout.startswith("agent,answered,missed")


def test_cli_reports_a_bad_scenario_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("rates: [60]", "rates: []"), encoding="utf-8")
    out = CliRunner().invoke(app, ["simulate", str(bad)])
    assert out.exit_code == 2
    assert f"{bad}:8:" in out.output and "Traceback" not in out.output
