"""The Center applies one event's commands in one transaction and publishes after the commit
(both databases): a client that reads on a published event sees the rows behind it."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, func, select
from tests.web.test_occupancy import Clock, _seed

from kefu.services.center import Center
from kefu.services.live import LiveHub
from kefu.store.db import Database
from kefu.store.models import CallLeg


class Witness(LiveHub):
    """A hub that, at each publish, counts from another connection the legs of the call."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.seen: list[tuple[str, str, int]] = []

    def publish(self, topic: str, ev: dict[str, Any]) -> None:
        call_id = ev.get("call_id")
        if isinstance(call_id, str):
            out: list[int] = []

            def count() -> None:
                with self.db.session() as s:
                    n = s.scalar(select(func.count()).where(CallLeg.call_id == call_id))
                    out.append(int(n or 0))

            t = threading.Thread(target=count)
            t.start()
            t.join()
            self.seen.append((topic, str(ev.get("type")), out[0]))
        super().publish(topic, ev)


def test_one_commit_per_event_and_publishes_after_it(db: Database) -> None:
    a, _, _ = _seed(db)
    hub = Witness(db)
    center = Center(db, hub, clock=Clock())
    center.agent_login(a, ready=True)
    commits: list[int] = []  # by this thread (the state log writes on its own)
    event.listen(db.engine, "commit", lambda _conn: commits.append(threading.get_ident()))
    call_id = center.offer_call("13800138000", "4001", "service")  # rings agent a
    # the offer reaches the agent only once the ringing leg is stored
    assert (f"agent:{a}", "offer", 1) in hub.seen
    assert ("wallboard", "call_ringing", 1) in hub.seen
    commits.clear()
    center.answer(a, call_id)  # the leg answered, the call bridged: several commands
    assert commits.count(threading.get_ident()) == 1
    assert (f"agent:{a}", "connected", 1) in hub.seen
    center.state_log.close()
