"""IVR sessions: every node type, barge-in, zero-out, retries, timers, passwords, hours,
payments, and illegal events. Each test drives a session the way an adapter would."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from kefu.core.calendar import HolidayCalendar
from kefu.core.ivr import IvrSession, SessionState, simulate_path
from kefu.core.ivr_appointment import AppointmentBook, AppointmentError
from kefu.core.ivr_events import (
    CallerHungUp,
    CallerLeft,
    CancelAppointment,
    ChargePayment,
    CollectStarted,
    Command,
    ConfirmAppointment,
    CreateAppointment,
    DtmfDigit,
    Enqueue,
    Event,
    Hangup,
    IvrError,
    IvrStateError,
    Lookup,
    LookupResult,
    PasswordChecked,
    PasswordLocked,
    PaymentResult,
    PlayPrompt,
    PromptFinished,
    SendToVoicemail,
    SetVariable,
    StopPrompt,
    TransferOutside,
    VerifyPassword,
)
from kefu.core.ivr_flow import Flow, parse_flow
from kefu.core.ivr_password import MemoryPasswordLocks

CALENDAR = HolidayCalendar()
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0)  # an ordinary workday, in office hours


def flow_of(text: str) -> Flow:
    """A flow from inline YAML."""
    return parse_flow(textwrap.dedent(text), "test.yaml")


class Driver:
    """Plays the adapter: keeps the clock, sends events, remembers what came out."""

    def __init__(
        self,
        flow: Flow,
        now: dt.datetime = MONDAY_10,
        variables: dict[str, str] | None = None,
        locks: MemoryPasswordLocks | None = None,
        book: AppointmentBook | None = None,
    ) -> None:
        self.now = now
        self.session = IvrSession(
            flow, "c1", variables or {}, CALENDAR, now, locks=locks, book=book
        )
        self.log: list[Command] = []

    def start(self) -> list[Command]:
        return self._keep(self.session.start(self.now))

    def send(self, event: Event, after: float = 0.5) -> list[Command]:
        self.now += dt.timedelta(seconds=after)
        return self._keep(self.session.handle(event, self.now))

    def press(self, keys: str, after: float = 0.5) -> list[Command]:
        out: list[Command] = []
        for key in keys:
            out += self.send(DtmfDigit(key), after)
        return out

    def finish(self) -> list[Command]:
        """The prompt now playing plays to its end."""
        playing = self.session.prompt_playing
        assert playing is not None, "no prompt is playing"
        return self.send(PromptFinished(playing), after=2.0)

    def wait(self) -> list[Command]:
        """Let the session's timer run out."""
        deadline = self.session.next_deadline()
        assert deadline is not None, "no timer is set"
        self.now = deadline
        return self._keep(self.session.handle_timer(self.now))

    def _keep(self, commands: list[Command]) -> list[Command]:
        self.log += commands
        return commands


def prompts(commands: list[Command]) -> list[tuple[str, ...]]:
    """The prompt lists of the PlayPrompt commands."""
    return [c.prompts for c in commands if isinstance(c, PlayPrompt)]


MAIN = flow_of(
    """\
    flow: main
    version: 1
    numbers: ["4001"]
    start: hello
    zero_out: agent
    defaults:
      timeout: 5
      inter_digit_timeout: 3
      retries: 2
      invalid_prompts: [invalid]
      timeout_prompts: [noinput]
    nodes:
      hello:
        type: play
        prompts: [hello]
        next: main
      main:
        type: menu
        prompts: [main_menu]
        on_failure: bye
        choices:
          1: account
          2: amount
          3: date
          4: member
          5: must_hear
          6: vm
          7: out
          8: copy
      account:
        type: collect
        prompts: [enter_account]
        grammar: {type: digits, min: 4, max: 8}
        variable: account
        next: main
      amount:
        type: collect
        prompts: [enter_amount]
        grammar: amount
        variable: amount
        next: main
      date:
        type: collect
        prompts: [enter_date]
        grammar: date
        variable: date
        next: main
      member:
        type: branch
        variable: member
        cases: {"true": member_q}
        default: guest_q
      member_q:
        type: queue
        queue: members
        priority: 5
      guest_q:
        type: queue
        queue: guests
      must_hear:
        type: menu
        prompts: [legal_notice]
        interruptible: false
        choices: {"1": main}
      vm:
        type: voicemail
        box: b1
      out:
        type: transfer
        number: "13800138000"
      copy:
        type: set
        values: {source: ivr, who: $account}
        next: agent
      agent:
        type: queue
        queue: agents
      bye:
        type: play
        prompts: [bye]
        interruptible: false
        next: end
      end:
        type: hangup
    """
)


