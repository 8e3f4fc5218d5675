"""Agent assist (SV-03, SV-04): scenarios from realistic turns, next steps, holiday scripts,
and the chat guard. The utterances are worded as the seeds word real calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kefu.assist import (
    GuardHit,
    Playbook,
    Scenario,
    Utterance,
    closing,
    guard,
    guard_with,
    opening,
    recognise,
    suggest,
)
from kefu.assist.errors import AssistError
from kefu.core.calendar import Greeting

GREET = "您好，好胎屋，很高兴为您服务，请问有什么可以帮您？"


@pytest.fixture(scope="module")
def book() -> Playbook:
    return Playbook.load("default")


def A(text: str, **kw: Any) -> dict[str, Any]:
    return {"role": "agent", "text": text, **kw}


def C(text: str, **kw: Any) -> dict[str, Any]:
    return {"role": "customer", "text": text, **kw}


def scenarios(utts: list[dict[str, Any]], book: Playbook, **kw: Any) -> list[Scenario]:
    return [r.scenario for r in recognise(utts, book, **kw)]


def top(utts: list[dict[str, Any]], book: Playbook, **kw: Any) -> Any:
    found = suggest(utts, book, **kw)
    assert found, f"nothing recognised in {utts}"
    return found[0]


# ------------------------------------------------------------------ each scenario
def test_silent_line_steps(book: Playbook) -> None:
    utts = [A(GREET, start=4.5, end=9.0)]
    # not yet: the customer has had only 1 s
    assert scenarios(utts, book, now=10.0) == []
    s = top(utts, book, now=12.5)
    assert (s.scenario, s.step, s.action) == (Scenario.SILENT_LINE, 2, None)
    assert "请问有什么可以帮您" in s.script
    utts.append(A("您好，请问有什么可以帮您？", start=13.0, end=16.0))
    s = top(utts, book, now=20.0)
    assert s.step == 3 and "没有声音" in s.script and s.action == "hangup"


def test_noise_request_then_closing(book: Playbook) -> None:
    utts = [A(GREET), C("……我……那个……")]
    s = top(utts, book)
    assert s.scenario is Scenario.NOISE and s.step == 1
    assert "拿起话筒" in s.script and "大声点" not in s.script
    utts += [A(s.script), C("（杂音）……")]
    s = top(utts, book)
    assert s.step == 2 and "换一部电话" in s.script and s.action == "hangup"


def test_inaudible_flag_from_the_recogniser(book: Playbook) -> None:
    utts = [A(GREET), C("轮胎", inaudible=True)]
    assert scenarios(utts, book) == [Scenario.NOISE]


def test_dialect(book: Playbook) -> None:
    utts = [A(GREET), C("喂，我想问下你哋啲轮胎几时发货㗎？")]
    s = top(utts, book)
    assert s.scenario is Scenario.DIALECT and "普通话" in s.script and s.step == 1
    utts += [A(s.script), C("我讲唔好普通话㗎。")]
    s = top(utts, book)
    assert s.step == 2 and "找一个可以讲普通话的人" in s.script


def test_hesitation_is_not_dialect(book: Playbook) -> None:
    assert scenarios([A(GREET), C("唔，我想问一下订单的事。")], book) == []


def test_abuse_counts_warnings(book: Playbook) -> None:
    utts = [A(GREET), C("你们这帮骗子，他妈的什么破公司！")]
    s = top(utts, book)
    assert (s.scenario, s.step) == (Scenario.ABUSE, 1)
    assert "请您使用文明语言" in s.script
    utts += [A(s.script), C("骗子！滚！")]
    s = top(utts, book)
    assert (s.step, s.action) == (2, None)
    utts += [A(s.script), C("他妈的！")]
    s = top(utts, book)
    assert (s.step, s.action) == (3, "hangup")
    assert "结束这次通话" in s.script


def test_abuse_warning_in_the_profiles_words() -> None:
    oufei = Playbook.load("oufei")
    utts = [A("您好，欧飞，很高兴为您服务！请问有什么可以帮您？"), C("混蛋！")]
    s = top(utts, oufei)
    assert s.script == "为了和您保持良好的沟通，希望您使用文明用语。"
    utts += [A(s.script), C("混蛋！"), A(s.script), C("我就骂你怎么了，混蛋！")]
    s = top(utts, oufei)
    assert s.step == 3 and s.script == "如您再次使用不文明语言，将结束本次通话！"


def test_supervisor_two_retentions_then_transfer(book: Playbook) -> None:
    utts = [A(GREET), C("我不跟你说，叫你们主管来接电话！")]
    s = top(utts, book)
    assert (s.scenario, s.step) == (Scenario.ASK_SUPERVISOR, 1)
    assert "表示歉意" in s.script
    utts += [A(s.script), C("不用，我就找主管。")]
    s = top(utts, book)
    assert s.step == 2 and "职责范围内" in s.script
    utts += [A(s.script), C("不行，我就要找主管。")]
    s = top(utts, book)
    assert (s.step, s.action) == (3, "transfer")


def test_particular_agent(book: Playbook) -> None:
    utts = [A(GREET), C("我要找上次那个1024号客服。")]
    s = top(utts, book)
    assert (s.scenario, s.step) == (Scenario.ASK_AGENT, 1)
    utts += [A(s.script), C("我就要找她。")]
    s = top(utts, book)
    assert s.step == 2 and "座席人员正在接线" in s.script


def test_complaint_stays_open_until_a_reply_time_is_promised(book: Playbook) -> None:
    utts = [A(GREET), C("你们送货的师傅态度太差了，我要投诉！")]
    s = top(utts, book)
    assert (s.scenario, s.step, s.steps) == (Scenario.COMPLAINT, 1, 2) and "抱歉" in s.script
    utts += [
        A("对不起，王先生，给您带来不便非常抱歉。您反映的问题是送货师傅态度差，是这样吗？"),
        C("对。"),
    ]
    s = top(utts, book)
    assert (s.scenario, s.step) == (Scenario.COMPLAINT, 2)
    assert s.script == "您反映的问题我已经详细记录下来，我们会在24小时内给您答复。"
    utts += [A(s.script), C("好吧。")]
    assert Scenario.COMPLAINT not in scenarios(utts, book)


def test_thanks_and_the_reply(book: Playbook) -> None:
    s = top([A(GREET), C("我想查订单。"), A("您的订单已经出库。"), C("好的，谢谢你啊。")], book)
    assert s.scenario is Scenario.THANKS
    assert s.script == "不客气，这是我们应该做的。"


def test_suggestion(book: Playbook) -> None:
    s = top([A(GREET), C("我建议你们把人工服务时间延长到晚上九点。")], book)
    assert s.scenario is Scenario.SUGGESTION and "谢谢您的建议" in s.script


def test_agent_id_is_filled_in(book: Playbook) -> None:
    s = top([A(GREET), C("你工号多少？")], book, agent_id="4762")
    assert s.scenario is Scenario.AGENT_ID and s.script == "我是4762号，如服务不周请您谅解。"


def test_wrong_number(book: Playbook) -> None:
    s = top([A(GREET), C("喂，请问是李医生家吗？")], book)
    assert s.scenario is Scenario.WRONG_NUMBER
    assert "请您查证后再拨" in s.script and "打错" not in s.script
    # asking whether this is the organisation itself is not a wrong number
    hao = Playbook.load("haotaiwu")
    assert Scenario.WRONG_NUMBER not in scenarios([A(GREET), C("请问是好胎屋吗？")], hao)


def test_wrong_number_uses_the_profile_org() -> None:
    tel = Playbook.load("telecom-10000")
    s = top([A("您好，中国电信10000号，请问有什么可以帮到您？"), C("请问是张老师家吗？")], tel)
    assert s.script == "对不起，这里是中国电信10000客服中心，请您核实后再拨，再见。"


def test_sales_call(book: Playbook) -> None:
    utts = [A(GREET), C("您好，我这边是做贷款的，想跟您了解一下我们的理财产品。")]
    s = top(utts, book)
    assert s.scenario is Scenario.SALES_CALL and "客户服务热线" in s.script
    utts += [A(s.script), C("就占用您两分钟，我们有一款产品……")]
    s = top(utts, book)
    assert (s.step, s.action) == (2, "hangup")


def test_cannot_answer_from_the_draft(book: Playbook) -> None:
    utts = [A(GREET), C("你们这款轮胎能用在新能源车上吗？保修几年？")]
    assert Scenario.CANNOT_ANSWER not in scenarios(utts, book)
    s = top(utts, book, draft="这个我不清楚，好像是三年吧")
    assert s.scenario is Scenario.CANNOT_ANSWER
    assert "留下联系方式" in s.script


def test_noise_request_is_not_cannot_answer(book: Playbook) -> None:
    utts = [A(GREET), C("喂？")]
    got = scenarios(
        utts, book, draft="对不起，您的电话杂音太大，听不清楚，请您换一部电话再打来好吗？"
    )
    assert Scenario.CANNOT_ANSWER not in got


def test_an_ordinary_question_is_no_scenario(book: Playbook) -> None:
    utts = [A(GREET), C("我上周订的轮胎，想问一下什么时候发货。")]
    assert scenarios(utts, book) == []


def test_abuse_comes_before_complaint(book: Playbook) -> None:
    got = scenarios([A(GREET), C("他妈的，我要投诉你们！")], book)
    assert got[:2] == [Scenario.ABUSE, Scenario.COMPLAINT]


def test_accepts_dataclass_utterances(book: Playbook) -> None:
    utts = [Utterance("agent", GREET), Utterance("customer", "你工号多少？")]
    assert [r.scenario for r in recognise(utts, book)] == [Scenario.AGENT_ID]


# ------------------------------------------------------------------ holidays (SV-04)
def test_spring_festival_opening_and_closing(book: Playbook) -> None:
    day = dt.date(2026, 2, 17)
    o = opening(book, day)
    assert o.script.startswith("新年好") and o.holiday is Greeting.NEW_YEAR and not o.estimated
    c = closing(book, day)
    assert "祝您新年愉快" in c.script and c.script.startswith("感谢您的来电")


def test_national_day(book: Playbook) -> None:
    day = dt.date(2026, 10, 1)
    assert opening(book, day).script.startswith("节日好")
    assert "祝您节日愉快" in closing(book, day).script


def test_ordinary_and_make_up_workday(book: Playbook) -> None:
    for day in (dt.date(2026, 11, 18), dt.date(2026, 2, 14)):  # 2-14: a Saturday 调休 workday
        o = opening(book, day)
        assert o.script.startswith("您好") and o.holiday is None and o.warnings == ()
        assert closing(book, day).script == "感谢您的来电，再见！"


def test_estimated_year_warns(book: Playbook) -> None:
    # 2027 is past chinese-calendar's official data: the festival comes from the lunar
    # calendar (Spring Festival 2027-02-06) and the suggestion carries a visible warning.
    o = opening(book, dt.date(2027, 2, 6))
    assert o.script.startswith("新年好") and o.estimated
    assert o.warnings and "2027" in o.warnings[0]
    plain = opening(book, dt.date(2027, 3, 10))
    assert plain.script.startswith("您好") and plain.estimated and plain.warnings


def test_silent_line_greeting_follows_the_holiday(book: Playbook) -> None:
    s = top([A("节日好，客服中心，请问有什么可以帮您？")], book, day=dt.date(2026, 10, 1))
    assert s.scenario is Scenario.SILENT_LINE and s.script.startswith("您好")  # 2nd step
    first = book.script("silent_line", 1)
    assert "{greeting}" in first


def test_profile_closing_with_survey() -> None:
    oufei = Playbook.load("oufei")
    c = closing(oufei, dt.date(2026, 10, 1))
    assert c.script == "请不要挂机，稍后对我的服务进行评价，祝您节日愉快，谢谢，再见！"
    assert opening(oufei, dt.date(2026, 10, 1)).script.startswith("节日好，欧飞")


# ------------------------------------------------------------------ the guard
def test_guard_spans_and_replacements() -> None:
    draft = "喂，大声点，我听不清！"
    hits = guard(draft)
    rules = [h.rule for h in hits]
    assert rules[0] == "FORBID-ADDRESS" and "FORBID-COMMAND" in rules
    for h in hits:
        assert isinstance(h, GuardHit)
        assert draft[h.start : h.end] == h.phrase and h.replacement
    cmd = next(h for h in hits if h.rule == "FORBID-COMMAND")
    assert cmd.replacement == "对不起，您的声音太小，请您拿起话筒说话好吗？"


def test_guard_replacement_by_rule() -> None:
    draft = "您好，这不是我们公司的责任，是你自己造成的。"
    hits = guard(draft)
    assert hits and {h.rule for h in hits} == {"FORBID-SHIRK"}
    assert "这不是我们公司的责任" in hits[0].phrase
    assert hits[0].replacement == Playbook.load("default").by_rule["FORBID-SHIRK"]


@pytest.mark.parametrize(
    "draft",
    [
        "不客气，这是我们应该做的。",
        "这是我应该做的",
        "您知道吗，本月起充值满一百元可以参加抽奖。",
        "您刚才说“不关我的事”，是吗？",
        "请问还有什么可以帮您？",
        "对不起！请您大声一点，好吗？",
        "",
    ],
)
def test_guard_leaves_standard_phrases_alone(draft: str) -> None:
    assert guard(draft) == []


def test_guard_uses_the_qa_engines_rules(book: Playbook) -> None:
    """Every rule the guard reports is a FORBID-*/FILLER rule of the same QA rulebook."""
    qa_rules = {r.id for r in book.guard_engine.rules}
    assert qa_rules and all(r.startswith("FORBID-") or r == "FILLER" for r in qa_rules)
    hits = guard_with("这个我不知道，你问我，我问谁？就是说这样喽。", book)
    assert {h.rule for h in hits} <= qa_rules
    assert {"FORBID-WORDS", "FILLER"} <= {h.rule for h in hits}


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(AssistError, match="no-such-profile"):
        Playbook.load("no-such-profile")
