"""The switch's event loop never waits on the database (issue 5 load path).

Every commit is made slow (a SQLAlchemy listener sleeps 200 ms), then a second call arrives,
queues and hangs up while a first call is talking: its arrival, offer, ringing and CDR rows
are all written. The agent of the first call must hear the customer's audio without a gap as
long as one commit, and no commit may have run on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from kefu.audio.tones import has_tone
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import Call, Disposition
from kefu.telephony.sip.pcap import write_rtp_pcap
from kefu.telephony.sip.softphone import Softphone
from test_sip_line import close_site, open_site, seed, sipp_customer, until
from test_sip_sipp import run_sipp

pytestmark = [pytest.mark.timeout(120), pytest.mark.anyio]
SLOW_COMMIT_S = 0.2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class SlowCommits:
    """Sleep on every commit and remember which thread committed when."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.commits: list[tuple[float, str]] = []
        self.on = False

    def __call__(self, _conn: Any) -> None:
        if self.on:
            self.commits.append((time.monotonic(), threading.current_thread().name))
            time.sleep(SLOW_COMMIT_S)

    def __enter__(self) -> SlowCommits:
        event.listen(self.db.engine, "commit", self)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.db.engine, "commit", self)


class Ear:
    """Arrival times of the audio the agent's phone hears."""

    def __init__(self, phone: Softphone) -> None:
        self.times: list[float] = []
        orig = phone._on_rtp

        def on_rtp(*a: Any) -> None:
            self.times.append(time.monotonic())
            orig(*a)

        phone._on_rtp = on_rtp  # type: ignore[method-assign,assignment]

    def gaps(self, t0: float, t1: float) -> list[float]:
        ts = [t for t in self.times if t0 <= t <= t1]
        return [b - a for a, b in itertools.pairwise(ts)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(d.engine)
    seed(d)
    yield d
    d.engine.dispose()


async def test_slow_database_commits_do_not_stall_the_media_of_a_talking_call(
    tmp_path: Path, db: Database
) -> None:
    site = await open_site(tmp_path, db)
    loop_thread = threading.current_thread().name
    pcap = tmp_path / "customer.pcap"
    write_rtp_pcap(pcap, 440.0, 9.0)
    agent = Softphone("8001", "pw8001", site.addr, tone_hz=1000.0)
    ear = Ear(agent)
    second = Softphone("13900000001", "x", site.addr, tone_hz=600.0)
    await agent.start()
    await second.start(register=False)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        with SlowCommits(db) as slow:
            sipp = asyncio.create_task(run_sipp(*sipp_customer(site, "4002", pcap, 9000)))
            await until(lambda: agent.answered.is_set(), timeout=30)
            await until(lambda: len(ear.times) > 25)  # media flows through the bridge
            t0 = time.monotonic()
            slow.on = True
            # a second call: stored, offered (no agent free: it queues), then abandoned
            await second.dial("4002", site.addr, timeout=15)
            await asyncio.sleep(1.0)
            second.hangup()
            await until(lambda: len(site.line.calls) == 1, timeout=30)  # its CDR is finished
            t1 = time.monotonic()
            slow.on = False
            code, err = await sipp
            assert code == 0, err
            await until(lambda: not site.line.calls, timeout=30)
    finally:
        await second.stop()
        await agent.stop()
        await close_site(site)
    during = [c for c in slow.commits if t0 <= c[0] <= t1]
    assert len(during) >= 3, slow.commits  # arrival, offer, CDR at least: all slow
    assert all(name != loop_thread for _, name in slow.commits), slow.commits
    gaps = ear.gaps(t0 - 0.5, t1)  # from before the first slow commit
    assert len(gaps) > 40  # the agent kept hearing the customer meanwhile
    # not one commit's length: the media path never waited on the database
    assert max(gaps) < SLOW_COMMIT_S - 0.01, sorted(gaps)[-5:]
    assert has_tone(agent.heard.between(t0, t1), 440.0)
    with db.session() as s:
        calls = s.scalars(select(Call).order_by(Call.offered_at)).all()
        assert [c.disposition for c in calls] == [Disposition.ANSWERED, Disposition.ABANDONED]
        assert all(c.ended_at is not None for c in calls)
