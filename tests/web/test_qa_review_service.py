"""QA review service (SV-02): scoring, review (复核), appeal (申诉), lists, detail, scorecards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kefu.services import qa_review
from kefu.services.qa_review import QaReviewError, ResultFilter
from kefu.store.db import Database
from kefu.store.models import (
    AppealStatus,
    AuditEntry,
    FindingStatus,
    QaReview,
    ReviewDecision,
    User,
)

from .seed_qa import local, seed_qa, staff


def test_store_keeps_engine_score_and_credits(db: Database) -> None:
    with db.session() as s:
        _, r1, _, _ = seed_qa(s)
        assert (r1.score, r1.original_score, r1.passed) == (0, 0, False)
        assert r1.agent_ref == "1001" and r1.agent_id is not None
        assert [f.rule for f in r1.findings] == [
            "OPEN-GREETING",
            "FORBID-WORDS",
            "CLOSE-HANGUP-ORDER",
            "NAME-USE",
        ]
        credit = r1.findings[3]
        assert (credit.severity, credit.points) == ("credit", 2)
        assert qa_review.compute_score(r1.findings) == (0, False)
        assert r1.started_at == local(2026, 10, 1, 9)


def test_review_overturn_fatal_restores_score_and_keeps_history(db: Database) -> None:
    with db.session() as s:
        ids, r1, _, _ = seed_qa(s)
        people = staff(s, ids.team)
        fatal, major, minor = r1.findings[2], r1.findings[0], r1.findings[1]
        rv = qa_review.review(s, fatal.id, people["qa"], ReviewDecision.OVERTURN, "客户先挂机")
        # 100 - 10 - 3 + 2 once the fatal finding stops counting
        assert (rv.score_before, rv.score_after) == (0, 89)
        assert (r1.score, r1.passed, r1.original_score) == (89, True, 0)
        rv2 = qa_review.review(s, major.id, people["qa"], ReviewDecision.OVERTURN)
        assert (rv2.score_before, rv2.score_after, r1.score) == (89, 99, 99)
        rv3 = qa_review.review(s, minor.id, people["qa"], ReviewDecision.CONFIRM)
        assert (rv3.score_before, rv3.score_after) == (99, 99)
        assert minor.status is FindingStatus.CONFIRMED
        # Overturning the last deduction clamps at 100 (the credit cannot lift it above).
        qa_review.review(s, minor.id, people["qa"], ReviewDecision.OVERTURN)
        assert r1.score == 100
        reviews = s.scalars(select(QaReview).order_by(QaReview.id)).all()
        assert [(r.score_before, r.score_after) for r in reviews] == [
            (0, 89),
            (89, 99),
            (99, 99),
            (99, 100),
        ]
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "qa.review")).all()
        assert len(audit) == 4
        assert audit[0].detail["score_after"] == 89 and audit[0].actor_name == "qa1"
        with pytest.raises(QaReviewError) as err:
            qa_review.review(s, 999_999, people["qa"], ReviewDecision.CONFIRM)
        assert err.value.kind == "not-found"


def test_appeal_upheld_by_own_team_leader(db: Database) -> None:
    with db.session() as s:
        ids, _r1, r2, _ = seed_qa(s)
        people = staff(s, ids.team)
        agent1 = s.get(User, ids.u1)
        agent2 = s.get(User, ids.u2)
        major = r2.findings[0]
        with pytest.raises(QaReviewError) as err:
            qa_review.appeal(s, major.id, agent2, "不是我的通话")
        assert err.value.kind == "forbidden"
        with pytest.raises(QaReviewError) as err:
            qa_review.appeal(s, major.id, agent1, "  ")
        assert err.value.kind == "invalid"
        ap = qa_review.appeal(s, major.id, agent1, "我询问过客户")
        assert ap.status is AppealStatus.PENDING
        with pytest.raises(QaReviewError) as err:
            qa_review.appeal(s, major.id, agent1, "再次申诉")
        assert err.value.kind == "conflict"
        assert [a.id for a, _ in qa_review.pending_appeals(s, people["leader"])] == [ap.id]
        assert qa_review.pending_appeals(s, people["other_leader"]) == []
        assert qa_review.pending_appeals(s, agent1) == []
        with pytest.raises(QaReviewError) as err:
            qa_review.decide_appeal(s, ap.id, people["other_leader"], True)
        assert err.value.kind == "forbidden"
        with pytest.raises(QaReviewError) as err:
            qa_review.decide_appeal(s, ap.id, agent1, True)
        assert err.value.kind == "forbidden"
        qa_review.decide_appeal(s, ap.id, people["leader"], True, "属实")
        assert ap.status is AppealStatus.UPHELD and ap.decided_by == people["leader"].id
        assert major.status is FindingStatus.OVERTURNED
        assert (r2.score, r2.original_score, r2.passed) == (100, 90, True)
        with pytest.raises(QaReviewError) as err:
            qa_review.decide_appeal(s, ap.id, people["leader"], False)
        assert err.value.kind == "conflict"
        with pytest.raises(QaReviewError) as err:
            qa_review.appeal(s, major.id, agent1, "已推翻")
        assert err.value.kind == "conflict"
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions.count("qa.appeal") == 1 and actions.count("qa.appeal_decide") == 1
        decided = s.scalar(select(AuditEntry).where(AuditEntry.action == "qa.appeal_decide"))
        assert decided is not None
        assert (decided.detail["score_before"], decided.detail["score_after"]) == (90, 100)


def test_appeal_rejected_by_supervisor_keeps_score(db: Database) -> None:
    with db.session() as s:
        ids, r1, _, _ = seed_qa(s)
        people = staff(s, ids.team)
        agent1 = s.get(User, ids.u1)
        ap = qa_review.appeal(s, r1.findings[0].id, agent1, "理由")
        qa_review.decide_appeal(s, ap.id, people["supervisor"], False, "维持")
        assert ap.status is AppealStatus.REJECTED
        assert r1.findings[0].status is FindingStatus.OPEN
        assert r1.score == 0


def test_list_filters(db: Database) -> None:
    with db.session() as s:
        ids, r1, r2, r3 = seed_qa(s)
        rows, total = qa_review.list_results(s, ResultFilter())
        assert total == 3
        assert [r.id for r in rows] == [r3.id, r2.id, r1.id]  # newest first
        assert rows[2].customer == "138****8000"
        assert rows[2].agent == "1001 李娜" and rows[2].team == "一组"
        assert rows[2].findings == 3  # the credit is not a finding against the agent

        def ids_of(**kw: object) -> list[int]:
            return [r.id for r in qa_review.list_results(s, ResultFilter(**kw))[0]]

        assert ids_of(agent_id=ids.a2) == [r3.id]
        assert ids_of(team_id=ids.team) == [r3.id, r2.id, r1.id]
        assert ids_of(team_id=ids.team + 1000) == []
        assert ids_of(start=local(2026, 10, 2, 0), end=local(2026, 10, 3, 0)) == [r2.id]
        assert ids_of(score_min=50) == [r3.id, r2.id]
        assert ids_of(score_max=10) == [r1.id]
        assert ids_of(rule="FORBID-WORDS") == [r1.id]
        assert ids_of(passed=False) == [r1.id]
        page, total = qa_review.list_results(s, ResultFilter(), limit=1, offset=1)
        assert total == 3 and [r.id for r in page] == [r2.id]
        full, _ = qa_review.list_results(s, ResultFilter(agent_id=ids.a2), mask=False)
        assert full[0].customer == "13800138000"


def test_detail_splits_findings_and_masks(db: Database) -> None:
    with db.session() as s:
        _, r1, _, _ = seed_qa(s)
        d = qa_review.detail(s, r1.id)
        assert d.customer == "138****8000"
        first = d.utterances[0]
        assert [(seg.text, seg.findings) for seg in first.segments] == [
            ("喂", (r1.findings[0].id,)),
            ("，说话。", ()),
        ]
        third = d.utterances[2]
        assert [seg.text for seg in third.segments] == ["这个", "应该", "是好像不行。"]
        assert third.segments[1].findings == (r1.findings[1].id,)
        assert "139****5678" in d.utterances[1].segments[0].text
        assert "13912345678" not in d.utterances[1].segments[0].text
        assert d.recording is None
        with pytest.raises(QaReviewError):
            qa_review.recording_of(s, r1.id)
        plain = qa_review.detail(s, r1.id, mask=False)
        assert "13912345678" in plain.utterances[1].segments[0].text
        with pytest.raises(QaReviewError):
            qa_review.detail(s, 424242)


def test_split_segments_overlapping_spans() -> None:
    segs = qa_review.split_segments("abcdef", [(1, 4, 7), (2, 6, 8)])
    assert [(x.text, x.findings) for x in segs] == [
        ("a", ()),
        ("b", (7,)),
        ("cd", (7, 8)),
        ("ef", (8,)),
    ]


def test_scorecards_and_trend(db: Database) -> None:
    start, end = local(2026, 10, 1, 0), local(2026, 10, 4, 0)
    with db.session() as s:
        ids, _r1, _r2, _r3 = seed_qa(s)
        cards = {c.key: c for c in qa_review.scorecards(s, "agent", start, end)}
        c1 = cards[str(ids.a1)]
        assert (c1.conversations, c1.average, c1.passed, c1.pass_rate) == (2, 45.0, 1, 0.5)
        assert c1.top_rules() == [
            ("CLOSE-ASK-MORE", 1),
            ("CLOSE-HANGUP-ORDER", 1),
            ("FORBID-WORDS", 1),
        ]
        assert (cards[str(ids.a2)].average, cards[str(ids.a2)].label) == (90.0, "1002 王强")
        (team,) = qa_review.scorecards(s, "team", start, end)
        assert (team.label, team.conversations, team.average) == ("一组", 3, 60.0)
        assert team.as_dict()["top_rules"][0] == {"rule": "CLOSE-ASK-MORE", "count": 2}
        with pytest.raises(QaReviewError):
            qa_review.scorecards(s, "queue", start, end)
        points = qa_review.trend(s, start, end)
        assert [(p.day, p.conversations, p.average) for p in points] == [
            ("2026-10-01", 1, 0.0),
            ("2026-10-02", 1, 90.0),
            ("2026-10-03", 1, 90.0),
        ]
        assert qa_review.trend(s, start, end, agent_id=ids.a2)[2].pass_rate == 1.0
        assert qa_review.trend(s, start, end, agent_id=ids.a2)[0].average is None
