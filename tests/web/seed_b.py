"""Seed data for the reports, QA and wallboard tests (web part B): known CDRs and QA results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kefu.store.models import (
    Agent,
    Call,
    Direction,
    Disposition,
    Queue,
    Role,
    SurveyResponse,
    Team,
    User,
)

SH = ZoneInfo("Asia/Shanghai")


def local(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> dt.datetime:
    """A time in Asia/Shanghai."""
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SH)


@dataclass(frozen=True)
class Seeded:
    """Ids of what seed_cdrs created."""

    q1: int
    q2: int
    a1: int
    a2: int
    u1: int
    u2: int
    team: int


def add_user(session: Session, username: str, role: Role, team_id: int | None = None) -> User:
    """A user with an unusable password hash (tests log in through their own fixtures)."""
    user = User(
        username=username, display_name=username, role=role, password_hash="x", team_id=team_id
    )
    session.add(user)
    session.flush()
    return user


def seed_cdrs(
    session: Session, agent_nos: tuple[str, str] = ("1001", "1002"), team: str = "一组"
) -> Seeded:
    """Two queues, two agents, five inbound calls, one outbound, four survey responses.

    Expected figures are worked out by hand in test_reports_service.py.
    """
    team_row = Team(name=team)
    session.add(team_row)
    session.flush()
    q1 = Queue(name="售前", service_level_s=20)
    q2 = Queue(name="售后", service_level_s=30)
    session.add_all([q1, q2])
    u1 = User(
        username="lina" + agent_nos[0],
        display_name="李娜",
        role=Role.AGENT,
        password_hash="x",
        team_id=team_row.id,
    )
    u2 = User(
        username="wang" + agent_nos[1],
        display_name="王强",
        role=Role.AGENT,
        password_hash="x",
        team_id=team_row.id,
    )
    session.add_all([u1, u2])
    session.flush()
    a1 = Agent(user_id=u1.id, agent_no=agent_nos[0], extension="7" + agent_nos[0])
    a2 = Agent(user_id=u2.id, agent_no=agent_nos[1], extension="7" + agent_nos[1])
    session.add_all([a1, a2])
    session.flush()

    def call(cid: str, **kw: object) -> Call:
        base: dict[str, object] = {
            "id": cid,
            "direction": Direction.INBOUND,
            "caller": "13800138000",
            "callee": "4008001000",
        }
        base.update(kw)
        c = Call(**base)
        session.add(c)
        return c

    t = local(2026, 10, 1, 9, 0, 0)
    call(
        "c1",
        queue_id=q1.id,
        agent_id=a1.id,
        offered_at=t,
        wait_seconds=10.0,
        answered_at=t + dt.timedelta(seconds=10),
        ended_at=t + dt.timedelta(seconds=310),
        held_seconds=60.0,
        disposition=Disposition.ANSWERED,
        caller_region="北京",
    )
    t = local(2026, 10, 1, 9, 30, 0)
    call(
        "c2",
        queue_id=q1.id,
        agent_id=a2.id,
        offered_at=t,
        queued_at=t + dt.timedelta(seconds=5),
        answered_at=t + dt.timedelta(seconds=30),
        ended_at=t + dt.timedelta(seconds=150),
        disposition=Disposition.ANSWERED,
        caller_region="北京",
        callee="01088886666",
    )
    t = local(2026, 10, 1, 10, 0, 0)
    call(
        "c3",
        queue_id=q1.id,
        offered_at=t,
        wait_seconds=40.0,
        ended_at=t + dt.timedelta(seconds=40),
        disposition=Disposition.ABANDONED,
        caller_region="上海",
    )
    t = local(2026, 10, 1, 23, 30, 0)
    call(
        "c4",
        queue_id=q2.id,
        agent_id=a1.id,
        offered_at=t,
        wait_seconds=30.0,
        answered_at=t + dt.timedelta(seconds=30),
        ended_at=t + dt.timedelta(seconds=230),
        held_seconds=20.0,
        disposition=Disposition.ANSWERED,
        caller_region="广东广州",
    )
    t = local(2026, 11, 1, 0, 10, 0)
    call(
        "c5",
        queue_id=q2.id,
        offered_at=t,
        wait_seconds=12.0,
        ended_at=t + dt.timedelta(seconds=12),
        disposition=Disposition.ABANDONED,
    )
    t = local(2026, 10, 2, 11, 0, 0)
    call(
        "c6",
        direction=Direction.OUTBOUND,
        agent_id=a2.id,
        offered_at=t,
        answered_at=t,
        ended_at=t + dt.timedelta(seconds=60),
        disposition=Disposition.ANSWERED,
    )
    t = local(2026, 12, 1, 9, 0, 0)
    call("c7", queue_id=q1.id, offered_at=t, disposition=Disposition.ABANDONED)
    session.flush()
    session.add_all(
        [
            SurveyResponse(
                call_id="c1", agent_id=a1.id, score=5, answered_at=local(2026, 10, 1, 9, 6)
            ),
            SurveyResponse(
                call_id="c2", agent_id=a2.id, score=3, answered_at=local(2026, 10, 1, 9, 33)
            ),
            SurveyResponse(
                call_id="c4", agent_id=a1.id, score=4, answered_at=local(2026, 10, 1, 23, 34)
            ),
            SurveyResponse(
                call_id="c7", agent_id=a1.id, score=1, answered_at=local(2026, 12, 1, 9, 5)
            ),
        ]
    )
    session.flush()
    return Seeded(q1.id, q2.id, a1.id, a2.id, u1.id, u2.id, team_row.id)
