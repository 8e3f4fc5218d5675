"""Administration: agents with argon2 password, SIP HA1, skills and groups; queues and
numbers; IVR flows and rulebooks validated and versioned; WAV prompts; the audit log."""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, csrf_of

from kefu.security.password import sip_ha1, verify_password
from kefu.store.db import Database
from kefu.store.models import Agent, User

REPO = Path(__file__).resolve().parents[2]


def _wav(channels: int = 1, rate: int = 8000, frames: int = 800) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * channels * frames)
    return buf.getvalue()


def test_create_agent_with_skills_groups_and_sip_secret(
    client_for: Callable[[str], TestClient], web_db: Database, anon: TestClient
) -> None:
    admin = client_for("admin")
    assert admin.post("/api/admin/skills", json={"name": "粤语"}).status_code == 201
    assert admin.post("/api/admin/skills", json={"name": "粤语"}).status_code == 422
    assert admin.post("/api/admin/skill-groups", json={"name": "售后"}).status_code == 201
    body = {
        "username": "agent9",
        "display_name": "小周",
        "role": "agent",
        "password": "Start-pass1",
        "agent_no": "1009",
        "extension": "8009",
        "sip_password": "sip-secret-9",
        "skills": {"粤语": 7},
        "groups": ["售后"],
    }
    res = admin.post("/api/admin/users", json=body)
    assert res.status_code == 201, res.text
    assert res.json()["agent"]["skills"] == {"粤语": 7}
    assert res.json()["agent"]["may_transfer_outside"] is False
    with web_db.session() as s:
        user = s.query(User).filter_by(username="agent9").one()
        assert verify_password(user.password_hash, "Start-pass1") and user.must_change_password
        agent = s.query(Agent).filter_by(agent_no="1009").one()
        assert agent.sip_ha1 == sip_ha1("8009", "kefu", "sip-secret-9")
    assert admin.post("/api/admin/users", json=body).status_code == 422  # username taken
    weak = {
        **body,
        "username": "agent10",
        "agent_no": "1010",
        "extension": "8010",
        "password": "short",
    }
    assert admin.post("/api/admin/users", json=weak).status_code == 422
    res = admin.put(
        "/api/admin/agents/1009", json={"may_transfer_outside": True, "skills": {"粤语": 9}}
    )
    assert res.json()["agent"]["may_transfer_outside"] is True
    assert res.json()["agent"]["skills"] == {"粤语": 9}
    assert admin.put("/api/admin/agents/1009", json={"skills": {"火星语": 1}}).status_code == 422
    groups = admin.get("/api/admin/skill-groups").json()
    assert groups[0]["members"] == ["1009"]
    # the new agent logs in with 工号 + extension and must change the password first
    csrf_of(anon)
    res = anon.post(
        "/api/auth/login", json={"agent_no": "1009", "extension": "8009", "password": "Start-pass1"}
    )
    assert res.json()["must_change_password"] is True
    users = admin.get("/api/admin/users").json()
    assert "agent9" in {u["username"] for u in users}
    assert "agent9" in admin.get("/admin").text