def at_menu(flow: Flow = MAIN, **kwargs: object) -> Driver:
    """A driver whose caller has heard the greeting and is at the main menu prompt."""
    d = Driver(flow, **kwargs)  # type: ignore[arg-type]
    d.start()
    d.finish()
    return d


# --- play, menus, barge-in ----------------------------------------------------------------


def test_play_node_plays_then_moves_on_when_the_prompt_ends() -> None:
    d = Driver(MAIN)
    first = d.start()
    assert first == [PlayPrompt("c1/p1", ("hello",), True)]
    assert d.session.state is SessionState.PLAYING
    assert d.session.next_deadline() is None  # nothing is timed while a prompt plays
    after = d.finish()
    assert after == [CollectStarted("main", "menu"), PlayPrompt("c1/p2", ("main_menu",), True)]


def test_first_key_timer_starts_when_the_prompt_ends() -> None:
    d = at_menu()
    assert d.session.next_deadline() is None
    d.finish()
    assert d.session.next_deadline() == d.now + dt.timedelta(seconds=5)


def test_a_key_during_a_menu_prompt_stops_it_and_counts() -> None:
    d = at_menu()
    out = d.press("6")
    assert out == [StopPrompt("c1/p2"), SendToVoicemail("b1")]
    assert d.session.ended and d.session.outcome == SendToVoicemail("b1")


def test_typing_ahead_through_the_greeting_skips_to_the_menu_choice() -> None:
    d = Driver(MAIN)
    d.start()
    out = d.press("7")  # during the greeting (快速输入)
    assert out == [
        StopPrompt("c1/p1"),
        CollectStarted("main", "menu"),
        TransferOutside("13800138000"),
    ]


def test_keys_are_dropped_during_a_prompt_that_must_be_heard() -> None:
    d = at_menu()
    d.press("5")
    assert d.session.node_id == "must_hear"
    assert d.press("1") == []  # still playing the notice
    d.finish()
    assert d.press("1") == [
        CollectStarted("main", "menu"),
        PlayPrompt("c1/p4", ("main_menu",), True),
    ]


def test_a_stale_prompt_end_is_ignored() -> None:
    d = at_menu()
    d.press("1")  # barges in on c1/p2, now in the account collect
    assert d.send(PromptFinished("c1/p2")) == []
    assert d.session.node_id == "account"


def deep_menu_flow(depth: int) -> Flow:
    """A chain of menus `depth` levels deep: 1 goes down, * goes back up."""
    lines = ["flow: deep", "version: 1", "start: level1", "nodes:"]
    for level in range(1, depth + 1):
        down = f"level{level + 1}" if level < depth else "bottom"
        up = f"level{level - 1}" if level > 1 else "level1"
        lines += [
            f"  level{level}:",
            "    type: menu",
            f"    prompts: [menu_level_{level}]",
            f'    choices: {{"1": {down}, "*": {up}}}',
        ]
    lines += ["  bottom:", "    type: queue", "    queue: specialists"]
    return parse_flow("\n".join(lines) + "\n")


def test_menus_of_any_depth() -> None:
    flow = deep_menu_flow(12)
    out = simulate_path(flow, "1" * 12, MONDAY_10)
    assert out[-1] == Enqueue("specialists", 0, ())
    assert len([c for c in out if isinstance(c, CollectStarted)]) == 12
    back = simulate_path(flow, "111*", MONDAY_10)
    assert back[-1] == PlayPrompt("sim/p5", ("menu_level_3",), True)


# --- retries and timeouts -----------------------------------------------------------------


def test_menu_timeouts_reprompt_then_give_up_to_on_failure() -> None:
    d = at_menu()
    d.finish()
    first = d.wait()
    assert prompts(first) == [("noinput", "main_menu")]
    d.finish()
    assert prompts(d.wait()) == [("noinput", "main_menu")]
    d.finish()
    out = d.wait()  # retries: 2, so the third timeout gives up
    assert prompts(out) == [("bye",)]
    assert d.session.node_id == "bye"
    d.finish()
    assert d.session.outcome == Hangup("completed")


