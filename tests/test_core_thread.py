"""The center's core thread: jobs in order off the caller's thread, timers when due, and the
recorder's file writes handed to it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kefu.audio.g711 import PCMU, ulaw_encode
from kefu.audio.recorder import LEFT, RIGHT, StereoRecorder
from kefu.audio.tones import has_tone, sine
from kefu.audio.wavfile import read_stereo
from kefu.services.core_thread import CoreThread


def test_jobs_run_in_order_on_the_thread_and_errors_reach_the_future() -> None:
    worker = CoreThread(name="kefu-core-test")
    worker.start()
    try:
        seen: list[tuple[int, str]] = []

        def job(i: int) -> int:
            time.sleep(0.001 if i % 2 else 0.0)
            seen.append((i, threading.current_thread().name))
            return i * 2

        futs = [worker.submit(job, i) for i in range(50)]
        assert [f.result(5) for f in futs] == [i * 2 for i in range(50)]
        assert [i for i, _ in seen] == list(range(50))
        assert {name for _, name in seen} == {"kefu-core-test"}
        bad = worker.submit(int, "x")
        assert isinstance(bad.exception(5), ValueError)
    finally:
        worker.stop()
    # stopped: jobs run at once in the caller's thread
    assert worker.submit(threading.current_thread).result(0) is threading.current_thread()


def test_timers_fire_when_due_and_a_wake_moves_the_deadline() -> None:
    due: list[float] = []
    fired: list[float] = []
    lock = threading.Lock()

    def deadline() -> float | None:
        with lock:
            return due[0] if due else None

    def fire() -> None:
        with lock:
            fired.append(time.time())
            due.pop(0)

    worker = CoreThread(deadline, fire)
    worker.start()
    try:
        time.sleep(0.05)  # waiting with no deadline at all
        with lock:
            due.append(time.time() + 0.2)
        worker.wake()
        t0 = time.time()
        while not fired and time.time() - t0 < 5:
            time.sleep(0.01)
        assert fired and fired[0] >= t0 + 0.15  # not before it was due
    finally:
        worker.stop()


def test_recorder_writes_through_the_writer_in_order(tmp_path: Path) -> None:
    jobs: list[object] = []
    rec = StereoRecorder(tmp_path / "r.wav", 0.0, writer=jobs.append)
    assert not (tmp_path / "r.wav").exists()  # nothing touched the disk on the caller
    left, right = sine(440.0, 2.0), sine(1000.0, 2.0)
    for i in range(100):
        now = i * 0.02
        rec.add(LEFT, PCMU, ulaw_encode(left[i * 160 : (i + 1) * 160]), now)
        rec.add(RIGHT, PCMU, ulaw_encode(right[i * 160 : (i + 1) * 160]), now)
    rec.close(2.0)
    assert len(jobs) >= 3  # open, writes, close
    for job in jobs:
        job()  # type: ignore[operator]
    l_pcm, r_pcm, rate = read_stereo(tmp_path / "r.wav")
    assert rate == 8000 and len(l_pcm) >= 15000
    assert has_tone(l_pcm, 440.0) and has_tone(r_pcm, 1000.0)
