"""Live scenario recognition and the standard script for it (SV-03), holiday-aware (SV-04).

Pure: the caller passes the utterances so far, the playbook, and the date and time; nothing
here reads a clock or a file.

How a scenario is recognised: the customer's latest utterance is matched against the
playbook's trigger words (normalised as QA normalises: punctuation, spacing, 你/您 and 吗/嘛
do not matter). Procedures that take several turns (silent line, noise, dialect, abuse, a
supervisor or a particular agent) also count the steps the agent has already taken, so the
suggestion is the *next* step: the first or second warning, then the closing script.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kefu.assist.playbook import Playbook
from kefu.core.calendar import Greeting, HolidayCalendar
from kefu.qa.text import normalize


class Scenario(enum.Enum):
    """What the conversation needs now; the value names the playbook's script."""

    OPENING = "opening"
    CLOSING = "closing"
    SILENT_LINE = "silent_line"
    NOISE = "noise"
    DIALECT = "dialect"
    ABUSE = "abuse"
    ASK_SUPERVISOR = "ask_supervisor"
    ASK_AGENT = "ask_agent"
    COMPLAINT = "complaint"
    WRONG_NUMBER = "wrong_number"
    SALES_CALL = "sales_call"
    AGENT_ID = "agent_id"
    CANNOT_ANSWER = "cannot_answer"
    SUGGESTION = "suggestion"
    THANKS = "thanks"


@dataclass(frozen=True, slots=True)
class Utterance:
    """One utterance as it arrives (the interchange format's fields)."""

    role: str
    text: str
    start: float | None = None
    end: float | None = None
    inaudible: bool = False  # the recogniser could not make it out (low volume, noise)