def test_an_invalid_menu_key_says_so_and_asks_again() -> None:
    d = at_menu()
    out = d.press("9")
    assert out == [StopPrompt("c1/p2"), PlayPrompt("c1/p3", ("invalid", "main_menu"), True)]


def test_without_on_failure_the_call_hangs_up() -> None:
    flow = flow_of(
        """\
        flow: f
        version: 1
        start: m
        nodes:
          m:
            type: menu
            retries: 0
            choices: {"1": q}
          q:
            type: queue
            queue: q
        """
    )
    d = Driver(flow)
    d.start()
    assert d.session.next_deadline() == d.now + dt.timedelta(seconds=5)  # no prompt to wait for
    assert d.wait() == [Hangup("no_input")]


def test_inter_digit_timeout_ends_a_valid_entry_and_rejects_a_short_one() -> None:
    d = at_menu()
    d.press("1")
    d.finish()
    d.press("1234")
    assert d.session.next_deadline() == d.now + dt.timedelta(seconds=3)
    out = d.wait()
    assert out[0] == SetVariable("account", "1234")
    d.press("1")
    d.finish()
    d.press("12")
    assert prompts(d.wait()) == [("invalid", "enter_account")]


# --- grammars in a session ----------------------------------------------------------------


def test_hash_ends_digits_and_star_clears_and_asks_again() -> None:
    d = at_menu()
    d.press("1")
    d.finish()
    out = d.press("98*")
    assert prompts(out) == [("enter_account",)]  # cleared, prompted again, no attempt used
    d.finish()
    out = d.press("98765#")
    assert out[0] == SetVariable("account", "98765")


def test_amount_with_star_as_decimal_point() -> None:
    out = simulate_path(MAIN, "2 125*50#", MONDAY_10)
    assert SetVariable("amount", "125.50") in out


def test_bad_date_is_refused_and_a_real_date_accepted() -> None:
    out = simulate_path(MAIN, "3 20260230 20260315", MONDAY_10)
    assert prompts(out).count(("invalid", "enter_date")) == 1
    assert SetVariable("date", "2026-03-15") in out


# --- zero-out -----------------------------------------------------------------------------


def test_zero_goes_to_an_agent_from_the_greeting() -> None:
    d = Driver(MAIN)
    d.start()
    assert d.press("0") == [StopPrompt("c1/p1"), Enqueue("agents", 0, ())]


def test_zero_goes_to_an_agent_from_a_menu_and_a_notice_that_must_be_heard() -> None:
    assert simulate_path(MAIN, "0", MONDAY_10)[-1] == Enqueue("agents", 0, ())
    d = at_menu()
    d.press("5")
    assert d.press("0") == [StopPrompt("c1/p3"), Enqueue("agents", 0, ())]


def test_zero_inside_a_collect_is_zero_out_only_as_the_first_key() -> None:
    d = at_menu()
    d.press("1")
    d.finish()
    d.press("1")
    assert d.press("0") == []  # a digit of the account
    out = d.press("00#")
    assert out[0] == SetVariable("account", "1000")
    d.press("1")
    assert d.press("0") == [StopPrompt("c1/p5"), Enqueue("agents", 0, (("account", "1000"),))]


def test_zero_out_can_be_switched_off_where_a_leading_zero_is_input() -> None:
    flow = flow_of(
        """\
        flow: f
        version: 1
        start: c
        zero_out: agent
        nodes:
          c:
            type: collect
            grammar: {type: digits, min: 4, max: 4}
            variable: code
            zero_out: false
            next: agent
          agent:
            type: queue
            queue: q
        """
    )
    out = simulate_path(flow, "0123", MONDAY_10)
    assert out[-2:] == [SetVariable("code", "0123"), Enqueue("q", 0, (("code", "0123"),))]


# --- branch, set, terminal nodes ----------------------------------------------------------


def test_members_and_non_members_go_to_different_queues() -> None:
    member = simulate_path(MAIN, "4", MONDAY_10, variables={"member": "true"})
    guest = simulate_path(MAIN, "4", MONDAY_10, variables={"member": "false"})
    unknown = simulate_path(MAIN, "4", MONDAY_10)
    assert member[-1] == Enqueue("members", 5, (("member", "true"),))
    assert guest[-1] == Enqueue("guests", 0, (("member", "false"),))
    assert unknown[-1] == Enqueue("guests", 0, ())


