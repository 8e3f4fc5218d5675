"""SIP load through the product path: sipp callers -> IVR -> queue -> agent phones, recorded.

Default mode (issue 5): the switch process is the real web app (`kefu.web.app.create_app`,
SIP on, SQLite in a temporary data dir, the lifespan that `kefu serve --sip` runs). The
database holds N agents (extensions with SIP HA1), a queue, and number 4001 mapped to an IVR
flow (welcome + menu prompts, "press 1" -> the queue). Agents are logged in and ready through
the `Center` API. Agent softphones (auto-answer, sending 1000 Hz) run in another process and
measure what they hear: every inter-arrival gap over 100 ms on a call is counted.

Each step of C concurrent calls: sipp places calls of D seconds at C/D calls/s for the hold
time; each caller sends a 440 Hz mu-law tone from a pcap with RFC 4733 "1" at 1.0 s (the
IVR menu), is queued, bridged to a free agent, recorded, and hangs up. A step passes with
zero sipp failed calls, every call's CDR in the database answered with a recording, and no
agent-side audio gap over 100 ms. The baseline at the same step, measured in the same run,
is sipp UAC -> sipp UAS (the UAS plays a pcap too): the load generator's own ceiling.

    python bench/sip_load.py --quick      # ~3 minutes
    python bench/sip_load.py              # 60 s of calls per step, more steps
    python bench/sip_load.py --router     # the older stand-in router instead of the core

After-call work is set to 0 s in the core's configuration (agents go straight back to idle)
so the agent count bounds concurrency, not a 30 s wrap-up timer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIPP = ROOT / "tests" / "sipp"
TICK = os.sysconf("SC_CLK_TCK")
Row = dict[str, Any]  # one step's figures


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from kefu.telephony.sip.b2bua import free_port as fp

    return fp()


# ---- child roles -------------------------------------------------------------------


def run_switch(port: int, agents: int, recordings: Path, cdr_file: Path) -> None:
    """The switch process: B2BUA + router, recording every call, CDRs as JSON lines."""
    from kefu.telephony.router import Router
    from kefu.telephony.sip.auth import MemoryCredentials
    from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig
    from kefu.telephony.sip.cdr import CallRecord

    creds = MemoryCredentials()
    exts = [str(7000 + i) for i in range(agents)]
    for e in exts:
        creds.set_password(e, "kefu", f"pw{e}")
    from kefu.audio.tones import has_tone
    from kefu.audio.wavfile import read_stereo

    out = cdr_file.open("a", buffering=1)
    seen = [0]

    def sink(c: CallRecord) -> None:
        row: dict[str, object] = {
            "d": c.disposition.value if c.disposition else None,
            "by": c.hangup_role.value if c.hangup_role else None,
        }
        seen[0] += 1
        if c.recording is not None:
            if seen[0] % 10 == 1:  # sample the recordings: customer tone left, agent right
                left, right, _ = read_stereo(c.recording)
                row["media"] = bool(has_tone(left, 440.0) and has_tone(right, 1000.0))
            c.recording.unlink(missing_ok=True)  # keep the disk small; it was written
        out.write(json.dumps(row) + "\n")

    async def main() -> None:
        sw = SipSwitch(
            SwitchConfig(port=port, rtp_timeout=20.0, ring_timeout=5.0),
            cdr_sink=sink,
            credentials=creds,
        )
        sw.sink = Router(sw, {"4001": exts}, recordings=recordings, welcome=None, keep_events=False)
        await sw.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await sw.stop()

    _run(main())


FLOW = """\
flow: main
version: 1
start: menu
nodes:
  menu:
    type: menu
    prompts: [welcome, menu]
    choices:
      "1": service
  service:
    type: queue
    queue: service
