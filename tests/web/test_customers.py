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


def test_excel_export_and_import(client_for: Callable[[str], TestClient]) -> None:
    import io

    from openpyxl import Workbook, load_workbook

    agent = client_for("agent")
    agent.post(
        "/api/customers",
        json={"phone": "13800138000", "name": "王阿姨", "custom_fields": {"vip": "金卡"}},
    )
    leader = client_for("team_leader")
    assert agent.get("/api/customers/export.xlsx").status_code == 403
    res = leader.get("/api/customers/export.xlsx")
    assert res.status_code == 200
    rows = list(load_workbook(io.BytesIO(res.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("phone", "name", "id_card_no", "address", "is_member", "vip")
    assert rows[1][:2] == ("13800138000", "王阿姨") and rows[1][5] == "金卡"
    wb = Workbook()
    ws = wb.active
    ws.append(["phone", "name", "id_card_no", "level"])
    ws.append(["13800138000", "王秀兰", None, "A"])
    ws.append(["13900000000", "李四", "123", None])
    ws.append(["13700000000", "赵五", ID_OK, None])
    buf = io.BytesIO()
    wb.save(buf)
    res = leader.post("/api/customers/import", files={"file": ("c.xlsx", buf.getvalue())})
    assert res.status_code == 200, res.text
    report = res.json()
    assert (report["created"], report["updated"]) == (1, 1)
    assert len(report["problems"]) == 1 and report["problems"][0].startswith("row 3: id_card_no")
    found = {c["phone"]: c for c in leader.get("/api/customers").json()}
    assert found["13800138000"]["name"] == "王秀兰"
    assert found["13800138000"]["custom_fields"] == {"vip": "金卡", "level": "A"}
    assert "13900000000" not in found
    bad = leader.post("/api/customers/import", files={"file": ("c.xlsx", b"nope")})
    assert bad.status_code == 422


def test_callback_reminders(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    cid = agent.post("/api/customers", json={"phone": "13800138000"}).json()["id"]
    res = agent.post(
        f"/api/customers/{cid}/callbacks",
        json={"at": "2026-12-01T10:00:00+08:00", "note": "回访满意度"},
    )
    assert res.status_code == 201
    assert (
        agent.post(
            f"/api/customers/{cid}/callbacks", json={"at": "2026-12-01T10:00:00"}
        ).status_code
        == 422
    )
    reminders = agent.get("/api/agent/callbacks").json()
    assert [(r["customer_id"], r["note"]) for r in reminders] == [(cid, "回访满意度")]