def test_set_node_sets_and_copies_variables() -> None:
    out = simulate_path(MAIN, "1 4321# 8", MONDAY_10)
    assert out[-3:] == [
        SetVariable("source", "ivr"),
        SetVariable("who", "4321"),
        Enqueue("agents", 0, (("account", "4321"), ("source", "ivr"), ("who", "4321"))),
    ]


def test_caller_hanging_up_ends_the_session_where_it_was() -> None:
    d = at_menu()
    assert d.send(CallerHungUp()) == [CallerLeft("main")]
    assert d.session.ended and d.session.next_deadline() is None


# --- illegal events -----------------------------------------------------------------------


def snapshot(session: IvrSession) -> tuple[object, ...]:
    return (
        session.state,
        session.node_id,
        session.next_deadline(),
        session.prompt_playing,
        dict(session.variables),
        session.outcome,
    )


@pytest.mark.parametrize(
    "event",
    [PasswordChecked(True), LookupResult(True), PaymentResult(True)],
)
def test_an_answer_nobody_asked_for_raises_and_changes_nothing(event: Event) -> None:
    d = at_menu()
    d.press("1")
    before = snapshot(d.session)
    with pytest.raises(IvrStateError):
        d.session.handle(event, d.now)
    assert snapshot(d.session) == before


def test_events_before_start_and_after_the_end_raise() -> None:
    d = Driver(MAIN)
    with pytest.raises(IvrStateError):
        d.session.handle(DtmfDigit("1"), d.now)
    assert d.session.state is SessionState.NEW
    d.start()
    with pytest.raises(IvrStateError):
        d.session.start(d.now)
    d.press("0")
    before = snapshot(d.session)
    for event in (DtmfDigit("1"), CallerHungUp(), PromptFinished("c1/p1")):
        with pytest.raises(IvrStateError):
            d.session.handle(event, d.now)
    assert snapshot(d.session) == before
    assert d.session.handle_timer(d.now + dt.timedelta(hours=1)) == []


def test_not_a_dtmf_key() -> None:
    with pytest.raises(IvrError):
        DtmfDigit("x")


def test_an_early_timer_does_nothing() -> None:
    d = at_menu()
    d.finish()
    before = snapshot(d.session)
    assert d.session.handle_timer(d.now + dt.timedelta(seconds=4)) == []
    assert snapshot(d.session) == before


# --- password verification and lockout ----------------------------------------------------

BANK = flow_of(
    """\
    flow: bank
    version: 1
    start: pw
    zero_out: agent
    nodes:
      pw:
        type: password
        prompts: [enter_password]
        account_variable: account
        grammar: {type: digits, min: 6, max: 6}
        wrong_prompts: [password_wrong]
        retries: 2
        on_failure: agent
        next: menu
        locked: locked
      menu:
        type: menu
        prompts: [bank_menu]
        choices: {"1": agent}
      locked:
        type: play
        prompts: [password_locked_today]
        next: bye
      agent:
        type: queue
        queue: bank
      bye:
        type: hangup
        reason: locked
    """
)


def password_call(locks: MemoryPasswordLocks, now: dt.datetime, answers: list[bool]) -> Driver:
    """One call that enters a password once per answer and gets that answer back."""
    d = Driver(BANK, now=now, variables={"account": "6222001"}, locks=locks)
    d.start()
    for ok in answers:
        if d.session.ended or d.session.state is not SessionState.COLLECTING:
            break
        out = d.press("123456")
        assert out[-1] == VerifyPassword("6222001", "123456")
        d.send(PasswordChecked(ok))
    return d


def test_right_password_goes_on() -> None:
    d = password_call(MemoryPasswordLocks(), MONDAY_10, [True])
    assert d.session.node_id == "menu"


def test_wrong_password_asks_again_then_gives_up_for_the_call() -> None:
    d = password_call(MemoryPasswordLocks(), MONDAY_10, [False, False, False])
    assert prompts(d.log)[1] == ("password_wrong", "enter_password")
    assert d.session.outcome == Enqueue("bank", 0, (("account", "6222001"),))


