"""Every forbidden phrase the seeds list is caught when the agent says it, never when the
customer does.

The phrases are extracted from /work/shared/seeds/*.txt at test time by
tests/qa_corpus/seed_phrases.py (its docstring says which sections it reads and how). A
phrase the seed only gives as a template ("不是说„„吗", "你去 XXXXXX") is reported but not
spoken. Single-character particles (嗯, 喽, 嘛, 啊, 呀, 的呀) are forbidden as *habits*
(频繁使用口头禅), so the agent says them habitually, three times in one reply.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from qa_corpus.seed_phrases import Phrase, extract

PARTICLES = set("嗯喽嘛啊呀噢哦的")


@cache
def phrases() -> dict[str, list[Phrase]]:
    return extract()


def spoken(phrases_by_seed: dict[str, list[Phrase]]) -> list[tuple[str, str]]:
    """(seed, text) for every phrase that can be said, deduplicated across seeds."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for seed, items in phrases_by_seed.items():
        for ph in items:
            text = ph.testable()
            key = re.sub(r"[\W_]", "", text or "")
            if text and key not in seen:
                seen.add(key)
                out.append((seed, text))
    return out


def agent_line(text: str) -> str:
    if set(text) <= PARTICLES:  # a habitual filler: said out of habit, more than once
        return f"好{text}，已经帮您查好{text}，您放心{text}。"
    return text


def conversation(agent_says: str | None, customer_says: str | None) -> dict[str, Any]:
    utts = [
        {"role": "agent", "text": "您好，欧飞，很高兴为您服务！请问有什么可以帮您？"},
        {"role": "customer", "text": customer_says or "我昨天充的话费还没到账。"},
        {"role": "agent", "text": agent_says or "很抱歉，我马上为您处理。"},
        {"role": "customer", "text": "好的。"},
        {"role": "agent", "text": "请问还有什么可以帮您？"},
        {"role": "customer", "text": "没有了，谢谢。"},
        {"role": "agent", "text": "不客气，感谢您的来电，再见！"},
    ]
    return {"id": "seed-phrase", "channel": "chat", "utterances": utts}


def forbid_findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        f for f in result["findings"] if f["rule"].startswith("FORBID-") or f["rule"] == "FILLER"
    ]


@cache
def engine() -> Any:
    from kefu.qa.engine import Engine

    return Engine.load("default")


def test_extraction_counts_are_plausible() -> None:
    by_seed = phrases()
    print()
    for seed, items in by_seed.items():
        n_spoken = sum(1 for p in items if p.testable())
        print(f"seed {seed}: {len(items)} phrases extracted, {n_spoken} spoken in the test")
    assert set(by_seed) == {"000", "001", "002", "003", "004"}
    # 000-003 have 禁语/忌语/禁用语 sections; 004 only names a few inline (切不行说“…”).
    for seed in ("000", "001", "002", "003"):
        assert len(by_seed[seed]) >= 10, (seed, len(by_seed[seed]))
    assert by_seed["004"], "seed 004's inline prohibitions were not found"
    # A phrase is one utterance-sized thing, never a paragraph swallowed by a bad boundary.
    for items in by_seed.values():
        for p in items:
            assert 1 <= len(p.text) <= 40, p


def test_extraction_is_reproducible() -> None:
    assert extract() == phrases()


def test_known_items_of_each_list_are_found() -> None:
    """One item from each list, as the seed spells it, so a broken parser is noticed."""
    texts = {
        seed: {re.sub(r"[\W_]", "", p.text) for p in items} for seed, items in phrases().items()
    }
    assert "不关我的事" in texts["000"]  # 二、服务禁语 (5、推诿客户)
    assert "你电话太吵我怎么听" in texts["000"]  # (二)、服务忌语, a 、 list
    assert "这跟我们没关系" in texts["001"]  # 八、服务禁语 (unnumbered lines)
    assert {"嗯", "喽", "嘛"} <= texts["001"]  # 七、服务的禁忌 (如:嗯,喽,嘛等)
    assert {"应该", "好像", "不可能"} <= texts["002"]  # 常见禁用词
    assert "你问我我问谁" in texts["002"]  # 如: examples
    assert "没错我们公司确实很差" in texts["003"]  # ◆服务忌语 随意附和语
    assert "你问我我问谁" in texts["003"]  # a parenthesised alternative
    assert "这与我无关" in texts["004"]


def test_clean_conversation_has_no_forbidden_findings() -> None:
    result = engine().check(conversation(None, None))
    assert "error" not in result, result
    assert forbid_findings(result) == []


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    # ASCII ids (pytest would escape the Chinese); the assertion message shows the phrase.
    return [f"seed{seed}-{i:03d}" for i, (seed, _) in enumerate(pairs)]


SPOKEN = spoken(extract())


@pytest.mark.parametrize(("seed", "text"), SPOKEN, ids=_ids(SPOKEN))
def test_agent_saying_it_is_flagged(seed: str, text: str) -> None:
    result = engine().check(conversation(agent_line(text), None))
    assert "error" not in result, result
    assert forbid_findings(result), f"seed {seed}: agent said {text!r}, no FORBID-*/FILLER finding"


@pytest.mark.parametrize(("seed", "text"), SPOKEN, ids=_ids(SPOKEN))
def test_customer_saying_it_is_not_flagged(seed: str, text: str) -> None:
    result = engine().check(conversation(None, text))
    assert "error" not in result, result
    got = forbid_findings(result)
    assert not got, f"seed {seed}: customer said {text!r}, flagged {got}"
