"""Web console load: wallboard fan-out latency and the agent state endpoint, with baselines.

    python bench/web_load.py            # 200 wallboards, 50 events/s for 20 s; 200 req/s for 15 s
    python bench/web_load.py --quick    # 50 wallboards, 5 s each

It starts a real `kefu` web app under uvicorn in a subprocess (this file, `--serve`), on a
fresh SQLite database with a supervisor and 20 agents. The bench app adds two routes of its
own: GET /bench/hello (a hello-world FastAPI endpoint, the baseline) and POST
/bench/produce (publishes events through the app's LiveHub on the `wallboard` topic at a
given rate, each carrying its send time).

1. Fan-out: N WebSocket clients hold /ws/wallboard open as the supervisor; the producer
   publishes 50 events/s. Latency = receive time - send time (same machine clock).
   Target: p99 < 250 ms.
2. Request latency, open loop at 200 req/s (latency counted from each request's scheduled
   time, so queueing is not hidden): POST /api/agent/state (20 agents alternating busy and
   idle, through auth, CSRF, the core and the audit-free state path) against GET
   /bench/hello on the same server. Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

AGENTS = 20
PASSWORD = "Bench-Passw0rd"


# --- the server side (run in a subprocess) ---------------------------------------------------


def serve(port: int, data_dir: Path) -> None:
    """Build the app on a seeded database, add the bench routes, serve on 127.0.0.1:port."""
    import uvicorn
    from fastapi import FastAPI

    from kefu.config import Settings
    from kefu.services import users
    from kefu.store import migrate
    from kefu.store.db import Database
    from kefu.store.models import Role
    from kefu.web.app import create_app

    db = Database.from_url(f"sqlite:///{data_dir / 'kefu.db'}")
    migrate.upgrade(db.engine)
    users.create_user(db, "super1", PASSWORD, Role.SUPERVISOR)
    for i in range(AGENTS):
        users.create_user(
            db, f"agent{i}", PASSWORD, Role.AGENT, agent_no=f"{1000 + i}", extension=f"{8000 + i}"
        )
    app: FastAPI = create_app(Settings(data_dir=data_dir, database_url=str(db.engine.url)), db)

    @app.get("/bench/hello", include_in_schema=False)
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.post("/bench/produce", include_in_schema=False)
    async def produce(rate: float, seconds: float) -> dict[str, int]:
        hub = app.state.hub
        count = int(rate * seconds)
        start = time.monotonic()
        for seq in range(count):
            delay = start + seq / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            hub.publish("wallboard", {"type": "bench", "seq": seq, "sent": time.time()})
        return {"published": count}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# --- the load side ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def login(base: str, **body: str) -> Any:
    """An httpx client logged in, with its CSRF header."""
    import httpx

    client = httpx.AsyncClient(base_url=base, timeout=30)
    await client.get("/login")
    client.headers["X-CSRF-Token"] = (await client.get("/api/auth/csrf")).json()["csrf_token"]
    res = await client.post("/api/auth/login", json={"password": PASSWORD, **body})
    res.raise_for_status()
    client.headers["X-CSRF-Token"] = (await client.get("/api/auth/csrf")).json()["csrf_token"]
    return client


async def fan_out(base: str, clients: int, rate: float, seconds: float) -> dict[str, Any]:
    """Open `clients` wallboards, publish rate*seconds events, gather receive latencies."""
    from websockets.asyncio.client import connect

    sup = await login(base, username="super1")
    cookie = "; ".join(f"{k}={v}" for k, v in sup.cookies.items())
    ws_url = base.replace("http://", "ws://") + "/ws/wallboard"
    expected = int(rate * seconds)
    latencies: list[float] = []
    received = [0] * clients
    ready = asyncio.Event()
    opened = 0

    async def board(i: int) -> None:
        nonlocal opened
        async with connect(ws_url, additional_headers={"Cookie": cookie}, max_size=None) as ws:
            first = json.loads(await ws.recv())
            assert first["type"] == "snapshot"
            opened += 1
            if opened == clients:
                ready.set()
            deadline = time.monotonic() + seconds + 15
            while received[i] < expected and time.monotonic() < deadline:
                try:
                    raw = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                except TimeoutError:
                    break
                now = time.time()
                msg = json.loads(raw)
                for event in msg.get("events", ()):
                    if event.get("type") == "bench":
                        latencies.append(now - event["sent"])
                        received[i] += 1

    tasks = [asyncio.create_task(board(i)) for i in range(clients)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    res = await sup.post(f"/bench/produce?rate={rate}&seconds={seconds}")
    res.raise_for_status()
    await asyncio.gather(*tasks)
    await sup.aclose()
    return {
        "clients": clients,
        "events": expected,
        "delivered": sum(received),
        "expected": expected * clients,
        "p50_ms": pct(latencies, 0.50) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000,
        "seconds": time.monotonic() - t0,
    }


async def open_loop(
    send: Any, rate: float, seconds: float, clients: int
) -> tuple[list[float], int]:
    """Call `send(i)` at `rate` per second; latency from each call's scheduled time."""
    count = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    start = time.monotonic() + 0.2

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            ok = await send(i)
        except Exception:
            ok = False
        if not ok:
            errors += 1
        latencies.append(time.monotonic() - scheduled)

    await asyncio.gather(*(one(i) for i in range(count)))
    return latencies, errors