def test_five_wrong_tries_in_a_day_lock_the_account_until_the_next_day() -> None:
    locks = MemoryPasswordLocks()
    password_call(locks, MONDAY_10, [False, False, False])  # 3 wrong, then to an agent
    second = password_call(locks, MONDAY_10 + dt.timedelta(hours=3), [False, False])
    day = MONDAY_10.date()
    assert PasswordLocked("6222001", day) in second.log
    assert second.session.node_id == "locked"
    # A later call the same day is locked before it can try: no password prompt at all.
    third = Driver(
        BANK, now=MONDAY_10 + dt.timedelta(hours=8), variables={"account": "6222001"}, locks=locks
    )
    out = third.start()
    assert out == [
        PasswordLocked("6222001", day),
        PlayPrompt("c1/p1", ("password_locked_today",), True),
    ]
    # Even the right password would not have helped; the next day the lock has lifted.
    tomorrow = password_call(locks, dt.datetime(2026, 3, 3, 0, 5), [True])
    assert tomorrow.session.node_id == "menu"
    assert not any(isinstance(c, PasswordLocked) for c in tomorrow.log)


def test_the_lock_is_per_account() -> None:
    locks = MemoryPasswordLocks()
    for _ in range(5):
        locks.record_failure("other", MONDAY_10.date())
    assert password_call(locks, MONDAY_10, [True]).session.node_id == "menu"


def test_zero_out_from_the_password_prompt_and_no_answer_in_time() -> None:
    d = Driver(BANK, variables={"account": "1"})
    d.start()
    assert d.press("0")[-1] == Enqueue("bank", 0, (("account", "1"),))
    d = Driver(BANK, variables={"account": "1"})
    d.start()
    d.press("654321")
    assert d.press("9") == []  # keys are ignored while the check is out
    assert d.wait()[-1] == Enqueue("bank", 0, (("account", "1"),))  # on_failure


# --- office hours, weekends, make-up workdays, holidays -----------------------------------

HOURS = flow_of(
    """\
    flow: hours
    version: 1
    start: check
    nodes:
      check:
        type: hours
        schedule:
          workday: ["08:00-12:00", "14:00-18:00"]
          fri: ["08:00-12:00"]
        open: open_q
        closed: vm
        holiday: holiday_vm
      open_q:
        type: queue
        queue: agents
      vm:
        type: voicemail
        box: after_hours
      holiday_vm:
        type: voicemail
        box: holiday
    """
)


@pytest.mark.parametrize(
    ("moment", "outcome"),
    [
        (dt.datetime(2026, 3, 2, 8, 0), Enqueue("agents", 0, ())),  # Monday, opening time
        (dt.datetime(2026, 3, 2, 12, 30), SendToVoicemail("after_hours")),  # lunch break
        (dt.datetime(2026, 3, 2, 17, 59), Enqueue("agents", 0, ())),
        (dt.datetime(2026, 3, 2, 18, 0), SendToVoicemail("after_hours")),
        (dt.datetime(2026, 3, 6, 15, 0), SendToVoicemail("after_hours")),  # Friday: mornings
        (dt.datetime(2026, 3, 7, 10, 0), SendToVoicemail("after_hours")),  # a Saturday
        (dt.datetime(2026, 2, 14, 10, 0), Enqueue("agents", 0, ())),  # make-up Saturday
        (dt.datetime(2026, 10, 1, 10, 0), SendToVoicemail("holiday")),  # National Day
    ],
)
def test_office_hours(moment: dt.datetime, outcome: Command) -> None:
    assert simulate_path(HOURS, "", moment) == [outcome]


def test_an_aware_time_is_read_in_the_flows_time_zone() -> None:
    utc_2am = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    assert simulate_path(HOURS, "", utc_2am) == [Enqueue("agents", 0, ())]


# --- lookups ------------------------------------------------------------------------------

LOOKUP = flow_of(
    """\
    flow: lookup
    version: 1
    start: balance
    nodes:
      balance:
        type: lookup
        action: balance
        args: [account]
        timeout: 8
        next: say
        on_failure: sorry
      say:
        type: play
        prompts: [balance_is, {say: amount, variable: balance}]
        next: end
      sorry:
        type: voicemail
        box: b
      end:
        type: hangup
    """
)


def test_lookup_answers_become_variables_and_can_be_spoken() -> None:
    d = Driver(LOOKUP, variables={"account": "42"})
    assert d.start() == [Lookup("balance", (("account", "42"),))]
    out = d.send(LookupResult(True, (("balance", "88.00"),)))
    assert out == [
        SetVariable("balance", "88.00"),
        PlayPrompt("c1/p1", ("balance_is", "say:amount:88.00"), True),
    ]


