"""Customers (CC-12, CC-08): create, edit with ID validation, notes, history, masking for QA."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

ID_OK = "11010519491231002X"  # checksum-valid sample number (GB 11643)


def test_create_edit_search_and_history(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    res = agent.post("/api/customers", json={"phone": "13800138000", "name": "王阿姨"})
    assert res.status_code == 201
    cid = res.json()["id"]
    res = agent.put(f"/api/customers/{cid}", json={"id_card_no": "110105194912310021"})
    assert res.status_code == 422 and res.json()["error_id"] == "invalid-data"
    assert "id_card_no" in res.json()["message"]
    res = agent.put(f"/api/customers/{cid}", json={"id_card_no": ID_OK, "address": "天河路1号"})
    assert res.status_code == 200 and res.json()["id_card_no"] == ID_OK
    assert (
        agent.post(
            f"/api/customers/{cid}/notes", json={"kind": "order", "summary": "助浴一次"}
        ).status_code
        == 201
    )
    hist = agent.get(f"/api/customers/{cid}").json()["history"]
    assert [h["kind"] for h in hist] == ["order"]
    assert [c["id"] for c in agent.get("/api/customers?q=王阿姨").json()] == [cid]
    page = agent.get("/customers?q=王")
    assert page.status_code == 200 and "王阿姨" in page.text
    assert "天河路1号" in agent.get(f"/customers/{cid}").text
    assert agent.get("/api/customers/999").status_code == 404


def test_qa_sees_masked_numbers(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    cid = agent.post("/api/customers", json={"phone": "13800138000", "id_card_no": ID_OK}).json()[
        "id"
    ]
    qa = client_for("qa")
    data = qa.get(f"/api/customers/{cid}").json()
    assert data["phone"] == "138****8000"
    assert data["id_card_no"] == "110105********002X"
    assert "13800138000" not in qa.get("/customers").text
    assert qa.post("/api/customers", json={"phone": "1"}).status_code == 403
