"""QA review endpoints (SV-02): roles, masking, review, appeal, recording with Range, pages."""

from __future__ import annotations

import wave
from pathlib import Path

from sqlalchemy import select

from kefu.services import qa_review
from kefu.store.db import Database
from kefu.store.models import Agent, AuditEntry, Recording, Team, User

from .seed_b import local, seed_cdrs
from .seed_qa import clean_output, conversation, output


def _seed(db: Database, tmp_path: Path) -> dict[str, int]:
    """Results: mine (agent1 of the fixture, fatal), other (agent 3002), with a recording."""
    with db.session() as s:
        ids = seed_cdrs(s, agent_nos=("3001", "3002"))
        agent1 = s.scalar(select(Agent).where(Agent.agent_no == "1001"))
        assert agent1 is not None
        team = Team(name="三组")
        s.add(team)
        s.flush()
        agent1.user.team_id = team.id
        leader = s.scalar(select(User).where(User.username == "leader1"))
        assert leader is not None
        leader.team_id = team.id
        mine = qa_review.store_result(
            s,
            output("conv-1"),
            conversation("conv-1", "1001", "2026-10-01T09:00:00+08:00"),
            call_id="c1",
        )
        other = qa_review.store_result(
            s, clean_output("conv-2"), conversation("conv-2", "3002", "2026-10-02T10:00:00+08:00")
        )
        wav = tmp_path / "c1.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\x01\x02" * 2 * 8000)
        s.add(
            Recording(call_id="c1", path=str(wav), duration_s=1.0, created_at=local(2026, 10, 1, 9))
        )
        return {
            "mine": mine.id,
            "other": other.id,
            "fatal": mine.findings[2].id,
            "major": mine.findings[0].id,
            "other_finding": other.findings[0].id,
            "a2": ids.a2,
        }


def test_logged_out_and_wrong_roles(anon, client_for, web_db: Database, tmp_path: Path) -> None:
    ids = _seed(web_db, tmp_path)
    for path in (
        "/api/qa/results",
        f"/api/qa/results/{ids['mine']}",
        "/api/qa/scorecards",
        "/api/qa/trend",
        "/api/qa/appeals",
        f"/api/qa/results/{ids['mine']}/recording",
    ):
        assert anon.get(path).status_code == 401, path
    assert anon.post(
        f"/api/qa/findings/{ids['major']}/review", json={"decision": "confirm"}
    ).status_code in (401, 403)
    assert anon.get("/qa").status_code == 303
    agent = client_for("agent")
    assert (
        agent.post(
            f"/api/qa/findings/{ids['major']}/review", json={"decision": "overturn"}
        ).status_code
        == 403
    )
    assert agent.get("/api/qa/scorecards").status_code == 403
    assert agent.get("/api/qa/appeals").status_code == 403
    assert agent.post("/api/qa/appeals/1/decision", json={"upheld": True}).status_code == 403
    qa = client_for("qa")
    assert (
        qa.post(f"/api/qa/findings/{ids['major']}/appeal", json={"reason": "x"}).status_code == 403
    )
    assert qa.post("/api/qa/appeals/1/decision", json={"upheld": True}).status_code == 403
    leader = client_for("team_leader")
    assert (
        leader.post(
            f"/api/qa/findings/{ids['major']}/review", json={"decision": "confirm"}
        ).status_code
        == 403
    )


def test_qa_reviews_and_score_recomputes(client_for, web_db: Database, tmp_path: Path) -> None:
    ids = _seed(web_db, tmp_path)
    qa = client_for("qa")
    listing = qa.get("/api/qa/results").json()
    assert listing["total"] == 2
    assert {r["customer"] for r in listing["rows"]} == {"138****8000"}
    assert [r["id"] for r in qa.get("/api/qa/results?rule=FORBID-WORDS").json()["rows"]] == [
        ids["mine"]
    ]
    assert [r["id"] for r in qa.get("/api/qa/results?score_min=50").json()["rows"]] == [
        ids["other"]
    ]
    assert qa.get(f"/api/qa/results?agent_id={ids['a2']}").json()["total"] == 1
    assert qa.get("/api/qa/results?start=2026-10-02&end=2026-10-02").json()["total"] == 1
    detail = qa.get(f"/api/qa/results/{ids['mine']}").json()
    assert detail["score"] == 0 and detail["has_recording"] is True
    assert "139****5678" in detail["utterances"][1]["segments"][0]["text"]
    assert detail["utterances"][0]["segments"][0] == {"text": "喂", "findings": [ids["major"]]}
    res = qa.post(
        f"/api/qa/findings/{ids['fatal']}/review",
        json={"decision": "overturn", "comment": "客户先挂"},
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["review"]["score_before"], body["review"]["score_after"], body["score"]) == (
        0,
        89,
        89,
    )
    assert body["original_score"] == 0
    again = qa.get(f"/api/qa/results/{ids['mine']}").json()
    assert again["score"] == 89 and again["original_score"] == 0
    assert [f["status"] for f in again["findings"]][:3] == ["open", "open", "overturned"]
    assert len(again["reviews"]) == 1
    assert (
        qa.post("/api/qa/findings/999999/review", json={"decision": "confirm"}).status_code == 404
    )
    assert (
        qa.post(f"/api/qa/findings/{ids['fatal']}/review", json={"decision": "maybe"}).status_code
        == 422
    )
    with web_db.session() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "qa.review")).all()
        assert [(a.actor_name, a.detail["score_after"]) for a in audit] == [("qa1", 89)]


