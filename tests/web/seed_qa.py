"""QA results with known findings, for the QA review tests (SV-02)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kefu.services import qa_review
from kefu.store.models import QaResult, Role, Team

from .seed_b import Seeded, add_user, local, seed_cdrs


def conversation(cid: str, agent_no: str, started: str) -> dict[str, Any]:
    """A short voice conversation in the public format."""
    return {
        "id": cid,
        "channel": "voice",
        "started_at": started,
        "agent": {"id": agent_no},
        "customer": {"number": "13800138000"},
        "utterances": [
            {"role": "agent", "start": 1.0, "end": 2.0, "text": "喂，说话。"},
            {
                "role": "customer",
                "start": 2.5,
                "end": 5.0,
                "text": "我的电话是13912345678，帮我查一下。",
            },
            {"role": "agent", "start": 5.5, "end": 8.0, "text": "这个应该是好像不行。"},
        ],
    }


def output(cid: str) -> dict[str, Any]:
    """An engine output: a major, a minor, a fatal finding and a credit; score 0 (fatal)."""
    return {
        "id": cid,
        "profile": "default",
        "score": 0,
        "passed": False,
        "findings": [
            {
                "rule": "OPEN-GREETING",
                "severity": "major",
                "points": -10,
                "utterance": 0,
                "start": 1.0,
                "span": [0, 1],
                "evidence": "喂",
                "message": "开头语不规范",
            },
            {
                "rule": "FORBID-WORDS",
                "severity": "minor",
                "points": -3,
                "utterance": 2,
                "start": 5.5,
                "span": [2, 4],
                "evidence": "应该",
                "message": "使用服务禁语",
            },
            {
                "rule": "CLOSE-HANGUP-ORDER",
                "severity": "fatal",
                "points": -100,
                "utterance": None,
                "start": None,
                "span": None,
                "evidence": "",
                "message": "坐席先挂机",
            },
        ],
        "credits": [{"rule": "NAME-USE", "points": 2, "message": "称呼客户姓氏"}],
        "not_applicable": ["LISTEN-RATE"],
    }


def clean_output(cid: str, score: int = 90) -> dict[str, Any]:
    """A passing result with one major finding."""
    return {
        "id": cid,
        "profile": "default",
        "score": score,
        "passed": True,
        "findings": [
            {
                "rule": "CLOSE-ASK-MORE",
                "severity": "major",
                "points": -10,
                "utterance": 2,
                "start": 5.5,
                "span": None,
                "evidence": "这个应该是好像不行。",
                "message": "未询问",
            },
        ],
        "not_applicable": [],
    }


def seed_qa(session: Session) -> tuple[Seeded, QaResult, QaResult, QaResult]:
    """The CDR seed plus three results: r1 (agent 1001, fatal), r2 (1001, 90), r3 (1002, 90)."""
    ids = seed_cdrs(session)
    r1 = qa_review.store_result(
        session,
        output("conv-1"),
        conversation("conv-1", "1001", "2026-10-01T09:00:00+08:00"),
        call_id="c1",
    )
    r2 = qa_review.store_result(
        session, clean_output("conv-2"), conversation("conv-2", "1001", "2026-10-02T10:00:00+08:00")
    )
    r3 = qa_review.store_result(
        session,
        clean_output("conv-3", 90),
        conversation("conv-3", "1002", "2026-10-03T23:30:00+08:00"),
    )
    return ids, r1, r2, r3


def staff(session: Session, team_id: int) -> dict[str, Any]:
    """A QA reviewer, a leader of the agents' team, a leader of another team, a supervisor."""
    other = Team(name="二组")
    session.add(other)
    session.flush()
    return {
        "qa": add_user(session, "qa1", Role.QA),
        "leader": add_user(session, "leader1", Role.TEAM_LEADER, team_id),
        "other_leader": add_user(session, "leader2", Role.TEAM_LEADER, other.id),
        "supervisor": add_user(session, "sup1", Role.SUPERVISOR),
    }


__all__ = ["clean_output", "conversation", "local", "output", "seed_qa", "staff"]
