"""CC-05 campaigns over HTTP: supervisors import and control, team leaders only look."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from kefu.store.db import Database
from kefu.store.models import Queue


def test_supervisor_imports_starts_and_pauses(
    client_for: Callable[[str], TestClient], web_db: Database
) -> None:
    with web_db.session() as s:
        s.add(Queue(name="sales"))
    sup = client_for("supervisor")
    body = {
        "name": "spring",
        "queue": "sales",
        "mode": "preview",
        "csv": "number,owner_agent\n13900000001,1001\n12,\n13900000002,\n",
        "source": "spring.csv",
    }
    res = sup.post("/api/campaigns/import", json=body)
    assert res.status_code == 201, res.text
    assert res.json() == {
        "campaign": "spring",
        "added": 2,
        "errors": [
            "spring.csv:3: number: '12' is not a phone number (5 to 20 digits, an optional "
            "leading +)"
        ],
    }
    res = sup.post("/api/campaigns/spring/start")
    assert res.status_code == 200 and res.json()["state"] == "running"
    res = sup.post("/api/campaigns/spring/pause")
    assert res.json()["state"] == "paused"
    assert res.json()["by_status"] == {"pending": 2}
    res = sup.post("/api/campaigns/spring/fly")
    assert res.status_code == 404
    res = sup.post("/api/campaigns/nope/start")
    assert res.status_code == 404 and "campaign 'nope'" in res.text
    res = sup.post("/api/campaigns/import", json={**body, "queue": "nowhere"})
    assert res.status_code == 422 and "queue 'nowhere': not configured" in res.text

    leader = client_for("team_leader")
    [listed] = leader.get("/api/campaigns").json()
    assert (listed["name"], listed["total"], listed["state"]) == ("spring", 2, "paused")
    assert leader.post("/api/campaigns/spring/start").status_code == 403
    agent = client_for("agent")
    assert agent.get("/api/campaigns").status_code == 403
    assert agent.post("/api/campaigns/import", json=body).status_code == 403
