"""Every route is role-checked: 401 (or a redirect to /login) when logged out, 403 for a
wrong role, 403 without the CSRF token on unsafe methods. The routes are enumerated from the
app, so a new route without a role check fails here."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from tests.web.conftest import login

from kefu.store.models import Role
from kefu.web.app import PUBLIC_PATHS, all_routes
from kefu.web.auth import roles_of


def _roles(route: APIRoute) -> frozenset[Role] | None:
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if dep.call is not None and (found := roles_of(dep.call)) is not None:
            return found
        stack.extend(dep.dependencies)
    return None


def _url(path: str) -> str:
    return re.sub(r"{[^}]+}", "1", path)


def _endpoints(app: FastAPI) -> list[tuple[str, str, frozenset[Role] | None]]:
    out = []
    for r in all_routes(app):
        if isinstance(r, APIRoute) and r.path not in PUBLIC_PATHS:
            for method in sorted(r.methods - {"HEAD"}):
                out.append((method, r.path, _roles(r)))
    return out


def test_every_route_has_a_role_check(app: FastAPI) -> None:
    endpoints = _endpoints(app)
    assert len(endpoints) > 60
    missing = [f"{m} {p}" for m, p, roles in endpoints if roles is None]
    assert missing == []


def test_logged_out_gets_401_or_login_redirect(app: FastAPI, anon: TestClient) -> None:
    anon.get("/login")
    for method, path, _ in _endpoints(app):
        res = anon.request(method, _url(path))
        if method == "GET" and not path.startswith("/api/"):
            assert res.status_code == 303, (method, path, res.status_code)
            assert res.headers["location"].startswith("/login"), (method, path)
        else:
            assert res.status_code == 401, (method, path, res.status_code, res.text)
            assert res.json()["error_id"] == "not-authenticated"


def test_wrong_role_gets_403(app: FastAPI) -> None:
    clients: dict[Role, TestClient] = {}
    checked = 0
    with TestClient(app, follow_redirects=False):
        for method, path, roles in _endpoints(app):
            assert roles is not None
            wrong = [r for r in Role if r not in roles]
            if not wrong:
                continue  # open to every role
            role = wrong[0]
            if role not in clients:
                clients[role] = login(TestClient(app, follow_redirects=False), role.value)
            res = clients[role].request(method, _url(path))
            assert res.status_code == 403, (method, path, role, res.status_code, res.text)
            assert res.json()["error_id"] == "forbidden"
            checked += 1
    assert checked > 40


def test_unsafe_methods_need_the_csrf_token(app: FastAPI) -> None:
    with TestClient(app, follow_redirects=False):
        admin = login(TestClient(app, follow_redirects=False), "admin")
        del admin.headers["X-CSRF-Token"]
        res = admin.post("/api/admin/skills", json={"name": "x"})
        assert res.status_code == 403
        assert res.json()["error_id"] == "csrf-failed"
        res = admin.post(
            "/api/admin/skills", json={"name": "x"}, headers={"X-CSRF-Token": "forged"}
        )
        assert res.json()["error_id"] == "csrf-failed"


@pytest.mark.parametrize("role", ["qa", "supervisor"])
def test_websockets_refuse_anonymous_and_wrong_roles(app: FastAPI, role: str) -> None:
    ws_paths = [
        r.path
        for r in all_routes(app)
        if isinstance(r, APIWebSocketRoute) and r.path not in PUBLIC_PATHS
    ]
    assert "/ws/agent" in ws_paths
    with TestClient(app) as anon:
        for path in ws_paths:
            with pytest.raises(WebSocketDisconnect) as exc, anon.websocket_connect(path) as ws:
                ws.receive_json()
            assert exc.value.code == 4401, path
        client = login(TestClient(app), role)
        for path in ws_paths:
            if path in ("/ws/agent", "/ws/chat/agent"):
                with (
                    pytest.raises(WebSocketDisconnect) as exc,
                    client.websocket_connect(path) as ws,
                ):
                    ws.receive_json()
                assert exc.value.code == 4403, path
