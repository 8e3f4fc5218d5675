"""Schemathesis over the app's OpenAPI, in-process (ASGI), logged in as admin: no 500s.

Every operation gets a bounded number of generated requests (derandomised, so a run is
repeatable). Operations that would end the admin's own session are left out, and say why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

EXAMPLES = 8
# These end or change the fuzzing admin's own session, or lock the login out by design.
SKIP = {
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/password"),
    ("POST", "/api/auth/exit"),
}


def test_no_server_errors(app: FastAPI, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        op = result.ok()
        method = op.method.upper()
        if (method, op.path) in SKIP or op.path.startswith("/api/auth/"):
            continue
        checked += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(op.as_strategy())
        def run(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            headers = {**(kwargs.pop("headers", None) or {}), **admin.headers}
            headers.pop("content-length", None)
            kwargs.pop("cookies", None)
            try:
                res = admin.request(**kwargs, headers=headers)
            except Exception as exc:  # the test client re-raises what the server raised
                failures.append(f"{method} {op.path}: {type(exc).__name__}: {exc}"[:300])
                return
            if res.status_code >= 500:
                failures.append(f"{method} {kwargs.get('url')} -> {res.status_code}: {res.text[:200]}")

        run()
    assert checked > 50
    assert failures == [], "\n".join(failures)
