"""SIP load: sipp callers -> kefu B2BUA (recording on) -> auto-answering agent softphones.

For each step of concurrent calls C, sipp places calls of D seconds at C/D calls/s for the
hold time, each sending a μ-law tone from a pcap; the switch bridges each to a free agent
softphone (another process, sending its own tone) and records every call as stereo WAV.
A step passes when sipp reports zero failed calls and the switch's CDRs are all answered.
The baseline, measured in the same run at the same steps, is sipp UAC -> sipp UAS directly
(the UAS plays its pcap too): the ceiling of the load generator on this machine.

    python bench/sip_load.py --quick      # ~2 minutes
    python bench/sip_load.py              # 60 s per step, more steps

Prints, per step: calls offered/failed, calls/s, CPU seconds of the switch per call-second
and of the sipp UAS per call-second, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIPP = ROOT / "tests" / "sipp"
TICK = os.sysconf("SC_CLK_TCK")


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


def run_agents(port: int, agents: int) -> None:
    """The agents process: `agents` registering auto-answer softphones sending 1000 Hz."""
    from kefu.telephony.sip.softphone import Softphone

    async def main() -> None:
        phones = [
            Softphone(str(7000 + i), f"pw{7000 + i}", ("127.0.0.1", port)) for i in range(agents)
        ]
        for p in phones:
            # keep no received audio: the switch's recordings are what we check
            p._on_rtp = lambda *a: None  # type: ignore[method-assign]
            await p.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
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
        "4001",
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
        str(conc + 5),
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
        "1000",
        "-error_file",
        str(tmp / "uac.err"),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), total


def failed_calls(tmp: Path) -> int:
    """Failed calls from sipp's last statistics line."""
    f = tmp / "uac_stat.csv"
    if not f.exists():
        return -1
    lines = f.read_text().splitlines()
    head = lines[0].split(";")
    last = lines[-1].split(";")
    return int(last[head.index("FailedCall(C)")])


def step(
    kind: str,
    conc: int,
    secs: float,
    hold: float,
    tmp: Path,
    pcaps: dict[str, Path],
    target: str,
    server_pid: int,
) -> dict[str, float]:
    c0, t0 = cpu_seconds(server_pid), time.monotonic()
    uac, total = sipp_uac(target, pcaps["customer"], conc, secs, hold, tmp)
    uac.wait()
    wall = time.monotonic() - t0
    cpu = cpu_seconds(server_pid) - c0
    failed = failed_calls(tmp)
    call_seconds = total * secs
    return {
        "kind": kind,
        "conc": conc,
        "offered": total,
        "failed": failed,
        "rc": uac.returncode,
        "cps": total / max(wall - secs, 1e-9),
        "cpu_ms_per_call_s": 1000 * cpu / call_seconds,
        "wall": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short steps (about 2 minutes)")
    ap.add_argument("--role", choices=["switch", "agents"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--agents", type=int)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--steps", type=str, help="comma-separated concurrency steps")
    a = ap.parse_args()
    if a.role == "switch":
        run_switch(a.port, a.agents, a.dir, a.dir / "cdr.jsonl")
        return 0
    if a.role == "agents":
        run_agents(a.port, a.agents)
        return 0

    sys.path.insert(0, str(ROOT / "src"))
    from kefu.telephony.sip.pcap import write_rtp_pcap

    steps = (
        [int(s) for s in a.steps.split(",")]
        if a.steps
        else [10, 30]
        if a.quick
        else [10, 30, 60, 90, 120]
    )
    secs, hold = (5.0, 15.0) if a.quick else (10.0, 60.0)
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        pcaps = {"customer": tmp / "c.pcap", "agent": tmp / "a.pcap"}
        write_rtp_pcap(pcaps["customer"], 440.0, secs + 1)
        write_rtp_pcap(pcaps["agent"], 1000.0, secs + 1)
        agents = max(steps) + 10
        for conc in steps:
            # baseline: sipp UAC -> sipp UAS, same load
            uas_port = free_port()
            uas = subprocess.Popen(
                [
                    "sipp",
                    "-sf",
                    str(SIPP / "uas_tone.xml"),
                    "-key",
                    "pcap",
                    str(pcaps["agent"]),
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(uas_port),
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
            uas_pid = int(re.search(r"PID=\[(\d+)\]", out).group(1))  # type: ignore[union-attr]
            base = step(
                "sipp->sipp", conc, secs, hold, tmp, pcaps, f"127.0.0.1:{uas_port}", uas_pid
            )
            os.kill(uas_pid, signal.SIGTERM)
            results.append(base)
            report(base)
            # kefu: sipp UAC -> B2BUA (recording) -> agent softphones
            port = free_port()
            rec = tmp / "rec"
            rec.mkdir(exist_ok=True)
            sw = spawn("switch", "--port", str(port), "--agents", str(agents), "--dir", str(rec))
            ag = spawn("agents", "--port", str(port), "--agents", str(agents))
            try:
                r = step("kefu b2bua", conc, secs, hold, tmp, pcaps, f"127.0.0.1:{port}", sw.pid)
                time.sleep(1.0)
                cdrs = [json.loads(x) for x in (rec / "cdr.jsonl").read_text().splitlines()]
                r["cdr_answered"] = sum(1 for c in cdrs if c["d"] == "answered")
                checked = [c["media"] for c in cdrs if "media" in c]
                r["media_ok"] = sum(checked)
                r["media_checked"] = len(checked)
                r["agents_cpu_ms_per_call_s"] = 1000 * cpu_seconds(ag.pid) / (r["offered"] * secs)
                r["ratio_cpu"] = r["cpu_ms_per_call_s"] / max(base["cpu_ms_per_call_s"], 1e-9)
                results.append(r)
                report(r)
            finally:
                for p in (ag, sw):
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(10)
                    except subprocess.TimeoutExpired:
                        p.kill()
                (rec / "cdr.jsonl").unlink(missing_ok=True)
    ok = [
        r["conc"]
        for r in results
        if r["kind"] == "kefu b2bua"
        and r["failed"] == 0
        and r.get("cdr_answered") == r["offered"]
        and r.get("media_ok") == r.get("media_checked")
    ]
    base_ok = [r["conc"] for r in results if r["kind"] == "sipp->sipp" and r["failed"] == 0]
    print(
        f"\nmax concurrent with zero failures: kefu {max(ok, default=0)}, "
        f"sipp->sipp baseline {max(base_ok, default=0)} (of steps {steps}, "
        f"{secs:.0f} s calls, {hold:.0f} s per step, 2 cores shared by all processes)"
    )
    return 0


def report(r: dict[str, float]) -> None:
    extra = ""
    if "cdr_answered" in r:
        extra = (
            f"  cdr_answered {r['cdr_answered']:.0f}"
            f"  cpu ratio vs sipp UAS {r['ratio_cpu']:.1f}x"
            f"  recordings with both tones {r['media_ok']:.0f}/{r['media_checked']:.0f}"
            f"  (agents process {r['agents_cpu_ms_per_call_s']:.1f} ms/call-s)"
        )
    print(
        f"{r['kind']:>11}  conc {r['conc']:>4.0f}  offered {r['offered']:>5.0f}  "
        f"failed {r['failed']:>3.0f}  rc {r['rc']:.0f}  {r['cps']:.1f} calls/s  "
        f"cpu {r['cpu_ms_per_call_s']:.1f} ms per call-second{extra}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
