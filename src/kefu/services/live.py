"""An in-process pub/sub hub: the center publishes live events, WebSockets subscribe.

Topics are strings: `agent:<agent id>` (screen pop, state, call controls), `wallboard`
(every agent state and queue change), `chat:<chat id>`, `chat-agents`. A subscriber gets
an asyncio.Queue; a slow subscriber loses its oldest events rather than stalling the
publisher. `publish` may be called from any thread: it hops onto the hub's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

QUEUE_SIZE = 256


class LiveHub:
    """Topic-based fan-out of JSON-able dicts to asyncio queues."""

    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the event loop that owns the subscribers' queues."""
        self._loop = loop

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Send `event` to every subscriber of `topic` (thread-safe, never blocks)."""
        with self._lock:
            queues = list(self._subs.get(topic, ()))
        if not queues:
            return
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(self._deliver, queues, event)
        else:
            self._deliver(queues, event)

    @staticmethod
    def _deliver(queues: Iterable[asyncio.Queue[dict[str, Any]]], event: dict[str, Any]) -> None:
        for q in queues:
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(event)

    def subscribers(self, topic: str) -> int:
        """How many subscribers `topic` has."""
        with self._lock:
            return len(self._subs.get(topic, ()))

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """Subscribe to `topics` for the duration of the block."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            for t in topics:
                self._subs.setdefault(t, set()).add(queue)
        try:
            yield queue
        finally:
            with self._lock:
                for t in topics:
                    subs = self._subs.get(t)
                    if subs is not None:
                        subs.discard(queue)
                        if not subs:
                            del self._subs[t]
