"""CC-01 through the product path: 30 sipp callers walk the IVR of `SipLine` + `Center` at
once, wait together in the queue, and talk to 30 agents' phones at once, all recorded.

This is what `kefu serve --sip` runs (switch, line, center and core, a real database: SQLite
and PostgreSQL), not the stand-in router of tests/test_sip_capacity.py.

The callers are one sipp process placing 30 calls (tests/sipp/uac_ivr_talk.xml): each sends a
440 Hz μ-law tone with RFC 4733 "1" after the IVR prompt, from its own media port. sipp 3.6
reads no audio, so the test binds each call's media port (sipp leaves them to us) and keeps
what arrives there: that socket is the caller's ear. The agents are 30 in-process softphones
that register with digest and auto-answer, each sending its own tone.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from kefu.audio.frames import Pcm
from kefu.audio.g711 import ulaw_decode, ulaw_encode
from kefu.audio.tones import dominant_frequencies, has_tone
from kefu.audio.wavfile import read_stereo
from kefu.core.agent import AgentState
from kefu.store.db import Database
from kefu.store.models import Agent, Call, Disposition, Party, Recording
from kefu.telephony.prompts import load_prompt
from kefu.telephony.sip.b2bua import free_port
from kefu.telephony.sip.pcap import write_rtp_pcap
from kefu.telephony.sip.softphone import Softphone
from test_sip_line import Site, add_agent, close_site, open_site, seed, until
from test_sip_sipp import SIPP_DIR

pytestmark = [pytest.mark.timeout(120), pytest.mark.anyio, pytest.mark.slow]

CALLERS = 30
CUSTOMER_HZ = 440.0
TONES = [1000.0 + 30.0 * i for i in range(CALLERS)]  # agent i's tone, apart from 440's harmonics
IVR_PROMPTS = ("welcome", "menu")  # the menu node of test_sip_line.FLOW; key 1 -> queue
KEY_AFTER = 2.5  # seconds after the prompt's end the caller presses 1 (slack for a slow switch)
CALLER_HOLD_S = 30  # a caller whose agent has not hung up by then hangs up itself


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Ear(asyncio.DatagramProtocol):
    """What arrives at one caller's media port: (arrival, RTP seq, payload type, payload)."""

    port: int
    packets: list[tuple[float, int, int, bytes]] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) > 12 and data[0] >> 6 == 2:
            seq = int.from_bytes(data[2:4], "big")
            self.packets.append((time.monotonic(), seq, data[1] & 0x7F, data[12:]))

    @classmethod
    async def open(cls, port: int) -> Ear:
        """Bind 127.0.0.1:`port`."""
        ear = cls(port)
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: ear, local_addr=("127.0.0.1", port))
        return ear

    def audio(self, t0: float = 0.0, t1: float = math.inf) -> Pcm:
        """μ-law audio that arrived in [t0, t1), decoded."""
        parts = [p for t, _, pt, p in self.packets if pt == 0 and t0 <= t < t1]
        return ulaw_decode(b"".join(parts))


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def open_ears(count: int) -> tuple[int, list[Ear]]:
    """sipp's media base port (it binds base..base+3) and an ear on each call's port: call n
    (from 1) sends from and is sent to base + 4n ([auto_media_port+4] in the scenario)."""
    for _ in range(200):
        base = random.randrange(20000, 30000, 4)
        if not all(_udp_free(base + i) for i in range(4)):
            continue
        ears: list[Ear] = []
        try:
            for n in range(1, count + 1):
                ears.append(await Ear.open(base + 4 * n))
        except OSError:
            for e in ears:
                if e.transport is not None:
                    e.transport.close()
            continue
        return base, ears
    raise RuntimeError("no free run of UDP ports for sipp's media and the callers' ears")