@dataclass(frozen=True, slots=True)
class Recognition:
    """A recognised scenario and the next step of its procedure (1-based)."""

    scenario: Scenario
    step: int
    steps: int
    utterance: int | None  # the utterance that revealed it
    evidence: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The script to offer the agent now."""

    scenario: Scenario
    script: str
    step: int
    steps: int
    action: str | None  # what follows the script: "hangup", "transfer" or None
    holiday: Greeting | None  # the holiday greeting due today, if any
    estimated: bool  # the day's holidays are an estimate: show `warnings`
    warnings: tuple[str, ...]
    evidence: str = ""


def as_utterances(items: Iterable[Utterance | Mapping[str, Any]]) -> list[Utterance]:
    """Utterances from dataclasses or interchange-format dicts."""
    out: list[Utterance] = []
    for u in items:
        if isinstance(u, Utterance):
            out.append(u)
        else:
            out.append(
                Utterance(
                    role=str(u.get("role", "")),
                    text=str(u.get("text", "")),
                    start=_num(u.get("start")),
                    end=_num(u.get("end")),
                    inaudible=bool(u.get("inaudible", False)),
                )
            )
    return out


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) else None


# ------------------------------------------------------------------ recognition
def _has(book: Playbook, trigger: str, text: str) -> str | None:
    """The first trigger word of `trigger` in `text` (normalised), or None."""
    norm = normalize(text)
    for word in book.triggers.get(trigger, ()):
        if word and word in norm:
            return word
    for pat in book.patterns.get(trigger, ()):
        m = pat.search(norm)
        if m:
            return m.group(0)
    return None


def _inaudible(book: Playbook, u: Utterance) -> bool:
    if u.inaudible or not normalize(u.text):
        return True
    if any(marker in u.text for marker in book.triggers.get("inaudible", ())):
        return True
    broken = any(mark in u.text for mark in book.triggers.get("fragment", ()))
    return broken and len(normalize(u.text)) <= book.fragment_max


def _steps_done(book: Playbook, utts: Sequence[Utterance], since: int, trigger: str) -> int:
    """Agent utterances after index `since` that already said a step (matched `trigger`)."""
    return sum(1 for u in utts[since + 1 :] if u.role == "agent" and _has(book, trigger, u.text))


def _first_customer(book: Playbook, utts: Sequence[Utterance], pred: Any) -> int | None:
    for i, u in enumerate(utts):
        if u.role == "customer" and pred(u):
            return i
    return None


def recognise(
    utterances: Iterable[Utterance | Mapping[str, Any]],
    book: Playbook,
    *,
    now: float | None = None,
    draft: str | None = None,
) -> list[Recognition]:
    """Every scenario the conversation is in now, most urgent first.

    `now` (seconds, the utterances' clock) lets a silent line be recognised once the
    customer has been silent `silent_wait` seconds after the agent; `draft` is the reply the
    agent is typing, which reveals a question the agent cannot answer.
    """
    utts = as_utterances(utterances)
    found: list[Recognition] = []

    def add(sc: Scenario, step: int, idx: int | None, evidence: str) -> None:
        steps = len(book.scripts[sc.value])
        found.append(Recognition(sc, min(max(step, 1), steps), steps, idx, evidence))

    customer = [i for i, u in enumerate(utts) if u.role == "customer"]
    agent = [i for i, u in enumerate(utts) if u.role == "agent"]

    if not customer:
        if agent:
            last = utts[agent[-1]]
            quiet = now is None or last.end is None or now - last.end >= book.silent_wait
            if quiet:
                add(Scenario.SILENT_LINE, len(agent) + 1, None, "")
        return found

    lc = customer[-1]
    last_c = utts[lc]

    word = _has(book, "abuse", last_c.text)
    if word:
        first = _first_customer(book, utts, lambda u: _has(book, "abuse", u.text))
        done = _steps_done(book, utts, first if first is not None else lc, "abuse_warning")
        add(Scenario.ABUSE, done + 1, lc, word)

    if _inaudible(book, last_c):
        first = _first_customer(book, utts, lambda u: _inaudible(book, u))
        done = _steps_done(book, utts, first if first is not None else lc, "noise_request")
        add(Scenario.NOISE, done + 1, lc, last_c.text)

    word = _has(book, "dialect", last_c.text)
    if word:
        first = _first_customer(book, utts, lambda u: _has(book, "dialect", u.text))
        done = _steps_done(book, utts, first if first is not None else lc, "dialect_request")
        add(Scenario.DIALECT, done + 1, lc, word)

    agent_word = _has(book, "ask_agent", last_c.text)
    sup_word = None if agent_word else _has(book, "ask_supervisor", last_c.text)
    if agent_word or sup_word:
        sc = Scenario.ASK_AGENT if agent_word else Scenario.ASK_SUPERVISOR
        key = "ask_agent" if agent_word else "ask_supervisor"
        first = _first_customer(
            book, utts, lambda u: _has(book, "ask_agent", u.text) or _has(book, key, u.text)
        )
        done = _steps_done(book, utts, first if first is not None else lc, "retain")
        add(sc, done + 1, lc, str(agent_word or sup_word))

    # A complaint stays open until the agent commits to a reply time: step 1 apologise and
    # restate, step 2 record and commit (我们会在XX小时内给您答复).
    first = _first_customer(book, utts, lambda u: _has(book, "complaint", u.text))
    if first is not None and not _steps_done(book, utts, first, "complaint_commit"):
        apologised = _steps_done(book, utts, first, "apology") > 0
        add(
            Scenario.COMPLAINT,
            2 if apologised else 1,
            first,
            str(_has(book, "complaint", utts[first].text)),
        )

    simple = [
        (Scenario.SALES_CALL, "sales_call"),
        (Scenario.AGENT_ID, "agent_id"),
        (Scenario.SUGGESTION, "suggestion"),
        (Scenario.THANKS, "thanks"),
    ]
    wrong = _has(book, "wrong_number", last_c.text)
    if wrong and any(name in normalize(last_c.text) for name in book.org_names):
        wrong = None  # "请问是欧飞吗": the right number
    if wrong:
        add(Scenario.WRONG_NUMBER, 1, lc, wrong)
    for sc, key in simple:
        word = _has(book, key, last_c.text)
        if not word:
            continue
        if sc is Scenario.SALES_CALL:
            first = _first_customer(book, utts, lambda u: _has(book, "sales_call", u.text))
            done = _steps_done(book, utts, first if first is not None else lc, "sales_reply")
            add(sc, done + 1, lc, word)
        else:
            add(sc, 1, lc, word)

    reply = draft
    if reply is None and utts[-1].role == "agent":
        reply = utts[-1].text
    if reply:
        word = _has(book, "cannot_answer", reply)
        if word and not _has(book, "noise_request", reply):
            add(Scenario.CANNOT_ANSWER, 1, None if draft is not None else len(utts) - 1, word)

    order = {sc: i for i, sc in enumerate(_PRIORITY)}
    found.sort(key=lambda r: order[r.scenario])
    return found


_PRIORITY = (
    Scenario.ABUSE,
    Scenario.SILENT_LINE,
    Scenario.NOISE,
    Scenario.DIALECT,
    Scenario.ASK_SUPERVISOR,
    Scenario.ASK_AGENT,
    Scenario.COMPLAINT,
    Scenario.WRONG_NUMBER,
    Scenario.SALES_CALL,
    Scenario.AGENT_ID,
    Scenario.CANNOT_ANSWER,
    Scenario.SUGGESTION,
    Scenario.THANKS,
    Scenario.OPENING,
    Scenario.CLOSING,
)


# ------------------------------------------------------------------ scripts
class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _holiday(
    book: Playbook, day: dt.date | None, calendar: HolidayCalendar | None
) -> tuple[Greeting | None, bool, tuple[str, ...]]:
    if day is None:
        return None, False, ()
    info = (calendar or HolidayCalendar()).day(day)
    warnings: tuple[str, ...] = ()
    if info.estimated:
        msg = book.warnings.get("holiday_estimated", "{year}")
        warnings = (msg.format_map(_Fill(year=str(day.year))),)
    return info.greeting, info.estimated, warnings


def _render(
    book: Playbook,
    scenario: Scenario,
    step: int,
    *,
    day: dt.date | None,
    calendar: HolidayCalendar | None,
    agent_id: str | None,
    evidence: str = "",
) -> Suggestion:
    raw = book.script(scenario.value, step)
    steps = len(book.scripts[scenario.value])
    step = min(max(step, 1), steps)
    holiday, estimated, warnings = _holiday(book, day, calendar)
    key = holiday.value if holiday is not None else "everyday"
    seasonal = "{greeting}" in raw or "{wish}" in raw
    text = raw.format_map(
        _Fill(
            greeting=book.greetings.get(key, book.greetings.get("everyday", "")),
            wish=book.wishes.get(key, ""),
            org=book.org,
            agent_id=agent_id or book.agent_id,
            reply_hours=str(book.reply_hours),
        )
    )
    return Suggestion(
        scenario=scenario,
        script=text,
        step=step,
        steps=steps,
        action=book.action(scenario.value, step),
        holiday=holiday if seasonal else None,
        estimated=estimated and seasonal,
        warnings=warnings if seasonal else (),
        evidence=evidence,
    )


def suggest(
    utterances: Iterable[Utterance | Mapping[str, Any]],
    book: Playbook,
    *,
    day: dt.date | None = None,
    calendar: HolidayCalendar | None = None,
    now: float | None = None,
    draft: str | None = None,
    agent_id: str | None = None,
) -> list[Suggestion]:
    """The standard script for each recognised scenario, most urgent first."""
    return [
        _render(
            book,
            r.scenario,
            r.step,
            day=day,
            calendar=calendar,
            agent_id=agent_id,
            evidence=r.evidence,
        )
        for r in recognise(utterances, book, now=now, draft=draft)
    ]


def opening(book: Playbook, day: dt.date, calendar: HolidayCalendar | None = None) -> Suggestion:
    """The opening line for `day`: 新年好 / 节日好 on holidays (SV-04), else 您好."""
    return _render(book, Scenario.OPENING, 1, day=day, calendar=calendar, agent_id=None)


def closing(
    book: Playbook, day: dt.date, calendar: HolidayCalendar | None = None, step: int = 2
) -> Suggestion:
    """The closing: step 1 asks 还有什么可以帮您, step 2 thanks, with the holiday wish."""
    return _render(book, Scenario.CLOSING, step, day=day, calendar=calendar, agent_id=None)