def test_agent_appeals_and_leader_decides(client_for, web_db: Database, tmp_path: Path) -> None:
    ids = _seed(web_db, tmp_path)
    agent = client_for("agent")
    assert [r["id"] for r in agent.get("/api/qa/results").json()["rows"]] == [ids["mine"]]
    assert agent.get(f"/api/qa/results/{ids['other']}").status_code == 403
    assert agent.get(f"/qa/results/{ids['other']}").status_code == 403
    assert (
        agent.post(
            f"/api/qa/findings/{ids['other_finding']}/appeal", json={"reason": "x"}
        ).status_code
        == 403
    )
    res = agent.post(f"/api/qa/findings/{ids['major']}/appeal", json={"reason": "我说了您好"})
    assert res.status_code == 200, res.text
    appeal_id = res.json()["id"]
    assert (
        agent.post(f"/api/qa/findings/{ids['major']}/appeal", json={"reason": "again"}).status_code
        == 409
    )
    assert (
        agent.post(f"/api/qa/findings/{ids['major']}/appeal", json={"reason": ""}).status_code
        == 422
    )
    leader = client_for("team_leader")
    pending = leader.get("/api/qa/appeals").json()
    assert [(p["id"], p["rule"], p["result_id"]) for p in pending] == [
        (appeal_id, "OPEN-GREETING", ids["mine"])
    ]
    res = leader.post(
        f"/api/qa/appeals/{appeal_id}/decision", json={"upheld": True, "comment": "属实"}
    )
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "upheld"
    assert res.json()["score"] == 0  # the fatal finding still stands
    assert (
        leader.post(f"/api/qa/appeals/{appeal_id}/decision", json={"upheld": False}).status_code
        == 409
    )
    detail = client_for("supervisor").get(f"/api/qa/results/{ids['mine']}").json()
    assert detail["findings"][0]["status"] == "overturned"
    assert detail["appeals"][0]["status"] == "upheld"
    with web_db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "qa.appeal" in actions and "qa.appeal_decide" in actions


def test_recording_supports_range(client_for, web_db: Database, tmp_path: Path) -> None:
    ids = _seed(web_db, tmp_path)
    qa = client_for("qa")
    full = qa.get(f"/api/qa/results/{ids['mine']}/recording")
    assert full.status_code == 200
    assert full.headers["content-type"] == "audio/wav"
    assert full.headers.get("accept-ranges") == "bytes"
    size = len(full.content)
    assert full.content[:4] == b"RIFF"
    part = qa.get(f"/api/qa/results/{ids['mine']}/recording", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-99/{size}"
    assert part.content == full.content[:100]
    assert qa.get(f"/api/qa/results/{ids['other']}/recording").status_code == 404
    assert client_for("agent").get(f"/api/qa/results/{ids['mine']}/recording").status_code == 200


def test_scorecards_trend_and_pages(client_for, web_db: Database, tmp_path: Path) -> None:
    ids = _seed(web_db, tmp_path)
    sup = client_for("supervisor")
    cards = sup.get("/api/qa/scorecards?by=agent&start=2026-10-01&end=2026-10-03").json()
    assert [(c["label"], c["conversations"], c["average"]) for c in cards] == [
        ("3002 王强", 1, 90.0),
        ("1001 agent1", 1, 0.0),
    ]
    teams = sup.get("/api/qa/scorecards?by=team&start=2026-10-01&end=2026-10-03").json()
    assert {t["label"] for t in teams} == {"三组", "一组"}
    trend = sup.get("/api/qa/trend?start=2026-10-01&end=2026-10-03").json()
    assert [p["conversations"] for p in trend] == [1, 1, 0]
    assert sup.get("/api/qa/scorecards?by=queue").status_code == 422
    qa = client_for("qa")
    page = qa.get(f"/qa/results/{ids['mine']}")
    assert page.status_code == 200
    assert '<mark class="hit"' in page.text and "<audio" in page.text
    assert "13912345678" not in page.text and "13800138000" not in page.text
    assert qa.get("/qa").status_code == 200
    assert qa.get("/qa/scorecards").status_code == 200