async def start_sipp(site: Site, pcap: Path, media_base: int) -> asyncio.subprocess.Process:
    host, port = site.addr
    return await asyncio.create_subprocess_exec(
        "sipp",
        "-sf",
        str(SIPP_DIR / "uac_ivr_talk.xml"),
        "-s",
        "4001",
        f"{host}:{port}",
        "-key",
        "pcap",
        str(pcap),
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(media_base),
        "-r",
        "50",  # all 30 calls within about 0.6 s
        "-rp",
        "1000",
        "-l",
        str(CALLERS),
        "-m",
        str(CALLERS),
        "-recv_timeout",
        str(CALLER_HOLD_S * 1000),
        "-timeout",
        f"{CALLER_HOLD_S + 40}s",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(site.tmp / "sipp.err"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def bridged(site: Site) -> list[str]:
    """Switch calls whose customer is connected to an answered agent leg and recorded."""
    return [
        c.call_id
        for c in site.switch.calls.values()
        if c.bridged is not None
        and not c.bridged.ended
        and c.customer is not None
        and not c.customer.ended
        and c.recorder is not None
        and not c.recorder.closed
    ]


async def test_thirty_callers_ivr_queue_and_thirty_recorded_agent_calls_at_once(
    tmp_path: Path, db: Database
) -> None:
    seed(db)  # queue "service", 4001 -> IVR (welcome, menu; 1 -> queue), agent 8001
    exts = [f"80{i + 1:02d}" for i in range(CALLERS)]
    for ext in exts[1:]:
        add_agent(db, ext)
    site = await open_site(tmp_path, db)
    with db.session() as s:
        agent_ids = {a.extension: a.id for a in s.scalars(select(Agent))}
    tone_of = dict(zip(exts, TONES, strict=True))
    phones = {e: Softphone(e, f"pw{e}", site.addr, tone_hz=tone_of[e]) for e in exts}
    prompt = np.concatenate([load_prompt(p, site.switch.config.prompt_dir) for p in IVR_PROMPTS])
    frames = math.ceil(len(prompt) / 160)
    pcap = tmp_path / "caller.pcap"
    write_rtp_pcap(
        pcap, CUSTOMER_HZ, CALLER_HOLD_S + 5.0, dtmf=((len(prompt) / 8000 + KEY_AFTER, "1"),)
    )
    media_base, ears = await open_ears(CALLERS)
    sipp: asyncio.subprocess.Process | None = None
    loop = asyncio.get_running_loop()
    try:
        await asyncio.gather(*(p.start() for p in phones.values()))
        for e in exts:  # logged in but busy: the callers have to queue
            site.center.agent_login(agent_ids[e], ready=False)
        sipp = await start_sipp(site, pcap, media_base)

        # 1. all 30 walk the IVR at once, press 1 and wait in the queue together
        await until(lambda: len(site.center.waiting_calls()) == CALLERS, timeout=60)
        waiting = site.center.waiting_calls()
        assert {w.queue for w in waiting} == {"service"} and not any(w.ringing for w in waiting)
        assert sum(1 for lc in site.line.calls.values() if lc.queued) == CALLERS

        # 2. the agents become ready; their phones answer: 30 calls bridged and recorded at once
        for e in exts:
            site.center.set_state(agent_ids[e], AgentState.IDLE)
        await until(lambda: len(bridged(site)) == CALLERS, timeout=30)
        t_bridged = loop.time()
        talking = {
            cid: (
                site.switch.calls[cid].customer.ep.remote[1],  # type: ignore[union-attr,index]
                site.switch.calls[cid].bridged.record.peer,  # type: ignore[union-attr]
            )
            for cid in bridged(site)
        }
        on_call = [site.center.agent_view(agent_ids[e]).state for e in exts]
        assert on_call == [AgentState.ON_CALL] * CALLERS
        assert sorted(ext for _, ext in talking.values()) == exts  # one call per agent

        await asyncio.sleep(2.5)  # they talk
        agent_hangs_up = set(exts[::2])  # half the agents hang up; the other callers do
        for e in sorted(agent_hangs_up):
            phones[e].hangup()
            await asyncio.sleep(0.04)  # people do not all hang up in the same millisecond
        _, err = await asyncio.wait_for(sipp.communicate(), CALLER_HOLD_S + 30)
        assert sipp.returncode == 0, err.decode(errors="replace")
        await until(lambda: not site.line.calls, timeout=20)
    finally:
        if sipp is not None and sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
        for p in phones.values():
            await p.stop()
        for ear in ears:
            if ear.transport is not None:
                ear.transport.close()
        await close_site(site)

    # every caller heard every frame of the IVR prompt, in order, before anything else
    expected = ulaw_encode(np.concatenate([prompt, np.zeros(frames * 160 - len(prompt), np.int16)]))
    by_port = {ear.port: ear for ear in ears}
    for cid, (port, ext) in talking.items():
        ear = by_port[port]
        first = ear.packets[:frames]
        assert len(first) == frames, (cid, len(first))
        assert all(pt == 0 for _, _, pt, _ in first)
        assert all((b[1] - a[1]) & 0xFFFF == 1 for a, b in itertools.pairwise(first)), cid
        assert b"".join(p for *_, p in first) == expected, cid
        # then, connected: the caller hears its own agent's tone, not its own voice back
        talk = ear.audio(t_bridged + 0.3, t_bridged + 2.3)
        assert has_tone(talk, tone_of[ext]) and not has_tone(talk, CUSTOMER_HZ), (cid, ext)

    with db.session() as s:
        calls = {c.id: c for c in s.scalars(select(Call))}
        recs = {r.call_id: r for r in s.scalars(select(Recording))}
        assert set(calls) == set(talking) and set(recs) == set(talking)
        wavs = {cid: Path(r.path) for cid, r in recs.items()}
        ext_of_agent = {v: k for k, v in agent_ids.items()}
        for cid, (port, ext) in talking.items():
            c = calls[cid]
            assert c.caller == f"1390000{(port - media_base) // 4}" and c.callee == "4001"
            assert c.disposition is Disposition.ANSWERED
            assert c.queued_at and c.answered_at and c.ended_at
            assert c.offered_at <= c.queued_at <= c.answered_at <= c.ended_at
            assert c.agent_id is not None and ext_of_agent[c.agent_id] == ext
            who = Party.AGENT if ext in agent_hangs_up else Party.CUSTOMER
            assert c.hangup_by is who, (cid, ext, c.hangup_by)
            r = recs[cid]
            assert r.channels == 2 and r.duration_s > 2.0
    # 30 stereo WAVs: the caller on the left, that call's agent (and no one else) on the right
    for cid, (_, ext) in talking.items():
        left, right, rate = read_stereo(wavs[cid])
        assert rate == 8000 and len(left) / rate > 2.0
        assert min(np.abs(ch.astype(np.int32)).mean() for ch in (left, right)) > 100, cid
        assert has_tone(left, CUSTOMER_HZ) and not has_tone(left, tone_of[ext]), cid
        assert has_tone(right, tone_of[ext]) and not has_tone(right, CUSTOMER_HZ), cid
        assert abs(dominant_frequencies(right, 1)[0] - tone_of[ext]) < 10, (cid, ext)
    # The media clock fell 100 ms behind at most twice. Seen: once as the 30 keys put 30
    # callers in the queue within half a second, sometimes once more as 15 calls ended; the
    # prompts above still arrived whole and in order.
    assert site.switch.ticks_late <= 2
