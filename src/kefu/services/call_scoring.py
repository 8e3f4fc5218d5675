"""QA of a voice call that has no transcript: only what the call itself shows.

No speech recognition runs here, so a SIP call is scored from its CDR (ring, answer, holds,
who hung up) and from its stereo recording (customer left, agent right) cut into speech
spans by a simple energy VAD. The QA engine checks that conversation with the profile, and
only the rules that need no words keep their findings (`TIMING_RULES`); every other rule is
reported as not applicable, never as a breach, and the stored conversation says
`"transcribed": false` so a reviewer knows the result is partial.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from kefu.audio.wavfile import read_stereo
from kefu.qa.engine import Engine
from kefu.services.qa_review import store_result
from kefu.store.db import Database
from kefu.store.models import Agent, Call, CallHold, QaResult, Recording

log = logging.getLogger(__name__)

TIMING_RULES = frozenset(
    {"OPEN-ANSWER-SPEED", "HOLD-MAX", "CLOSE-HANGUP-ORDER", "DEAD-AIR", "LISTEN-INTERRUPT"}
)
_FRAME_S = 0.02
_MIN_SPEECH_S = 0.2
_MAX_GAP_S = 0.3


def speech_spans(
    pcm: np.ndarray[Any, Any], rate: int, floor: float = 200.0
) -> list[tuple[float, float]]:
    """(start, end) seconds where the channel's 20 ms RMS is above `floor` (gaps < 0.3 s merged)."""
    n = int(rate * _FRAME_S)
    frames = len(pcm) // n
    if frames == 0:
        return []
    x = pcm[: frames * n].astype(np.float64).reshape(frames, n)
    active = np.sqrt((x * x).mean(axis=1)) > floor
    spans: list[tuple[float, float]] = []
    start: int | None = None
    for i, on in enumerate([*active.tolist(), False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            s, e = start * _FRAME_S, i * _FRAME_S
            if spans and s - spans[-1][1] < _MAX_GAP_S:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
            start = None
    return [(s, e) for s, e in spans if e - s >= _MIN_SPEECH_S]


def _secs(at: dt.datetime, t0: dt.datetime) -> float:
    return round((_aware(at) - _aware(t0)).total_seconds(), 2)


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def conversation(session: Session, call: Call) -> dict[str, Any]:
    """The CONVERSATION-FORMAT record of a stored call: CDR events and VAD speech spans."""
    t0 = call.ringing_at or call.offered_at
    events: list[dict[str, Any]] = [{"t": 0.0, "type": "ring"}]
    if call.answered_at is not None:
        events.append({"t": _secs(call.answered_at, t0), "type": "answer"})
    for h in session.scalars(select(CallHold).where(CallHold.call_id == call.id)):
        events.append({"t": _secs(h.started_at, t0), "type": "hold_start"})
        if h.ended_at is not None:
            events.append({"t": _secs(h.ended_at, t0), "type": "hold_end"})
    if call.ended_at is not None:
        by = call.hangup_by.value if call.hangup_by is not None else "system"
        by = by if by in ("agent", "customer") else "system"
        events.append({"t": _secs(call.ended_at, t0), "type": "hangup", "by": by})
    utterances: list[dict[str, Any]] = []
    rec = session.scalars(select(Recording).where(Recording.call_id == call.id)).first()
    if rec is not None and Path(rec.path).exists() and call.answered_at is not None:
        left, right, rate = read_stereo(rec.path)
        offset = _secs(call.answered_at, t0)  # recording starts at the bridge
        for role, pcm in (("customer", left), ("agent", right)):
            for s, e in speech_spans(pcm, rate):
                utterances.append(
                    {"role": role, "start": offset + s, "end": offset + e, "text": ""}
                )
        utterances.sort(key=lambda u: (u["start"], u["role"]))
    agent = session.get(Agent, call.agent_id) if call.agent_id is not None else None
    return {
        "id": call.id,
        "channel": "voice",
        "direction": call.direction.value,
        "started_at": _aware(call.offered_at).isoformat(),
        "agent": {"id": agent.agent_no} if agent is not None else {},
        "customer": {"number": call.caller},
        "events": sorted(events, key=lambda e: float(e["t"])),
        "utterances": utterances,
        "transcribed": False,
    }


def timing_only(engine: Engine, output: dict[str, Any]) -> dict[str, Any]:
    """Keep the findings of `TIMING_RULES`; the text rules become not applicable."""
    kept = [f for f in output.get("findings", []) if f["rule"] in TIMING_RULES]
    dropped = {f["rule"] for f in output.get("findings", [])} - TIMING_RULES
    dropped |= {c["rule"] for c in output.get("credits", [])} - TIMING_RULES
    fatal = any(f["severity"] == "fatal" for f in kept)
    score = 0 if fatal else max(0, min(100, 100 + sum(int(f["points"]) for f in kept)))
    not_applicable = sorted(set(output.get("not_applicable", [])) | dropped)
    return {
        **output,
        "score": score,
        "passed": not fatal and score >= engine.rulebook.pass_score,
        "findings": kept,
        "credits": [c for c in output.get("credits", []) if c["rule"] in TIMING_RULES],
        "not_applicable": not_applicable,
        "untranscribed": True,
    }


def score_call(db: Database, call_id: str, engine: Engine | None = None) -> QaResult | None:
    """Store the timing-only QA result of an answered call (None when there is nothing to score)."""
    engine = engine or Engine.load("default")
    with db.session() as session:
        call = session.get(Call, call_id)
        if call is None or call.answered_at is None or call.agent_id is None:
            return None
        conv = conversation(session, call)
        output = engine.check(conv)
        if "error" in output:
            log.warning("call %s: cannot score: %s", call_id, output["error"])
            return None
        return store_result(
            session, timing_only(engine, output), conv, call_id=call.id, agent_id=call.agent_id
        )


class CallScorer:
    """Scores each ended call away from the switch (the line's `on_call_ended` callback).

    With a database other processes can open (a file or a server), the scoring runs in a
    process of its own (spawned, one worker, lower OS priority): it reads the CDR and the WAV
    by call id and stores its result, and never takes the switch process's interpreter lock,
    which every call's audio waits for. It scores the calls one after another and rests after
    each three times as long as the scoring took, so it takes at most a quarter of a core from
    the shared machine even when a burst of calls ends. Under a sustained peak the scores lag
    behind and catch up when the calls slow down. An in-memory database cannot be shared:
    then the scoring runs on a thread of this process, at the same duty.
    """

    def __init__(self, db: Database, profile: str = "default", duty: float = 0.25) -> None:
        self.db = db
        self.profile = profile
        self.duty = duty  # the share of time the scoring worker may be busy
        self._engine: Engine | None = None
        self._url = _shareable_url(db)
        self._pool: Executor | None = None
        self.pending: set[asyncio.Future[Any]] = set()

    def _executor(self) -> Executor:
        if self._pool is None:
            if self._url is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-qa")
            else:  # started at the first ended call, not at import or start-up
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init,
                )
        return self._pool

    def __call__(self, call_id: str) -> None:
        """Schedule the QA of `call_id` on the scoring worker."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any]
        if self._url is None:
            fut = loop.run_in_executor(self._executor(), self._score, call_id)
        else:
            fut = loop.run_in_executor(
                self._executor(), _score_by_url, self._url, self.profile, call_id, self.duty
            )
        self.pending.add(fut)
        fut.add_done_callback(self.pending.discard)

    def close(self) -> None:
        """Stop the worker after the score it is computing; the queued ones are dropped
        (under a long peak that queue holds thousands: waiting for it held `kefu serve`'s
        exit for minutes). `score_unscored` at the next start scores them."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def score_unscored(
        self, within: dt.timedelta = dt.timedelta(days=1), limit: int = 10_000
    ) -> int:
        """Schedule the recorded, answered calls that ended `within` the last day without a
        QA result (the newest `limit`): those still queued when the process stopped.
        Returns how many."""
        since = dt.datetime.now(dt.UTC) - within
        with self.db.session() as session:
            ids = session.scalars(
                select(Call.id)
                .where(
                    exists().where(Recording.call_id == Call.id),
                    ~exists().where(QaResult.call_id == Call.id),
                    Call.answered_at.is_not(None),
                    Call.agent_id.is_not(None),
                    Call.ended_at >= since,
                )
                .order_by(Call.ended_at.desc())
                .limit(limit)
            ).all()
        for call_id in reversed(ids):  # oldest first
            self(call_id)
        return len(ids)

    def _score(self, call_id: str) -> QaResult | None:
        t0 = time.monotonic()
        try:
            if self._engine is None:
                self._engine = Engine.load(self.profile)
            return score_call(self.db, call_id, self._engine)
        except Exception:  # scoring must never take the switch down
            log.exception("call %s: QA scoring failed", call_id)
            return None
        finally:
            _rest(time.monotonic() - t0, self.duty)


def _rest(busy: float, duty: float) -> None:
    time.sleep(min(busy * (1.0 - duty) / duty, 2.0))


def _shareable_url(db: Database) -> str | None:
    """The URL another process can open the same database with; None for in-memory SQLite."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


# The scoring process's own database handle and QA engine (one of each per process).
_worker_db: dict[str, Database] = {}
_worker_engine: dict[str, Engine] = {}


def _worker_init() -> None:
    with contextlib.suppress(OSError):
        os.nice(10)  # the switch's media comes first on a busy machine


def _score_by_url(url: str, profile: str, call_id: str, duty: float) -> bool:
    """In the scoring process: score `call_id`; whether a result was stored."""
    t0 = time.monotonic()
    try:
        db = _worker_db.get(url)
        if db is None:
            db = _worker_db[url] = Database.from_url(url)
        engine = _worker_engine.get(profile)
        if engine is None:
            engine = _worker_engine[profile] = Engine.load(profile)
        return score_call(db, call_id, engine) is not None
    except Exception:  # scoring must never take the worker down
        log.exception("call %s: QA scoring failed", call_id)
        return False
    finally:
        _rest(time.monotonic() - t0, duty)
