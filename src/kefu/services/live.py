"""An in-process pub/sub hub: the center publishes live events, WebSockets subscribe.

Topics are strings: `agent:<agent id>` (screen pop, state, call controls), `wallboard`
(every agent state, queue change and call-progress change), `chat:<chat id>`,
`chat-agents`. A subscriber gets an asyncio.Queue; a slow subscriber loses its oldest
events rather than stalling the publisher. `publish` may be called from any thread: it
hops onto the hub's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

QUEUE_SIZE = 256


class LiveHub:
    """Topic-based fan-out of JSON-able dicts to asyncio queues."""

    def __init__(self) -> None:
        # topic -> {queue: the loop that owns it}
        self._subs: dict[str, dict[asyncio.Queue[dict[str, Any]], asyncio.AbstractEventLoop]] = {}
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Kept for the app's start-up; every subscriber remembers its own loop."""

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Send `event` to every subscriber of `topic` (thread-safe, never blocks)."""
        with self._lock:
            subs = list(self._subs.get(topic, {}).items())
        if not subs:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # One wake-up per foreign loop, not one per subscriber: each call_soon_threadsafe
        # writes to the loop's self-pipe, and a board topic can have hundreds of queues.
        foreign: dict[asyncio.AbstractEventLoop, list[asyncio.Queue[dict[str, Any]]]] = {}
        for queue, loop in subs:
            if loop is running:
                self._deliver(queue, event)
            elif not loop.is_closed():
                foreign.setdefault(loop, []).append(queue)
        for loop, queues in foreign.items():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._deliver_all, queues, event)

    @classmethod
    def _deliver_all(
        cls, queues: list[asyncio.Queue[dict[str, Any]]], event: dict[str, Any]
    ) -> None:
        for queue in queues:
            cls._deliver(queue, event)

    @staticmethod
    def _deliver(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
        if queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        queue.put_nowait(event)

    def subscribers(self, topic: str) -> int:
        """How many subscribers `topic` has."""
        with self._lock:
            return len(self._subs.get(topic, {}))

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """Subscribe to `topics` for the duration of the block."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            for t in topics:
                self._subs.setdefault(t, {})[queue] = loop
        try:
            yield queue
        finally:
            with self._lock:
                for t in topics:
                    subs = self._subs.get(t)
                    if subs is not None:
                        subs.pop(queue, None)
                        if not subs:
                            del self._subs[t]
