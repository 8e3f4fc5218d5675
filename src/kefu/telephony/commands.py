"""`kefu simulate` and `kefu staff`: the simulator and the Erlang C staffing table."""

from __future__ import annotations

import csv
import enum
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kefu.core.erlang import agents_needed
from kefu.errors import KefuError

# The simulator loads the whole core (and its phone geodata); commands import it when they
# run, so that every other `kefu` command starts without it.
if TYPE_CHECKING:
    from kefu.telephony.scenario import Scenario
    from kefu.telephony.sim import QueueKpi, SimResult


class Format(enum.Enum):
    """Output format."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class Report(enum.Enum):
    """Which KPI section to print (JSON always has all)."""

    INTERVALS = "intervals"
    QUEUES = "queues"
    AGENTS = "agents"  # per agent group
    AGENT_DETAIL = "agent-detail"  # per agent
    ALL = "all"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _sl(k: QueueKpi) -> float | None:
    return round(k.service_level, 4) if k.answered + k.abandoned else None


def interval_rows(res: SimResult) -> list[dict[str, Any]]:
    """One row per (interval, queue)."""
    rows = []
    for (idx, q), k in sorted(res.intervals.items()):
        rows.append(
            {
                "interval": res.interval_label(idx),
                "queue": q,
                "offered": k.offered,
                "answered": k.answered,
                "abandoned": k.abandoned,
                "overflowed": k.overflowed,
                "service_level": _sl(k),
                "asa": round(k.asa, 1),
                "aht": round(k.aht, 1),
                "occupancy": round(res.occupancy.get(idx, 0.0), 4),
                "longest_wait": round(k.longest_wait, 1),
            }
        )
    return rows


def queue_rows(res: SimResult) -> list[dict[str, Any]]:
    """One row per queue for the whole run."""
    return [
        {
            "queue": q,
            "offered": k.offered,
            "answered": k.answered,
            "abandoned": k.abandoned,
            "overflowed": k.overflowed,
            "service_level": _sl(k),
            "asa": round(k.asa, 1),
            "aht": round(k.aht, 1),
            "longest_wait": round(k.longest_wait, 1),
        }
        for q, k in res.queues.items()
    ]


def agent_rows(res: SimResult) -> list[dict[str, Any]]:
    """One row per agent group."""
    return [
        {
            "group": g,
            "agents": k.agents,
            "answered": k.answered,
            "missed": k.missed,
            "staffed_hours": round(k.staffed_seconds / 3600.0, 2),
            "occupancy": round(k.occupancy, 4),
        }
        for g, k in res.agent_groups.items()
    ]


def agent_detail_rows(res: SimResult) -> list[dict[str, Any]]:
    """One row per agent."""
    return [
        {
            "agent": a,
            "answered": k.answered,
            "missed": k.missed,
            "staffed_hours": round(k.staffed_seconds / 3600.0, 2),
            "occupancy": round(k.occupancy, 4),
        }
        for a, k in res.agents.items()
    ]


def _emit(console: Console, title: str, rows: list[dict[str, Any]], fmt: Format) -> None:
    if fmt is Format.CSV:
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title)
    if not rows:
        console.print(table)
        return
    for col in rows[0]:
        table.add_column(
            col, justify="left" if col in ("interval", "queue", "group", "agent") else "right"
        )
    for r in rows:
        table.add_row(
            *(
                "-"
                if v is None
                else _pct(v)
                if k in ("service_level", "occupancy", "target")
                else str(v)
                for k, v in r.items()
            )
        )
    console.print(table)


def _run(sc: Scenario, seed: int | None, console: Console) -> SimResult:
    from kefu.telephony.sim import simulate

    if not sys.stdout.isatty():
        return simulate(sc, seed)
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"simulating {sc.name}", total=1.0)
        return simulate(sc, seed, progress=lambda f: bar.update(task, completed=f))


def _console() -> Console:
    # Piped tables keep every column readable instead of wrapping at 80.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _simulate(scenario: Path, seed: int | None, fmt: Format, report: Report) -> None:
    from kefu.telephony.scenario import (
        load_scenario,
    )

    sc = load_scenario(scenario)
    console = _console()
    res = _run(sc, seed, console)
    if fmt is Format.JSON:
        doc = {
            "scenario": res.scenario,
            "seed": res.seed,
            "service_level_target": {"answer_within": res.answer_within, "target": res.target},
            "arrivals": res.arrivals,
            "ivr_exits": res.ivr_exits,
            "rejected": res.rejected,
            "still_waiting": res.still_waiting,
            "intervals": interval_rows(res),
            "queues": queue_rows(res),
            "agent_groups": agent_rows(res),
            "agents": agent_detail_rows(res),
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    if report in (Report.INTERVALS, Report.ALL):
        _emit(console, f"{res.scenario}: intervals", interval_rows(res), fmt)
    if report in (Report.QUEUES, Report.ALL):
        _emit(console, f"{res.scenario}: queues", queue_rows(res), fmt)
    if report in (Report.AGENTS, Report.ALL):
        _emit(console, f"{res.scenario}: agent groups", agent_rows(res), fmt)
    if report is Report.AGENT_DETAIL:
        _emit(console, f"{res.scenario}: agents", agent_detail_rows(res), fmt)
    if fmt is Format.TABLE:
        console.print(
            f"seed {res.seed}: {res.arrivals} arrivals, {res.events} events in "
            f"{res.wall_seconds:.2f} s; rejected {res.rejected}, left in IVR {res.ivr_exits}, "
            f"still waiting {res.still_waiting}"
        )


def parse_sl(text: str) -> tuple[float, float]:
    """'80/20' -> (0.8, 20.0)."""
    pct, sep, secs = text.partition("/")
    try:
        target, within = float(pct) / 100.0, float(secs)
    except ValueError:
        raise KefuError(f"--sl {text!r}: expected PERCENT/SECONDS such as 80/20") from None
    if not sep or not 0 < target <= 1 or within <= 0:
        raise KefuError(f"--sl {text!r}: expected PERCENT/SECONDS such as 80/20")
    return target, within


def staffing_scenario(
    rates: list[float],
    aht: float,
    interval_min: float,
    agents: list[int],
    target: float,
    within: float,
    start: str,
) -> Scenario:
    """A one-queue M/M/c scenario staffed as `agents` per interval (for --verify)."""
    from kefu.telephony.scenario import (
        AgentSpec,
        ArrivalSpec,
        Distribution,
        QueueSpec,
        Scenario,
        ServiceLevelSpec,
        clock_seconds,
    )

    base = clock_seconds(start)
    specs: list[AgentSpec] = []
    for j in range(1, max(agents, default=0) + 1):
        shifts = []
        run_start: int | None = None
        for i, n in enumerate([*agents, 0]):
            if n >= j and run_start is None:
                run_start = i
            elif n < j and run_start is not None:
                a = base + run_start * interval_min * 60
                b = base + i * interval_min * 60
                shifts.append(f"{_clock(a)}-{_clock(b)}")
                run_start = None
        specs.append(AgentSpec(group=f"agent{j}", count=1, shifts=shifts))
    per_hour = [r * 60.0 / interval_min for r in rates]
    return Scenario(
        name="staffing check",
        start=start,
        rate_minutes=interval_min,
        interval_minutes=interval_min,
        service_level=ServiceLevelSpec(answer_within=within, target=target),
        acw_seconds=0.0,
        queues=[QueueSpec(name="q", talk_time=Distribution(mean=aht))],
        arrivals=[ArrivalSpec(queue="q", rates=per_hour)],
        agents=specs,
    )


def _clock(seconds: float) -> str:
    m = round(seconds / 60.0)
    return f"{m // 60:02d}:{m % 60:02d}"


def _rates_from_scenario(
    path: Path, queue: str | None, interval_min: float
) -> tuple[list[float], float]:
    from kefu.telephony.scenario import (
        ScenarioError,
        load_scenario,
    )

    sc = load_scenario(path)
    qspec = next((q for q in sc.queues if queue in (None, q.name)), None)
    if qspec is None:
        raise ScenarioError(f"{path}: queue {queue!r} is not defined")
    numbers = set(qspec.numbers)
    hours_per_rate = sc.rate_minutes / 60.0
    per_rate: list[float] = []
    for a in sc.arrivals:
        share = 0.0
        if a.queue == qspec.name or (a.ivr is None and a.number in numbers):
            share = 1.0
        elif a.ivr is not None:
            share = a.ivr.get(qspec.name, 0.0)
        for i, r in enumerate(a.rates):
            while len(per_rate) <= i:
                per_rate.append(0.0)
            per_rate[i] += r * share * hours_per_rate
    # Re-bin calls per rate period into calls per staffing interval.
    total_min = len(per_rate) * sc.rate_minutes
    n = max(1, round(total_min / interval_min))
    rates = []
    for i in range(n):
        lo, hi = i * interval_min, (i + 1) * interval_min
        calls = 0.0
        for k, c in enumerate(per_rate):
            a0, a1 = k * sc.rate_minutes, (k + 1) * sc.rate_minutes
            overlap = max(0.0, min(hi, a1) - max(lo, a0))
            calls += c * overlap / sc.rate_minutes
        rates.append(calls)
    return rates, qspec.talk_time.mean + sc.acw_seconds


def register(app: typer.Typer) -> None:
    """Add `simulate` and `staff` to the kefu CLI."""
    from kefu.cli import guarded

    @app.command("simulate")
    @guarded
    def simulate_cmd(
        scenario: Annotated[Path, typer.Argument(help="Scenario YAML (docs/simulation.md).")],
        seed: Annotated[
            int | None, typer.Option("--seed", help="Random seed (default: the scenario's).")
        ] = None,
        fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.TABLE,
        report: Annotated[Report, typer.Option("--report", help="Which KPI section.")] = Report.ALL,
    ) -> None:
        """Run a contact-center scenario in virtual time and print its KPIs."""
        _simulate(scenario, seed, fmt, report)

    @app.command("staff")
    @guarded
    def staff_cmd(
        rates: Annotated[
            str, typer.Option("--rates", help="Calls per interval, comma separated.")
        ] = "",
        aht: Annotated[float, typer.Option("--aht", help="Average handle time in seconds.")] = 0.0,
        interval: Annotated[
            float, typer.Option("--interval", help="Interval length in minutes.")
        ] = 30.0,
        sl: Annotated[
            str, typer.Option("--sl", help="Service level target PERCENT/SECONDS.")
        ] = "80/20",
        max_occupancy: Annotated[
            float, typer.Option("--max-occupancy", help="Occupancy cap.")
        ] = 1.0,
        scenario: Annotated[
            Path | None, typer.Option("--scenario", help="Take rates from here.")
        ] = None,
        queue: Annotated[str | None, typer.Option("--queue", help="Queue of --scenario.")] = None,
        start: Annotated[
            str, typer.Option("--start", help="Clock time of the first interval.")
        ] = "08:00",
        verify: Annotated[
            bool, typer.Option("--verify", help="Simulate the staffing too.")
        ] = False,
        seed: Annotated[int, typer.Option("--seed", help="Seed for --verify.")] = 1,
        fmt: Annotated[Format, typer.Option("--format", help="table, csv or json.")] = Format.TABLE,
    ) -> None:
        """Erlang C staffing: agents needed per interval for a service-level target."""
        from kefu.telephony.scenario import clock_seconds
        from kefu.telephony.sim import simulate

        target, within = parse_sl(sl)
        if scenario is not None:
            calls, scen_aht = _rates_from_scenario(scenario, queue, interval)
            aht = aht or scen_aht
        else:
            try:
                calls = [float(x) for x in rates.split(",") if x.strip()]
            except ValueError:
                raise KefuError(f"--rates {rates!r}: expected numbers such as 120,180") from None
        if not calls:
            raise KefuError("give --rates (calls per interval) or --scenario")
        if aht <= 0:
            raise KefuError("--aht must be > 0 seconds")
        try:
            clock_seconds(start)
        except ValueError as exc:
            raise KefuError(f"--start: {exc}") from None
        plan = [
            agents_needed(c, aht, interval * 60.0, target, within, max_occupancy) for c in calls
        ]
        sim: SimResult | None = None
        if verify:
            sc = staffing_scenario(
                calls, aht, interval, [p.agents for p in plan], target, within, start
            )
            sim = simulate(sc, seed)
        base = clock_seconds(start)
        rows = []
        for i, p in enumerate(plan):
            row: dict[str, Any] = {
                "interval": _clock(base + i * interval * 60.0),
                "calls": round(p.calls, 1),
                "erlangs": round(p.load, 2),
                "agents": p.agents,
                "service_level": round(p.service_level, 4),
                "asa": round(p.asa, 1),
                "occupancy": round(p.occupancy, 4),
                "target": target,
            }
            if sim is not None:
                k = sim.intervals.get((i, "q"))
                row["simulated_sl"] = round(k.service_level, 4) if k else None
                row["simulated_asa"] = round(k.asa, 1) if k else None
            rows.append(row)
        console = _console()
        if fmt is Format.JSON:
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return
        if fmt is Format.TABLE:
            for r in rows:
                if r.get("simulated_sl") is not None:
                    r["simulated_sl"] = _pct(r["simulated_sl"])
        _emit(console, f"Erlang C staffing for {_pct(target)} in {within:g} s", rows, fmt)
        if sim is not None and fmt is Format.TABLE:
            tot = sim.queues["q"]
            console.print(
                f"simulated overall: SL {_pct(tot.service_level)} (target {_pct(target)}), "
                f"ASA {tot.asa:.1f} s over {tot.answered} calls, seed {seed}"
            )