"""
NUMBER = "4001"  # mapped to the IVR flow


def seed_db(path: Path, agents: int) -> None:
    """A migrated SQLite database: a queue, number 4001 -> IVR -> queue, `agents` agents."""
    from kefu.security.password import hash_password, sip_ha1
    from kefu.store import migrate
    from kefu.store.db import Database
    from kefu.store.models import Agent, Number, NumberTarget, Queue, Role, User
    from kefu.store.models.routing import IvrFlow, IvrFlowVersion

    db = Database.from_url(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    pw = hash_password("Kefu-bench-agent-1!")  # one argon2 hash: the console is not exercised
    with db.session() as s:
        q = Queue(name="service", ring_timeout_s=10, max_wait_s=120)
        flow = IvrFlow(name="main", active_version=1)
        s.add_all([q, flow])
        s.flush()
        s.add(IvrFlowVersion(flow_id=flow.id, version=1, definition=FLOW))
        s.add(Number(number=NUMBER, target=NumberTarget.IVR, ivr_flow_id=flow.id))
        for i in range(agents):
            ext = str(7000 + i)
            user = User(username=f"agent{ext}", display_name=ext, role=Role.AGENT, password_hash=pw)
            user.agent = Agent(agent_no=f"1{ext}", extension=ext)
            user.agent.sip_ha1 = sip_ha1(ext, "kefu", f"pw{ext}")
            s.add(user)
    db.engine.dispose()


def run_app(port: int, data_dir: Path) -> None:
    """The switch process: the web app with SIP on (as `kefu serve --sip`), agents ready."""
    from dataclasses import replace

    from sqlalchemy import select

    from kefu.config import Settings
    from kefu.core.acd import ContactCenter
    from kefu.store.models import Agent
    from kefu.web.app import create_app

    settings = Settings(data_dir=data_dir, sip_enabled=True, sip_port=port, sip_tcp=False)
    app = create_app(settings)
    center = app.state.center
    # no after-call work: an agent is free again as soon as the caller hangs up
    center.engine = ContactCenter(replace(center.engine.config, acw_seconds=0.0))

    async def main() -> None:
        async with app.router.lifespan_context(app):
            with app.state.db.session() as s:
                ids = list(s.scalars(select(Agent.id)))
            for aid in ids:
                center.agent_login(aid, ready=True)
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            stalls: list[float] = []
            lag = asyncio.create_task(loop_lag(stalls))
            pauses = gc_pauses()
            print("ready", flush=True)
            await stop.wait()
            lag.cancel()
            summary = stall_summary(stalls)
            summary["gc_max_ms"] = 1000 * max(pauses, default=0.0)
            summary["gc_over_50ms"] = sum(1 for p in pauses if p > 0.05)
            full = [p for g, p in zip(pauses.generations, pauses, strict=True) if g == 2]
            summary["gc_full"] = len(full)
            summary["gc_full_max_ms"] = 1000 * max(full, default=0.0)
            for gen in (0, 1):
                ps = [p for g, p in zip(pauses.generations, pauses, strict=True) if g == gen]
                summary[f"gc{gen}"] = len(ps)
                summary[f"gc{gen}_max_ms"] = 1000 * max(ps, default=0.0)
            print(json.dumps(summary), flush=True)

    _run(main())


class Pauses(list[float]):
    """GC pause durations, and the generation of each (`generations`)."""

    def __init__(self) -> None:
        super().__init__()
        self.generations: list[int] = []


def gc_pauses() -> Pauses:
    """Durations of the garbage collector's runs from now on (they stop every thread)."""
    import gc

    pauses = Pauses()
    started = [0.0]

    def cb(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])
            pauses.generations.append(info.get("generation", -1))

    gc.callbacks.append(cb)
    return pauses


async def loop_lag(stalls: list[float]) -> None:
    """Record every event-loop stall over 50 ms (a 10 ms sleep that overslept)."""
    loop = asyncio.get_running_loop()
    while True:
        t0 = loop.time()
        await asyncio.sleep(0.01)
        late = loop.time() - t0 - 0.01
        if late > 0.05:
            stalls.append(late)


def stall_summary(stalls: list[float]) -> dict[str, float]:
    """Counts of event-loop stalls over 50 and 100 ms, and the longest."""
    return {
        "stalls_50ms": len(stalls),
        "stalls_100ms": sum(1 for s in stalls if s > 0.1),
        "max_stall_ms": 1000 * max(stalls, default=0.0),
    }


