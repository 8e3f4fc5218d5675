"""Seed data for the recordings tests (CC-04): calls with real stereo WAVs, teams, QA, tickets.

`NOW` is the reference time: recent calls are 1-3 days before it, old ones 100-170 days.
Expected results are worked out by hand in the tests from this table.
"""

from __future__ import annotations

import datetime as dt
import wave
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.store.models import (
    Agent,
    AppealStatus,
    Call,
    Direction,
    Disposition,
    QaAppeal,
    QaFinding,
    QaResult,
    Queue,
    Recording,
    Role,
    Team,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 10, 10, 10, 0, tzinfo=SH)
SERVICE = "4008001000"


@dataclass(frozen=True)
class Seeded:
    """Ids of what `seed` created."""

    team_a: int
    team_b: int
    agent1: int  # in team A
    agent2: int  # in team B
    q_pre: int
    q_post: int
    rec: dict[str, int]  # call id -> recording id
    data_dir: Path


def write_wav(path: Path, seconds: float = 0.5, rate: int = 8000) -> None:
    """A real stereo 16-bit WAV: a 440 Hz tone left (customer), 660 Hz right (agent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    left = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    right = (8000 * np.sin(2 * np.pi * 660 * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.column_stack([left, right]).tobytes())


def _agent(session: Session, agent_no: str, team_id: int) -> Agent:
    found = session.scalar(select(Agent).where(Agent.agent_no == agent_no))
    if found is None:
        user = User(
            username=f"rec{agent_no}",
            display_name=f"坐席{agent_no}",
            role=Role.AGENT,
            password_hash="x",
        )
        session.add(user)
        session.flush()
        found = Agent(user_id=user.id, agent_no=agent_no, extension=f"7{agent_no}")
        session.add(found)
        session.flush()
    found.user.team_id = team_id
    return found


def _complaint_type(session: Session) -> TicketType:
    found = session.scalar(select(TicketType).where(TicketType.code == "complaint"))
    if found is None:
        found = TicketType(code="complaint", name="投诉")
        session.add(found)
        session.flush()
    return found


def seed(
    session: Session,
    data_dir: Path,
    agent_nos: tuple[str, str] = ("3001", "3002"),
    wav_seconds: float = 0.5,
) -> Seeded:
    """Ten recorded calls; see the table in the body."""
    team_a, team_b = Team(name="录音A组"), Team(name="录音B组")
    session.add_all([team_a, team_b])
    session.flush()
    a1 = _agent(session, agent_nos[0], team_a.id)
    a2 = _agent(session, agent_nos[1], team_b.id)
    q_pre, q_post = Queue(name="录音售前"), Queue(name="录音售后")
    session.add_all([q_pre, q_post])
    session.flush()
    complaint = _complaint_type(session)

    # call id, days ago, direction, caller, callee, agent, queue, disposition, duration
    table = [
        ("r-in-1", 1, "in", "13800138001", SERVICE, a1, q_pre, "answered", 30.0),
        ("r-in-2", 2, "in", "13900139002", SERVICE, a2, q_post, "answered", 120.0),
        ("r-out-3", 3, "out", SERVICE, "13700137003", a1, None, "answered", 60.0),
        ("r-old-4", 100, "in", "13800138004", SERVICE, a2, q_pre, "answered", 10.0),
        ("r-old-5", 120, "in", "13800138005", SERVICE, a1, q_pre, "answered", 11.0),
        ("r-old-6", 130, "in", "13800138006", SERVICE, a1, q_pre, "answered", 12.0),
        ("r-old-7", 140, "in", "13800138007", SERVICE, a2, q_post, "answered", 13.0),
        ("r-old-8", 150, "in", "13800138008", SERVICE, a2, q_post, "answered", 14.0),
        ("r-old-9", 160, "in", "13800138009", SERVICE, a1, q_pre, "answered", 15.0),
        ("r-old-10", 170, "in", "13800138010", SERVICE, a1, q_pre, "abandoned", 16.0),
    ]
    rec_ids: dict[str, int] = {}
    for cid, days, direction, caller, callee, agent, queue, disp, seconds in table:
        at = NOW - dt.timedelta(days=days)
        session.add(
            Call(
                id=cid,
                direction=Direction.INBOUND if direction == "in" else Direction.OUTBOUND,
                caller=caller,
                callee=callee,
                agent_id=agent.id,
                queue_id=queue.id if queue else None,
                offered_at=at,
                answered_at=at + dt.timedelta(seconds=5),
                ended_at=at + dt.timedelta(seconds=5 + seconds),
                disposition=Disposition(disp),
            )
        )
        session.flush()
        rel = Path("recordings") / f"{cid}.wav"
        if cid != "r-old-10":  # its file is already gone
            write_wav(data_dir / rel, wav_seconds)
        rec = Recording(
            call_id=cid,
            # relative to the data dir, as the switch's are after a move; r-in-1 absolute
            path=str(data_dir / rel) if cid == "r-in-1" else str(rel),
            duration_s=seconds,
            created_at=at + dt.timedelta(seconds=5 + seconds),
            legal_hold=cid == "r-old-6",
            hold_reason="诉讼保全" if cid == "r-old-6" else "",
            retain_until=NOW + dt.timedelta(days=30) if cid == "r-old-8" else None,
        )
        session.add(rec)
        session.flush()
        rec_ids[cid] = rec.id

    # r-in-2: a QA finding that counts; r-in-1: only a credit (not a finding)
    for cid, severity in (("r-in-2", "major"), ("r-in-1", "credit")):
        result = QaResult(
            conversation_id=cid,
            call_id=cid,
            channel="voice",
            profile="default",
            score=90,
            original_score=90,
            passed=True,
        )
        session.add(result)
        session.flush()
        session.add(
            QaFinding(
                result_id=result.id,
                rule="R1",
                severity=severity,
                points=-10 if severity != "credit" else 5,
            )
        )
    # r-old-7: a finding under a pending appeal
    result = QaResult(
        conversation_id="r-old-7",
        call_id="r-old-7",
        channel="voice",
        profile="default",
        score=80,
        original_score=80,
        passed=True,
    )
    session.add(result)
    session.flush()
    finding = QaFinding(result_id=result.id, rule="R2", severity="major", points=-20)
    session.add(finding)
    session.flush()
    session.add(QaAppeal(finding_id=finding.id, reason="客户先挂机", status=AppealStatus.PENDING))
    # r-old-5: an open complaint (kept); r-old-9: a resolved one (purged)
    session.add(
        Ticket(type_id=complaint.id, call_id="r-old-5", title="投诉", status=TicketStatus.OPEN)
    )
    session.add(
        Ticket(type_id=complaint.id, call_id="r-old-9", title="投诉", status=TicketStatus.RESOLVED)
    )
    session.flush()
    return Seeded(team_a.id, team_b.id, a1.id, a2.id, q_pre.id, q_post.id, rec_ids, data_dir)


def shift_to_now(session: Session) -> None:
    """Move the recordings in time so that NOW is the real now (for code that reads the clock)."""
    shift = dt.datetime.now(dt.UTC) - NOW
    for rec in session.scalars(select(Recording)):
        rec.created_at += shift
        if rec.retain_until is not None:
            rec.retain_until += shift
