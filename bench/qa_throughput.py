"""QA throughput: the full default rulebook over generated voice calls, on one core.

Times are CPU seconds of this one process (time.process_time), so other load on the
machine disturbs them less than wall time would. Prints, measured in the same run:
- kefu QA conversations per second as `kefu qa` does them, per JSON line: parse the line,
  check it, serialise the result line (kefu.qa.batch.Checker + kefu.qa.report.dumps); this
  is the figure the targets are about. Also the check alone on already parsed records;
- the stdlib baseline: json.loads + json.dumps of the same lines, and the ratio;
- a naive baseline: every phrase searched with `in` in every utterance, every rule on its
  own (no automaton), and the ratio;
- both automaton libraries (pyahocorasick, ahocorasick_rs) on the same calls;
- the memory of the compiled rulebook (tracemalloc);
- the rate on the STC-3 set (4,090 chats), when /work/shared/data/stc3 is there.

    python bench/qa_throughput.py [--quick] [--n 20000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from kefu.qa.batch import Checker, Item
from kefu.qa.engine import Engine
from kefu.qa.report import dumps
from kefu.qa.rulebook import load_rulebook
from kefu.qa.text import SEP, normalize

STC3 = Path(__file__).resolve().parents[1].parent.parent / "shared" / "data" / "stc3"
if not STC3.exists():
    STC3 = Path("/work/shared/data/stc3")

GREETINGS = [
    "您好，欢迎致电好胎屋客服热线，很高兴为您服务，请问有什么可以帮您？",
    "早上好，中国电信10000号，请问有什么可以帮到您？",
    "您好，这里是怡养居家养老服务中心，我是4762号客服，请问有什么可以帮您？",
    "您好，欧飞，很高兴为您服务！请问有什么可以帮您？",
    "喂，说话。",
]
CUSTOMER = [
    "我上周在你们那里订的轮胎，到现在还没发货，想问一下什么时候能发货。",
    "我家宽带从昨天晚上开始就上不了网了，一直显示连接失败。",
    "我想给我妈订一次上门助浴服务，看看明天上午有没有时间。",
    "我昨天充了一百块话费，到现在还没到账，是不是出了什么问题。",
    "对的。",
    "好的，那麻烦你帮我查一下。",
    "我姓王。",
    "我的订单号是二零二六一一一五零八七三。",
    "我的手机号是13912345678。",
    "那大概要多久才能处理好呢？我比较着急。",
    "上次打电话也是这么说的，到现在都没有解决。",
    "好的，谢谢。",
    "没有了。",
    "我建议你们以后发货前先打个电话通知一下。",
    "你的工号是多少？",
]
AGENT = [
    "王先生，您是咨询有关轮胎订单发货时间的问题，是吗？",
    "我帮您重复一下，您的订单号是202611150873，对吗？",
    "请您稍等片刻好吗？我帮您查询一下。",
    "王先生，感谢您的耐心等待。您的订单已经在今天上午出库，预计两天内送达。",
    "非常抱歉给您带来不便，我们会在二十四小时内给您答复。",
    "请问您贵姓？",
    "您反映的问题我已经详细记录，会尽快转交相关部门处理。",
    "不客气，这是我们应该做的。",
    "谢谢您的建议，您的建议对我们工作很有参考价值。",
    "我的工号是1024。",
    "您可以在手机营业厅里查看处理进度，也可以随时拨打我们的热线。",
    "这个业务目前只能在工作日办理，节假日暂时无法受理，请您谅解。",
]
BREACHES = [
    "就是说，这个这个我也不知道。",
    "我不是跟你说得很清楚了吗？",
    "这事不归我管。",
    "你先听我说！",
    "好像是吧，应该差不多。",
    "知道了，知道了，不要再讲了。",
]
CLOSING = ["请问还有什么可以帮您？", "感谢您的来电，再见！"]


def generate(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n voice calls of ~60 utterances and ~1,000 characters, with timestamps and events."""
    rnd = random.Random(seed)
    calls = []
    for i in range(n):
        t = rnd.uniform(3, 14)
        events: list[dict[str, Any]] = [
            {"t": 0.0, "type": "ring"},
            {"t": round(t, 2), "type": "answer"},
        ]
        utts: list[dict[str, Any]] = []

        def say(role: str, text: str, gap: float = 0.4, utts: list[dict[str, Any]] = utts) -> None:
            nonlocal t
            start = t + gap
            # ~1,000 characters in ~4 minutes of talk, as the brief sizes a call.
            dur = max(0.6, len(text) / rnd.uniform(4.0, 5.0))
            utts.append(
                {"role": role, "start": round(start, 2), "end": round(start + dur, 2), "text": text}
            )
            t = start + dur

        say("agent", rnd.choice(GREETINGS), 0.4)
        hold = rnd.random() < 0.3
        while len(utts) < 56:
            say("customer", rnd.choice(CUSTOMER), rnd.uniform(0.2, 0.8))
            if rnd.random() < 0.05:
                say("agent", rnd.choice(BREACHES), rnd.uniform(-1.5, 0.6))
            else:
                say("agent", rnd.choice(AGENT), rnd.uniform(0.2, 0.9))
            if hold and len(utts) == 20:
                events.append({"t": round(t + 0.5, 2), "type": "hold_start"})
                t += rnd.uniform(10, 40)
                events.append({"t": round(t, 2), "type": "hold_end"})
        for text in CLOSING:
            say("agent", text)
            if text == CLOSING[0]:
                say("customer", "没有了。")
        events.append(
            {"t": round(t + 2, 2), "type": "hangup", "by": rnd.choice(["customer"] * 9 + ["agent"])}
        )
        calls.append(
            {
                "id": f"bench-{i:06d}",
                "channel": "voice",
                "direction": "inbound",
                "started_at": f"2026-11-{1 + i % 28:02d}T10:00:00+08:00",
                "agent": {"id": str(1000 + i % 50)},
                "events": events,
                "utterances": utts,
            }
        )
    return calls


