"""Erlang C staffing (`kefu staff`) against pyworkforce, and --verify by simulation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyworkforce.queuing import ErlangC
from typer.testing import CliRunner

from kefu.cli import app
from kefu.core.erlang import agents_needed, average_speed_of_answer, erlang_c, service_level

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("calls", [20, 100, 350, 1200])
@pytest.mark.parametrize("aht", [120, 300])
@pytest.mark.parametrize(("target", "within"), [(0.8, 20), (0.9, 15)])
def test_agents_needed_matches_pyworkforce(
    calls: int, aht: int, target: float, within: int
) -> None:
    interval_min = 30
    ref = ErlangC(transactions=calls, aht=aht / 60, asa=within / 60, interval=interval_min)
    expected = ref.required_positions(service_level=target, max_occupancy=1.0)
    ours = agents_needed(calls, aht, interval_min * 60, target, within)
    assert ours.agents == expected["positions"]
    assert ours.service_level == pytest.approx(expected["service_level"], abs=1e-9)
    assert ours.occupancy == pytest.approx(expected["occupancy"], abs=1e-9)


@pytest.mark.parametrize(("agents", "load"), [(3, 2.5), (14, 10.0), (120, 100.0)])
def test_waiting_probability_and_service_level_match_pyworkforce(agents: int, load: float) -> None:
    ref = ErlangC(transactions=load * 30, aht=1.0, asa=20 / 60, interval=30)
    assert erlang_c(agents, load) == pytest.approx(ref.waiting_probability(positions=agents))
    assert service_level(agents, load, 60.0, 20.0) == pytest.approx(
        ref.service_level(positions=agents, scale_positions=False)
    )
    # ASA = P(wait) * AHT / (c - A)
    assert average_speed_of_answer(agents, load, 60.0) == pytest.approx(
        erlang_c(agents, load) * 60.0 / (agents - load)
    )


def test_occupancy_cap_adds_agents() -> None:
    free = agents_needed(1200, 300, 1800, 0.8, 20)
    capped = agents_needed(1200, 300, 1800, 0.8, 20, max_occupancy=0.85)
    assert capped.agents > free.agents and capped.occupancy <= 0.85


def test_staff_command_json_and_verify() -> None:
    out = CliRunner().invoke(
        app,
        [
            "staff",
            "--rates",
            "200,300,400",
            "--aht",
            "180",
            "--interval",
            "30",
            "--verify",
            "--format",
            "json",
            "--seed",
            "3",
        ],
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [r["interval"] for r in rows] == ["08:00", "08:30", "09:00"]
    for r in rows:
        expected = agents_needed(r["calls"], 180, 1800, 0.8, 20)
        assert r["agents"] == expected.agents
        assert 0.0 <= r["simulated_sl"] <= 1.0
    # Simulated service level over a half hour scatters, but not far from the plan.
    mean_sl = sum(r["simulated_sl"] for r in rows) / len(rows)
    assert mean_sl > 0.7


def test_staff_from_a_scenario_table() -> None:
    out = CliRunner().invoke(
        app,
        [
            "staff",
            "--scenario",
            str(ROOT / "examples/scenarios/monday-morning.yaml"),
            "--queue",
            "service",
            "--interval",
            "60",
            "--verify",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "simulated overall" in out.stdout and "09:00" in out.stdout


def test_staff_errors_are_one_line() -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["staff", "--rates", "1,x", "--aht", "60"])
    assert out.exit_code == 2 and "--rates" in out.output
    out = runner.invoke(app, ["staff", "--rates", "10", "--aht", "60", "--sl", "80"])
    assert out.exit_code == 2 and "--sl" in out.output
    out = runner.invoke(app, ["staff", "--rates", "10"])
    assert out.exit_code == 2 and "--aht" in out.output
