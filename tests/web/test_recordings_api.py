"""Recordings API and page (CC-04): filters, masking by role, refusals, Range, audit, hold."""

from __future__ import annotations

import asyncio
import datetime as dt
import wave
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.config import Settings
from kefu.services import recordings
from kefu.services.ivr_locks import DbPasswordLocks
from kefu.services.reports import TZ
from kefu.store.db import Database
from kefu.store.models import AuditEntry, QaResult, Recording, User
from kefu.web.app import create_app
from recordings_seed import NOW, Seeded, seed, shift_to_now


def _seed(db: Database, app: FastAPI) -> Seeded:
    """The recordings table, with the fixture's agent1 (1001) and leader1 in team A."""
    with db.session() as s:
        seeded = seed(s, Path(app.state.settings.data_dir), agent_nos=("1001", "3002"))
        leader = s.scalar(select(User).where(User.username == "leader1"))
        assert leader is not None
        leader.team_id = seeded.team_a
        return seeded


def _audit(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        )


def test_logged_out_is_refused(anon: TestClient, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    assert anon.get("/api/recordings").status_code == 401
    assert anon.get(f"/api/recordings/{seeded.rec['r-in-1']}/audio").status_code == 401
    assert anon.get("/recordings").status_code == 303


def test_filters_and_pages(client_for, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    sup = client_for("supervisor")
    body = sup.get("/api/recordings", params={"limit": 2}).json()
    assert body["total"] == 10 and [r["call_id"] for r in body["rows"]] == ["r-in-1", "r-in-2"]
    row = body["rows"][0]
    assert row["caller"] == "13800138001"  # supervisors handle callers: full number
    assert row["agent"]["agent_no"] == "1001" and row["queue"]["name"] == "录音售前"
    assert row["channels"] == 2 and row["duration_s"] == 30.0
    assert row["audio_url"] == f"/api/recordings/{seeded.rec['r-in-1']}/audio"
    assert row["offered_at"].endswith("+08:00")

    def ids(**params: object) -> list[str]:
        res = sup.get("/api/recordings", params=params)
        assert res.status_code == 200, res.text
        return [r["call_id"] for r in res.json()["rows"]]

    assert ids(number="9002") == ["r-in-2"]
    assert ids(number="137 0013 7003") == ["r-out-3"]
    assert ids(agent_no="3002", start="2026-10-01") == ["r-in-2"]
    assert ids(queue_id=seeded.q_post, end="2026-06-30") == ["r-old-7", "r-old-8"]
    assert ids(direction="outbound") == ["r-out-3"]
    assert ids(disposition="abandoned") == ["r-old-10"]
    assert ids(min_duration=60, max_duration=120) == ["r-in-2", "r-out-3"]
    assert ids(has_findings="true") == ["r-in-2", "r-old-7"]
    assert ids(start="2026-10-08", end="2026-10-08") == ["r-in-2"]  # a bare end date: whole day
    assert ids(start="2026-10-09T00:00:00+08:00") == ["r-in-1"]
    assert ids(agent_id=seeded.agent2, limit=1, offset=1) == ["r-old-4"]


def test_bad_filter_values_name_the_parameter(client_for, web_db: Database, app: FastAPI) -> None:
    _seed(web_db, app)
    sup = client_for("supervisor")
    for params, name in (
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-02-30"}, "end"),
        ({"start": "2026-10-09", "end": "2026-10-01"}, "end"),
        ({"number": "13a8"}, "number"),
        ({"min_duration": 30, "max_duration": 10}, "max_duration"),
    ):
        res = sup.get("/api/recordings", params=params)
        assert res.status_code == 422, params
        assert res.json()["error_id"] == "invalid-data"
        assert res.json()["details"] == {"param": name}
        assert res.json()["message"].startswith(name)
    for params, name in (
        ({"direction": "sideways"}, "direction"),
        ({"disposition": "lost"}, "disposition"),
        ({"agent_id": "x"}, "agent_id"),
        ({"min_duration": -1}, "min_duration"),
        ({"limit": 0}, "limit"),
        ({"has_findings": "maybe"}, "has_findings"),
    ):
        res = sup.get("/api/recordings", params=params)
        assert res.status_code == 422, params
        assert res.json()["detail"][0]["loc"] == ["query", name]


def test_masking_and_scope_by_role(client_for, web_db: Database, app: FastAPI) -> None:
    _seed(web_db, app)
    qa = client_for("qa").get("/api/recordings").json()
    assert qa["total"] == 10
    by_call = {r["call_id"]: r for r in qa["rows"]}
    assert by_call["r-in-1"]["caller"] == "138****8001"  # QA does not need the number
    assert by_call["r-out-3"]["callee"] == "137****7003"
    # a QA reviewer may still search by the last digits
    assert [
        r["call_id"] for r in client_for("qa").get("/api/recordings?number=8001").json()["rows"]
    ] == ["r-in-1"]
    agent = client_for("agent").get("/api/recordings").json()
    assert [r["call_id"] for r in agent["rows"]] == [
        "r-in-1",
        "r-out-3",
        "r-old-5",
        "r-old-6",
        "r-old-9",
        "r-old-10",
    ]
    assert agent["rows"][0]["caller"] == "13800138001"
    leader = client_for("team_leader").get("/api/recordings").json()
    assert {r["agent"]["agent_no"] for r in leader["rows"]} == {"1001"}  # team A only
    assert leader["total"] == 6


def test_refusals_for_other_calls(client_for, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    other = seeded.rec["r-in-2"]  # agent 3002, team B
    for role in ("agent", "team_leader"):
        res = client_for(role).get(f"/api/recordings/{other}/audio")
        assert res.status_code == 403, role
        assert res.json()["error_id"] == "forbidden"
    assert client_for("qa").get(f"/api/recordings/{other}/audio").status_code == 200
    assert client_for("agent").get("/api/recordings/999999/audio").status_code == 404
    assert client_for("agent").get("/api/recordings/0/audio").status_code == 422
    # the refused attempts were not logged as listening
    assert len(_audit(web_db, "recording.play")) == 1


def test_audio_range_and_audit(client_for, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    rid = seeded.rec["r-in-1"]
    agent = client_for("agent")
    full = agent.get(f"/api/recordings/{rid}/audio")
    assert full.status_code == 200
    assert full.headers["content-type"] == "audio/wav"
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-disposition"].startswith("inline")
    size = len(full.content)
    wav = Path(app.state.settings.data_dir) / "recordings" / "r-in-1.wav"
    assert full.content == wav.read_bytes()
    with wave.open(str(wav), "rb") as w:
        assert w.getnchannels() == 2
    part = agent.get(f"/api/recordings/{rid}/audio", headers={"Range": "bytes=44-143"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 44-143/{size}"
    assert part.content == full.content[44:144]
    down = agent.get(f"/api/recordings/{rid}/audio", params={"download": "true"})
    assert down.status_code == 200
    assert down.headers["content-disposition"].startswith("attachment")
    assert "r-in-1.wav" in down.headers["content-disposition"]
    plays = _audit(web_db, "recording.play")
    assert len(plays) == 1  # the seek is the same listening
    assert plays[0].actor_name == "agent1" and plays[0].target == f"recording:{rid}"
    assert plays[0].detail == {"call_id": "r-in-1", "via": "recordings", "range": None}
    assert plays[0].source_ip
    downloads = _audit(web_db, "recording.download")
    assert len(downloads) == 1 and downloads[0].actor_name == "agent1"
    # another user listening is another row
    client_for("supervisor").get(f"/api/recordings/{rid}/audio", headers={"Range": "bytes=0-"})
    plays = _audit(web_db, "recording.play")
    assert [p.actor_name for p in plays] == ["agent1", "super1"]
    assert plays[1].detail["range"] == "bytes=0-"


def test_purged_is_gone_and_hold(client_for, web_db: Database, app: FastAPI) -> None:
    seeded = _seed(web_db, app)
    old = seeded.rec["r-old-4"]
    with web_db.session() as s:
        recordings.purge(s, Path(app.state.settings.data_dir), 90, now=NOW)
    sup = client_for("supervisor")
    res = sup.get(f"/api/recordings/{old}/audio")
    assert res.status_code == 410 and res.json()["error_id"] == "recording-purged"
    row = next(r for r in sup.get("/api/recordings?purged=true").json()["rows"] if r["id"] == old)
    assert row["purged"] and row["audio_url"] is None
    # legal hold: QA/supervisor/admin only; a reason is required; audited
    rid = seeded.rec["r-in-1"]
    assert (
        client_for("agent").post(f"/api/recordings/{rid}/hold", json={"hold": True}).status_code
        == 403
    )
    res = sup.post(f"/api/recordings/{rid}/hold", json={"hold": True})
    assert res.status_code == 422 and res.json()["details"] == {"param": "reason"}
    res = sup.post(f"/api/recordings/{rid}/hold", json={"hold": True, "reason": "投诉升级"})
    assert res.status_code == 200 and res.json()["legal_hold"] is True
    assert (
        sup.post(f"/api/recordings/{old}/hold", json={"hold": True, "reason": "x"}).status_code
        == 410
    )
    with web_db.session() as s:
        rec = s.get(Recording, rid)
        assert rec is not None and rec.legal_hold and rec.hold_reason == "投诉升级"
    held = _audit(web_db, "recording.hold")
    assert len(held) == 1 and held[0].actor_name == "super1"


def test_qa_player_is_audited_through_the_shared_helper(
    client_for, web_db: Database, app: FastAPI
) -> None:
    """The QA detail's player serves the same file the same way, and is audited too."""
    seeded = _seed(web_db, app)
    with web_db.session() as s:
        result = s.scalar(select(QaResult).where(QaResult.call_id == "r-in-1"))
        assert result is not None
        result_id = result.id
    qa = client_for("qa")
    res = qa.get(f"/api/qa/results/{result_id}/recording", headers={"Range": "bytes=0-9"})
    assert res.status_code == 206 and len(res.content) == 10
    plays = _audit(web_db, "recording.play")
    assert len(plays) == 1
    assert plays[0].target == f"recording:{seeded.rec['r-in-1']}"
    assert plays[0].detail["via"] == f"qa:{result_id}"


def test_page_for_each_role(client_for, web_db: Database, app: FastAPI) -> None:
    _seed(web_db, app)
    for role, scope_text in (
        ("agent", "仅显示本人通话"),
        ("team_leader", "显示本班组通话"),
        ("qa", "显示全部通话"),
        ("supervisor", "显示全部通话"),
        ("admin", "显示全部通话"),
    ):
        page = client_for(role).get("/recordings")
        assert page.status_code == 200, role
        assert scope_text in page.text
        assert '<audio id="player"' in page.text
        assert '<a href="/recordings">录音</a>' in page.text  # the nav entry
        if role == "agent":
            assert 'name="agent_id"' not in page.text
        if role == "team_leader":
            assert "1001" in page.text and "3002" not in page.text


def test_serve_runs_the_daily_purge_task(app: FastAPI) -> None:
    """The lifespan starts the daily purge next to the ticket escalation."""

    async def names() -> set[str]:
        async with app.router.lifespan_context(app):
            await asyncio.sleep(0)
            return {t.get_name() for t in asyncio.all_tasks()}

    assert "kefu-recording-purge" in asyncio.run(names())


def test_serve_purges_at_the_daily_time(tmp_path: Path, web_db: Database) -> None:
    """The purge task of a running app wakes at recording_purge_time and applies the policy."""
    at = (dt.datetime.now(TZ) + dt.timedelta(seconds=2)).time()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=str(web_db.engine.url),
        recording_retention_days=90,
        recording_purge_time=at,
    )
    app = create_app(settings, web_db, demo=True)
    with web_db.session() as s:
        seed(s, settings.data_dir)
        shift_to_now(s)
    locks = DbPasswordLocks(web_db)  # CC-03: the same daily task drops old lockout counts
    today = dt.datetime.now(TZ).date()
    locks.record_failure("6222001", today - dt.timedelta(days=3))
    locks.record_failure("6222001", today)

    async def run() -> list[AuditEntry]:
        async with app.router.lifespan_context(app):
            for _ in range(150):  # up to 30 s on a loaded machine
                await asyncio.sleep(0.2)
                found = _audit(web_db, "recording.purge")
                if found and locks.failures("6222001", today - dt.timedelta(days=3)) == 0:
                    return found
        return []

    entries = asyncio.run(run())
    assert locks.failures("6222001", today) == 1  # today's count stays
    assert len(entries) == 1 and entries[0].target == "via:daily"
    assert entries[0].detail["purged"] == 2 and entries[0].detail["kept_on_hold"] == 3
    assert not (settings.data_dir / "recordings" / "r-old-4.wav").exists()
    assert (settings.data_dir / "recordings" / "r-old-6.wav").exists()  # legal hold