class Naive:
    """The baseline: each phrase searched with `in`, each rule evaluated on its own."""

    def __init__(self, source: str) -> None:
        rb = load_rulebook(source)
        self.rules: list[list[tuple[str, list[str], list[str]]]] = []
        for rule in rb.rules:
            conds: list[tuple[str, list[str], list[str]]] = []
            _walk(rule.source.get("checks", []), rb.phrase_groups, conds)
            self.rules.append(conds)

    def check(self, record: dict[str, Any]) -> int:
        hits = 0
        utts = record["utterances"]
        for conds in self.rules:
            for role, phrases, excepts in conds:
                for u in utts:
                    if role != "any" and u["role"] != role:
                        continue
                    text = normalize(u["text"])
                    for p in phrases:
                        if p in text and not any(p in x and x in text for x in excepts):
                            hits += 1
        return hits


def _walk(
    node: Any, groups: dict[str, list[str]], out: list[tuple[str, list[str], list[str]]]
) -> None:
    def resolve(v: Any) -> list[str]:
        vals = v if isinstance(v, list) else [v]
        res: list[str] = []
        for x in vals:
            res.extend(
                groups.get(x[1:], []) if isinstance(x, str) and x.startswith("@") else [str(x)]
            )
        return [normalize(x) for x in res]

    if isinstance(node, dict):
        for op in ("any", "all", "none"):
            if op in node:
                out.append(
                    (node.get("role", "agent"), resolve(node[op]), resolve(node.get("except", [])))
                )
        for v in node.values():
            if isinstance(v, dict | list):
                _walk(v, groups, out)
    elif isinstance(node, list):
        for v in node:
            _walk(v, groups, out)


