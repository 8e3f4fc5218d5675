"""The live hub: fan-out to every subscriber, from the loop's thread and from others."""

from __future__ import annotations

import asyncio
import threading

from kefu.services.live import LiveHub


def test_publish_from_a_worker_thread_reaches_every_subscriber_once() -> None:
    hub = LiveHub()

    async def main() -> list[list[dict[str, int]]]:
        async with (
            hub.subscribe("wallboard") as a,
            hub.subscribe("wallboard", "agent") as b,
            hub.subscribe("agent") as other,
        ):
            worker = threading.Thread(
                target=lambda: [hub.publish("wallboard", {"n": n}) for n in range(3)]
            )
            worker.start()
            await asyncio.to_thread(worker.join)
            got = []
            for q in (a, b):
                got.append([await asyncio.wait_for(q.get(), 5) for _ in range(3)])
            assert other.empty() and a.empty() and b.empty()
            hub.publish("wallboard", {"n": 9})  # on the loop's own thread: at once
            assert a.get_nowait() == {"n": 9} and b.get_nowait() == {"n": 9}
            return got

    got = asyncio.run(main())
    assert got == [[{"n": 0}, {"n": 1}, {"n": 2}]] * 2
    assert hub.subscribers("wallboard") == 0


def test_publishing_to_a_closed_loop_is_harmless() -> None:
    hub = LiveHub()
    loop = asyncio.new_event_loop()
    queue: asyncio.Queue[dict[str, int]] = asyncio.Queue()
    hub._subs["t"] = {queue: loop}  # a subscriber whose loop has gone away
    loop.close()
    hub.publish("t", {"n": 1})
    assert queue.empty()
