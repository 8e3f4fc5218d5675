"""Knowledge base (CC-07): Chinese search finds words in the middle of text; admins manage."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from kefu.services.kb import tokens


def test_tokens_split_chinese_queries() -> None:
    toks = tokens("快递续重怎么收费？")
    assert "续重" in toks and "收费" in toks and "？" not in toks


def test_search_finds_a_word_inside_chinese_text(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    hits = agent.get("/api/kb/search", params={"q": "续重"}).json()
    # 续重 appears only in the middle of the body of the seeded tariff article
    assert hits and hits[0]["title"] == "快递资费标准"
    assert "续重" in hits[0]["matched"] and "续重" in hits[0]["snippet"]
    hits = agent.get("/api/kb/search", params={"q": "桩号怎么问"}).json()
    assert hits[0]["title"] == "高速公路道路救援流程"
    scripts = agent.get("/api/kb/search", params={"q": "无声", "kind": "script"}).json()
    assert [h["kind"] for h in scripts] == ["script"] * len(scripts) and scripts
    assert agent.get("/api/kb/search", params={"q": "x", "kind": "bad"}).status_code == 422
    assert "快递资费标准" in agent.get("/kb", params={"q": "首重"}).text


def test_admin_manages_articles_with_versions(client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    body = {
        "kind": "article",
        "title": "积分兑换规则",
        "body": "会员积分可以在每月十五日兑换礼品。",
    }
    art = admin.post("/api/kb/articles", json=body).json()
    assert art["version"] == 1
    art = admin.put(
        f"/api/kb/articles/{art['id']}", json={**body, "body": "会员积分每月兑换。"}
    ).json()
    assert art["version"] == 2
    agent = client_for("agent")
    assert agent.get("/api/kb/search", params={"q": "积分"}).json()[0]["id"] == art["id"]
    assert agent.post("/api/kb/articles", json=body).status_code == 403
    assert admin.delete(f"/api/kb/articles/{art['id']}").status_code == 204
    assert agent.get(f"/api/kb/articles/{art['id']}").status_code == 404
    assert len(agent.get("/api/kb/articles").json()) >= 15


def test_script_panel_shows_scenario_scripts(client_for: Callable[[str], TestClient]) -> None:
    agent = client_for("agent")
    html = agent.get("/api/workspace/script", params={"scenario": "silent_line"}).text
    assert "您的电话没有声音" in html
    assert html.count("playbook-step") >= 2  # the playbook's procedure, step by step
    html = agent.get("/api/workspace/script", params={"scenario": "agent_id"}).text
    assert "1001" in html  # the agent's own 工号 is filled in
