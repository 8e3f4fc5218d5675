"""The QA scorer's backlog after a restart: the recorded, answered calls of the last day that
have no QA result are scheduled again (closing the scorer drops its queue, so a stop during
a peak must not lose them); others are not: scored, unrecorded (virtual/demo), unanswered,
old."""

from __future__ import annotations

import datetime as dt

import pytest

from kefu.services.call_scoring import CallScorer
from kefu.store.db import Database
from kefu.store.models import Agent, Call, Direction, QaResult, Recording, Role, User


class Recorder(CallScorer):
    """Records what it would score (the scoring itself is tested in test_sip_line)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.scheduled: list[str] = []

    def __call__(self, call_id: str) -> None:
        self.scheduled.append(call_id)


@pytest.fixture
def seeded(db: Database) -> Database:
    now = dt.datetime.now(dt.UTC)
    with db.session() as s:
        user = User(username="a1", display_name="坐席一", role=Role.AGENT, password_hash="x")
        s.add(user)
        s.flush()
        agent = Agent(user_id=user.id, agent_no="1001", extension="8001")
        s.add(agent)
        s.flush()

        def call(cid: str, ended_ago_h: float, answered: bool = True, rec: bool = True) -> None:
            end = now - dt.timedelta(hours=ended_ago_h)
            s.add(
                Call(
                    id=cid, direction=Direction.INBOUND, caller="13800000000", callee="4001",
                    offered_at=end - dt.timedelta(minutes=2),
                    answered_at=end - dt.timedelta(minutes=1) if answered else None,
                    ended_at=end, agent_id=agent.id if answered else None,
                )
            )  # fmt: skip
            s.flush()
            if rec:
                s.add(Recording(call_id=cid, path=f"/r/{cid}.wav", duration_s=60, created_at=end))

        call("older-backlog", 3)
        call("newer-backlog", 1)
        call("scored", 2)
        call("virtual", 2, rec=False)
        call("abandoned", 2, answered=False)
        call("last-week", 24 * 7)
        s.flush()
        s.add(
            QaResult(
                conversation_id="scored", call_id="scored", channel="voice", profile="default",
                score=90, original_score=90, passed=True,
            )
        )  # fmt: skip
    return db


def test_restart_schedules_the_unscored_recorded_calls_of_the_last_day(seeded: Database) -> None:
    scorer = Recorder(seeded)
    assert scorer.score_unscored() == 2
    assert scorer.scheduled == ["older-backlog", "newer-backlog"]  # oldest first
    again = Recorder(seeded)
    assert again.score_unscored(within=dt.timedelta(days=30)) == 3  # a wider window
    assert "last-week" in again.scheduled
