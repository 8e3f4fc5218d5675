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
# /api/auth/* logs the fuzzing admin out, changes its password or locks its login out.
SKIP_PREFIX = "/api/auth/"


def _fuzz(op: Any, client: TestClient, failures: list[str]) -> None:
    """Send EXAMPLES generated requests for one operation; note every 5xx or exception."""
    name = f"{op.method.upper()} {op.path}"

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
        headers = {**(kwargs.pop("headers", None) or {}), **client.headers}
        headers.pop("content-length", None)
        kwargs.pop("cookies", None)
        try:
            res = client.request(**kwargs, headers=headers)
        except Exception as exc:  # the test client re-raises what the server raised
            failures.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
            return
        if res.status_code >= 500:
            failures.append(f"{name} {kwargs.get('url')} -> {res.status_code}: {res.text[:200]}")

    run()


def test_no_server_errors(app: FastAPI, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    ops = [r.ok() for r in schema.get_all_operations()]
    ops = [op for op in ops if not op.path.startswith(SKIP_PREFIX)]
    for op in ops:
        _fuzz(op, admin, failures)
    assert len(ops) > 50
    assert failures == [], "\n".join(failures)