def test_queues_and_numbers(client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    admin.post("/api/admin/skill-groups", json={"name": "售前"})
    res = admin.post(
        "/api/admin/queues", json={"name": "sales", "skill_group": "售前", "ring_timeout_s": 10}
    )
    assert res.status_code == 201 and res.json()["ring_timeout_s"] == 10
    res = admin.post("/api/admin/queues", json={"name": "x", "overflow": "queue"})
    assert res.status_code == 422
    res = admin.post(
        "/api/admin/numbers", json={"number": "4001234567", "target": "queue", "queue": "sales"}
    )
    assert res.status_code == 201
    res = admin.post(
        "/api/admin/numbers", json={"number": "4001234568", "target": "ivr", "ivr_flow": "none"}
    )
    assert res.status_code == 422
    assert [q["name"] for q in admin.get("/api/admin/queues").json()] == ["sales"]
    assert admin.get("/api/admin/numbers").json()[0]["number"] == "4001234567"


def test_ivr_flow_is_validated_and_versioned(client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    good = (REPO / "examples" / "ivr" / "elderly_care.yaml").read_text(encoding="utf-8")
    res = admin.post("/api/admin/ivr/elderly/versions", json={"content": good})
    assert res.status_code == 201 and res.json()["version"] == 1
    res = admin.post("/api/admin/ivr/elderly/versions", json={"content": good})
    assert res.json() == {"name": "elderly", "version": 2, "active_version": 2}
    broken = good.replace("open: welcome", "open: nowhere")
    res = admin.post("/api/admin/ivr/elderly/versions", json={"content": broken})
    assert res.status_code == 422
    assert any(p.startswith("elderly.yaml:") and "nowhere" in p for p in res.json()["details"])
    assert admin.get("/api/admin/ivr").json() == [
        {"name": "elderly", "active_version": 2, "versions": [1, 2]}
    ]
    assert admin.get("/api/admin/ivr/elderly/versions/1").json()["content"] == good
    assert (
        admin.post(
            "/api/admin/numbers",
            json={"number": "4006001234", "target": "ivr", "ivr_flow": "elderly"},
        ).status_code
        == 201
    )


def test_rulebook_is_validated_and_versioned(client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    good = (REPO / "src" / "kefu" / "qa" / "rules" / "profiles" / "yiyang.yaml").read_text(
        encoding="utf-8"
    )
    res = admin.post("/api/admin/rulebooks/yiyang/versions", json={"content": good})
    assert res.status_code == 201, res.text
    assert (
        admin.post("/api/admin/rulebooks/yiyang/versions", json={"content": good}).json()["version"]
        == 2
    )
    res = admin.post(
        "/api/admin/rulebooks/yiyang/versions", json={"content": "version: 1\nrules: 5\n"}
    )
    assert res.status_code == 422 and res.json()["details"]
    books = admin.get("/api/admin/rulebooks").json()
    assert [(b["version"], b["active"]) for b in books] == [(1, False), (2, True)]
    assert admin.get("/api/admin/rulebooks/yiyang/versions/2").json()["content"] == good


def test_prompt_upload_validates_wav(client_for: Callable[[str], TestClient], app: FastAPI) -> None:
    admin = client_for("admin")
    res = admin.post("/api/admin/prompts", files={"file": ("welcome.wav", _wav(), "audio/wav")})
    assert res.status_code == 201 and res.json()["seconds"] == 0.1
    assert (Path(app.state.settings.data_dir) / "prompts" / "welcome.wav").exists()
    res = admin.post(
        "/api/admin/prompts", files={"file": ("stereo.wav", _wav(channels=2), "audio/wav")}
    )
    assert res.status_code == 422
    res = admin.post("/api/admin/prompts", files={"file": ("x.wav", b"not a wav", "audio/wav")})
    assert res.status_code == 422
    res = admin.post("/api/admin/prompts", files={"file": ("../evil.wav", _wav(), "audio/wav")})
    assert res.status_code in (201, 422)
    assert not (Path(app.state.settings.data_dir) / "evil.wav").exists()
    names = [p["name"] for p in admin.get("/api/admin/prompts").json()]
    assert "welcome.wav" in names and "stereo.wav" not in names


def test_audit_log_lists_logins(client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    entries = admin.get("/api/admin/audit", params={"action": "login.success"}).json()
    assert entries and entries[0]["actor"] == "admin1" and entries[0]["source_ip"]


def test_center_reload_applies_new_queues(
    client_for: Callable[[str], TestClient], app: FastAPI
) -> None:
    admin = client_for("admin")
    agent = client_for("agent")
    agent.post("/api/agent/state", json={"state": "idle"})
    admin.post("/api/admin/queues", json={"name": "vip", "ring_timeout_s": 10})
    admin.post(
        "/api/admin/numbers", json={"number": "4008880000", "target": "queue", "queue": "vip"}
    )
    assert "vip" not in app.state.center.engine.queues
    boss = client_for("supervisor")
    call_id = boss.post("/api/sim/calls", json={"caller": "13800138000"}).json()["call_id"]
    res = admin.post("/api/admin/center/reload")
    assert res.status_code == 409 and res.json()["error_id"] == "calls-in-progress"
    boss.post(f"/api/sim/calls/{call_id}/hangup")
    res = admin.post("/api/admin/center/reload")
    assert res.status_code == 200 and res.json()["queues"] == ["vip"]
    assert agent.get("/api/agent/state").json()["state"] == "idle"  # seat kept
    call_id = boss.post(
        "/api/sim/calls", json={"caller": "13800138000", "dialed": "4008880000"}
    ).json()["call_id"]
    waiting = agent.get("/api/queues/waiting").json()
    assert [(w["call_id"], w["queue"]) for w in waiting] == [(call_id, "vip")]
    agent.post("/api/agent/answer", json={"call_id": call_id})
    with app.state.db.session() as s:
        from kefu.store.models import Call, Queue

        call = s.get(Call, call_id)
        vip = s.query(Queue).filter_by(name="vip").one()
        assert call is not None and call.queue_id == vip.id  # number-routed call keeps its queue


def test_a_deactivated_agent_is_refused_at_once(
    client_for: Callable[[str], TestClient],
) -> None:
    # The session's user is cached for a moment; the admin's change must not wait for it.
    agent = client_for("agent")
    assert agent.get("/api/agent/state").status_code == 200
    agent_no = "1001"  # the fixture agent
    admin = client_for("admin")
    res = admin.put(f"/api/admin/agents/{agent_no}", json={"active": False})
    assert res.status_code == 200, res.text
    assert agent.get("/api/agent/state").status_code == 401
    assert admin.put(f"/api/admin/agents/{agent_no}", json={"active": True}).status_code == 200
    assert agent.get("/api/agent/state").status_code == 200


def test_a_changed_password_ends_other_sessions_at_once(
    client_for: Callable[[str], TestClient],
) -> None:
    other = client_for("qa")
    assert other.get("/api/auth/me").status_code == 200
    me = client_for("qa")
    res = me.post(
        "/api/auth/password",
        json={"old": PASSWORD, "new": "An0ther-Passw0rd!9"},
    )
    assert res.status_code == 204, res.text
    assert other.get("/api/auth/me").status_code == 401
