"""Property: random keys, prompt ends, timers and service answers never crash a session,
and a session always ends in exactly one terminal command or is still waiting for
something that will come (a prompt end, a timer or a service answer)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core.calendar import HolidayCalendar
from kefu.core.ivr import IvrSession, SessionState
from kefu.core.ivr_appointment import AppointmentBook
from kefu.core.ivr_events import (
    TERMINAL_COMMANDS,
    CallerHungUp,
    Command,
    DtmfDigit,
    Event,
    LookupResult,
    PasswordChecked,
    PaymentResult,
    PromptFinished,
)
from kefu.core.ivr_flow import Flow, load_flow
from kefu.core.ivr_password import MemoryPasswordLocks

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ivr"
FLOWS: list[Flow] = [load_flow(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
CALENDAR = HolidayCalendar()

KEYS = list("0123456789*#")
Action = tuple[str, object]
actions = st.one_of(
    st.tuples(st.just("key"), st.sampled_from(KEYS)),
    st.tuples(st.just("key"), st.sampled_from("12")),  # menu choices, to get deeper
    st.tuples(st.just("finish"), st.none()),
    st.tuples(st.just("stale"), st.none()),
    st.tuples(st.just("timer"), st.floats(min_value=0.0, max_value=40.0)),
    st.tuples(st.just("answer"), st.booleans()),
    st.tuples(st.just("hangup"), st.none()),
)
starts = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31))


def waiting(session: IvrSession) -> bool:
    """Something is due to wake the session: a prompt end, a timer or a service answer."""
    awaiting = session.state in (
        SessionState.AWAITING_PASSWORD,
        SessionState.AWAITING_LOOKUP,
        SessionState.AWAITING_PAYMENT,
    )
    return session.prompt_playing is not None or awaiting or session.next_deadline() is not None


def check(session: IvrSession, batch: list[Command]) -> None:
    terminal = [c for c in batch if isinstance(c, TERMINAL_COMMANDS)]
    if session.ended:
        assert len(terminal) == 1 and batch[-1] is terminal[0] == session.outcome
    else:
        assert not terminal
        assert waiting(session)


@settings(max_examples=300, deadline=None)
@given(
    flow_index=st.integers(min_value=0, max_value=len(FLOWS) - 1),
    start=starts,
    member=st.sampled_from(["true", "false"]),
    script=st.lists(actions, max_size=60),
)
def test_random_sessions_never_crash_and_never_get_stuck(
    flow_index: int, start: dt.datetime, member: str, script: list[Action]
) -> None:
    book = AppointmentBook()
    session = IvrSession(
        FLOWS[flow_index],
        "p",
        {"member": member, "caller": "13900001111"},
        CALENDAR,
        start,
        locks=MemoryPasswordLocks(),
        book=book,
    )
    now = start
    check(session, session.start(now))
    for kind, arg in script:
        if session.ended:
            break
        now += dt.timedelta(seconds=1)
        if kind == "key":
            batch = session.handle(DtmfDigit(str(arg)), now)
        elif kind == "finish":
            playing = session.prompt_playing
            batch = session.handle(PromptFinished(playing), now) if playing else []
        elif kind == "stale":
            batch = session.handle(PromptFinished("p/old"), now)
            assert batch == []
        elif kind == "timer":
            now += dt.timedelta(seconds=float(str(arg)))
            batch = session.handle_timer(now)
        elif kind == "answer":
            ok = bool(arg)
            answers: dict[SessionState, Event] = {
                SessionState.AWAITING_PASSWORD: PasswordChecked(ok),
                SessionState.AWAITING_LOOKUP: LookupResult(ok, (("balance", "1.00"),)),
                SessionState.AWAITING_PAYMENT: PaymentResult(ok),
            }
            answer = answers.get(session.state)
            batch = session.handle(answer, now) if answer is not None else []
        else:
            batch = session.handle(CallerHungUp(), now)
        check(session, batch)
    # The appointment book settles by itself: every unpaid booking is cancelled in time.
    deadline = book.next_deadline()
    if deadline is not None:
        book.handle_timer(deadline + dt.timedelta(minutes=30))
        assert book.next_deadline() is None