def test_a_failed_or_late_lookup_goes_to_on_failure() -> None:
    d = Driver(LOOKUP)
    d.start()
    assert d.send(LookupResult(False)) == [SendToVoicemail("b")]
    d = Driver(LOOKUP)
    d.start()
    assert d.session.next_deadline() == d.now + dt.timedelta(seconds=8)
    assert d.wait() == [SendToVoicemail("b")]


# --- appointments paid by phone -----------------------------------------------------------

PAY_TEXT = """\
    flow: pay
    version: 1
    start: date
    nodes:
      date:
        type: collect
        prompts: [enter_date]
        grammar: date
        variable: visit_date
        next: fix_expert
      fix_expert:
        type: set
        values: {expert: E001}
        next: book
      book:
        type: book
        expert_variable: expert
        date_variable: visit_date
        next: menu
      menu:
        type: menu
        prompts: [pay_now_or_later]
        choices: {"1": pay, "2": end}
      pay:
        type: pay
        amount: "200.00"
        next: end
        on_failure: menu
        expired: too_late
      too_late:
        type: hangup
        reason: expired
      end:
        type: hangup
    """
PAY = flow_of(PAY_TEXT)


def book_by_phone(book: AppointmentBook) -> Driver:
    d = Driver(PAY, variables={"caller": "13900001111"}, book=book)
    d.start()
    d.press("20260310")
    return d


def test_an_unpaid_appointment_is_cancelled_30_minutes_later_after_the_call() -> None:
    book = AppointmentBook()
    d = book_by_phone(book)
    created = next(c for c in d.log if isinstance(c, CreateAppointment))
    assert created == CreateAppointment(
        "000001", "E001", "2026-03-10", "13900001111", d.now + dt.timedelta(minutes=30)
    )
    d.press("2")
    assert d.session.outcome == Hangup("completed")
    assert book.next_deadline() == created.pay_by
    assert book.handle_timer(created.pay_by - dt.timedelta(seconds=1)) == []
    assert book.handle_timer(created.pay_by) == [CancelAppointment("000001", "unpaid")]
    assert book.next_deadline() is None


def test_a_paid_appointment_is_not_cancelled() -> None:
    book = AppointmentBook()
    d = book_by_phone(book)
    assert d.press("1") == [StopPrompt("c1/p2"), ChargePayment("000001", "200.00")]
    assert d.send(PaymentResult(True)) == [ConfirmAppointment("000001"), Hangup("completed")]
    assert book.next_deadline() is None
    assert book.handle_timer(d.now + dt.timedelta(hours=1)) == []


def test_a_declined_payment_returns_to_the_menu() -> None:
    d = book_by_phone(AppointmentBook())
    d.press("1")
    out = d.send(PaymentResult(False))
    assert prompts(out) == [("pay_now_or_later",)]


def test_paying_after_the_window_closed_goes_to_expired() -> None:
    book = AppointmentBook()
    d = book_by_phone(book)
    d.press("1")
    d.now += dt.timedelta(minutes=31)
    book.handle_timer(d.now)
    assert d.send(PaymentResult(True)) == [Hangup("expired")]
    # Calling back later to pay a cancelled booking goes straight to expired as well.
    pay_first = flow_of(PAY_TEXT.replace("start: date", "start: pay"))
    again = Driver(pay_first, now=d.now, variables={"appointment_id": "000001"}, book=book)
    assert again.start() == [Hangup("expired")]


def test_keys_during_a_play_node_that_must_be_heard_are_dropped() -> None:
    flow = flow_of(
        """\
        flow: f
        version: 1
        start: notice
        nodes:
          notice:
            type: play
            prompts: [legal_notice]
            interruptible: false
            next: end
          end:
            type: hangup
        """
    )
    d = Driver(flow)
    d.start()
    assert d.press("1#*") == []
    assert d.finish() == [Hangup("completed")]


def test_the_book_refuses_paying_twice_or_an_unknown_booking() -> None:
    book = AppointmentBook()
    item, _ = book.book("E1", "2026-03-10", "139", MONDAY_10)
    book.pay(item.appointment_id, MONDAY_10 + dt.timedelta(minutes=29))
    with pytest.raises(AppointmentError):
        book.pay(item.appointment_id, MONDAY_10 + dt.timedelta(minutes=29))
    with pytest.raises(AppointmentError):
        book.pay("999999", MONDAY_10)
    late, _ = book.book("E1", "2026-03-11", "139", MONDAY_10)
    with pytest.raises(AppointmentError):
        book.pay(late.appointment_id, MONDAY_10 + dt.timedelta(minutes=30))