async def requests(base: str, rate: float, seconds: float) -> dict[str, Any]:
    """State changes by 20 agents against the hello-world endpoint, both at `rate`."""
    agents = [
        await login(base, agent_no=f"{1000 + i}", extension=f"{8000 + i}") for i in range(AGENTS)
    ]
    flips = [0] * AGENTS
    statuses: Counter[str] = Counter()

    async def state(i: int) -> bool:
        a = i % AGENTS
        flips[a] += 1
        body = {"state": "busy" if flips[a] % 2 else "idle", "reason": "bench"}
        try:
            res = await agents[a].post("/api/agent/state", json=body)
        except Exception as exc:
            statuses[type(exc).__name__] += 1
            raise
        statuses[str(res.status_code)] += 1
        return bool(res.status_code == 200)

    async def hello(i: int) -> bool:
        res = await agents[i % AGENTS].get("/bench/hello")
        return bool(res.status_code == 200)

    await open_loop(hello, rate, 1.0, AGENTS)  # warm-up of both paths
    await open_loop(state, rate, 1.0, AGENTS)
    serial: dict[str, float] = {}
    for name, fn in (("hello", hello), ("state", state)):
        t0 = time.perf_counter()
        for i in range(200):
            await fn(i)
        serial[name] = (time.perf_counter() - t0) / 200 * 1000
    hello_lat, hello_err = await open_loop(hello, rate, seconds, AGENTS)
    state_lat, state_err = await open_loop(state, rate, seconds, AGENTS)
    for a in agents:
        await a.aclose()
    return {
        "rate": rate,
        "seconds": seconds,
        "hello": (pct(hello_lat, 0.5) * 1000, pct(hello_lat, 0.99) * 1000, hello_err),
        "state": (pct(state_lat, 0.5) * 1000, pct(state_lat, 0.99) * 1000, state_err),
        "statuses": dict(statuses),
        "serial": serial,
    }


async def run(base: str, clients: int, seconds: float, req_seconds: float) -> None:
    """Both measurements, printed with their baselines and ratios."""
    fan = await fan_out(base, clients, 50.0, seconds)
    print(
        f"wallboard fan-out: {fan['clients']} WebSocket clients, {fan['events']} events at 50/s, "
        f"{fan['delivered']}/{fan['expected']} delivered"
    )
    print(
        f"  event-to-client latency p50 {fan['p50_ms']:.1f} ms, p99 {fan['p99_ms']:.1f} ms, "
        f"max {fan['max_ms']:.1f} ms (target p99 < 250 ms: "
        f"{'met' if fan['p99_ms'] < 250 else 'MISSED'})"
    )
    req = await requests(base, 200.0, req_seconds)
    h50, h99, herr = req["hello"]
    s50, s99, serr = req["state"]
    ser = req["serial"]
    print(
        f"one client, one request at a time: hello {ser['hello']:.2f} ms, state "
        f"{ser['state']:.2f} ms per request (ratio {ser['state'] / ser['hello']:.2f}x)"
    )
    print(f"requests at {req['rate']:.0f}/s for {req['seconds']:.0f} s each (open loop):")
    print(
        f"  GET /bench/hello (hello-world baseline): p50 {h50:.1f} ms, p99 {h99:.1f} ms, "
        f"errors {herr}"
    )
    print(
        f"  POST /api/agent/state:                  p50 {s50:.1f} ms, p99 {s99:.1f} ms, "
        f"errors {serr} (responses {req['statuses']})"
    )
    print(
        f"  ratio state/hello: p50 {s50 / h50:.2f}x, p99 {s99 / h99:.2f}x "
        f"(target p99 < 50 ms: {'met' if s99 < 50 else 'MISSED'})"
    )


def main() -> None:
    """Parse flags; either serve (internal) or run the bench against a fresh server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 clients, 5 s phases")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.data_dir)
        return
    clients = args.clients or (50 if args.quick else 200)
    seconds, req_seconds = (5.0, 5.0) if args.quick else (20.0, 15.0)
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, KEFU_CONFIG=str(Path(tmp) / "none.toml"))
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--port", str(port), "--data-dir", tmp],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            import httpx

            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the bench server did not start")
                time.sleep(0.2)
            print(
                f"kefu web bench: server pid {proc.pid}, {os.cpu_count()} cores, "
                f"python {sys.version.split()[0]}"
            )
            asyncio.run(run(base, clients, seconds, req_seconds))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
