"""Voicemails API and page (CC-03 留言): filters, masking by role, refusals naming the
parameter, Range playback with audit, heard marks, callback tickets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.services import tickets
from kefu.store.db import Database
from kefu.store.models import Agent, AuditEntry, User, Voicemail
from voicemails_seed import SeededVm, seed_voicemails


def _seed(db: Database, app: FastAPI) -> SeededVm:
    with db.session() as s:
        tickets.seed_types(s)
        return seed_voicemails(s, Path(app.state.settings.data_dir))


def _audit(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        )


def _agent1(db: Database) -> tuple[int, int]:
    """(agent id, user id) of the fixture's agent1."""
    with db.session() as s:
        agent = s.scalars(select(Agent).join(User).where(User.username == "agent1")).one()
        return agent.id, agent.user_id


def test_logged_out_is_refused(anon: TestClient, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    vid = seeded.ids["vm-1"]
    assert anon.get("/api/voicemails").status_code == 401
    assert anon.get(f"/api/voicemails/{vid}/audio").status_code == 401
    assert anon.post(f"/api/voicemails/{vid}/heard").status_code in (401, 403)
    assert anon.get("/voicemails").status_code == 303


def test_list_filters_and_masking(client_for, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    sup = client_for("supervisor")
    body = sup.get("/api/voicemails", params={"limit": 2}).json()
    assert body["total"] == 4 and [r["call_id"] for r in body["rows"]] == ["vm-1", "vm-2"]
    row = body["rows"][0]
    assert row["caller"] == "13800138001" and row["dialled"] == "4001" and row["box"] == "售后"
    assert row["audio_url"] == f"/api/voicemails/{seeded.ids['vm-1']}/audio"
    assert row["created_at"].endswith("+08:00") and row["heard"] is False

    def ids(**params: object) -> list[str]:
        res = sup.get("/api/voicemails", params=params)
        assert res.status_code == 200, res.text
        return [r["call_id"] for r in res.json()["rows"]]

    assert ids(number="7003") == ["vm-3"]
    assert ids(dialled="4002") == ["vm-2", "vm-old"]
    assert ids(box="售后") == ["vm-1", "vm-3"]
    assert ids(heard="true") == ["vm-2"]
    assert ids(heard="false", start="2026-10-07", end="2026-10-09") == ["vm-1", "vm-3"]
    assert ids(offset=3) == ["vm-old"]
    qa = client_for("qa").get("/api/voicemails").json()["rows"]
    assert qa[0]["caller"] != "13800138001" and qa[0]["caller"].endswith("8001")
    assert "*" in qa[0]["caller"]  # QA sees numbers masked, as for recordings
    leader = client_for("team_leader").get("/api/voicemails").json()
    assert leader["total"] == 4 and leader["rows"][0]["caller"] == "13800138001"
    assert client_for("agent").get("/api/voicemails").json()["total"] == 0  # none assigned


def test_bad_values_name_the_parameter(client_for, web_db: Database, app: FastAPI) -> None:
    _seed(web_db, app)
    sup = client_for("supervisor")
    for params, name in (
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-13-01"}, "end"),
        ({"start": "2026-10-09", "end": "2026-10-01"}, "end"),
        ({"number": "12ab"}, "number"),
        ({"dialled": "x"}, "dialled"),
        ({"heard": "maybe"}, "heard"),
        ({"limit": 0}, "limit"),
    ):
        res = sup.get("/api/voicemails", params=params)
        assert res.status_code == 422, (params, res.text)
        assert name in res.text, (params, res.text)
    assert sup.get("/api/voicemails/0/audio").status_code == 422
    res = sup.get("/api/voicemails/999999/audio")
    assert res.status_code == 404 and res.json()["error_id"] == "not-found"


def test_audio_with_range_is_audited_and_refused_when_not_theirs(
    client_for, web_db: Database, app: FastAPI
) -> None:
    seeded = _seed(web_db, app)
    vid = seeded.ids["vm-1"]
    wav = seeded.data_dir / "recordings" / "voicemail" / "vm-1.wav"
    size = wav.stat().st_size
    leader = client_for("team_leader")
    full = leader.get(f"/api/voicemails/{vid}/audio")
    assert full.status_code == 200 and full.content == wav.read_bytes()
    assert full.headers["content-type"] == "audio/wav" and full.headers["accept-ranges"] == "bytes"
    part = leader.get(f"/api/voicemails/{vid}/audio", headers={"Range": "bytes=44-143"})
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes 44-143/{size}"
    assert part.content == wav.read_bytes()[44:144]
    plays = _audit(web_db, "voicemail.play")
    assert len(plays) == 1  # the seek is the same listening
    assert plays[0].target == f"voicemail:{vid}" and plays[0].detail["via"] == "voicemails"
    down = leader.get(f"/api/voicemails/{vid}/audio", params={"download": "true"})
    assert down.status_code == 200 and "attachment" in down.headers["content-disposition"]
    assert len(_audit(web_db, "voicemail.download")) == 1
    res = client_for("agent").get(f"/api/voicemails/{vid}/audio")
    assert res.status_code == 403
    with web_db.session() as s:
        vm = s.get(Voicemail, vid)
        assert vm is not None
        vm.purged_at = vm.created_at
    res = leader.get(f"/api/voicemails/{vid}/audio")
    assert res.status_code == 410 and res.json()["error_id"] == "voicemail-purged"
    row = leader.get("/api/voicemails", params={"purged": "true"}).json()["rows"][0]
    assert row["purged"] is True and row["audio_url"] is None


def test_heard_and_callback_flow(client_for, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    vid = seeded.ids["vm-3"]
    agent_id, agent_user = _agent1(web_db)
    qa = client_for("qa")
    res = qa.post(f"/api/voicemails/{vid}/heard")
    assert res.status_code == 403
    assert qa.post(f"/api/voicemails/{vid}/callback", json={}).status_code == 403
    agent = client_for("agent")
    assert agent.post(f"/api/voicemails/{vid}/heard").status_code == 403  # not theirs yet
    assert agent.post(f"/api/voicemails/{vid}/callback", json={}).status_code == 403
    leader = client_for("team_leader")
    res = leader.post(f"/api/voicemails/{vid}/callback", json={"agent_id": 999_999})
    assert res.status_code == 422 and res.json()["details"]["param"] == "agent_id"
    res = leader.post(f"/api/voicemails/{vid}/callback", json={"agent_id": 0})
    assert res.status_code == 422 and "agent_id" in res.text
    res = leader.post(
        f"/api/voicemails/{vid}/callback", json={"agent_id": agent_id, "note": "客户要求下午回电"}
    )
    assert res.status_code == 201, res.text
    ticket_id = res.json()["ticket_id"]
    assert res.json()["owner_id"] == agent_user
    again = leader.post(f"/api/voicemails/{vid}/callback", json={})
    assert again.status_code == 409 and again.json()["error_id"] == "voicemail-conflict"
    rows = agent.get("/api/voicemails").json()["rows"]
    assert [r["call_id"] for r in rows] == ["vm-3"]
    assert rows[0]["ticket"]["id"] == ticket_id and rows[0]["ticket"]["status"] == "open"
    assert agent.get(f"/api/voicemails/{vid}/audio").status_code == 200
    res = agent.post(f"/api/voicemails/{vid}/heard")
    assert res.status_code == 200 and res.json()["heard"] is True
    with web_db.session() as s:
        vm = s.get(Voicemail, vid)
        assert vm is not None and vm.heard_by == agent_user and vm.ticket_id == ticket_id
    heard = _audit(web_db, "voicemail.heard")
    assert len(heard) == 1 and heard[0].actor_id == agent_user
    assert len(_audit(web_db, "voicemail.callback")) == 1
    assert agent.get("/api/tickets").status_code == 200


def test_the_page_and_its_nav_entry(client_for, web_db: Database, app: FastAPI) -> None:
    _seed(web_db, app)
    for role in ("agent", "qa", "supervisor"):
        page = client_for(role).get("/voicemails")
        assert page.status_code == 200
        assert "客户留言" in page.text and '<a href="/voicemails">留言</a>' in page.text
        assert ('<dialog id="cb-dialog">' in page.text) is (role == "supervisor")
    assert 'value="售后"' in client_for("supervisor").get("/voicemails").text