def timed(fn: Any, items: list[Any], repeat: int = 3) -> float:
    """CPU seconds of this process (not wall time: the machine may be shared), the best of
    `repeat` runs: on a shared 2-core machine one run varies by ±15%."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        for x in items:
            fn(x)
        best = min(best, time.process_time() - t0)
    return best


def breakdown(eng: Engine, lines: list[str], repeat: int) -> None:
    """Where the time of one line goes: each stage alone, then each rule, in µs per call."""
    from kefu.qa.batch import parse
    from kefu.qa.context import Context, Timeline
    from kefu.qa.record import validate

    n = len(lines)
    recs = [parse(line) for line in lines]
    vals = [validate(r) for r in recs]
    joined = [SEP.join(u["text"] for u in r["utterances"]) for r in recs]
    normed = [normalize(j) for j in joined]
    rb = eng.rulebook

    def context(i: int) -> Context:
        return Context(recs[i], vals[i][0], vals[i][1], eng.matcher, rb.phrase_sets,
                       eng.calendar, eng._nsets)  # fmt: skip

    ctxs = [context(i) for i in range(n)]
    results = [eng.check(r) for r in recs]
    stages: list[tuple[str, float]] = [
        ("parse the line (batch.parse)", timed(parse, lines, repeat)),
        ("validate the record", timed(validate, recs, repeat)),
        ("context: join, normalise, match, group hits", timed(context, list(range(n)), repeat)),
        ("  of which normalise the joined text", timed(normalize, joined, repeat)),
        ("  of which the automaton pass", timed(eng.matcher, normed, repeat)),
        ("timeline (gaps, holds, overlaps, rate)", timed(Timeline, ctxs, repeat)),
        ("dumps the result (report.dumps)", timed(dumps, results, repeat)),
    ]
    for c in ctxs:
        c.timeline  # noqa: B018 - computed above, not charged to the first rule using it
        c.raw()
    plan, _ = eng._plan(ctxs[0])
    per_rule: list[tuple[float, str]] = []
    for rule, checks in plan:
        t = timed(lambda c, r=rule, k=checks: eng._evaluate(r, k, c), ctxs, repeat)
        per_rule.append((t, rule.id))
    per_rule.sort(reverse=True)
    stages.append(
        (f"all {len(plan)} rules evaluated (findings built)", sum(t for t, _ in per_rule))
    )
    findings = sum(len(r["findings"]) for r in results) / n
    print()
    print(f"breakdown over {n} calls ({findings:.1f} findings per call), µs per call:")
    for label, t in stages:
        print(f"  {label:50} {t / n * 1e6:7.1f}")
    print("  costliest rules: " + ", ".join(f"{i} {t / n * 1e6:.1f}" for t, i in per_rule[:8]))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="2,000 calls instead of 20,000")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measure; the best counts")
    ap.add_argument(
        "--breakdown", action="store_true", help="also time each stage of a check, and each rule"
    )
    args = ap.parse_args()
    n = args.n or (2000 if args.quick else 20000)

    def run(fn: Any, items: list[Any]) -> float:
        return timed(fn, items, args.repeat)

    calls = generate(n)
    lines = [json.dumps(c, ensure_ascii=False) for c in calls]
    chars = sum(len(u["text"]) for c in calls for u in c["utterances"]) / n
    nutt = sum(len(c["utterances"]) for c in calls) / n
    talk = sum(c["utterances"][-1]["end"] for c in calls) / n
    print(
        f"{n} voice calls, {nutt:.0f} utterances, {chars:.0f} characters, {talk / 60:.1f} min each"
    )

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = Engine.load("default")
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(
        f"compiled default rulebook: {len(engine.rulebook.rules)} rules, "
        f"{len(engine.rulebook.phrases)} phrases, {size / 1e6:.2f} MB (tracemalloc)"
    )

    parsed = [json.loads(line) for line in lines]
    t_parse = run(lambda s: json.dumps(json.loads(s), ensure_ascii=False), lines)
    t_loads = run(json.loads, lines)
    results: dict[str, float] = {}
    matching: dict[str, float] = {}
    texts = [normalize(SEP.join(u["text"] for u in c["utterances"])) for c in parsed]
    for lib in ("pyahocorasick", "ahocorasick_rs"):
        eng = Engine.load("default", library=lib)
        results[lib] = run(eng.check, parsed)
        matching[lib] = run(eng.matcher, texts)
    best = min(results, key=results.__getitem__)
    t_check = results[best]
    # What `kefu qa` does per input line (batch.run with one job, then the jsonl writer), with
    # the engine as `kefu qa` loads it (the default automaton library).
    eng = Engine.load("default")
    checker = Checker(eng, keep_records=False)
    items = [Item(f"bench.jsonl:{i + 1}", line) for i, line in enumerate(lines)]
    t_qa = run(lambda it: dumps(checker(it).result), items)
    naive = Naive("default")
    m = max(200, n // 20)
    t_naive = timed(naive.check, parsed[:m], 1) * n / m
    t_naive_full = t_naive + t_loads  # the naive baseline parses the line too

    print()
    print(f"{'measure':48} {'conv/s':>10} {'µs/conv':>9}")
    for label, t in (
        ("kefu qa per line: parse + check + dumps result", t_qa),
        (f"kefu check only, records parsed ({best})", t_check),
        ("stdlib json.loads + json.dumps (baseline)", t_parse),
        ("stdlib json.loads only", t_loads),
        ("naive: json.loads + `in` per phrase per rule", t_naive_full),
    ):
        print(f"{label:48} {n / t:10.0f} {t / n * 1e6:9.1f}")
    print()
    other = next(lib for lib in results if lib != best)
    print(
        f"automaton: {best} {n / results[best]:.0f} conv/s vs {other} "
        f"{n / results[other]:.0f} conv/s (check only, {results[other] / results[best]:.2f}x)"
    )
    print(
        f"matching step alone (one pass over the joined text): {best} "
        f"{matching[best] / n * 1e6:.1f} µs, {other} {matching[other] / n * 1e6:.1f} µs "
        f"({matching[other] / matching[best]:.2f}x)"
    )
    print(f"QA time / stdlib parse+serialise time: {t_qa / t_parse:.2f} (target <= 1.5)")
    print(f"QA time / stdlib parse time:           {t_qa / t_loads:.2f}")
    print(f"naive time / kefu QA time:             {t_naive_full / t_qa:.1f}x")
    print(
        f"target >= 5,000 conv/s on one core:    {'met' if n / t_qa >= 5000 else 'NOT met'} "
        f"({n / t_qa:.0f})"
    )

    if args.breakdown:
        breakdown(eng, lines[: min(n, 2000)], args.repeat)

    files = sorted(STC3.glob("*.json")) if STC3.exists() else []
    if files:
        from kefu.qa.stc3 import read

        recs = [r for f in files for r in read(f)]
        t = run(eng.check, recs)
        print(f"STC-3: {len(recs)} chats, {len(recs) / t:.0f} conv/s")
    else:
        print("STC-3: data not found, skipped", file=sys.stderr)
    _ = re


if __name__ == "__main__":
    main()
