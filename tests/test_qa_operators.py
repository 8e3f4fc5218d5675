"""Each operator of the engine on small hand-written rulebooks and conversations."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from kefu.core.calendar import Festival, HolidayCalendar, YearSchedule
from kefu.qa.engine import Engine
from kefu.qa.text import digits_of, normalize, original_offsets, to_original


def engine(tmp_path: Path, checks: str, thresholds: str = "{}", **kw: Any) -> Engine:
    path = tmp_path / "r.yaml"
    path.write_text(
        f"version: 1\nthresholds: {thresholds}\nrules:\n  - id: T\n    message: 测试\n"
        f"    checks:\n{checks}\n",
        encoding="utf-8",
    )
    return Engine.load(path, **kw)


def say(*lines: str, **extra: Any) -> dict[str, Any]:
    utts: list[dict[str, Any]] = []
    for line in lines:
        role, text = line.split(":", 1)
        utts.append({"role": {"A": "agent", "C": "customer"}[role], "text": text})
    return {"id": "t", "channel": "chat", "utterances": utts, **extra}


def timed(
    *rows: tuple[str, float, float, str], events: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    utts = [
        {"role": {"A": "agent", "C": "customer"}[r], "start": s, "end": e, "text": t}
        for r, s, e, t in rows
    ]
    rec: dict[str, Any] = {"id": "t", "channel": "voice", "utterances": utts, **extra}
    if events is not None:
        rec["events"] = [
            {"t": ev[1], "type": ev[0], **({"by": ev[2]} if len(ev) > 2 else {})} for ev in events
        ]
    return rec


def hits(e: Engine, record: dict[str, Any]) -> list[dict[str, Any]]:
    result = e.check(record)
    assert "error" not in result, result
    return [f for f in result["findings"] if f["rule"] == "T"]


def test_normalisation_ignores_punctuation_space_and_variants() -> None:
    assert normalize("您 好，嘛！ＡＢ１") == "你好吗ab1"
    text = "喂，  您好！"
    offs = original_offsets(text)
    n = normalize(text)
    assert [text[offs[i]] for i in range(len(n))] == ["喂", "您", "好"]
    assert to_original(text, 1, 3) == (4, 6)
    assert digits_of("幺三八零零一三八") == "13800138"


def test_keyword_any_with_variants_and_exceptions(tmp_path: Path) -> None:
    e = engine(
        tmp_path, "      - forbid: {any: [不知道, 刚才不是跟您说了嘛], except: [不知道您是否]}"
    )
    assert hits(e, say("A:我，不 知道！"))
    assert hits(e, say("A:刚才不是跟你说了吗？"))  # 你/您, 吗/嘛, punctuation
    assert not hits(e, say("A:不知道您是否方便？"))
    assert not hits(e, say("C:我不知道。"))  # the customer may say it
    found = hits(e, say("A:好的。", "A:这个我不知道啊"))[0]
    assert found["utterance"] == 1
    assert found["span"] == [3, 6] and found["evidence"] == "不知道"


def test_keyword_all_none_n_of_and_unless(tmp_path: Path) -> None:
    e = engine(tmp_path, "      - require: {all: [您好, 再见]}")
    assert hits(e, say("A:您好"))
    assert not hits(e, say("A:您好", "A:再见"))
    e = engine(tmp_path, "      - forbid: {none: [谢谢]}")
    assert hits(e, say("A:好的"))
    assert not hits(e, say("A:谢谢"))
    e = engine(tmp_path, "      - forbid: {n_of: [甲, 乙, 丙], n: 2}")
    assert not hits(e, say("A:甲甲甲"))
    assert hits(e, say("A:甲", "A:丙"))
    e = engine(tmp_path, "      - forbid: {any: [不关我的事], unless: [您刚才说]}")
    assert hits(e, say("A:不关我的事"))
    assert not hits(e, say("A:您刚才说“不关我的事”，是吗？"))


def test_regex_with_exclusion_and_raw(tmp_path: Path) -> None:
    e = engine(tmp_path, '      - forbid: {regex: "[喽嘛]", raw: true, exclude: "干嘛"}')
    assert hits(e, say("A:好了喽"))
    assert not hits(e, say("A:你干嘛"))
    e = engine(tmp_path, '      - forbid: {regex: "工号是[0-9]+"}')
    found = hits(e, say("A:我的工号是，1024。"))[0]
    assert found["evidence"] == "工号是，1024"


def test_similarity_to_model_phrases(tmp_path: Path) -> None:
    e = engine(tmp_path, "      - require: {similar: [您是咨询有关话费的问题是吗], threshold: 0.6}")
    assert not hits(e, say("A:您是咨询话费的问题，是吗？"))
    assert hits(e, say("A:今天天气不错。"))


def test_scope_role_first_last(tmp_path: Path) -> None:
    e = engine(tmp_path, "      - require: {any: [您好], first: 1}")
    assert not hits(e, say("C:喂", "A:您好"))  # first *agent* utterance
    assert hits(e, say("A:喂", "A:您好"))
    e = engine(tmp_path, "      - require: {any: [再见], last: 2}")
    assert not hits(e, say("A:再见", "C:嗯", "A:好的"))
    assert hits(e, say("A:再见", "A:好的", "A:嗯"))
    e = engine(tmp_path, "      - forbid: {any: [投诉], role: customer}")
    assert hits(e, say("C:我要投诉")) and not hits(e, say("A:投诉电话是"))


def test_relations_after_before_within_count(tmp_path: Path) -> None:
    e = engine(
        tmp_path,
        "      - require: {any: [不客气]}\n        when: {any: [谢谢], role: customer}\n"
        "        within: {utterances: 2}",
    )
    assert not hits(e, say("C:谢谢", "A:不客气"))
    assert hits(e, say("A:不客气", "C:谢谢"))  # before does not count
    assert hits(e, say("C:谢谢", "A:嗯", "C:嗯", "A:嗯", "A:不客气"))  # too late
    # Two warnings before the agent ends the call.
    e = engine(
        tmp_path,
        "      - require: {any: [请您使用文明语言]}\n"
        "        when: {event: hangup, by: agent}\n        relation: before\n        count: 2",
    )
    rows = [("C", 0.0, 1.0, "混蛋"), ("A", 1.5, 3.0, "请您使用文明语言"), ("C", 3.5, 4.0, "混蛋")]
    one = timed(*rows, events=[("ring", 0), ("hangup", 9, "agent")])
    assert hits(e, one)
    two = timed(
        *rows, ("A", 4.5, 6.0, "请您使用文明语言"), events=[("ring", 0), ("hangup", 9, "agent")]
    )
    assert not hits(e, two)
    # Apologise within 10 s of the end of a wait longer than 7 s.
    e = engine(
        tmp_path,
        "      - require: {any: [久等了]}\n        when: {wait: {min: 7}}\n"
        "        within: {seconds: 10}",
    )
    assert hits(e, timed(("C", 0, 1, "查一下"), ("A", 9, 10, "查到了")))
    assert not hits(e, timed(("C", 0, 1, "查一下"), ("A", 9, 10, "让您久等了")))
    assert not hits(e, timed(("C", 0, 1, "查一下"), ("A", 3, 4, "查到了")))


def test_nth_occurrence_by_count_of_retain_attempts(tmp_path: Path) -> None:
    e = engine(
        tmp_path,
        "      - require: {any: [由我来为您处理]}\n        when: {event: transfer}\n"
        "        relation: before\n        count: $n",
        thresholds="{n: 2}",
    )
    base = [("C", 0, 1, "找领导"), ("A", 2, 3, "由我来为您处理好吗")]
    assert hits(e, timed(*base, events=[("ring", 0), ("transfer", 5)]))
    again = [*base, ("C", 4, 5, "不行"), ("A", 6, 7, "由我来为您处理好吗")]
    assert not hits(e, timed(*again, events=[("ring", 0), ("transfer", 8)]))


def test_timeline_operators(tmp_path: Path) -> None:
    overlap = engine(tmp_path, "      - forbid: {overlap: {min: 1.0}}")
    talk_over = timed(("C", 0, 6, "我的账单有问题"), ("A", 4, 5, "您的意思是"))
    assert hits(overlap, talk_over)[0]["utterance"] == 1
    assert not hits(overlap, timed(("C", 0, 6, "我的账单有问题"), ("A", 5.5, 7, "您的意思是")))
    silence = engine(tmp_path, "      - forbid: {silence: {min: 10}}")
    assert hits(silence, timed(("A", 0, 1, "您好"), ("C", 15, 16, "喂")))
    in_hold = timed(
        ("A", 0, 1, "您好"), ("C", 15, 16, "喂"), events=[("hold_start", 1), ("hold_end", 14)]
    )
    assert not hits(silence, in_hold)
    rate = engine(tmp_path, "      - forbid: {rate: {min: 90, max: 160}}")
    assert hits(rate, timed(("A", 0, 1, "一二三四五六七八九十")))  # 600 per minute
    assert not hits(rate, timed(("A", 0, 5, "一二三四五六七八九十")))  # 120 per minute
    hold = engine(tmp_path, "      - forbid: {hold: {min: 60, silent: true}}")
    assert hits(hold, timed(("A", 0, 1, "请稍等"), events=[("hold_start", 1), ("hold_end", 90)]))
    back = timed(
        ("A", 0, 1, "请稍等"), ("A", 40, 41, "还在查"), events=[("hold_start", 1), ("hold_end", 90)]
    )
    assert not hits(hold, back)
    answer = engine(tmp_path, "      - forbid: {answer: {min: 5, max: 30}}")
    assert hits(answer, timed(("A", 2, 3, "您好"), events=[("ring", 0), ("answer", 2)]))
    assert not hits(answer, timed(("A", 8, 9, "您好"), events=[("ring", 0), ("answer", 8)]))


def test_hangup_events_and_quiet_before(tmp_path: Path) -> None:
    e = engine(
        tmp_path,
        "      - require: {event: hangup, by: agent, quiet_before: 5}\n"
        "        when: {event: hangup, by: agent}",
    )
    rows = [("A", 0, 2, "再见")]
    assert hits(e, timed(*rows, events=[("ring", 0), ("hangup", 3, "agent")]))
    assert not hits(e, timed(*rows, events=[("ring", 0), ("hangup", 8, "agent")]))
    assert not hits(e, timed(*rows, events=[("ring", 0), ("hangup", 3, "customer")]))


def test_holidays_with_make_up_workdays(tmp_path: Path) -> None:
    e = engine(
        tmp_path, "      - require: {any: [节日好], first: 1}\n        when: {holiday: festival}"
    )
    rec = say("A:您好")
    assert hits(e, {**rec, "started_at": "2026-10-01T09:00:00+08:00"})
    assert not hits(e, {**rec, "started_at": "2026-10-12T09:00:00+08:00"})
    # UTC time that is already National Day in Beijing.
    assert hits(e, {**rec, "started_at": "2026-09-30T18:00:00+00:00"})
    # An imported schedule with a make-up workday (调休) on a Sunday: no holiday greeting.
    cal = HolidayCalendar(
        {
            2030: YearSchedule(
                2030,
                {dt.date(2030, 10, 1): Festival.NATIONAL_DAY},
                frozenset({dt.date(2030, 9, 29)}),
            )
        }
    )
    assert cal.is_workday(dt.date(2030, 9, 29))
    e2 = engine(
        tmp_path,
        "      - require: {any: [节日好], first: 1}\n        when: {holiday: festival}",
        calendar=cal,
    )
    assert not hits(e2, {**rec, "started_at": "2030-09-29T09:00:00+08:00"})
    assert hits(e2, {**rec, "started_at": "2030-10-01T09:00:00+08:00"})
    # Without started_at the holiday rule is not applicable, never passed.
    assert "T" in e.check(rec)["not_applicable"]


def test_readback_of_digits_and_chinese_numerals(tmp_path: Path) -> None:
    e = engine(tmp_path, "      - forbid: {readback: {min: 6, within: 3}}")
    number = "C:我的手机号是13800138000"
    assert hits(e, say(number, "A:好的"))
    assert not hits(e, say(number, "A:我帮您重复一下，13800138000，对吗？"))
    assert not hits(e, say(number, "A:我帮您重复一下，幺三八零零幺三八零零零，对吗？"))
    assert not hits(e, say("C:我的手机号是一三八零零一三八零零零", "A:是13800138000吗？"))
    assert not hits(e, say("C:我要三个", "A:好的"))  # short numbers need no read-back


def test_voice_rules_not_applicable_on_chat_or_without_times(tmp_path: Path) -> None:
    e = engine(tmp_path, "      - forbid: {overlap: {min: 1.0}}")
    assert e.check(say("A:您好"))["not_applicable"] == ["T"]
    untimed = {"id": "v", "channel": "voice", "utterances": [{"role": "agent", "text": "您好"}]}
    assert e.check(untimed)["not_applicable"] == ["T"]


def test_output_is_deterministic() -> None:
    e = Engine.load("default")
    corpus = Path(__file__).resolve().parent / "qa_corpus" / "corpus.jsonl"
    records = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()[:40]]
    first = [json.dumps(e.check(r), ensure_ascii=False) for r in records]
    again = [json.dumps(Engine.load("default").check(r), ensure_ascii=False) for r in records]
    assert first == again


@pytest.mark.parametrize("library", ["pyahocorasick", "ahocorasick_rs"])
def test_both_automaton_libraries_agree(library: str) -> None:
    e = Engine.load("default", library=library)
    base = Engine.load("default")
    rec = say("A:喂，就是说，这个我不知道。", "C:谢谢", "A:不客气，这是我们应该做的。")
    assert e.check(rec) == base.check(rec)


def test_quoted_phrases_are_not_the_agents_own(tmp_path: Path) -> None:
    e = engine(tmp_path, "      - forbid: {any: [不关我的事], unquoted: true}")
    assert not hits(e, say("A:您刚才说同事讲“不关我的事”，是吗？"))
    assert hits(e, say("A:您是说要退款？这不关我的事。"))
    assert hits(e, say("A:“好的”，这不关我的事。"))  # a closed quote before it
