# ruff: noqa: E501
"""Build the labelled QA corpus (tests/qa_corpus/corpus.jsonl) from the scenes below.

Run `python tests/qa_corpus/build.py` after editing; the JSONL is committed and the tests read
it, and `tests/test_qa_corpus.py` checks that the committed file equals this script's output.

Each conversation is written in the public format (CONVERSATION-FORMAT.md) plus two extra
fields the format allows: `expect` ({"breach": [...], "comply": [...]}) and `note` (why a
trap is labelled the way it is). Wording comes from the seeds (/work/shared/seeds/).

Timing model: agent speech 120 characters a minute (2 per second) unless a scene changes it,
customer speech 3 characters a second, 0.8 s between turns, ring at t=0.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("corpus.jsonl")

FORBID = [
    "FORBID-ADDRESS",
    "FORBID-QUESTION",
    "FORBID-ARROGANT",
    "FORBID-COMMAND",
    "FORBID-SHIRK",
    "FORBID-BLAME",
    "FORBID-IMPATIENT",
    "FORBID-SARCASM",
    "FORBID-AGREE-NEG",
    "FORBID-WORDS",
    "FILLER",
]
SPECIAL = [
    "SIL-PROCEDURE",
    "NOISE-PROCEDURE",
    "DIALECT-PROCEDURE",
    "ABUSE-PROCEDURE",
    "SUPERVISOR-RETAIN",
    "WRONG-NUMBER",
    "CANNOT-ANSWER",
    "COMPLAINT-HANDLING",
    "SUGGESTION-THANKS",
    "AGENT-ID",
    "MISTAKE-CORRECT",
]
TIMED = [
    "OPEN-ANSWER-SPEED",
    "LISTEN-INTERRUPT",
    "LISTEN-RATE",
    "HOLD-THANK",
    "HOLD-CHECKIN",
    "HOLD-MAX",
    "HOLD-CALLBACK",
    "DEAD-AIR",
    "CLOSE-HANGUP-ORDER",
]
# Rules a clean inbound voice call (base() with no changes) complies with.
BASE_IN = [
    "OPEN-GREETING",
    "OPEN-HOLIDAY",
    "NAME-ASK",
    "NAME-USE",
    "NAME-NO-REASK",
    "CONFIRM-RESTATE",
    "CONFIRM-READBACK",
    "HOLD-ASK",
    "THANKS-REPLY",
    "CLOSE-ASK-MORE",
    "CLOSE-THANKS",
    *TIMED,
    *SPECIAL,
    *FORBID,
]
# Rules a clean chat (no timestamps) complies with; time rules are not applicable there.
BASE_CHAT = [r for r in BASE_IN if r not in TIMED and r != "OPEN-HOLIDAY"]

_NONTEXT = re.compile(r"[\W_]+")


def nchars(text: str) -> int:
    """Characters that are spoken: letters, digits and Han, no punctuation."""
    return len(_NONTEXT.sub("", text))


@dataclass
class Org:
    key: str
    name: str
    greeting: str
    surname: str
    title: str
    request: str
    restate: str
    kind: str
    number: str
    answer: str
    agent_id: str
    closing: str = "感谢您的来电，再见！"

    @property
    def mr(self) -> str:
        return self.surname + self.title


ORGS = [
    Org(
        "haotaiwu",
        "好胎屋",
        "您好，好胎屋，很高兴为您服务，请问有什么可以帮您？",
        "王",
        "先生",
        "我上周在你们那里订的轮胎，到现在还没发货，想问一下什么时候能发。",
        "您是咨询有关轮胎订单发货时间的问题，是吗？",
        "订单号",
        "202611150873",
        "您的订单已经在今天上午出库，预计两天内送达。",
        "1024",
        "谢谢您的来电，再见！",
    ),
    Org(
        "cheyun",
        "车云网络",
        "您好，车云网络，很高兴为您服务，请问有什么可以帮您？",
        "张",
        "先生",
        "我想开一个批发账号，看看你们的轮胎价格。",
        "您的意思是想开通批发账号查看轮胎价格，是这样吗？",
        "手机号",
        "13912345678",
        "账号已经为您开通，登录密码稍后会以短信发到您的手机上。",
        "2051",
    ),
    Org(
        "yiyang",
        "怡养居家养老服务中心",
        "您好，这里是怡养居家养老服务中心，我是4762号客服，请问有什么可以帮您？",
        "陈",
        "女士",
        "我想给我妈订一次上门助浴服务。",
        "您是想预约上门助浴服务，是吗？",
        "身份证号",
        "440102195303154321",
        "已经为您登记好了，明天上午九点会有护理员上门为您服务。",
        "4762",
    ),
    Org(
        "dianxin",
        "中国电信10000号",
        "早上好，中国电信10000号，请问有什么可以帮到您？",
        "刘",
        "先生",
        "我家宽带从昨天晚上开始就上不了网。",
        "您的意思是家里的宽带从昨晚开始无法上网，是这样吗？",
        "宽带账号",
        "075512345678",
        "您申告的障碍我们已经受理了，维修人员将在二十四小时内为您修复。",
        "3306",
    ),
    Org(
        "taiyuan",
        "太原高速",
        "您好，太原高速，很高兴为您服务，请问有什么可以帮您？",
        "赵",
        "先生",
        "我想问一下太旧高速往阳泉方向现在堵不堵。",
        "您是咨询太旧高速阳泉方向的路况，是吗？",
        "通行卡号",
        "1401202600881234",
        "目前太旧高速阳泉方向车流量较大，但整体通行顺畅，请您注意行车安全。",
        "0817",
    ),
    Org(
        "oufei",
        "欧飞",
        "您好，欧飞，很高兴为您服务！请问有什么可以帮您？",
        "孙",
        "女士",
        "我昨天充了一百块话费，到现在还没到账。",
        "您是咨询有关话费充值未到账的问题，是吗？",
        "订单号",
        "8806152347",
        "您的这笔充值已经成功，运营商到账会有延迟，预计两小时内到账。",
        "5120",
    ),
    Org(
        "shengjing",
        "盛京银行",
        "您好，盛京银行，很高兴为您服务，请问有什么可以帮您？",
        "周",
        "先生",
        "我想查一下我信用卡这个月的账单。",
        "您是想查询本月的信用卡账单，是吗？",
        "卡号",
        "6228480012345678",
        "您本月的账单金额是三千二百元，最后还款日是十二月五日。",
        "0931",
    ),
    Org(
        "nanshan",
        "四川楠山农林科技",
        "您好！四川楠山农林科技客服部，请问有什么能帮您？",
        "杨",
        "女士",
        "我在你们那里订了一批苗木，想确认一下送货时间。",
        "您说的是苗木订单的送货时间，是这个意思吗？",
        "订单号",
        "20261108035",
        "您的苗木已经装车，预计后天上午送到。",
        "6602",
        "感谢您的来电，再见！",
    ),
]
ORG = {o.key: o for o in ORGS}

r2_000 = "对不起，我们公司每个人都有自己的职责，请您放心，我们会按公司的制度处理的，而您这个问题是属于我的职责范围内，请您交给我为您处理好吗？"

HOLIDAY_WISH = {"new_year": "祝您新年愉快，", "festival": "祝您节日愉快，"}


@dataclass
class Conv:
    """Builds one conversation on a timeline."""

    cid: str
    channel: str = "voice"
    direction: str = "inbound"
    started_at: str | None = "2026-11-18T10:15:00+08:00"
    profile: str = "default"
    agent_id: str = "1024"
    answer_at: float = 5.0
    agent_cps: float = 2.0
    customer_cps: float = 3.0
    t: float = 0.0
    utterances: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.channel == "voice":
            self.events.append({"t": 0.0, "type": "ring"})
            self.events.append({"t": self.answer_at, "type": "answer"})
            self.t = self.answer_at + 0.5

    @property
    def timed(self) -> bool:
        return self.channel == "voice"

    def say(self, role: str, text: str, gap: float = 0.8, overlap: float = 0.0) -> Conv:
        if not self.timed:
            self.utterances.append({"role": role, "text": text})
            return self
        cps = self.agent_cps if role == "agent" else self.customer_cps
        start = self.t + gap if self.utterances else self.t
        if overlap:
            start = self.t - overlap
        end = start + max(nchars(text), 1) / cps
        u = {"role": role, "start": round(start, 2), "end": round(end, 2), "text": text}
        self.utterances.append(u)
        self.t = max(self.t, end)
        return self

    def a(self, text: str, **kw: float) -> Conv:
        return self.say("agent", text, **kw)

    def c(self, text: str, **kw: float) -> Conv:
        return self.say("customer", text, **kw)

    def wait(self, seconds: float) -> Conv:
        self.t += seconds
        return self

    def event(self, kind: str, after: float = 0.5, by: str | None = None) -> Conv:
        if not self.timed:
            return self
        self.t += after
        ev: dict[str, Any] = {"t": round(self.t, 2), "type": kind}
        if by:
            ev["by"] = by
        self.events.append(ev)
        return self

    def hold(self, seconds: float) -> Conv:
        self.event("hold_start")
        self.t += seconds
        return self.event("hold_end", after=0.0)

    def hangup(self, by: str = "customer", after: float = 1.5) -> Conv:
        return self.event("hangup", after=after, by=by)

    def done(self, breach: list[str], comply: list[str], note: str = "") -> dict[str, Any]:
        overlap = set(breach) & set(comply)
        assert not overlap, (self.cid, overlap)
        rec: dict[str, Any] = {"id": self.cid, "channel": self.channel}
        rec["direction"] = self.direction
        if self.started_at:
            rec["started_at"] = self.started_at
        rec["profile"] = self.profile
        rec["agent"] = {"id": self.agent_id}
        if self.timed:
            rec["events"] = self.events
        rec["utterances"] = self.utterances
        rec["expect"] = {"breach": sorted(set(breach)), "comply": sorted(set(comply))}
        if note:
            rec["note"] = note
        return rec


CORPUS: list[dict[str, Any]] = []


def add(rec: dict[str, Any]) -> None:
    CORPUS.append(rec)


def base(
    cid: str,
    org: Org,
    *,
    breach: Sequence[str] = (),
    drop: Sequence[str] = (),
    extra_comply: Sequence[str] = (),
    note: str = "",
    channel: str = "voice",
    started_at: str | None = "2026-11-18T10:15:00+08:00",
    greeting: str | None = None,
    answer_at: float = 5.0,
    agent_cps: float = 2.0,
    ask_name: str | None = "请问您贵姓？",
    name_uses: int = 2,
    restate: str | None = "",
    interrupt: float = 0.0,
    readback: str | None = "",
    number_said: str | None = None,
    hold_ask: str | None = "请您稍等片刻好吗？我帮您查询一下。",
    hold: list[float] | None = None,
    checkin: str = "还在为您查询，请您再稍等片刻好吗？",
    silence: float = 0.0,
    thank_wait: str | None = "感谢您的耐心等待。",
    answer: str | None = None,
    middle: Sequence[tuple[str, str] | tuple[str, str, float]] = (),
    thanks: str | None = "不客气，这是我们应该做的。",
    ask_more: str | None = "请问还有什么可以帮您？",
    closing: str | None = None,
    hangup: tuple[str, float] = ("customer", 1.5),
    before_hangup: str | None = None,
    profile: str = "default",
    hangup_wait: float = 3.0,
    only: Sequence[str] | None = None,
    ivr: str | None = None,
) -> None:
    """A clean inbound call, changed by the keyword arguments; labels from `breach`/`drop`."""
    conv = Conv(cid, channel=channel, started_at=started_at, answer_at=answer_at, profile=profile)
    conv.agent_id = org.agent_id
    conv.agent_cps = agent_cps
    timed = channel == "voice"
    if ivr:
        conv.say("system", ivr)
    conv.a(greeting if greeting is not None else org.greeting)
    conv.c(org.request)
    mr = org.mr
    uses_left = name_uses

    def name() -> str:
        nonlocal uses_left
        if uses_left > 0:
            uses_left -= 1
            return mr + "，"
        return ""

    if ask_name is not None:
        conv.a(ask_name, overlap=interrupt)
        conv.c(f"我姓{org.surname}。")
    rs = org.restate if restate == "" else restate
    if rs is not None:
        conv.a(name() + rs)
        conv.c(f"对的。我的{org.kind}是{number_said or org.number}。")
    else:
        conv.c(f"我的{org.kind}是{number_said or org.number}。")
    rb = f"我帮您重复一下，您的{org.kind}是{org.number}，对吗？" if readback == "" else readback
    if rb is not None:
        conv.a(rb)
        conv.c("对。")
    holds = ([20.0] if hold is None else hold) if timed else []
    if hold_ask is not None and timed:
        conv.a(hold_ask)
        conv.c("好的。")
    if timed:
        for i, h in enumerate(holds):
            if i:
                conv.a(name() + checkin if name_uses > 2 else checkin)
                conv.c("好的。")
            conv.hold(h)
        if silence:
            conv.wait(silence)
    tw = thank_wait if (holds or silence) else None
    ans = answer if answer is not None else org.answer
    first = name() + (tw or "") + ans
    conv.a(first, gap=0.5 if holds and timed else 0.8)
    for turn in middle:
        if turn[0] == "hold":  # ("hold", seconds): a hold inside the middle turns
            conv.hold(float(turn[1]))
            continue
        conv.say(turn[0], turn[1], gap=turn[2] if len(turn) > 2 else 0.8)  # type: ignore[misc]
    while uses_left > 0:
        conv.a(name() + "还有一点提醒您，有任何问题可以随时联系我们。")
        conv.c("好。")
    conv.c("好的，谢谢。")
    if thanks is not None:
        conv.a(thanks + (ask_more or ""))
    elif ask_more is not None:
        conv.a(ask_more)
    if ask_more is not None or thanks is not None:
        conv.c("没有了。")
    close = closing if closing is not None else org.closing
    conv.a(close)
    if before_hangup:
        conv.wait(hangup_wait)
        conv.a(before_hangup)
    conv.hangup(*hangup)
    comply = [r for r in (BASE_IN if timed else BASE_CHAT) if r not in breach and r not in drop]
    if not timed:
        comply = [r for r in comply if r not in ("HOLD-ASK",)]
    if only is not None:  # label just these rules (a profile changes the others)
        comply = [r for r in comply if r in only]
    add(conv.done(list(breach), comply + list(extra_comply), note))


def build() -> list[dict[str, Any]]:
    CORPUS.clear()
    hao, che, yi, dx, ty, ou, sj, ns = ORGS

    # ---------------------------------------------------------------- clean calls
    for o in ORGS:
        base(f"clean-{o.key}", o, extra_comply=["CLOSE-SURVEY"])
    base("clean-chat-oufei", ou, channel="chat", started_at=None)
    base("clean-chat-shengjing", sj, channel="chat", started_at=None)

    # ---------------------------------------------------------------- OPEN-GREETING
    for i, (o, g) in enumerate(
        [(hao, "喂？"), (che, "您好。"), (sj, "说话。"), (ty, "您好，请问有什么事？")]
    ):
        # a bare 喂 is also 直呼 (seed 000 二、服务禁语 1、直呼客户)
        extra = ["FORBID-ADDRESS"] if g.startswith("喂") else []
        base(f"open-greeting-b{i + 1}", o, greeting=g, breach=["OPEN-GREETING", *extra])
    base(
        "open-greeting-c1",
        yi,
        greeting="您好，怡养居家养老服务中心4762号客服为您服务，请问有什么可以帮您的？",
    )
    base(
        "open-greeting-c2",
        dx,
        greeting="下午好，中国电信10000号，请问有什么可以帮到您？",
        started_at="2026-11-18T15:10:00+08:00",
    )
    base(
        "open-greeting-c3",
        hao,
        greeting="您好，欢迎致电好胎屋客户服务热线，客服代表1024很高兴为您服务，请问有什么可以帮助您？",
    )

    # ---------------------------------------------------------------- OPEN-ANSWER-SPEED
    for i, (o, t) in enumerate([(hao, 18.0), (ou, 25.0), (sj, 40.0)]):
        base(f"answer-speed-b{i + 1}", o, answer_at=t, breach=["OPEN-ANSWER-SPEED"])
    for i, (o, t) in enumerate([(che, 3.0), (ns, 10.0), (dx, 14.5)]):
        base(f"answer-speed-c{i + 1}", o, answer_at=t)

    # ---------------------------------------------------------------- OPEN-HOLIDAY
    holiday_b = [
        (ou, "2026-02-17T09:30:00+08:00", "new_year", "Spring Festival, everyday 您好"),
        (yi, "2026-10-01T09:00:00+08:00", "festival", "National Day, everyday 您好"),
        (sj, "2026-01-01T11:00:00+08:00", "new_year", "New Year's Day, everyday 您好"),
        (che, "2026-06-19T14:00:00+08:00", "festival", "Dragon Boat, everyday 您好"),
        (
            hao,
            "2026-09-30T18:00:00Z",
            "festival",
            "18:00 UTC on 30 Sep is 02:00 on 1 Oct in Beijing: National Day",
        ),
    ]
    for i, (o, when, kind, why) in enumerate(holiday_b):
        base(
            f"open-holiday-b{i + 1}",
            o,
            started_at=when,
            closing=f"感谢您的来电，{HOLIDAY_WISH[kind]}再见！",
            breach=["OPEN-HOLIDAY"],
            note=why,
        )
    holiday_c = [
        (ou, "2026-02-17T10:00:00+08:00", "新年好，欧飞，很高兴为您服务！", "new_year"),
        (
            yi,
            "2026-10-01T09:00:00+08:00",
            "节日好，怡养居家养老服务中心，很高兴为您服务！",
            "festival",
        ),
        (dx, "2026-05-01T16:00:00+08:00", "节日好，中国电信10000号，很高兴为您服务！", "festival"),
        (sj, "2026-09-25T10:00:00+08:00", "节日好，盛京银行，很高兴为您服务！", "festival"),
        (
            ns,
            "2026-01-01T10:00:00+08:00",
            "新年好！四川楠山农林科技客服部，很高兴为您服务！",
            "new_year",
        ),
    ]
    for i, (o, when, g, kind) in enumerate(holiday_c):
        base(
            f"open-holiday-c{i + 1}",
            o,
            started_at=when,
            greeting=g + "请问有什么可以帮您？",
            closing=f"感谢您的来电，{HOLIDAY_WISH[kind]}再见！",
        )
    base(
        "open-holiday-c6",
        che,
        started_at="2026-02-14T10:00:00+08:00",
        note="2026-02-14 is a Saturday but a make-up workday (调休): the everyday greeting is right",
    )
    base(
        "open-holiday-c7",
        hao,
        started_at="2026-10-08T10:00:00+08:00",
        note="8 Oct 2026 is the first workday after the National Day break",
    )

    # ---------------------------------------------------------------- OPEN-OUTBOUND
    def outbound(
        cid: str,
        o: Org,
        opening: str,
        breach: list[str],
        close: str = "打扰您了，感谢您的支持，再见！",
        hang: tuple[str, float] = ("customer", 1.5),
        extra: Sequence[str] = (),
        note: str = "",
        started_at: str = "2026-11-19T10:30:00+08:00",
    ) -> None:
        conv = Conv(cid, direction="outbound", started_at=started_at, answer_at=8.0)
        conv.agent_id = o.agent_id
        conv.a(opening)
        conv.c("方便，你说吧。")
        conv.a(f"{o.mr}，想针对我们上次的服务做个简单的回访，请问您对我们的服务满意吗？")
        conv.c("挺满意的，师傅很准时。")
        conv.a(f"{o.mr}，谢谢您的认可，请问还有什么可以帮您？")
        conv.c("没有了。")
        conv.a(close)
        conv.hangup(*hang)
        comply = [
            "OPEN-OUTBOUND",
            "NAME-USE",
            "LISTEN-INTERRUPT",
            "LISTEN-RATE",
            "DEAD-AIR",
            "CLOSE-ASK-MORE",
            "CLOSE-THANKS",
            "CLOSE-HANGUP-ORDER",
            *FORBID,
        ]
        comply = [r for r in comply if r not in breach]
        add(conv.done(breach, comply + list(extra), note))

    outbound(
        "outbound-c1",
        yi,
        "陈女士您好，这里是怡养居家养老服务中心，我是客服专员小李，请问您现在是否方便？",
        [],
    )
    outbound(
        "outbound-c2",
        hao,
        "王先生您好，这里是好胎屋客服部，想跟您确认一下订单的收货情况，请问您现在是否方便？",
        [],
    )
    outbound(
        "outbound-c3",
        dx,
        "刘先生您好，这里是中国电信10000号客服中心，请问您现在方便接听电话吗？",
        [],
    )
    outbound(
        "outbound-c4",
        ou,
        "节日好，孙女士您好，这里是欧飞客服中心，请问您现在是否方便？",
        [],
        close="打扰您了，感谢您的支持，祝您节日愉快，再见！",
        started_at="2026-10-02T10:30:00+08:00",
    )
    outbound(
        "outbound-b1",
        yi,
        "陈女士您好，这里是怡养居家养老服务中心，想针对我们的服务做个简单的回访。",
        ["OPEN-OUTBOUND"],
        note="no 请问您现在是否方便",
    )
    outbound(
        "outbound-b2",
        hao,
        "您好，这里是好胎屋客服部，请问您现在是否方便？",
        ["OPEN-OUTBOUND"],
        note="the customer is not named",
    )
    outbound(
        "outbound-b3",
        dx,
        "刘先生您好，请问您现在是否方便？",
        ["OPEN-OUTBOUND"],
        note="does not say who is calling (这里是…)",
    )
    outbound(
        "hangup-b-outbound",
        sj,
        "周先生您好，这里是盛京银行信用卡中心，请问您现在是否方便？",
        ["CLOSE-HANGUP-ORDER"],
        hang=("agent", 0.8),
        note="outbound: the agent still waits for the customer to hang up",
    )

    # ---------------------------------------------------------------- NAME-ASK
    for i, (o, q) in enumerate([(hao, "你姓什么？"), (che, "您叫什么？"), (sj, "我问你贵姓？")]):
        # these asks are also 忌语 (seed 000 我问你贵姓, 003 问你叫什么名字); which FORBID
        # category takes them is the rulebook's choice, so FORBID-* is left unlabelled here
        base(f"name-ask-b{i + 1}", o, ask_name=q, breach=["NAME-ASK"], drop=FORBID)
    for i, (o, q) in enumerate(
        [(yi, "请问怎么称呼您？"), (dx, "方便告诉我您的姓名吗？"), (ty, "请问先生贵姓？")]
    ):
        base(f"name-ask-c{i + 1}", o, ask_name=q)

    # ---------------------------------------------------------------- NAME-USE
    for i, (o, n) in enumerate([(hao, 0), (ou, 1), (ns, 0)]):
        base(f"name-use-b{i + 1}", o, name_uses=n, breach=["NAME-USE"])
    for i, (o, n) in enumerate([(che, 3), (sj, 2), (dx, 4)]):
        base(f"name-use-c{i + 1}", o, name_uses=n)

    # ---------------------------------------------------------------- NAME-NO-REASK
    def declined(cid: str, o: Org, reask: str | None, breach: list[str]) -> None:
        conv = Conv(cid, answer_at=4.0)
        conv.agent_id = o.agent_id
        conv.a(o.greeting)
        conv.c(o.request)
        conv.a("请问您贵姓？")
        conv.c("名字就不说了吧，你直接帮我查。")
        conv.a("好的。" + o.restate)
        conv.c(f"对。{o.kind}是{o.number}。")
        if reask:
            conv.a(reask)
            conv.c("我说了不想说。")
        conv.a(f"我帮您重复一下，您的{o.kind}是{o.number}，对吗？")
        conv.c("对。")
        conv.a("请您稍等片刻好吗？")
        conv.c("好。")
        conv.hold(15)
        conv.a("感谢您的耐心等待。" + o.answer)
        conv.c("行，谢谢。")
        conv.a("不客气。请问还有什么可以帮您？")
        conv.c("没了。")
        conv.a(o.closing)
        conv.hangup()
        comply = [r for r in BASE_IN if r not in ("NAME-USE", *breach)]
        add(conv.done(breach, comply))

    declined("name-noreask-b1", hao, "先生，请问您贵姓？方便我登记。", ["NAME-NO-REASK"])
    declined("name-noreask-b2", ou, "那请问怎么称呼您呢？", ["NAME-NO-REASK"])
    declined(
        "name-noreask-b3",
        sj,
        "您还是告诉我您姓什么吧，方便登记。",
        ["NAME-NO-REASK", "NAME-ASK"],  # 您姓什么 is itself an impolite ask (seed 000)
    )
    declined("name-noreask-c1", che, None, [])
    declined("name-noreask-c2", dx, None, [])
    declined("name-noreask-c3", ns, None, [])

    # ---------------------------------------------------------------- LISTEN-INTERRUPT
    for i, (o, ov) in enumerate([(hao, 1.5), (sj, 2.0), (ty, 3.0)]):
        base(f"interrupt-b{i + 1}", o, interrupt=ov, breach=["LISTEN-INTERRUPT"])
    for i, (o, ov) in enumerate([(che, 0.3), (yi, 0.6), (ou, 0.9)]):
        base(
            f"interrupt-c{i + 1}",
            o,
            interrupt=ov,
            note=f"overlap {ov} s is under the 1.0 s threshold",
        )

    # ---------------------------------------------------------------- LISTEN-RATE
    for i, (o, cpm) in enumerate([(hao, 200.0), (dx, 70.0), (ou, 180.0)]):
        base(f"rate-b{i + 1}", o, agent_cps=cpm / 60, breach=["LISTEN-RATE"], note=f"{cpm:.0f}/min")
    for i, (o, cpm) in enumerate([(che, 105.0), (sj, 150.0), (ns, 120.0)]):
        base(f"rate-c{i + 1}", o, agent_cps=cpm / 60, note=f"{cpm:.0f}/min")

    # ---------------------------------------------------------------- CONFIRM-RESTATE
    for i, o in enumerate([hao, yi, ty]):
        base(f"restate-b{i + 1}", o, restate=None, breach=["CONFIRM-RESTATE"])
    base("restate-c1", dx, restate="您说的是家里宽带上不了网的意思吗？")
    base("restate-c2", ou, restate="您是说昨天充值的一百元话费还没有到账，对吗？")
    base("restate-c3", sj, restate="您的意思是要查询本月信用卡账单，是这样吗？")

    # ---------------------------------------------------------------- CONFIRM-READBACK
    for i, o in enumerate([hao, dx, sj]):
        base(f"readback-b{i + 1}", o, readback=None, breach=["CONFIRM-READBACK"])
    base(
        "readback-c1",
        che,
        readback="我帮您重复一下，您的手机号是一三九一二三四五六七八，对吗？",
        note="read back in Chinese numerals",
    )
    base(
        "readback-c2",
        ou,
        number_said="八八零六一五二三四七",
        note="ASR wrote the customer's number in Chinese numerals; the agent reads digits",
    )
    base(
        "readback-c3",
        ns,
        readback="我帮您重复一下，订单号是2026 1108 035，对吗？",
        note="read back in groups",
    )
    base(
        "readback-c4",
        yi,
        readback="我帮您重复一下，身份证号是四四零幺零二幺九五三零三幺五四三二幺，对吗？",
        note="幺 for 1 as agents read it",
    )

    # ---------------------------------------------------------------- HOLD-ASK
    for i, (o, q) in enumerate(
        [(hao, "你等着，我查一下。"), (sj, "等一下。"), (ty, "别挂，我查查。")]
    ):
        base(f"hold-ask-b{i + 1}", o, hold_ask=q, breach=["HOLD-ASK"])
    base("hold-ask-c1", ou, hold_ask="请您稍等，不要挂机。")
    base(
        "hold-ask-c2",
        dx,
        hold_ask="对不起，刘先生，请您稍等，我帮您查一下，接下来您将听到一段音乐请不要挂机，谢谢。",
    )
    base("hold-ask-c3", che, hold_ask="请您稍等，正在为您查询。")

    # ---------------------------------------------------------------- HOLD-THANK
    for i, (o, h) in enumerate([(hao, [20.0]), (yi, [30.0])]):
        base(f"hold-thank-b{i + 1}", o, hold=h, thank_wait="", breach=["HOLD-THANK"])
    base(
        "hold-thank-b3",
        sj,
        hold=[],
        silence=8.0,
        thank_wait="",
        breach=["HOLD-THANK"],
        note="8.8 s of agent silence (no hold) and no apology; under the DEAD-AIR threshold",
    )
    base("hold-thank-c1", ou, hold=[5.0], thank_wait="", note="a 5 s hold needs no thanks (> 7 s)")
    base("hold-thank-c2", ty, thank_wait="很抱歉，让您久等了。")
    base("hold-thank-c3", ns, hold=[], silence=7.5, thank_wait="不好意思，让您久等了。")

    # ---------------------------------------------------------------- HOLD-CHECKIN
    for i, (o, h) in enumerate([(hao, 75.0), (dx, 90.0), (ou, 110.0)]):
        base(f"hold-checkin-b{i + 1}", o, hold=[h], breach=["HOLD-CHECKIN"])
    base("hold-checkin-c1", che, hold=[50.0])
    base("hold-checkin-c2", sj, hold=[55.0, 55.0], note="the agent comes back after 55 s")
    base(
        "hold-checkin-c3",
        yi,
        hold=[40.0, 45.0],
        checkin="陈女士，还在为您查询，请您再稍等片刻好吗？",
    )

    # ---------------------------------------------------------------- HOLD-MAX
    for i, (o, h) in enumerate([(ty, 320.0), (sj, 360.0), (che, 305.0)]):
        base(
            f"hold-max-b{i + 1}",
            o,
            hold=[h],
            breach=["HOLD-MAX", "HOLD-CHECKIN", "HOLD-CALLBACK"],
        )
    base("hold-max-c1", hao, hold=[58.0])
    base("hold-max-c2", ou, hold=[30.0, 40.0])
    base("hold-max-c3", ns, hold=[45.0])

    # ---------------------------------------------------------------- HOLD-CALLBACK
    for i, (o, h) in enumerate([(hao, 130.0), (dx, 150.0), (yi, 180.0)]):
        base(
            f"hold-callback-b{i + 1}",
            o,
            hold=[h],
            breach=["HOLD-CALLBACK", "HOLD-CHECKIN"],
        )

    def callback(cid: str, o: Org, offer: str, phone: str) -> None:
        base(
            cid,
            o,
            hold_ask=None,
            hold=[],
            answer=offer,
            middle=[
                ("customer", f"好的，我的电话是{phone}。"),
                ("agent", f"我帮您重复一下，您的电话是{phone}，我们查到后尽快给您回电。"),
            ],
            drop=["HOLD-ASK"],
        )

    callback(
        "hold-callback-c1",
        sj,
        "周先生，这个问题需要查询的时间比较长，请您留下联系电话，我们查到后给您回电，好吗？",
        "13604011234",
    )
    callback(
        "hold-callback-c2",
        ty,
        "赵先生，这个情况需要向路政部门核实，时间比较长，请您留下您的联系电话，我们在半小时内回复您，好吗？",
        "13935112345",
    )
    callback(
        "hold-callback-c3",
        ns,
        "杨女士，遇查阅时间较长，我们改为另行回复，请您留下联系电话，我尽早回拨给您，好吗？",
        "13808012345",
    )

    # ---------------------------------------------------------------- DEAD-AIR
    for i, (o, s) in enumerate([(hao, 15.0), (ou, 12.0), (che, 20.0)]):
        base(
            f"dead-air-b{i + 1}",
            o,
            hold=[],
            silence=s,
            thank_wait="很抱歉，让您久等了。",
            breach=["DEAD-AIR"],
            note=f"{s:.0f} s of silence with no hold, then an apology",
        )
    base("dead-air-c1", dx, hold=[25.0], note="silence inside a hold is not dead air")
    base("dead-air-c2", sj, hold=[], silence=8.0, thank_wait="很抱歉，让您久等了。")
    base("dead-air-c3", ty)

    # ---------------------------------------------------------------- traps for FORBID-*
    forbid_breach: list[tuple[str, str, Org, str]] = [
        ("FORBID-ADDRESS", "喂！王先生，您的订单已经出库了。", hao, ""),
        ("FORBID-ADDRESS", "喂，讲话！", sj, ""),
        ("FORBID-ADDRESS", "嘿讲话", ty, "ASR text without punctuation"),
        ("FORBID-QUESTION", "我不是跟你说得很清楚了吗？", dx, ""),
        ("FORBID-QUESTION", "你听明白了吗？", ou, ""),
        ("FORBID-QUESTION", "谁告诉您的？", che, ""),
        ("FORBID-QUESTION", "我不是跟您说得很清楚了嘛", ns, "您/嘛 variant, no punctuation"),
        ("FORBID-QUESTION", "你问我我问谁", yi, "ASR, no punctuation"),
        ("FORBID-ARROGANT", "不行就是不行！", hao, ""),
        ("FORBID-ARROGANT", "我就这个态度！", dx, ""),
        ("FORBID-ARROGANT", "用不起就别用！", ou, ""),
        ("FORBID-ARROGANT", "有意见找领导去！", sj, ""),
        ("FORBID-COMMAND", "你小声一点行不行！", che, ""),
        ("FORBID-COMMAND", "快一点，我还要接其他客户电话。", ou, ""),
        ("FORBID-COMMAND", "你先听我说。", ty, ""),
        ("FORBID-COMMAND", "大声点，我听不清！", yi, ""),
        ("FORBID-SHIRK", "这是其它部门的问题，不关我的事。", hao, ""),
        ("FORBID-SHIRK", "这个不归我管。", dx, ""),
        ("FORBID-SHIRK", "我解决不了，找别人去！", ns, ""),
        ("FORBID-SHIRK", "这不是我们公司的责任，是你自己造成的。", ou, ""),
        ("FORBID-BLAME", "你怎么还不明白？", sj, ""),
        ("FORBID-BLAME", "你怎么不早说？", che, ""),
        ("FORBID-BLAME", "你会不会讲话？", ty, ""),
        ("FORBID-IMPATIENT", "知道了，知道了，不要再讲了。", hao, ""),
        ("FORBID-IMPATIENT", "你催什么，我都不急，你急什么？", ou, ""),
        ("FORBID-IMPATIENT", "有能耐你告去，随便告哪都不怕。", dx, ""),
        ("FORBID-IMPATIENT", "知道了知道了", yi, "ASR, no punctuation"),
        ("FORBID-SARCASM", "你有钱你找贵的充啊！", ou, ""),
        ("FORBID-SARCASM", "你富着呢你还在乎这点儿损失？", sj, ""),
        ("FORBID-SARCASM", "您有钱您找贵的充嘛", che, "您/嘛 variant, no punctuation"),
        ("FORBID-AGREE-NEG", "没错，我们公司确实很差。", hao, ""),
        ("FORBID-AGREE-NEG", "你是对的，这种产品很差劲。", ns, ""),
        ("FORBID-AGREE-NEG", "没错我们公司确实很差", dx, "ASR, no punctuation"),
        ("FORBID-WORDS", "这个我不知道。", yi, ""),
        ("FORBID-WORDS", "应该是明天到吧。", hao, "应该 as a guess"),
        ("FORBID-WORDS", "好像是三天。", ty, ""),
        ("FORBID-WORDS", "不可能！", sj, ""),
        ("FILLER", "这个这个，就是说，系统那边这个这个还在处理。", che, ""),
        ("FILLER", "就是说您那个账单就是说已经出了。", sj, ""),
        ("FILLER", "好了喽，已经帮您办好喽。", ou, ""),
    ]
    for i, (rule, text, o, why) in enumerate(forbid_breach):
        channel = "chat" if i % 4 == 3 else "voice"
        base(
            f"{rule.lower()}-b{i + 1}",
            o,
            channel=channel,
            started_at=None if channel == "chat" else "2026-11-18T10:15:00+08:00",
            middle=[("customer", "那能不能再快一点？"), ("agent", text)],
            breach=[rule],
            drop=[r for r in FORBID if r != rule] + SPECIAL,
            note=why,
        )

    forbid_comply: list[tuple[list[str], list[tuple[str, str]], Org, str]] = [
        (
            ["FORBID-SHIRK"],
            [
                ("customer", "上次你们那个客服跟我说不关我的事，就把电话挂了。"),
                (
                    "agent",
                    "王先生，您刚才说我们的同事跟您讲“不关我的事”，是吗？很抱歉给您带来不好的体验。",
                ),
            ],
            hao,
            "the agent quotes the customer inside a restatement: not a breach",
        ),
        (
            ["FORBID-SHIRK"],
            [
                ("customer", "这不关我的事，是你们快递弄丢的。"),
                ("agent", "您的心情我能理解，我尽快想办法给您解决，好吗？"),
            ],
            ou,
            "the customer says the forbidden phrase",
        ),
        (
            ["FORBID-SHIRK"],
            [
                ("customer", "这个发票的事你能办吗？"),
                (
                    "agent",
                    "很抱歉，关于发票的问题是由财务部门负责的，稍后我会将您的问题转至负责此事的相关人员。",
                ),
            ],
            ns,
            "the standard referral phrase of seed 001",
        ),
        (
            ["FORBID-WORDS"],
            [("customer", "太谢谢你了。"), ("agent", "不客气，这是我们应该做的。")],
            dx,
            "这是我们应该做的 is a standard phrase",
        ),
        (
            ["FORBID-WORDS"],
            [
                ("agent", "您知道吗，本月起充值满一百元可以参加抽奖。"),
                ("customer", "我不知道这个活动。"),
            ],
            ou,
            "您知道吗 is not 不知道; the customer's 不知道 is not the agent's",
        ),
        (
            ["FORBID-WORDS"],
            [
                ("customer", "我好像输错了密码，不可能吧？谢谢你帮我看看。"),
                ("agent", "不客气，这是我应该做的，我帮您重置一下。"),
            ],
            sj,
            "the customer says 好像/不可能; the agent says 这是我应该做的 (seed 003)",
        ),
        (
            ["FORBID-QUESTION"],
            [("customer", "我不是跟你说得很清楚了吗？"), ("agent", "很抱歉，我马上为您处理。")],
            che,
            "the customer says it",
        ),
        (
            ["FORBID-QUESTION"],
            [("agent", "张先生，请问您清楚了吗？"), ("customer", "清楚了。")],
            che,
            "请问您清楚了吗 is seed 000's standard check, not 你听明白了吗",
        ),
        (
            ["FORBID-QUESTION"],
            [("customer", "你问我我问谁啊"), ("agent", "您的心情我能理解，我来帮您查。")],
            ty,
            "the customer says it, ASR without punctuation",
        ),
        (
            ["FORBID-ARROGANT"],
            [
                ("customer", "你们那个客服说有意见找领导去，这什么态度！"),
                ("agent", "很抱歉给您带来不好的体验，您反映的问题我已经记录下来。"),
            ],
            sj,
            "the customer reports what someone else said",
        ),
        (
            ["FORBID-ARROGANT"],
            [
                ("customer", "不行就是不行吗？"),
                ("agent", "您的要求我会记录下来，帮您申请一下，好吗？"),
            ],
            hao,
            "the customer says it",
        ),
        (
            ["FORBID-ARROGANT"],
            [
                ("customer", "上次那个人说用不起就别用。"),
                ("agent", "您刚才说上次的同事讲“用不起就别用”，是这样吗？我代表我们公司向您道歉。"),
            ],
            ou,
            "quoted in a restatement",
        ),
        (
            ["FORBID-COMMAND"],
            [("customer", "你快一点！"), ("agent", "好的，马上为您处理。")],
            ou,
            "the customer says it",
        ),
        (
            ["FORBID-COMMAND"],
            [("customer", "（声音很小）……那个……"), ("agent", "对不起！请您大声一点，好吗？")],
            yi,
            "对不起！请您大声一点，好吗 is seed 000's polite request, not 大声点",
        ),
        (
            ["FORBID-COMMAND"],
            [("customer", "你先听我说！"), ("agent", "好的，您请讲。")],
            dx,
            "the customer says it",
        ),
        (
            ["FORBID-BLAME"],
            [("customer", "你怎么不早说！"), ("agent", "很抱歉，刚才是我的疏忽，我向您道歉。")],
            che,
            "the customer says it",
        ),
        (
            ["FORBID-BLAME"],
            [("customer", "你怎么还不明白？"), ("agent", "对不起，请您再重复一遍好吗？")],
            sj,
            "the customer says it",
        ),
        (
            ["FORBID-BLAME"],
            [("customer", "你会不会讲话啊"), ("agent", "对不起，给您造成不便，敬请谅解。")],
            ty,
            "the customer says it",
        ),
        (
            ["FORBID-IMPATIENT"],
            [("customer", "知道了知道了。"), ("agent", "好的。")],
            hao,
            "the customer says it",
        ),
        (
            ["FORBID-IMPATIENT"],
            [
                ("customer", "有能耐你们告我去！"),
                ("agent", "您的心情我能理解，我们一起来解决这个问题。"),
            ],
            dx,
            "the customer says it",
        ),
        (
            ["FORBID-IMPATIENT"],
            [
                ("customer", "我催什么？都三天了！"),
                ("agent", "很抱歉让您久等了，我马上为您加急处理。"),
            ],
            yi,
            "the customer says 催什么",
        ),
        (
            ["FORBID-SARCASM"],
            [
                ("customer", "你有钱你找贵的充啊，你们客服就这么说话？"),
                ("agent", "很抱歉，我代表公司向您道歉。"),
            ],
            ou,
            "the customer repeats what someone said",
        ),
        (
            ["FORBID-SARCASM"],
            [
                ("customer", "我富着呢，不在乎这点儿钱，就是气不过。"),
                ("agent", "您的心情我非常理解。"),
            ],
            sj,
            "the customer says it",
        ),
        (
            ["FORBID-SARCASM"],
            [("customer", "这个套餐有点贵。"), ("agent", "您可以选择十元的小额套餐，也很实惠。")],
            che,
            "a polite alternative offer",
        ),
        (
            ["FORBID-AGREE-NEG"],
            [
                ("customer", "你们公司确实很差！"),
                ("agent", "您的心情我能理解，我尽快想办法给您解决，好吗？"),
            ],
            hao,
            "the customer says it",
        ),
        (
            ["FORBID-AGREE-NEG"],
            [
                ("customer", "这种产品很差劲。"),
                ("agent", "很抱歉给您带来不好的体验，我帮您申请退换。"),
            ],
            ns,
            "the customer says it",
        ),
        (
            ["FORBID-AGREE-NEG"],
            [
                ("customer", "你说是不是你们的错？"),
                ("agent", "很抱歉，由于我们的失误，给您带来了麻烦。"),
            ],
            dx,
            "an apology is not agreeing that the company is bad",
        ),
        (
            ["FORBID-ADDRESS"],
            [("customer", "喂？喂？还在吗？"), ("agent", "您好，我在的，请您讲。")],
            hao,
            "the customer says 喂",
        ),
        (
            ["FORBID-ADDRESS"],
            [("customer", "嘿，你听我说。"), ("agent", "好的，您请讲。")],
            sj,
            "the customer says 嘿",
        ),
        (
            ["FORBID-ADDRESS"],
            [("customer", "喂讲话呀"), ("agent", "您好，我在听，请您讲。")],
            ty,
            "the customer says it, ASR",
        ),
        (
            ["FILLER"],
            [
                ("customer", "就是说，这个这个，我那个订单嘛，比如说明天能到不？"),
                ("agent", "明天上午可以送到。"),
            ],
            hao,
            "the customer's fillers do not count",
        ),
        (
            ["FILLER"],
            [("customer", "好喽，那我等着喽。"), ("agent", "好的，有问题随时联系我们。")],
            ou,
            "the customer's 喽",
        ),
        (
            ["FILLER"],
            [("customer", "干嘛这么慢？"), ("agent", "很抱歉让您久等了。")],
            sj,
            "干嘛 said by the customer",
        ),
    ]
    for i, (rules, mid, o, why) in enumerate(forbid_comply):
        base(f"trap-{rules[0].lower()}-c{i + 1}", o, middle=mid, note=why, drop=SPECIAL)

    # ---------------------------------------------------------------- special procedures
    def special(
        cid: str,
        o: Org,
        turns: list[tuple[str, str, float]],
        breach: list[str],
        comply: list[str],
        hang: tuple[str, float] | None = ("agent", 5.5),
        note: str = "",
        events: Sequence[tuple[int, str]] = (),
    ) -> None:
        conv = Conv(cid, answer_at=4.0)
        conv.agent_id = o.agent_id
        ev_at = dict(events)
        for i, (role, text, gap) in enumerate(turns):
            if i in ev_at:
                conv.event(ev_at[i])
            conv.say(role, text, gap=gap)
        if hang:
            conv.hangup(*hang)
        add(conv.done(breach, comply, note))

    g = "您好！请问有什么能够帮助您？"
    # SIL-PROCEDURE
    special(
        "silent-c1",
        hao,
        [
            ("agent", g, 0),
            ("agent", g, 5.0),
            ("agent", "对不起，您的电话没有声音，请您换一部电话再次打来，好吗？再见！", 5.0),
        ],
        [],
        ["SIL-PROCEDURE", "OPEN-ANSWER-SPEED", *FORBID],
    )
    special(
        "silent-c2",
        ou,
        [
            ("agent", "您好，欧飞，很高兴为您服务！请问有什么可以帮您？", 0),
            ("agent", "您好，请问有什么可以帮您？", 3.5),
            ("agent", "我无法听到您的声音，请您稍后再次联系我们，谢谢配合！再见！", 3.5),
        ],
        [],
        ["SIL-PROCEDURE", *FORBID],
        note="seed 003 wording",
    )
    special(
        "silent-c3",
        hao,
        [
            ("agent", "您好，好胎屋，请问有什么可以帮您吗？", 0),
            ("agent", "您好，好胎屋，请问有什么可以帮您吗？", 3.0),
            ("agent", "对不起，您的电话没有声音，请您换一个电话再打来，再见。", 3.0),
        ],
        [],
        ["SIL-PROCEDURE", *FORBID],
        note="seed 000 (好胎屋) wording",
    )
    special(
        "silent-b1",
        sj,
        [("agent", "您好，盛京银行，很高兴为您服务，请问有什么可以帮您？", 0)],
        ["SIL-PROCEDURE"],
        [],
        hang=("agent", 1.0),
        note="hung up at once",
    )
    special(
        "silent-b2",
        che,
        [
            ("agent", "您好，车云网络，很高兴为您服务，请问有什么可以帮您？", 0),
            ("agent", "喂，说话呀！再不说话我就挂了！", 2.0),
        ],
        ["SIL-PROCEDURE", "FORBID-ADDRESS"],
        [],
        hang=("agent", 1.0),
    )
    special(
        "silent-b3",
        dx,
        [
            ("agent", "您好，中国电信10000号，请问有什么可以帮到您？", 0),
            ("agent", "对不起，您的电话没有声音，请您换一部电话再次打来，再见！", 1.0),
        ],
        ["SIL-PROCEDURE"],
        [],
        hang=("agent", 0.5),
        note="no second greeting, no waits",
    )

    # NOISE-PROCEDURE
    special(
        "noise-c1",
        yi,
        [
            ("agent", yi.greeting, 0),
            ("customer", "……我……那个……", 0.8),
            ("agent", "对不起，您的声音太小，请您拿起话筒说话好吗？", 0.8),
            ("customer", "……", 3.0),
            ("agent", "对不起！您的电话声音太小，请您换一部电话再打来，好吗？再见！", 3.0),
        ],
        [],
        ["NOISE-PROCEDURE", *FORBID],
    )
    special(
        "noise-c2",
        hao,
        [
            ("agent", hao.greeting, 0),
            ("customer", "（杂音）轮胎……发货……", 0.8),
            ("agent", "对不起，先生，由于杂音较大，我听不清楚，请您声音大一点好吗？", 0.8),
            ("customer", "（杂音）……", 3.0),
            ("agent", "对不起，电话的杂音太大，我实在听不清楚，您是否可以换个电话再打来？", 3.0),
            ("customer", "好。", 0.8),
        ],
        [],
        ["NOISE-PROCEDURE", "FORBID-COMMAND"],
        note="seed 000 (好胎屋) asks 请您声音大一点好吗: polite, not 大声点",
    )
    special(
        "noise-c3",
        dx,
        [
            ("agent", dx.greeting, 0),
            ("customer", "我家……宽……", 0.8),
            ("agent", "对不起，您的声音很小，请问您是否使用免提方式？请您拿起话筒说话好吗？", 0.8),
            ("customer", "哦，好了，现在能听到吗？我家宽带上不了网。", 1.5),
            ("agent", "可以听到了，您的意思是家里的宽带无法上网，是这样吗？", 0.8),
            ("customer", "对。", 0.8),
        ],
        [],
        ["NOISE-PROCEDURE", *FORBID],
        hang=("customer", 1.5),
        note="the customer took the handset; the call goes on",
    )
    special(
        "noise-b1",
        ty,
        [
            ("agent", ty.greeting, 0),
            ("customer", "……阳泉……", 0.8),
            ("agent", "喂，大声一点儿！", 0.8),
            ("customer", "……", 3.0),
        ],
        ["NOISE-PROCEDURE", "FORBID-COMMAND"],
        [],
        hang=("agent", 1.0),
    )
    special(
        "noise-b2",
        sj,
        [
            ("agent", sj.greeting, 0),
            ("customer", "……信用卡……", 0.8),
            ("agent", "对不起，您的声音太小，请您拿起话筒说话好吗？", 0.8),
            ("customer", "……", 2.0),
        ],
        ["NOISE-PROCEDURE"],
        [],
        hang=("agent", 1.0),
        note="hung up without the closing script",
    )
    special(
        "noise-b3",
        che,
        [
            ("agent", che.greeting, 0),
            ("customer", "（杂音）账号……", 0.8),
            ("agent", "大声点，我听不清！", 0.8),
            ("customer", "（杂音）……", 2.0),
            ("agent", "听不见，你换个地方再打吧。", 0.8),
        ],
        ["NOISE-PROCEDURE", "FORBID-COMMAND"],
        [],
        hang=("agent", 1.0),
    )

    # DIALECT-PROCEDURE
    special(
        "dialect-c1",
        hao,
        [
            ("agent", hao.greeting, 0),
            ("customer", "喂，我想问下你哋啲轮胎几时发货㗎？", 0.8),
            ("agent", "对不起，请您讲普通话，好吗？谢谢！", 0.8),
            ("customer", "我……我讲唔好普通话㗎。", 0.8),
            ("agent", "对不起，请您找一个可以讲普通话的人来，好吗？谢谢！", 0.8),
            ("customer", "你好，我帮我爸问一下，他订的轮胎什么时候发货？", 6.0),
            ("agent", "您是咨询有关轮胎订单发货时间的问题，是吗？请您提供一下订单号。", 0.8),
        ],
        [],
        ["DIALECT-PROCEDURE", *FORBID],
        hang=("customer", 1.5),
    )
    special(
        "dialect-c2",
        ns,
        [
            ("agent", ns.greeting, 0),
            ("customer", "我那个苗子啥子时候到嘛？", 0.8),
            ("agent", "您是咨询苗木订单的送货时间，是吗？请您提供一下订单号。", 0.8),
            ("customer", "要得，是20261108035。", 0.8),
        ],
        [],
        ["DIALECT-PROCEDURE"],
        hang=("customer", 1.5),
        note="the agent understands Sichuanese and keeps speaking Mandarin",
    )
    special(
        "dialect-c3",
        sj,
        [
            ("agent", sj.greeting, 0),
            ("customer", "我想问下张信用卡点样还款㗎？", 0.8),
            ("agent", "对不起，请您讲普通话，好吗？谢谢！", 0.8),
            ("customer", "哦，好的，我想问一下信用卡怎么还款。", 0.8),
            ("agent", "您是咨询信用卡还款方式，是吗？", 0.8),
        ],
        [],
        ["DIALECT-PROCEDURE", *FORBID],
        hang=("customer", 1.5),
    )
    special(
        "dialect-b1",
        hao,
        [
            ("agent", hao.greeting, 0),
            ("customer", "我想问下你哋啲轮胎几时发货㗎？", 0.8),
            ("agent", "好嘅，我帮你睇下先，你张单号系几多？", 0.8),
        ],
        ["DIALECT-PROCEDURE"],
        [],
        hang=("customer", 1.5),
        note="the agent switched to the customer's dialect",
    )
    special(
        "dialect-b2",
        ou,
        [
            ("agent", ou.greeting, 0),
            ("customer", "我想问下我充咗话费点解仲未到账？", 0.8),
            ("agent", "你不能讲普通话吗？", 0.8),
        ],
        ["DIALECT-PROCEDURE", "FORBID-BLAME"],
        [],
        hang=("agent", 1.0),
    )
    special(
        "dialect-b3",
        dx,
        [
            ("agent", dx.greeting, 0),
            ("customer", "阿拉屋里厢宽带老是断脱。", 0.8),
            ("agent", "听不懂，再见。", 0.8),
        ],
        ["DIALECT-PROCEDURE"],
        [],
        hang=("agent", 0.5),
    )

    # ABUSE-PROCEDURE
    warn = "先生，请您使用文明语言，否则很抱歉，我们将结束这次通话。"
    abuse = "你们这帮骗子，他妈的什么破公司！"
    special(
        "abuse-c1",
        dx,
        [
            ("agent", dx.greeting, 0),
            ("customer", abuse, 0.8),
            ("agent", warn, 0.8),
            ("customer", "骗子！滚！", 0.8),
            ("agent", warn, 0.8),
            ("customer", "他妈的！", 0.8),
            ("agent", "很抱歉，我们将结束这次通话，再见。", 0.8),
        ],
        [],
        ["ABUSE-PROCEDURE", *FORBID],
    )
    special(
        "abuse-c2",
        ou,
        [
            ("agent", ou.greeting, 0),
            ("customer", "你们就是一群骗子，混蛋！", 0.8),
            ("agent", "为了和您保持良好的沟通，希望您使用文明用语。", 0.8),
            ("customer", "混蛋！", 0.8),
            ("agent", "为了和您保持良好的沟通，希望您使用文明用语。", 0.8),
            ("customer", "我就骂你怎么了，混蛋！", 0.8),
            ("agent", "如您再次使用不文明语言，将结束本次通话！", 0.8),
            ("customer", "滚！", 0.8),
        ],
        [],
        ["ABUSE-PROCEDURE", *FORBID],
        note="seed 003 (欧飞) wording",
    )
    special(
        "abuse-c3",
        hao,
        [
            ("agent", hao.greeting, 0),
            ("customer", "你们这破公司，他妈的轮胎到底什么时候发？", 0.8),
            ("agent", "先生，请您使用文明语言，否则很抱歉，我们将结束这次通话。", 0.8),
            ("customer", "好吧，我就是着急，订单号202611150873。", 0.8),
            ("agent", "我帮您重复一下，您的订单号是202611150873，对吗？", 0.8),
            ("customer", "对。", 0.8),
        ],
        [],
        ["ABUSE-PROCEDURE", *FORBID],
        hang=("customer", 1.5),
        note="one warning and the customer calms down: the call goes on",
    )
    special(
        "abuse-b1",
        sj,
        [
            ("agent", sj.greeting, 0),
            ("customer", abuse, 0.8),
            ("agent", warn, 0.8),
            ("customer", "滚！", 0.8),
        ],
        ["ABUSE-PROCEDURE"],
        [],
        hang=("agent", 1.0),
        note="ended after one warning",
    )
    special(
        "abuse-b2",
        che,
        [
            ("agent", che.greeting, 0),
            ("customer", "你有病吧，他妈的！", 0.8),
            ("agent", "你才有病！你骂谁呢？", 0.8),
        ],
        ["ABUSE-PROCEDURE"],
        [],
        hang=("customer", 1.0),
        note="the agent answers back",
    )
    special(
        "abuse-b3",
        ty,
        [
            ("agent", ty.greeting, 0),
            ("customer", "他妈的，你们收费站的人都是混蛋！", 0.8),
        ],
        ["ABUSE-PROCEDURE"],
        [],
        hang=("agent", 1.0),
        note="hung up with no warning",
    )

    # SUPERVISOR-RETAIN
    sup = "我不跟你说，叫你们主管来接电话！"
    r1 = "孙女士，首先对给您造成的不便表示歉意，请问一下您具体遇到了什么问题呢，是否可以简单描述一下呢？"
    r2 = "对不起，我们公司每个人都有自己的职责，请您放心，我们会按公司的制度处理的，而您这个问题是属于我的职责范围内，请您交给我为您处理好吗？"
    handoff = "孙女士，我会把您的要求记录下来提交给我们领导的，现在为您转接，请您稍等。"
    special(
        "supervisor-c1",
        ou,
        [
            ("agent", ou.greeting, 0),
            ("customer", sup, 0.8),
            ("agent", r1, 0.8),
            ("customer", "不用，我就找主管。", 0.8),
            ("agent", r2, 0.8),
            ("customer", "不行，我就要找主管。", 0.8),
            ("agent", handoff, 0.8),
        ],
        [],
        ["SUPERVISOR-RETAIN", *FORBID],
        hang=None,
        events=[],
    )
    CORPUS[-1]["events"].append(
        {"t": CORPUS[-1]["utterances"][-1]["end"] + 0.5, "type": "transfer"}
    )
    special(
        "supervisor-c2",
        yi,
        [
            ("agent", yi.greeting, 0),
            ("customer", "我要找上次那个1024号客服。", 0.8),
            (
                "agent",
                "陈女士，请问您是什么问题呢，是否可以简单描述一下，我会尽力为您解决的。",
                0.8,
            ),
            ("customer", "我就要找她。", 0.8),
            (
                "agent",
                "很抱歉，您要找的座席人员正在接线，您需要反映的是什么问题，由我来为您处理好吗？",
                0.8,
            ),
            ("customer", "那好吧，我想改一下助浴的时间。", 0.8),
            ("agent", "好的，您是想修改助浴服务的预约时间，是吗？", 0.8),
        ],
        [],
        ["SUPERVISOR-RETAIN", *FORBID],
        hang=("customer", 1.5),
        note="seed 003: two retention attempts for a particular agent; the second keeps the case",
    )
    special(
        "supervisor-c3",
        hao,
        [
            ("agent", hao.greeting, 0),
            ("customer", "你们领导呢？我要找领导。", 0.8),
            (
                "agent",
                "王先生，首先对给您造成的不便表示歉意，请问一下您具体遇到了什么问题呢？",
                0.8,
            ),
            ("customer", "轮胎一个礼拜了还没发货。", 0.8),
            ("agent", "您是咨询有关轮胎订单发货时间的问题，是吗？我马上为您查询。", 0.8),
        ],
        [],
        ["SUPERVISOR-RETAIN", *FORBID],
        hang=("customer", 1.5),
        note="the first attempt keeps the case",
    )
    special(
        "supervisor-b1",
        sj,
        [
            ("agent", sj.greeting, 0),
            ("customer", "叫你们领导来！", 0.8),
            ("agent", "好的，我帮您转接主管，请稍等。", 0.8),
        ],
        ["SUPERVISOR-RETAIN"],
        [],
        hang=None,
        note="transferred at once",
    )
    CORPUS[-1]["events"].append(
        {"t": CORPUS[-1]["utterances"][-1]["end"] + 0.5, "type": "transfer"}
    )
    special(
        "supervisor-b2",
        ou,
        [
            ("agent", ou.greeting, 0),
            ("customer", sup, 0.8),
            ("agent", r1, 0.8),
            ("customer", "不用，我就找主管。", 0.8),
            ("agent", "好的，现在为您转接主管。", 0.8),
        ],
        ["SUPERVISOR-RETAIN"],
        [],
        hang=None,
        note="one attempt only",
    )
    CORPUS[-1]["events"].append(
        {"t": CORPUS[-1]["utterances"][-1]["end"] + 0.5, "type": "transfer"}
    )
    special(
        "supervisor-b3",
        dx,
        [
            ("agent", dx.greeting, 0),
            ("customer", "我要找你们经理投诉！", 0.8),
            ("agent", "有意见找领导去！我给你转。", 0.8),
        ],
        ["SUPERVISOR-RETAIN", "FORBID-ARROGANT"],
        [],
        hang=None,
    )
    CORPUS[-1]["events"].append(
        {"t": CORPUS[-1]["utterances"][-1]["end"] + 0.5, "type": "transfer"}
    )

    # WRONG-NUMBER
    wrong = "请问是李医生家吗？"
    for i, (o, reply) in enumerate(
        [
            (hao, "您好，这里是好胎屋，请您查证后再拨。"),
            (dx, "对不起，这里是中国电信10000客服中心，请您核实后再拨，再见。"),
            (sj, "您好，这里是盛京银行客服中心，请您查证后再拨，再见。"),
        ]
    ):
        special(
            f"wrong-number-c{i + 1}",
            o,
            [
                ("agent", o.greeting, 0),
                ("customer", wrong, 0.8),
                ("agent", reply, 0.8),
                ("customer", "哦，不好意思。", 0.8),
            ],
            [],
            ["WRONG-NUMBER", *FORBID],
            hang=("customer", 1.5),
        )
    for i, (o, reply) in enumerate(
        [(che, "您打错了。"), (ou, "打错了！"), (ty, "你打错电话了，看清楚再打。")]
    ):
        special(
            f"wrong-number-b{i + 1}",
            o,
            [("agent", o.greeting, 0), ("customer", wrong, 0.8), ("agent", reply, 0.8)],
            ["WRONG-NUMBER"],
            [],
            hang=("customer", 1.5),
        )

    # CANNOT-ANSWER (inserted into a clean call, after the answer)
    q = ("customer", "另外问一下，你们这个能不能用在新能源车上，保修几年？")
    for i, (o, reply, extra_b) in enumerate(
        [
            (hao, "这个我不知道。", ["FORBID-WORDS"]),
            (che, "不清楚，你找别的部门问去吧。", ["FORBID-SHIRK"]),
            (ns, "好像是三年吧，应该差不多。", ["FORBID-WORDS"]),
        ]
    ):
        base(
            f"cannot-answer-b{i + 1}",
            o,
            middle=[q, ("agent", reply)],
            breach=["CANNOT-ANSWER", *extra_b],
            drop=FORBID,
        )
    for i, (o, reply, phone) in enumerate(
        [
            (
                hao,
                "很抱歉，您咨询的内容需要核实后再回复您，请您留下联系方式，我们将在第一时间内给您答复，好吗？",
                "13512345678",
            ),
            (
                che,
                "对不起，您的问题我暂时无法答复，我会记录下来，将尽快答复您。请问您的联系电话是？",
                "13912345678",
            ),
            (
                ty,
                "对不起，您询问的问题我暂时无法确定，需要查实后再回复您，请您留下您的联系电话，好吗？",
                "13935112345",
            ),
        ]
    ):
        base(
            f"cannot-answer-c{i + 1}",
            o,
            middle=[
                q,
                ("agent", reply),
                ("customer", f"好，{phone}。"),
                ("agent", f"我帮您重复一下，您的电话是{phone}，我们会尽快给您答复。"),
            ],
        )

    # COMPLAINT-HANDLING
    comp = ("customer", "你们送货的师傅态度太差了，我要投诉！")
    for i, (o, turns, extra_b) in enumerate(
        [
            (hao, [("agent", "哦，那我记一下。")], []),
            (
                ou,
                [
                    ("agent", "对不起，孙女士，非常抱歉。您反映的问题是送货人员态度差，是这样吗？"),
                    ("customer", "对。"),
                    ("agent", "好的，我们会尽快处理的。"),
                ],
                [],
            ),
            (dx, [("agent", "你要投诉就投诉吧。")], ["FORBID-ARROGANT"]),
        ]
    ):
        base(
            f"complaint-b{i + 1}",
            o,
            middle=[comp, *turns],
            breach=["COMPLAINT-HANDLING", *extra_b],
            drop=FORBID,
            note="no reply time committed" if i == 1 else "",
        )
    for i, (o, turns) in enumerate(
        [
            (
                hao,
                [
                    (
                        "agent",
                        "对不起，王先生，给您带来不便非常抱歉。您反映的问题是送货师傅服务态度差，是这样吗？",
                    ),
                    ("customer", "对。"),
                    ("agent", "好的，我已经详细记录下来，我们会在二十四小时内给您答复。"),
                ],
            ),
            (
                dx,
                [
                    (
                        "agent",
                        "对不起，由于我们的失误，给您带来了麻烦，非常抱歉。您反映的问题是师傅服务态度差，是这样吗？",
                    ),
                    ("customer", "是的。"),
                    ("agent", "好的，已经为您记录，我们会在两个工作日内给您答复。"),
                ],
            ),
            (
                ou,
                [
                    ("agent", "对不起孙女士，非常抱歉，关于您反映的送货人员态度问题，是这样吗？"),
                    ("customer", "对。"),
                    (
                        "agent",
                        "我帮您先受理下来，转交相关部门处理，我们会在12小时内给您回复，您看可以吗？",
                    ),
                ],
            ),
        ]
    ):
        base(f"complaint-c{i + 1}", o, middle=[comp, *turns])

    # THANKS-REPLY
    for i, o in enumerate([hao, sj, ty]):
        base(f"thanks-b{i + 1}", o, thanks=None, breach=["THANKS-REPLY"])
    base("thanks-c1", ou, thanks="不客气，这是我应该做的。")
    base("thanks-c2", ns, thanks="不客气。")
    base("thanks-c3", che, thanks="您太客气了，能为您服务我感到很荣幸。")

    # SUGGESTION-THANKS
    sug = ("customer", "我建议你们把人工服务时间延长到晚上九点。")
    for i, (o, reply, extra_b) in enumerate(
        [
            (hao, "这个没办法，公司规定的。", []),
            (sj, "好的。", []),
            (dx, "这个不归我管。", ["FORBID-SHIRK"]),
        ]
    ):
        base(
            f"suggestion-b{i + 1}",
            o,
            middle=[sug, ("agent", reply)],
            breach=["SUGGESTION-THANKS", *extra_b],
            drop=FORBID,
        )
    for i, (o, reply) in enumerate(
        [
            (che, "谢谢您的建议，我们一定加以改进。"),
            (ty, "您的建议很重要，我们会及时转给领导和有关部门，感谢您对我们工作的支持！"),
            (yi, "谢谢您提出的宝贵建议，我们将及时反馈给公司相关人员。"),
        ]
    ):
        base(f"suggestion-c{i + 1}", o, middle=[sug, ("agent", reply)])

    # AGENT-ID
    ask_id = ("customer", "你工号多少？")
    for i, (o, reply) in enumerate(
        [(hao, "这个不方便透露。"), (ou, "您的充值已经成功了。"), (sj, "问这个做什么？")]
    ):
        base(
            f"agent-id-b{i + 1}",
            o,
            middle=[ask_id, ("agent", reply)],
            breach=["AGENT-ID"],
            drop=FORBID,
        )
    for i, (o, reply) in enumerate(
        [
            (yi, "我是4762号，如服务不周请您谅解。"),
            (che, "我的工号是2051。"),
            (ty, "我是太原高速运营指挥中心的0817号话务员。"),
        ]
    ):
        base(f"agent-id-c{i + 1}", o, middle=[ask_id, ("agent", reply)])

    # MISTAKE-CORRECT
    wrong_stmt = ("agent", "另外提醒您，退货需要在收货后十五天内申请。")
    cust_ok = ("customer", "好的。")
    for i, (o, fix) in enumerate(
        [
            (hao, "哦，说错了，是七天内。"),
            (ns, "不对，刚才那个是错的，是七天内。"),
            (ou, "我搞错了，是七天内。"),
        ]
    ):
        base(
            f"mistake-b{i + 1}",
            o,
            middle=[wrong_stmt, cust_ok, ("agent", fix)],
            breach=["MISTAKE-CORRECT"],
            drop=FORBID,
        )
    for i, (o, fix) in enumerate(
        [
            (che, "对不起，刚才我的解释有误，请允许我重新解释：退货需要在收货后七天内申请。"),
            (sj, "很抱歉，刚才是我的疏忽，正确的是收货后七天内申请。"),
            (dx, "对不起，刚才我说错了，是收货后七天内申请。"),
        ]
    ):
        base(f"mistake-c{i + 1}", o, middle=[wrong_stmt, cust_ok, ("agent", fix)])

    # CLOSE-ASK-MORE
    for i, o in enumerate([hao, dx, ns]):
        base(f"ask-more-b{i + 1}", o, ask_more=None, breach=["CLOSE-ASK-MORE"])
    base("ask-more-c1", che, ask_more="请问还有其他问题吗？")
    base("ask-more-c2", sj, ask_more="请问还需要其它的帮助吗？")
    base("ask-more-c3", yi, ask_more="请问您还有其他问题吗？")

    # CLOSE-THANKS
    base("close-thanks-b1", hao, closing="好，就这样吧。", breach=["CLOSE-THANKS"])
    base("close-thanks-b2", ou, closing="行，没事我挂了。", breach=["CLOSE-THANKS"])
    base(
        "close-thanks-b3",
        yi,
        started_at="2026-10-01T09:00:00+08:00",
        greeting="节日好，怡养居家养老服务中心，很高兴为您服务，请问有什么可以帮您？",
        closing="感谢您的来电，再见！",
        breach=["CLOSE-THANKS"],
        note="National Day: the closing lacks the holiday wish",
    )
    base("close-thanks-c1", sj, closing="感谢您的来电，祝您生活愉快，再见！")
    base(
        "close-thanks-c2",
        ou,
        started_at="2026-02-17T10:00:00+08:00",
        greeting="新年好，欧飞，很高兴为您服务！请问有什么可以帮您？",
        closing="感谢您的来电，祝您新年愉快，再见！",
    )
    base("close-thanks-c3", hao, closing="谢谢您的来电，再见！")

    # CLOSE-HANGUP-ORDER
    base("hangup-b1", hao, hangup=("agent", 1.0), breach=["CLOSE-HANGUP-ORDER"])
    base("hangup-b2", dx, hangup=("agent", 2.0), breach=["CLOSE-HANGUP-ORDER"])
    base(
        "hangup-c1",
        ou,
        before_hangup="对不起，我挂线了。",
        hangup=("agent", 5.5),
        note="closing, the customer stays silent, 对不起，我挂线了, then 5 s",
    )
    base("hangup-c2", sj, before_hangup="对不起，我挂线了。", hangup=("agent", 6.0))
    base("hangup-c3", ns, hangup=("customer", 3.0))

    # CLOSE-SURVEY: the 欧飞 profile (seed 003) closes with the satisfaction rating
    survey_only = ["CLOSE-SURVEY", "CLOSE-ASK-MORE", *FORBID]
    keep = [r for r in BASE_IN if r not in survey_only]
    for i, (when, greet, close) in enumerate(
        [
            (None, None, "请不要挂机，稍后对我的服务进行评价，谢谢，再见！"),
            (
                "2026-02-17T10:00:00+08:00",
                "新年好，欧飞，很高兴为您服务！请问有什么可以帮您？",
                "请不要挂机，稍后对我的服务进行评价，祝您新年愉快，再见！",
            ),
            (
                "2026-10-01T10:00:00+08:00",
                "节日好，欧飞，很高兴为您服务！请问有什么可以帮您？",
                "请不要挂机，稍后对我的服务进行评价，祝您节日愉快，再见！",
            ),
        ]
    ):
        base(
            f"survey-c{i + 1}",
            ou,
            profile="oufei",
            started_at=when or "2026-11-18T10:15:00+08:00",
            greeting=greet,
            closing=close,
            drop=keep,
        )
    for i, close in enumerate(
        ["感谢您的来电，再见！", "谢谢，再见！", "感谢您的来电，祝您生活愉快，再见！"]
    ):
        base(
            f"survey-b{i + 1}",
            ou,
            profile="oufei",
            closing=close,
            breach=["CLOSE-SURVEY"],
            drop=keep,
        )
    heldout(base, outbound)
    heldout2(base, outbound, special)
    heldout3(base)
    heldout4(base, outbound, declined)
    return CORPUS


def heldout(base: Any, outbound: Any) -> None:
    """A second batch, worded differently from the first, to catch rules fitted to batch one."""
    hao, che, yi, dx, ty, ou, sj, ns = ORGS
    f_breach: list[tuple[str, str, Org, str]] = [
        (
            "FORBID-SHIRK",
            "您是说要退款？这不关我的事。",
            hao,
            "a quote marker does not excuse the agent's own shirking",
        ),
        ("FORBID-WORDS", "您的快递应该明天能到。", che, "应该 as a guess"),
        ("FORBID-WORDS", "好像系统有点问题。", ou, ""),
        ("FORBID-WORDS", "什么？", sj, "a bare 什么 (seed 002 常见禁用词)"),
        ("FORBID-ADDRESS", "喂喂喂，听得到吗？", dx, ""),
        ("FORBID-ARROGANT", "不行就是不行没有这项业务就是没有", ty, "ASR, no punctuation"),
        ("FORBID-COMMAND", "你小声一点行不行", ns, "ASR, no punctuation"),
        ("FORBID-QUESTION", "你听不见吗？", yi, "seed 002"),
        ("FORBID-BLAME", "你不能慢点讲吗？", hao, "seed 003 责备语"),
        ("FORBID-BLAME", "真烦人！", dx, "seed 003 埋怨语: 埋怨 is FORBID-BLAME in QA-RULES"),
        ("FORBID-IMPATIENT", "好了，好了，不是正在给你查吗", sj, "seed 003 烦燥语"),
        ("FORBID-SARCASM", "你富着呢您还在乎这点儿损失嘛", ou, "你/您 and 嘛 variants"),
        (
            "FORBID-AGREE-NEG",
            "您说得对，我们公司确实很差劲。",
            che,
            "a variant of 没错，我们公司确实很差",
        ),
        ("FILLER", "然后就是说，这个这个，比如说您可以先登录。", yi, ""),
    ]
    for i, (rule, text, o, why) in enumerate(f_breach):
        base(
            f"h-{rule.lower()}-b{i + 1}",
            o,
            middle=[("customer", "那我现在该怎么办？"), ("agent", text)],
            breach=[rule],
            drop=[r for r in FORBID if r != rule] + SPECIAL,
            note=why,
        )
    f_comply: list[tuple[str, list[tuple[str, str]], Org, str]] = [
        (
            "FORBID-SHIRK",
            [
                ("customer", "之前有人跟我说这不归我管。"),
                ("agent", "您的意思是之前有工作人员跟您说“这不归我管”，对吗？非常抱歉。"),
            ],
            sj,
            "quoted inside a restatement (您的意思是…，对吗)",
        ),
        (
            "FORBID-SHIRK",
            [
                ("customer", "收费站的人说这事与我们无关。"),
                ("agent", "您是说收费站的工作人员讲“这事与我们无关”，是这样吗？我马上帮您核实。"),
            ],
            ty,
            "quoted inside a restatement (您是说…，是这样吗)",
        ),
        (
            "FORBID-WORDS",
            [("agent", "请问一下您具体遇到了什么问题呢？"), ("customer", "就是充值没到账。")],
            ou,
            "seed 003's standard question; 什么 is not a bare 什么",
        ),
        (
            "FORBID-WORDS",
            [
                ("agent", "不知道您现在是否方便提供一下手机号？"),
                ("customer", "可以，13912345678。"),
                ("agent", "我帮您重复一下，您的手机号是13912345678，对吗？"),
            ],
            che,
            "不知道…是否 is a polite question, not the forbidden answer 不知道",
        ),
        (
            "FORBID-ADDRESS",
            [
                ("customer", "我妈吃饭不方便。"),
                ("agent", "老人的喂养和助浴我们都可以安排护理员上门服务。"),
            ],
            yi,
            "喂养 is not 喂",
        ),
        (
            "FORBID-COMMAND",
            [("agent", "麻烦您记一下，好吗？维修电话是10000。"), ("customer", "好，记下了。")],
            dx,
            "seed 002's standard request",
        ),
        (
            "FORBID-QUESTION",
            [("agent", "赵先生，请问您清晰了吗？"), ("customer", "清楚了。")],
            ty,
            "seed 004's standard check",
        ),
        (
            "FILLER",
            [("agent", "也就是说，您需要先登录再充值，对吗？"), ("customer", "对。")],
            ou,
            "也就是说 in a restatement is not the filler 就是说",
        ),
    ]
    for i, (rule, mid, o, why) in enumerate(f_comply):
        base(f"h-trap-{rule.lower()}-c{i + 1}", o, middle=mid, note=why, drop=SPECIAL)

    # opening and holidays
    base(
        "h-open-holiday-b1",
        dx,
        started_at="2026-05-01T10:00:00+08:00",
        greeting="新年好，中国电信10000号，请问有什么可以帮到您？",
        closing="感谢您的来电，祝您节日愉快，再见！",
        breach=["OPEN-HOLIDAY"],
        note="May Day takes 节日好, not 新年好",
    )
    base(
        "h-open-holiday-b2",
        sj,
        started_at="2026-09-25T10:00:00+08:00",
        closing="感谢您的来电，祝您节日愉快，再见！",
        breach=["OPEN-HOLIDAY"],
        note="Mid-Autumn",
    )
    base(
        "h-open-holiday-c1",
        che,
        started_at="2026-06-19T10:00:00+08:00",
        greeting="节日好，车云网络，很高兴为您服务，请问有什么可以帮您？",
        closing="感谢您的来电，祝您节日愉快，再见！",
        note="Dragon Boat",
    )
    base(
        "h-open-holiday-c2",
        hao,
        started_at="2026-04-05T10:00:00+08:00",
        note="Qingming is a day off but takes no festive greeting",
    )
    base(
        "h-open-holiday-c3",
        ns,
        started_at="2026-02-20T10:00:00+08:00",
        greeting="新年好！四川楠山农林科技客服部，很高兴为您服务！请问有什么可以帮您？",
        closing="感谢您的来电，祝您新年愉快，再见！",
        note="inside the Spring Festival break",
    )
    base(
        "h-open-greeting-c1",
        ou,
        profile="oufei",
        greeting="您好，欧飞，很高兴为您服务！",
        only=["OPEN-GREETING"],
        note="seed 003's own opening: naming the org and 很高兴为您服务",
    )
    base(
        "h-open-greeting-c2",
        ty,
        profile="taiyuan-expressway",
        greeting="您好，太原高速。",
        only=["OPEN-GREETING"],
        note="seed 004 writes the greeting as 您好，太原高速",
    )
    base("h-open-greeting-b1", sj, greeting="您好，请讲。", breach=["OPEN-GREETING"])
    base(
        "h-open-greeting-b2", che, greeting="你好，什么事？", breach=["OPEN-GREETING"], drop=FORBID
    )
    for i, (t, b) in enumerate([(2.0, True), (20.0, False), (35.0, True), (8.0, False)]):
        base(
            f"h-answer-speed-{'b' if b else 'c'}{i + 1}",
            ty,
            profile="taiyuan-expressway",
            answer_at=t,
            breach=["OPEN-ANSWER-SPEED"] if b else [],
            only=["OPEN-ANSWER-SPEED"],
            note="seed 004: answer between the 2nd and the 6th ring",
        )

    # names, numbers, replies
    base("h-name-ask-b1", yi, ask_name="您叫什么名字？", breach=["NAME-ASK"], drop=FORBID)
    base("h-name-use-c1", yi, name_uses=2, note="陈女士 twice")
    base(
        "h-readback-b1",
        hao,
        readback="我帮您重复一下，您的订单号是202611150837，对吗？",
        breach=["CONFIRM-READBACK"],
        note="read back wrongly (…873 as …837): the customer's number was not read back",
    )
    base("h-readback-c1", che, number_said="139 1234 5678", note="the customer groups the digits")
    base("h-thanks-b1", ou, thanks="没事。", breach=["THANKS-REPLY"])
    base("h-thanks-c1", dx, thanks="不用谢，这是我应该做的。")
    base(
        "h-suggestion-b1",
        sj,
        middle=[("customer", "你们应该在App里加个查询账单的功能。"), ("agent", "好的。")],
        breach=["SUGGESTION-THANKS"],
        drop=FORBID,
        note="a suggestion without the word 建议",
    )
    base(
        "h-suggestion-c1",
        ou,
        middle=[
            ("customer", "我建议你们充值到账后发个短信。"),
            ("agent", "您好，感谢您宝贵的建议，我们定会竭尽全力做到最好的。"),
        ],
    )
    base(
        "h-agent-id-c1",
        sj,
        middle=[
            ("customer", "你叫什么名字？"),
            ("agent", "我的工号是0931，工号就是我的身份代表，您记下工号就可以找到我。"),
        ],
        note="seed 003: the agent may give the ID instead of the name",
    )
    base("h-agent-id-c2", che, middle=[("customer", "你是几号？"), ("agent", "我是2051号。")])
    base(
        "h-mistake-c1",
        ou,
        middle=[
            ("agent", "另外提醒您，退款三天内到账。"),
            ("customer", "好的。"),
            ("agent", "不好意思，我刚才说错了，退款是七天内到账。"),
        ],
    )
    base(
        "h-cannot-answer-c1",
        ns,
        middle=[
            ("customer", "这批苗木能不能开增值税专用发票？"),
            ("agent", "杨女士，这个问题我需要咨询一下财务同事，稍后给您回复，请问您的联系电话是？"),
            ("customer", "13808012345。"),
            ("agent", "我帮您重复一下，您的电话是13808012345，我们会尽快给您答复。"),
        ],
    )

    # timing
    base(
        "h-interrupt-b1",
        yi,
        interrupt=1.0,
        breach=["LISTEN-INTERRUPT"],
        note="exactly 1.0 s counts",
    )
    base("h-interrupt-c1", dx, interrupt=0.5)
    base("h-hold-thank-b1", ns, hold=[8.0], thank_wait="", breach=["HOLD-THANK"], note="8 s > 7 s")
    base("h-hold-thank-c1", che, hold=[8.0], thank_wait="不好意思，让您久等了。")
    base("h-hold-checkin-b1", sj, hold=[61.0], breach=["HOLD-CHECKIN"])
    base(
        "h-dead-air-b1",
        ty,
        middle=[("agent", "赵先生，您是从哪个收费站上的高速？"), ("customer", "阳泉东。", 11.5)],
        breach=["DEAD-AIR"],
        drop=["HOLD-THANK"],
        note="11.5 s with nobody talking, outside a hold",
    )
    base(
        "h-hangup-b1",
        dx,
        before_hangup="对不起，我挂线了。",
        hangup=("agent", 2.0),
        breach=["CLOSE-HANGUP-ORDER"],
        note="对不起，我挂线了 but only 2 s of the 5 s wait",
    )
    outbound(
        "h-close-thanks-outbound-b1",
        ns,
        "杨女士您好，这里是四川楠山农林科技客服部，请问您现在是否方便？",
        ["CLOSE-THANKS"],
        close="感谢您的来电，再见！",
        note="an outbound call closes with 打扰您了，感谢您的支持",
    )
    outbound(
        "h-outbound-c1",
        ty,
        "赵先生您好，这里是太原高速运营指挥中心，关于您反映的收费问题给您回个电话，请问您现在是否方便？",
        [],
    )


def heldout2(base: Any, outbound: Any, special: Any) -> None:
    """A third batch, written after the engine passed batches one and two: other seeds'
    wording for the procedures, and more traps for the forbidden-phrase rules."""
    hao, che, yi, dx, ty, ou, sj, ns = ORGS
    # procedures in the other seeds' words
    special(
        "h2-silent-c1",
        ty,
        [
            ("agent", "您好，太原高速，请问有什么可以帮您？", 0),
            ("agent", "您好，请问有什么可以帮您？", 4.0),
            ("agent", "对不起，我听不到您的声音，您换一部电话打来好吗？我现在挂机。", 4.0),
        ],
        [],
        ["SIL-PROCEDURE", *FORBID],
        note="seed 004 wording",
    )
    special(
        "h2-noise-c1",
        ou,
        [
            ("agent", ou.greeting, 0),
            ("customer", "我……充……没……", 0.8),
            ("agent", "很抱歉，您的声音时续时断，请您再重复一下。", 0.8),
            ("customer", "……到账……", 2.0),
            (
                "agent",
                "很抱歉，可能电话信号不是很好，我确实无法听清您讲话的内容，请您稍后再次致电，好吗？感谢您的支持，再见！",
                2.0,
            ),
        ],
        [],
        ["NOISE-PROCEDURE", *FORBID],
        note="seed 003 wording",
    )
    special(
        "h2-noise-b1",
        dx,
        [
            ("agent", dx.greeting, 0),
            ("customer", "……宽带……", 0.8),
            ("agent", "听不见，再讲一次！", 0.8),
            ("customer", "……", 2.0),
        ],
        ["NOISE-PROCEDURE"],
        [],
        hang=("agent", 1.0),
        note="seed 000 忌语 听不见,再讲一次; then hung up",
    )
    special(
        "h2-abuse-c1",
        ty,
        [
            ("agent", ty.greeting, 0),
            ("customer", "你们收费站的都是王八蛋！", 0.8),
            ("agent", "先生，请您运用文明语言，否则很愧疚，我们将结束这次通话。", 0.8),
            ("customer", "王八蛋！", 0.8),
            ("agent", "先生，请您运用文明语言，否则很愧疚，我们将结束这次通话。", 0.8),
            ("customer", "就骂你了，王八蛋！", 0.8),
            ("agent", "很愧疚，我们将结束这次通话，再见。", 0.8),
        ],
        [],
        ["ABUSE-PROCEDURE", *FORBID],
        note="seed 004 wording (运用, 愧疚 as that scrape writes them)",
    )
    special(
        "h2-abuse-b1",
        hao,
        [
            ("agent", hao.greeting, 0),
            ("customer", "你们这破公司，傻逼！", 0.8),
            ("agent", "先生，请您使用文明语言，否则很抱歉，我们将结束这次通话。", 0.8),
            ("customer", "傻逼！", 0.8),
            ("agent", "你再骂我就挂了！", 0.8),
        ],
        ["ABUSE-PROCEDURE"],
        [],
        hang=("agent", 1.0),
        note="one proper warning, then a threat instead of the second warning",
    )
    special(
        "h2-supervisor-c1",
        hao,
        [
            ("agent", hao.greeting, 0),
            ("customer", "我要找你们领导亲自处理！", 0.8),
            ("agent", r2_000, 0.8),
            ("customer", "那好吧，我的轮胎一个礼拜还没发货。", 0.8),
            ("agent", "您是咨询有关轮胎订单发货时间的问题，是吗？我马上为您查询。", 0.8),
        ],
        [],
        ["SUPERVISOR-RETAIN", *FORBID],
        hang=("customer", 1.5),
        note="seed 000 (18): one attempt that keeps the case",
    )
    special(
        "h2-supervisor-b1",
        sj,
        [
            ("agent", sj.greeting, 0),
            ("customer", "我要找你们主管！", 0.8),
            ("agent", "主管不在。", 0.8),
            ("customer", "那我就找你们经理！", 0.8),
            ("agent", "好的，给您转过去。", 0.8),
        ],
        ["SUPERVISOR-RETAIN"],
        [],
        hang=None,
        note="no attempt to keep the case",
    )
    CORPUS[-1]["events"].append(
        {"t": CORPUS[-1]["utterances"][-1]["end"] + 0.5, "type": "transfer"}
    )
    special(
        "h2-dialect-c1",
        dx,
        [
            ("agent", dx.greeting, 0),
            ("customer", "阿拉屋里厢宽带老是断脱，侬帮我看看伐。", 0.8),
            ("agent", "对不起，请您讲普通话，好吗？谢谢！", 0.8),
            ("customer", "阿拉普通话讲勿来。", 0.8),
            ("agent", "对不起，请您找一个可以讲普通话的人来，好吗？谢谢！", 0.8),
            ("customer", "你好，我儿子，我家宽带老是断线。", 5.0),
            ("agent", "您的意思是家里的宽带经常断线，是这样吗？", 0.8),
        ],
        [],
        ["DIALECT-PROCEDURE", *FORBID],
        hang=("customer", 1.5),
        note="Shanghainese",
    )
    special(
        "h2-dialect-b1",
        che,
        [
            ("agent", che.greeting, 0),
            ("customer", "我想问下你哋啲批发价点计㗎？", 0.8),
            ("agent", "你说的什么呀，听不懂。", 0.8),
        ],
        ["DIALECT-PROCEDURE"],
        [],
        hang=("agent", 1.0),
    )
    special(
        "h2-wrong-number-c1",
        sj,
        [
            ("agent", sj.greeting, 0),
            ("customer", "喂，是张老师吗？", 0.8),
            ("agent", "您好，这里是盛京银行。请您查证后再拨。", 0.8),
        ],
        [],
        ["WRONG-NUMBER", *FORBID],
        hang=("customer", 1.5),
    )
    special(
        "h2-wrong-number-b1",
        ns,
        [
            ("agent", ns.greeting, 0),
            ("customer", "请问是王师傅家吗？", 0.8),
            ("agent", "打错了吧你。", 0.8),
        ],
        ["WRONG-NUMBER"],
        [],
        hang=("customer", 1.5),
    )

    # situations inside ordinary calls
    q = ("customer", "你们的轮胎能走高速吗？质保怎么算？")
    base(
        "h2-cannot-answer-b1",
        hao,
        middle=[q, ("agent", "这个没法查，您自己去问问吧。")],
        breach=["CANNOT-ANSWER"],
        drop=FORBID,
    )
    base(
        "h2-complaint-c1",
        dx,
        middle=[
            ("customer", "你们装宽带的师傅上门迟到两个小时，我要投诉！"),
            (
                "agent",
                "对不起，刘先生，给您带来了麻烦，非常抱歉。您反映的问题是装机师傅迟到，是这样吗？",
            ),
            ("customer", "对。"),
            (
                "agent",
                "对不起，本公司对这方面有明确的处罚规定，我们核实后会在24小时内把处理结果反馈给您，好吗？",
            ),
        ],
        note="seed 002 wording",
    )
    base(
        "h2-complaint-b1",
        sj,
        middle=[
            ("customer", "你们客服电话半天打不通，我要投诉！"),
            ("agent", "对不起，周先生，非常抱歉。您反映的问题是热线难接通，是这样吗？"),
            ("customer", "是的。"),
            ("agent", "好的，我们会处理的。"),
        ],
        breach=["COMPLAINT-HANDLING"],
        drop=FORBID,
        note="no reply time",
    )
    base("h2-thanks-c1", ty, thanks="不客气，能为您服务我感到很荣幸。")
    base("h2-thanks-b1", che, thanks="嗯嗯。", breach=["THANKS-REPLY"], drop=FORBID)
    base(
        "h2-agent-id-b1",
        dx,
        middle=[("customer", "你工号是多少？"), ("agent", "我们不能随便透露工号。")],
        breach=["AGENT-ID"],
        drop=FORBID,
    )
    base(
        "h2-mistake-b1",
        ty,
        middle=[
            ("agent", "另外提醒您，ETC退费五天内到账。"),
            ("customer", "好的。"),
            ("agent", "更正一下，是七天内到账。"),
        ],
        breach=["MISTAKE-CORRECT"],
        drop=FORBID,
        note="corrected without an apology",
    )
    base("h2-hold-ask-b1", ou, hold_ask="你先等会儿。", breach=["HOLD-ASK"], drop=FORBID)
    base("h2-hold-ask-c1", ns, hold_ask="请您稍等，我帮您查一下，好吗？")
    base("h2-ask-more-c1", ou, ask_more="请问还有其它可以帮您的吗？")
    base(
        "h2-ask-more-b1",
        sj,
        ask_more=None,
        thanks="不客气，那就先这样。",
        breach=["CLOSE-ASK-MORE"],
    )
    outbound(
        "h2-outbound-b1",
        che,
        "张先生您好，这里是车云网络，今天有一款轮胎全网最低价，您需要的话可以马上开通账号进去抢购。",
        ["OPEN-OUTBOUND"],
        note="seed 000's own sales script, but no 请问您现在是否方便",
    )

    # forbidden language: more traps and variants
    f_breach: list[tuple[str, str, Org, str]] = [
        (
            "FORBID-WORDS",
            "根据规定，这种情况是不可能退款的。",
            ou,
            "不可能 in a policy statement is still the forbidden word",
        ),
        ("FORBID-QUESTION", "您问我我问谁啊", dx, "您 variant, ASR"),
        ("FORBID-QUESTION", "刚才不是跟你说了嘛", hao, "嘛 variant"),
        ("FORBID-SHIRK", "那不是我的工作，您自己去问问吧。", sj, "seed 003 推卸语"),
        ("FORBID-IMPATIENT", "你不放心，等会儿再打过来就是了。", che, "seed 003 烦燥语"),
        ("FORBID-ARROGANT", "有什么了不起！", yi, "seed 000"),
    ]
    for i, (rule, text, o, why) in enumerate(f_breach):
        base(
            f"h2-{rule.lower()}-b{i + 1}",
            o,
            middle=[("customer", "我等了好几天了。"), ("agent", text)],
            breach=[rule],
            drop=[r for r in FORBID if r != rule] + SPECIAL,
            note=why,
        )
    f_comply: list[tuple[str, list[tuple[str, str]], Org, str]] = [
        (
            "FORBID-ARROGANT",
            [
                ("customer", "上次打电话有人跟我说随便你找哪个。"),
                ("agent", "您说的“随便你找哪个”是我们哪位同事说的呢？我记录下来向上反馈。"),
            ],
            dx,
            "the agent quotes the customer (您说的“…”)",
        ),
        (
            "FORBID-WORDS",
            [
                ("customer", "ETC怎么用？"),
                ("agent", "ETC就好像一张自动缴费的卡，过收费站不用停车。"),
            ],
            ty,
            "好像 as 'just like' (an analogy), not the hedge 好像",
        ),
    ]
    for i, (rule, mid, o, why) in enumerate(f_comply):
        base(f"h2-trap-{rule.lower()}-c{i + 1}", o, middle=mid, note=why, drop=SPECIAL)
    base(
        "h2-trap-forbid-words-c3",
        che,
        thanks="不客气这是我们应该做的",
        ask_more="请问还有什么可以帮您",
        note="ASR without punctuation",
    )


def heldout3(base: Any) -> None:
    """A fourth batch: IVR prompts, chats, several holds, who talks over whom, two numbers."""
    hao, che, _yi, dx, ty, ou, sj, _ns = ORGS
    ivr = "您好，欢迎致电欧飞客服热线，人工服务请按0，如不咨询，请挂机。"
    base(
        "h3-ivr-c1",
        ou,
        answer_at=1.0,
        ivr=ivr,
        note="the IVR (role system) answers first; the agent's first utterance is the greeting, and the IVR's 请挂机 is not the agent's",
    )
    base(
        "h3-ivr-b1",
        ou,
        answer_at=1.0,
        ivr=ivr,
        greeting="说吧。",
        breach=["OPEN-GREETING"],
        drop=FORBID,
        note="after the IVR, the agent still has to greet",
    )
    base(
        "h3-chat-greeting-c1",
        ou,
        channel="chat",
        started_at=None,
        greeting="您好！这里是欧飞，很高兴为您服务，有什么可以帮到您？",
        note="seed 003's chat opening",
    )
    base(
        "h3-chat-greeting-b1",
        sj,
        channel="chat",
        started_at=None,
        greeting="在的，说吧。",
        breach=["OPEN-GREETING"],
        drop=FORBID,
    )
    base(
        "h3-chat-arrogant-b1",
        che,
        channel="chat",
        started_at=None,
        middle=[("customer", "怎么还没好？"), ("agent", "你有完没完？")],
        breach=["FORBID-ARROGANT"],
        drop=[r for r in FORBID if r != "FORBID-ARROGANT"] + SPECIAL,
    )
    base(
        "h3-chat-agent-id-c1",
        ou,
        channel="chat",
        started_at=None,
        middle=[("customer", "客服你好，你的工号是多少"), ("agent", "我的工号是5120。")],
    )
    base(
        "h3-chat-suggestion-c1",
        sj,
        channel="chat",
        started_at=None,
        middle=[
            ("customer", "建议你们网银加个夜间模式。"),
            ("agent", "您好，感谢您宝贵的建议，我们定会竭尽全力做到最好的。"),
        ],
    )
    base(
        "h3-holds-c1",
        dx,
        middle=[
            ("customer", "另外帮我查一下这个月的话费。"),
            ("agent", "好的，请您稍等片刻好吗？"),
            ("customer", "好。"),
            ("hold", "25"),
            ("agent", "感谢您的耐心等待，您本月话费是八十六元。", 0.5),
        ],
        note="a second hold, asked and thanked",
    )
    base(
        "h3-holds-b1",
        dx,
        middle=[
            ("customer", "另外帮我查一下这个月的话费。"),
            ("agent", "好的，请您稍等片刻好吗？"),
            ("customer", "好。"),
            ("hold", "25"),
            ("agent", "您本月话费是八十六元。", 0.5),
        ],
        breach=["HOLD-THANK"],
        note="the second hold is not thanked",
    )
    base(
        "h3-holds-b2",
        sj,
        middle=[
            ("customer", "顺便查一下我的积分。"),
            ("hold", "25"),
            ("agent", "感谢您的耐心等待，您现在有三千积分。", 0.5),
        ],
        breach=["HOLD-ASK"],
        note="put on hold without asking",
    )
    base(
        "h3-customer-talks-over-c1",
        hao,
        middle=[
            ("agent", "另外提醒您，收货时请当面检查轮胎外观，如有问题请拒收并联系我们。"),
            ("customer", "好好好，我知道了，我知道了。", 0.0),
        ],
        note="the customer talks over the agent: not the agent's 抢话",
    )
    CORPUS[-1]["utterances"] = _overlap_customer(
        CORPUS[-1]["utterances"], "好好好，我知道了，我知道了。", 2.5
    )
    base(
        "h3-readback-b1",
        che,
        middle=[
            ("customer", "还有，我的收货手机号是13712345678。"),
            ("agent", "好的，已经为您记下了。"),
        ],
        breach=["CONFIRM-READBACK"],
        note="the second number (the phone) is not read back",
    )
    base(
        "h3-readback-c1",
        ou,
        middle=[("customer", "验证码是52013。"), ("agent", "好的，验证通过了。")],
        note="5 digits: under the 6-digit threshold, no read-back needed",
    )
    base(
        "h3-hangup-system-c1",
        ty,
        hangup=("system", 1.5),
        note="the line dropped (hangup by system): not the agent hanging up first",
    )
    base("h3-answer-speed-c1", hao, answer_at=15.0, note="exactly 15 s is within 3 rings")
    base(
        "h3-trap-forbid-words-c1",
        sj,
        middle=[
            ("customer", "我不知道网银密码了。"),
            ("agent", "您刚才说您不知道网银密码了，对吗？我帮您办理重置。"),
        ],
        note="the agent restates the customer's 不知道",
        drop=SPECIAL,
    )


def _overlap_customer(
    utts: list[dict[str, Any]], text: str, seconds: float
) -> list[dict[str, Any]]:
    """Move the customer's utterance `text` to start `seconds` before the agent's turn ends."""
    out = [dict(u) for u in utts]
    for i, u in enumerate(out):
        if u["text"] == text and i:
            prev = out[i - 1]
            shift = u["start"] - (prev["end"] - seconds)
            for v in out[i:]:
                v["start"] = round(v["start"] - shift, 2)
                v["end"] = round(v["end"] - shift, 2)
            break
    return out


def heldout4(base: Any, outbound: Any, declined: Any) -> None:
    """A fifth batch: the rules batch one covered with a single wording."""
    hao, che, yi, dx, ty, ou, sj, ns = ORGS
    outbound(
        "h4-outbound-c1",
        ty,
        "您好，我是太原高速运营指挥中心的客服，请问是赵先生吗？请问您现在方便接听电话吗？",
        [],
        note="seed 004's order: who is calling, the customer's name, then whether it is convenient",
    )
    outbound(
        "h4-outbound-b1",
        ty,
        "赵先生您好，我是太原高速的，跟您说一下您反映的收费问题。",
        ["OPEN-OUTBOUND"],
        note="no 请问您现在是否方便",
    )
    declined("h4-name-noreask-b1", dx, "先生，方便告诉我您的姓名吗？", ["NAME-NO-REASK"])
    base(
        "h4-survey-b1",
        ou,
        profile="oufei",
        started_at="2026-10-01T10:00:00+08:00",
        greeting="节日好，欧飞，很高兴为您服务！请问有什么可以帮您？",
        closing="感谢您的来电，祝您节日愉快，再见！",
        breach=["CLOSE-SURVEY"],
        only=["CLOSE-SURVEY"],
        note="the holiday wish, but no invitation to rate the service",
    )
    base(
        "h4-mistake-b1",
        hao,
        middle=[
            ("agent", "另外提醒您，退货需要在收货后十五天内申请。"),
            ("customer", "你刚才不是说十五天吗？怎么别人说是七天？"),
            ("agent", "是七天，你听错了。"),
        ],
        breach=["MISTAKE-CORRECT"],
        drop=FORBID,
        note="the agent's own misstatement, blamed on the customer",
    )
    base(
        "h4-agent-id-b1",
        sj,
        middle=[("customer", "你的工号告诉我一下。"), ("agent", "您放心，我们都会认真处理的。")],
        breach=["AGENT-ID"],
        drop=FORBID,
        note="evades the question",
    )
    base("h4-thanks-c1", ns, thanks="不用客气，应该的。")
    base(
        "h4-suggestion-b1",
        yi,
        middle=[("customer", "希望你们能多安排几个护理员。"), ("agent", "这个我们没办法决定。")],
        breach=["SUGGESTION-THANKS"],
        drop=FORBID,
    )
    base(
        "h4-cannot-answer-c1",
        ty,
        middle=[
            ("customer", "明天早上太旧高速会不会封路？"),
            ("agent", "赵先生，这个问题我暂时无法确定，核实后给您回电，请问您的电话是？"),
            ("customer", "13935112345。"),
            ("agent", "我帮您重复一下，您的电话是13935112345，我们核实后尽快联系您。"),
        ],
    )
    base("h4-hold-ask-c1", sj, hold_ask="需要帮您查询一下，请您稍等好吗？")
    f_breach: list[tuple[str, str, Org, str]] = [
        ("FORBID-COMMAND", "你快点讲啦", che, "seed 000 忌语"),
        ("FORBID-BLAME", "急什么？", ou, "seed 003 教训语: 教训 is FORBID-BLAME in QA-RULES"),
    ]
    for i, (rule, text, o, why) in enumerate(f_breach):
        base(
            f"h4-{rule.lower()}-b{i + 1}",
            o,
            middle=[("customer", "你们到底能不能办？"), ("agent", text)],
            breach=[rule],
            drop=[r for r in FORBID if r != rule] + SPECIAL,
            note=why,
        )
    base(
        "h4-trap-forbid-shirk-c1",
        ty,
        middle=[
            ("customer", "我的车在市区被剐了，你们管吗？"),
            (
                "agent",
                "很抱歉，这个问题不属于高速路政的范围，您可以拨打122向交警报案，我把号码再重复一遍：122。",
            ),
        ],
        drop=SPECIAL,
        note="seed 004: refer to the right department and give its number; not 推诿",
    )


def main() -> int:
    recs = build()
    ids = [r["id"] for r in recs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        print("duplicate ids:", sorted(dup), file=sys.stderr)
        return 1
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    if "--check" in sys.argv:
        return 0 if OUT.read_text(encoding="utf-8") == text else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"{len(recs)} conversations -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