class Ear:
    """Arrival gaps of the audio one agent phone hears, per call (from its first packet)."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.packets = 0
        self.gaps = 0  # inter-arrival gaps over 100 ms
        self.max_gap = 0.0
        self.calls_with_gap = 0
        self.where: list[tuple[float, int]] = []  # (s after the call's first packet, index)
        self._gap_this_call = False
        self._first = 0.0
        self._n = 0

    def new_call(self) -> None:
        self.last = None
        self._gap_this_call = False
        self._n = 0

    def hear(self, pt: int, now: float) -> None:
        if pt not in (0, 8):
            return
        self.packets += 1
        self._n += 1
        if self.last is None:
            self._first = now
        else:
            gap = now - self.last
            self.max_gap = max(self.max_gap, gap)
            if gap > 0.1:
                self.gaps += 1
                self.where.append((round(now - self._first, 2), self._n))
                if not self._gap_this_call:
                    self._gap_this_call = True
                    self.calls_with_gap += 1
        self.last = now


def run_agents(port: int, agents: int) -> None:
    """The agents process: registering auto-answer softphones sending 1000 Hz, measuring
    the gaps in what they hear; prints a JSON summary when stopped."""
    from kefu.telephony.sip.softphone import Softphone

    async def main() -> None:
        phones = [
            Softphone(str(7000 + i), f"pw{7000 + i}", ("127.0.0.1", port)) for i in range(agents)
        ]
        ears = [Ear() for _ in phones]
        for p, ear in zip(phones, ears, strict=True):
            # keep no audio, only its arrival times
            def on_rtp(*a: Any, e: Ear = ear) -> None:
                e.hear(a[1], a[-1])  # (endpoint, pt, ts, ssrc, marker, payload, now)

            p._on_rtp = on_rtp  # type: ignore[method-assign,assignment]
            up = p._media_up

            def media_up(up: Callable[[], None] = up, e: Ear = ear) -> None:
                e.new_call()
                up()

            p._media_up = media_up  # type: ignore[method-assign]
            await p.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        stalls: list[float] = []  # this process's own loop stalls show as gaps on every call
        lag = asyncio.create_task(loop_lag(stalls))
        import gc

        gc.collect()  # the phones live all run long: a full collection must not walk them
        gc.freeze()
        pauses = gc_pauses()
        print("ready", flush=True)
        await stop.wait()
        lag.cancel()
        where = sorted(w for e in ears for w in e.where)
        own = stall_summary(stalls)
        summary = {
            "ear_stalls_100ms": own["stalls_100ms"],
            "ear_max_stall_ms": own["max_stall_ms"],
            "ear_gc_max_ms": 1000 * max(pauses, default=0.0),
            "calls": sum(p.calls_answered for p in phones),
            "packets": sum(e.packets for e in ears),
            "gaps": sum(e.gaps for e in ears),
            "calls_with_gap": sum(e.calls_with_gap for e in ears),
            "max_gap_ms": 1000 * max((e.max_gap for e in ears), default=0.0),
            "where": where[:: max(1, len(where) // 12)],
        }
        print(json.dumps(summary), flush=True)
        for p in phones:
            await p.stop()

    _run(main())


def _run(coro: object) -> None:
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        asyncio.run(coro)  # type: ignore[arg-type]


# ---- orchestration -----------------------------------------------------------------


def spawn(role: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    p = subprocess.Popen(
        [sys.executable, __file__, "--role", role, *args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError(f"{role} did not start: {line!r}")
    return p


def sipp_uac(
    target: str, pcap: Path, conc: int, secs: float, hold: float, tmp: Path
) -> tuple[subprocess.Popen[bytes], int]:
    rate = conc / secs
    total = max(1, round(rate * hold))
    cmd = [
        "sipp",
        "-sf",
        str(SIPP / "uac_tone_dtmf.xml"),
        "-s",
        NUMBER,
        target,
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_port()),
        "-key",
        "pcap",
        str(pcap),
        "-d",
        str(int(secs * 1000)),
        "-r",
        f"{rate:.3f}",
        "-rp",
        "1000",
        "-l",
        str(call_limit(conc)),
        "-m",
        str(total),
        "-nostdin",
        "-timeout",
        f"{int(hold + secs + 30)}s",
        "-timeout_error",
        "-trace_stat",
        "-stf",
        str(tmp / "uac_stat.csv"),
        "-fd",
        "1",  # seconds: a line a second, for the peak
        "-error_file",
        str(tmp / "uac.err"),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), total


def call_limit(conc: int) -> int:
    """sipp's cap on calls at once: the step's concurrency and a tenth. A call lasts a little
    more than `secs` (set-up, the IVR, BYE), so a cap at the step itself would throttle the
    rate below conc/secs; the peak actually reached is reported (sipp's CurrentCall)."""
    return conc + max(5, conc // 10)


def sipp_stats(tmp: Path) -> tuple[int, int]:
    """Failed calls (sipp's last statistics line) and the most calls at once (any line)."""
    f = tmp / "uac_stat.csv"
    if not f.exists():
        return -1, -1
    lines = [ln.split(";") for ln in f.read_text().splitlines()]
    head = lines[0]
    cur = head.index("CurrentCall")
    peak = max((int(ln[cur]) for ln in lines[1:] if len(ln) > cur and ln[cur].isdigit()), default=0)
    return int(lines[-1][head.index("FailedCall(C)")]), peak


def step(
    kind: str,
    conc: int,
    secs: float,
    hold: float,
    tmp: Path,
    pcaps: dict[str, Path],
    target: str,
    server_pid: int,
) -> Row:
    c0, t0 = cpu_seconds(server_pid), time.monotonic()
    uac, total = sipp_uac(target, pcaps["customer"], conc, secs, hold, tmp)
    uac.wait()
    wall = time.monotonic() - t0
    cpu = cpu_seconds(server_pid) - c0
    failed, peak = sipp_stats(tmp)
    call_seconds = total * secs
    return {
        "kind": kind,
        "conc": conc,
        "peak": peak,
        "offered": total,
        "failed": failed,
        "rc": uac.returncode,
        "cps": total / max(wall - secs, 1e-9),
        "cpu_ms_per_call_s": 1000 * cpu / call_seconds,
        "cpu_ms_per_call": 1000 * cpu / total,
        "sw_util": cpu / wall,
        "wall": wall,
    }


def start_uas(pcap: Path) -> tuple[int, int]:
    """A background sipp UAS playing `pcap` on every call: (its pid, its SIP port)."""
    port = free_port()
    uas = subprocess.Popen(
        [
            "sipp",
            "-sf",
            str(SIPP / "uas_tone.xml"),
            "-key",
            "pcap",
            str(pcap),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-nostdin",
            "-bg",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out = uas.communicate()[0]
    return int(re.search(r"PID=\[(\d+)\]", out).group(1)), port  # type: ignore[union-attr]


def stop(p: subprocess.Popen[str]) -> str:
    """SIGTERM a child, wait, and return what it printed after 'ready'."""
    p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out or ""


def read_cdrs(db_path: Path) -> dict[str, int]:
    """Calls by disposition, and recordings, from the app's database (read-only)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute("SELECT disposition, COUNT(*) FROM calls GROUP BY 1").fetchall()
        out = {str(d).lower(): int(n) for d, n in rows}
        out["total"] = sum(n for _, n in rows)
        out["recordings"] = int(con.execute("SELECT COUNT(*) FROM recordings").fetchone()[0])
        out["open"] = int(
            con.execute("SELECT COUNT(*) FROM calls WHERE ended_at IS NULL").fetchone()[0]
        )
    finally:
        con.close()
    return out


def sipp_errors(tmp: Path) -> str:
    """The commonest sipp error lines (without timestamps), for 'where it breaks'."""
    f = tmp / "uac.err"
    if not f.exists():
        return ""
    counts: dict[str, int] = {}
    for line in f.read_text(errors="replace").splitlines():
        msg = re.sub(r"^\S+\s+\S+\s+", "", line).strip()
        msg = re.sub(r"\d+", "N", msg)[:90]
        if msg:
            counts[msg] = counts.get(msg, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    return "; ".join(f"{n}x {m}" for m, n in top)


def kefu_step(
    mode: str,
    conc: int,
    secs: float,
    hold: float,
    tmp: Path,
    pcaps: dict[str, Path],
    agents: int,
    template: Path | None,
) -> Row:
    """One step against kefu: a fresh switch (app or router) and agents process."""
    port = free_port()
    work = tmp / f"{mode}-{conc}"
    work.mkdir()
    (tmp / "uac.err").unlink(missing_ok=True)
    if mode == "app":
        assert template is not None
        shutil.copy(template, work / "kefu.db")
        sw = spawn("app", "--port", str(port), "--dir", str(work))
    else:
        sw = spawn("switch", "--port", str(port), "--agents", str(agents), "--dir", str(work))
    ag = spawn("agents", "--port", str(port), "--agents", str(agents))
    a0 = cpu_seconds(ag.pid)
    ear: Row = {}
    try:
        r = step(f"kefu {mode}", conc, secs, hold, tmp, pcaps, f"127.0.0.1:{port}", sw.pid)
        r["errors"] = sipp_errors(tmp)
        time.sleep(2.0)  # the last CDRs and recordings are written
        r["agents_util"] = (cpu_seconds(ag.pid) - a0) / r["wall"]
        if mode == "app":
            cdr = read_cdrs(work / "kefu.db")
            r["cdr_answered"] = cdr.get("answered", 0)
            r["cdr_total"] = cdr["total"]
            r["cdr_open"] = cdr["open"]
            r["recordings"] = cdr["recordings"]
        else:
            cdrs = [json.loads(x) for x in (work / "cdr.jsonl").read_text().splitlines()]
            r["cdr_answered"] = sum(1 for c in cdrs if c["d"] == "answered")
            r["cdr_total"] = len(cdrs)
            r["cdr_open"] = 0
            r["recordings"] = r["cdr_answered"]
    finally:
        out = stop(ag)
        sw_out = stop(sw)
    sw_lines = [x for x in sw_out.splitlines() if x.startswith("{")]
    r.update(json.loads(sw_lines[-1]) if sw_lines else {})
    lines = [x for x in out.splitlines() if x.startswith("{")]
    ear = json.loads(lines[-1]) if lines else {}
    r["agent_calls"] = ear.get("calls", -1)
    r["gaps"] = ear.get("gaps", -1)
    r["calls_with_gap"] = ear.get("calls_with_gap", -1)
    r["max_gap_ms"] = ear.get("max_gap_ms", -1)
    r["gap_where"] = ear.get("where", [])
    r["ear_stalls_100ms"] = ear.get("ear_stalls_100ms", -1)
    r["ear_max_stall_ms"] = ear.get("ear_max_stall_ms", -1)
    shutil.rmtree(work, ignore_errors=True)  # recordings: keep the disk small
    return r


def passed(r: Row) -> bool:
    """Zero failed calls, every CDR answered with a recording, no agent-side gap > 100 ms."""
    return bool(
        r["failed"] == 0
        and r["cdr_answered"] == r["offered"]
        and r["recordings"] >= r["offered"]
        and r["gaps"] == 0
    )


def why(r: Row) -> str:
    """What failed in a step, in words."""
    bits = []
    if r["failed"]:
        bits.append(f"{r['failed']:.0f} sipp failed calls ({r.get('errors') or 'no error text'})")
    if r["cdr_answered"] != r["offered"]:
        bits.append(
            f"CDRs answered {r['cdr_answered']:.0f}/{r['offered']:.0f}"
            f" (rows {r['cdr_total']:.0f}, still open {r['cdr_open']:.0f})"
        )
    if r["recordings"] < r["offered"]:
        bits.append(f"recordings {r['recordings']:.0f}/{r['offered']:.0f}")
    if r["gaps"]:
        bits.append(
            f"{r['gaps']:.0f} agent-side gaps > 100 ms on {r['calls_with_gap']:.0f} calls"
            f" (max {r['max_gap_ms']:.0f} ms; sampled [s after the call's first packet,"
            f" packet no.]: {r['gap_where'][:6]})"
        )
    if r.get("stalls_100ms"):
        bits.append(
            f"switch event loop stalled > 100 ms {r['stalls_100ms']:.0f} times"
            f" (max {r['max_stall_ms']:.0f} ms)"
        )
    if r.get("ear_stalls_100ms", 0) > 0:
        bits.append(
            f"the agents process's own loop stalled > 100 ms {r['ear_stalls_100ms']:.0f} times"
            f" (max {r['ear_max_stall_ms']:.0f} ms: part of the gaps are the measuring side)"
        )
    if r["sw_util"] > 0.9:
        bits.append(f"switch process at {100 * r['sw_util']:.0f}% of one core (event loop)")
    if r["agents_util"] > 0.9:
        bits.append(f"agents process at {100 * r['agents_util']:.0f}% of one core")
    return "; ".join(bits) or "ok"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short steps (about 3 minutes)")
    ap.add_argument("--router", action="store_true", help="the stand-in router, not the core")
    ap.add_argument("--role", choices=["switch", "agents", "app"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--agents", type=int)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--steps", type=str, help="comma-separated concurrency steps")
    ap.add_argument("--secs", type=float, help="call length in seconds")
    ap.add_argument("--hold", type=float, help="seconds of new calls per step")
    ap.add_argument("--stop-on-fail", action="store_true", help="stop at the first failing step")
    a = ap.parse_args()
    if a.role == "switch":
        run_switch(a.port, a.agents, a.dir, a.dir / "cdr.jsonl")
        return 0
    if a.role == "agents":
        run_agents(a.port, a.agents)
        return 0
    if a.role == "app":
        run_app(a.port, a.dir)
        return 0

    sys.path.insert(0, str(ROOT / "src"))
    from kefu.telephony.sip.pcap import write_rtp_pcap

    mode = "router" if a.router else "app"
    steps = (
        [int(s) for s in a.steps.split(",")]
        if a.steps
        else [20, 60, 120]
        if a.quick
        else [50, 100, 200, 300]
    )
    secs, hold = (8.0, 15.0) if a.quick else (20.0, 60.0)
    secs, hold = a.secs or secs, a.hold or hold
    results: list[Row] = []
    print(
        f"mode {mode}: sipp -> {'IVR (key 1) -> queue -> ' if mode == 'app' else 'router -> '}"
        f"agent softphones, recording on; calls of {secs:.0f} s, {hold:.0f} s of new calls "
        f"per step; load average {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        pcaps = {"customer": tmp / "c.pcap", "agent": tmp / "a.pcap"}
        # the tone covers the whole call; key 1 at 1.0 s answers the IVR menu
        write_rtp_pcap(pcaps["customer"], 440.0, secs + 1, dtmf=((1.0, "1"),))
        write_rtp_pcap(pcaps["agent"], 1000.0, secs + 1)
        agents = call_limit(max(steps)) + 20
        template = None
        if mode == "app":
            template = tmp / "template.db"
            t0 = time.monotonic()
            seed_db(template, agents)
            print(f"seeded {agents} agents in {time.monotonic() - t0:.1f} s", flush=True)
        for conc in steps:
            uas_pid, uas_port = start_uas(pcaps["agent"])
            base = step(
                "sipp->sipp", conc, secs, hold, tmp, pcaps, f"127.0.0.1:{uas_port}", uas_pid
            )
            os.kill(uas_pid, signal.SIGTERM)
            results.append(base)
            report(base)
            r = kefu_step(mode, conc, secs, hold, tmp, pcaps, agents, template)
            r["ratio_cpu"] = r["cpu_ms_per_call_s"] / max(base["cpu_ms_per_call_s"], 1e-9)
            r["base_failed"] = base["failed"]
            r["load"] = os.getloadavg()[0]
            results.append(r)
            report(r)
            print(f"{'':>13}verdict: {'PASS' if passed(r) else 'FAIL'}: {why(r)}", flush=True)
            if a.stop_on_fail and not passed(r):
                break
    kefu = [r for r in results if r["kind"] != "sipp->sipp"]
    ok = [r for r in kefu if passed(r)]
    base_ok = [r["conc"] for r in results if r["kind"] == "sipp->sipp" and r["failed"] == 0]
    print(
        "\n| step | concurrent (peak) | calls/s | offered | failed | CDR answered | recordings "
        "| gaps>100ms (max ms) | switch CPU ms/call | switch util | agents util "
        "| switch loop stalls >100ms (max ms) | sipp UAS CPU ms/call | CPU ratio | load |"
    )
    print("|" + "---|" * 15)
    bases = {r["conc"]: r for r in results if r["kind"] == "sipp->sipp"}
    for i, r in enumerate(kefu, 1):
        b = bases[r["conc"]]
        print(
            f"| {i} | {r['conc']:.0f} ({r['peak']:.0f}) | {r['cps']:.1f} "
            f"| {r['offered']:.0f} | {r['failed']:.0f} "
            f"| {r['cdr_answered']:.0f} | {r['recordings']:.0f} "
            f"| {r['gaps']:.0f} ({r['max_gap_ms']:.0f}) | {r['cpu_ms_per_call']:.0f} "
            f"| {100 * r['sw_util']:.0f}% | {100 * r['agents_util']:.0f}% "
            f"| {r.get('stalls_100ms', -1):.0f} ({r.get('max_stall_ms', -1):.0f}) "
            f"| {b['cpu_ms_per_call']:.1f} (failed {b['failed']:.0f}) | {r['ratio_cpu']:.0f}x "
            f"| {r['load']:.2f} |"
        )
    best = max(ok, key=lambda r: r["conc"], default=None)
    print(
        f"\nmax passing step: kefu {mode} "
        + (
            f"{best['conc']:.0f} concurrent (peak {best['peak']:.0f}) at {best['cps']:.1f} calls/s"
            if best
            else "none"
        )
        + f"; sipp->sipp baseline passed up to {max(base_ok, default=0)} "
        f"(steps {steps}; targets: 300 concurrent, 50 calls/s; 2 cores shared by all processes)"
    )
    return 0


def report(r: Row) -> None:
    extra = ""
    if "cdr_answered" in r:
        extra = (
            f"  CDR answered {r['cdr_answered']:.0f}/{r['cdr_total']:.0f}"
            f"  recordings {r['recordings']:.0f}"
            f"  agent gaps>100ms {r['gaps']:.0f} (max {r['max_gap_ms']:.0f} ms)"
            f"  switch util {100 * r['sw_util']:.0f}%  agents util {100 * r['agents_util']:.0f}%"
            f"  cpu ratio vs sipp UAS {r['ratio_cpu']:.1f}x"
        )
        if "stalls_50ms" in r:
            extra += (
                f"  loop stalls >50ms {r['stalls_50ms']:.0f} >100ms {r['stalls_100ms']:.0f}"
                f" (max {r['max_stall_ms']:.0f} ms; GC max {r.get('gc_max_ms', -1):.0f} ms,"
                f" {r.get('gc_full', -1):.0f} full collections, max"
                f" {r.get('gc_full_max_ms', -1):.0f} ms; {r.get('gc1', -1):.0f} of generation 1,"
                f" max {r.get('gc1_max_ms', -1):.0f} ms; {r.get('gc0', -1):.0f} of generation 0,"
                f" max {r.get('gc0_max_ms', -1):.0f} ms)"
            )
        if "ear_stalls_100ms" in r:
            extra += (
                f"  agents-process loop stalls >100ms {r['ear_stalls_100ms']:.0f}"
                f" (max {r['ear_max_stall_ms']:.0f} ms)"
            )
    print(
        f"{r['kind']:>12}  conc {r['conc']:>4.0f} (peak {r['peak']:.0f})  "
        f"offered {r['offered']:>5.0f}  "
        f"failed {r['failed']:>3.0f}  {r['cps']:.1f} calls/s  "
        f"cpu {r['cpu_ms_per_call']:.1f} ms/call ({r['cpu_ms_per_call_s']:.1f} ms per "
        f"call-second){extra}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
