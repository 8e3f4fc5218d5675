"""The center's ordered worker thread: database work and core timers off the event loop.

The SIP switch relays media on the event loop every 20 ms, so nothing on the loop may wait
on a database commit or a file write. Everything the SIP line asks of the center (events,
CDR rows, look-ups) and the core's own timers run here instead, one job at a time in the
order submitted (a call's arrival is stored before it is offered, its CDR is finished after
its recording is closed). Results go back to the loop through the returned futures.

Before `start` (and after `stop`) a job runs at once in the caller's thread, so a `Center`
without a running thread (scripts, unit tests) behaves as before.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)

Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


def _noop() -> None:
    return None


class CoreThread:
    """One worker thread running submitted jobs in order, and timers when they fall due.

    `deadline()` gives the next timer due (epoch seconds, or None) and `fire()` runs the due
    ones; both are called on this thread only.
    """

    def __init__(
        self,
        deadline: Callable[[], float | None] | None = None,
        fire: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        name: str = "kefu-core",
    ) -> None:
        self._deadline = deadline
        self._fire = fire
        self._clock = clock
        self._name = name
        self._q: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether jobs go to the thread (else they run inline)."""
        return self._thread is not None

    def on_thread(self) -> bool:
        """Whether the caller is the worker thread itself."""
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Run what is queued, then stop; later jobs run inline."""
        t = self._thread
        if t is None:
            return
        self._q.put(None)
        t.join(timeout)
        self._thread = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue `fn(*args)`; its future is done when it ran (inline when not started)."""
        fut: Future[Any] = Future()
        if self._thread is None or self.on_thread():
            _run(fut, fn, args)
        else:
            self._q.put((fut, fn, args))
        return fut

    def wake(self) -> None:
        """A timer may have moved: recompute the next deadline."""
        if self._thread is not None and not self.on_thread():
            self._q.put((Future(), _noop, ()))

    def _timeout(self) -> float | None:
        if self._deadline is None:
            return None
        try:
            due = self._deadline()
        except Exception:
            log.exception("core thread: next deadline failed")
            return 1.0
        return None if due is None else max(0.0, due - self._clock())

    def _main(self) -> None:
        while True:
            timeout = self._timeout()
            if timeout == 0.0 and self._fire is not None:
                self._run_timers()
                continue
            try:
                job = self._q.get(timeout=timeout)
            except queue.Empty:
                continue  # the deadline passed: fired at the top
            if job is None:
                return
            _run(*job)

    def _run_timers(self) -> None:
        assert self._fire is not None
        try:
            self._fire()
        except Exception:
            log.exception("core thread: timers failed")
            time.sleep(0.05)  # do not spin on a timer that keeps failing


def _run(fut: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    if not fut.set_running_or_notify_cancel():
        return
    try:
        fut.set_result(fn(*args))
    except BaseException as exc:  # handed to whoever waits on the future
        fut.set_exception(exc)
