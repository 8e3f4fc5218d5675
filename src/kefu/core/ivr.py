"""The IVR interpreter: one `IvrSession` per call walks a checked `Flow` (CC-03).

Theory of operation. The session is a pure state machine: events in, commands out, `now`
passed in. It is in one `SessionState` at a time:

- PLAYING: a play node's prompt is playing; `PromptFinished` moves on.
- COLLECTING: a menu, collect or password node reads keys. Its prompt may still be playing:
  a key then stops it (barge-in, 快速输入) and counts as input, unless the node is not
  interruptible. The first-key timer starts when the prompt ends; after a key the
  inter-digit timer runs. A timeout or a bad entry costs one attempt: the node says its
  timeout or invalid prompt and asks again, and after `retries` failed attempts it goes to
  `on_failure` (or hangs up).
- AWAITING_PASSWORD / AWAITING_LOOKUP / AWAITING_PAYMENT: a request is out to the service;
  keys are ignored until the answer (or its timer) arrives.
- ENDED: the call left the IVR: queued, sent to voicemail, transferred, hung up, or the
  caller hung up. Every ending emits exactly one terminal command (`TERMINAL_COMMANDS`).

Which event each state takes is the data table `_TRANSITIONS`; any other event raises
`IvrStateError` and leaves the session untouched. A `PromptFinished` for a prompt that was
already stopped is a harmless race and is ignored.

Zero-out: with a flow-level `zero_out` node, `0` leads there from any point where the
caller is listening: during any play node, in a menu without its own `0` choice, and as the
first key of a collect or password entry (a node sets `zero_out: false` where a leading 0
is real input).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Mapping
from typing import Any, Final

from kefu.core.calendar import HolidayCalendar
from kefu.core.ivr_appointment import AppointmentBook, AppointmentError
from kefu.core.ivr_events import (
    TERMINAL_COMMANDS,
    CallerHungUp,
    CallerLeft,
    ChargePayment,
    CollectStarted,
    Command,
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
from kefu.core.ivr_flow import (
    BookNode,
    BranchNode,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    LookupNode,
    MenuNode,
    Node,
    PasswordNode,
    PayNode,
    PlayNode,
    PromptItem,
    QueueNode,
    Say,
    SetNode,
    TransferNode,
    VoicemailNode,
)
from kefu.core.ivr_grammar import Step, feed, value_of
from kefu.core.ivr_password import MemoryPasswordLocks, PasswordLockStore

# A flow with a loop of non-waiting nodes is refused at load time; this is the backstop.
_MAX_STEPS: Final = 1000

InputNode = MenuNode | CollectNode | PasswordNode


class SessionState(enum.Enum):
    """Where an IVR session stands."""

    NEW = "new"
    PLAYING = "playing"
    COLLECTING = "collecting"
    AWAITING_PASSWORD = "awaiting_password"
    AWAITING_LOOKUP = "awaiting_lookup"
    AWAITING_PAYMENT = "awaiting_payment"
    ENDED = "ended"


class IvrSession:
    """One caller's walk through one flow."""

    def __init__(
        self,
        flow: Flow,
        call_id: str,
        variables: Mapping[str, str],
        calendar: HolidayCalendar,
        now: dt.datetime,
        *,
        locks: PasswordLockStore | None = None,
        book: AppointmentBook | None = None,
    ) -> None:
        self.flow = flow
        self.call_id = call_id
        self.calendar = calendar
        self.created_at = now
        self.variables: dict[str, str] = dict(variables)
        # Share one lock store and one book between sessions: the counts are per day.
        self.locks: PasswordLockStore = locks if locks is not None else MemoryPasswordLocks()
        self.book = book if book is not None else AppointmentBook()
        self.state = SessionState.NEW
        self.node_id: str | None = None
        self.outcome: Command | None = None
        self._entry = ""
        self._attempts = 0
        self._playing: str | None = None
        self._prompt_seq = 0
        self._deadline: dt.datetime | None = None

    # --- public API ------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """True once the call has left the IVR."""
        return self.state is SessionState.ENDED

    @property
    def prompt_playing(self) -> str | None:
        """The id of the prompt now playing, if any."""
        return self._playing

    def start(self, now: dt.datetime) -> list[Command]:
        """Enter the flow's start node."""
        if self.state is not SessionState.NEW:
            raise IvrStateError(f"call {self.call_id}: session already started")
        return self._enter(self.flow.start, now)

    def handle(self, event: Event, now: dt.datetime) -> list[Command]:
        """Take one event; raise `IvrStateError` (state unchanged) if it is not allowed now."""
        handler = _TRANSITIONS.get((self.state, type(event)))
        if handler is None:
            raise IvrStateError(
                f"call {self.call_id}: {type(event).__name__} not allowed in state "
                f"{self.state.value} (node {self.node_id})"
            )
        return handler(self, event, now)

    def next_deadline(self) -> dt.datetime | None:
        """When the session next needs `handle_timer`, or None."""
        return self._deadline

    def handle_timer(self, now: dt.datetime) -> list[Command]:
        """Fire the timer if it is due; an early call does nothing."""
        if self._deadline is None or now < self._deadline:
            return []
        self._deadline = None
        if self.state is SessionState.COLLECTING:
            node = self._input_node()
            if self._entry:  # the inter-digit timeout ends the entry
                return self._complete(node, now)
            return self._failed_attempt(node, now, timed_out=True)
        # A service answer did not come in time.
        waiting = self._node()
        on_failure = waiting.on_failure if isinstance(waiting, LookupNode | PayNode) else None
        if isinstance(waiting, PasswordNode):
            on_failure = waiting.input.on_failure
        return self._go_or_hang_up(on_failure, "service_timeout", now)

    # --- moving between nodes --------------------------------------------------------

    def _node(self) -> Node:
        assert self.node_id is not None
        return self.flow.nodes[self.node_id]

    def _input_node(self) -> InputNode:
        node = self._node()
        assert isinstance(node, MenuNode | CollectNode | PasswordNode)
        return node

    def _enter(self, node_id: str, now: dt.datetime, carry: str | None = None) -> list[Command]:
        """Go to `node_id` and run through nodes that need no waiting.

        `carry` is a key typed ahead during an interrupted prompt: the next node that reads
        keys takes it as its first key and skips its own prompt.
        """
        out: list[Command] = []
        for _ in range(_MAX_STEPS):
            node = self.flow.nodes[node_id]
            self.node_id = node_id
            self._entry = ""
            self._attempts = 0
            self._deadline = None
            match node:
                case PlayNode():
                    if carry is not None and node.interruptible:
                        node_id = node.next  # the caller is already typing: skip ahead
                        continue
                    self.state = SessionState.PLAYING
                    out += self._play(node.prompts, node.interruptible, now)
                    return out
                case PasswordNode() if self._locked(node, now):
                    out.append(PasswordLocked(self._account(node), self.flow.local(now).date()))
                    node_id, carry = node.locked, None
                    continue
                case MenuNode() | CollectNode() | PasswordNode():
                    self.state = SessionState.COLLECTING
                    grammar = "menu" if isinstance(node, MenuNode) else node.grammar.describe()
                    out.append(CollectStarted(node.id, grammar))
                    if carry is not None:
                        out += self._key(node, carry, now)
                    else:
                        out += self._play(node.prompts, node.interruptible, now)
                    return out
                case HoursNode():
                    node_id = self._hours_target(node, now)
                case BranchNode():
                    value = self.variables.get(node.variable)
                    node_id = (
                        node.cases.get(value, node.default) if value is not None else node.default
                    )
                case SetNode():
                    for name, value in node.values:
                        if value.startswith("$"):
                            value = self.variables.get(value[1:], "")
                        out += self._set(name, value)
                    node_id = node.next
                case BookNode():
                    _, created = self.book.book(
                        expert=self.variables.get(node.expert_variable, ""),
                        date=self.variables.get(node.date_variable, ""),
                        caller=self.variables.get("caller", ""),
                        now=now,
                        pay_within=node.pay_within,
                    )
                    out.append(created)
                    out += self._set(node.variable, created.appointment_id)
                    node_id = node.next
                case LookupNode():
                    args = tuple((a, self.variables.get(a, "")) for a in node.args)
                    out.append(Lookup(node.action, args))
                    self.state = SessionState.AWAITING_LOOKUP
                    self._deadline = now + dt.timedelta(seconds=node.timeout)
                    return out
                case PayNode():
                    appointment = self.variables.get(node.appointment_variable, "")
                    if not self.book.payable(appointment, now):
                        target = node.expired or node.on_failure
                        if target is None:
                            return out + self._end(Hangup("appointment_expired"))
                        node_id, carry = target, None
                        continue
                    amount = node.amount
                    if node.amount_variable is not None:
                        amount = self.variables.get(node.amount_variable, "")
                    out.append(ChargePayment(appointment, amount or ""))
                    self.state = SessionState.AWAITING_PAYMENT
                    self._deadline = now + dt.timedelta(seconds=node.timeout)
                    return out
                case QueueNode():
                    variables = tuple(sorted(self.variables.items()))
                    return out + self._end(Enqueue(node.queue, node.priority, variables))
                case VoicemailNode():
                    return out + self._end(SendToVoicemail(node.box))
                case TransferNode():
                    return out + self._end(TransferOutside(node.number))
                case HangupNode():
                    return out + self._end(Hangup(node.reason))
        raise IvrError(f"{self.flow.source}: flow loops without waiting at node {node_id}")

    def _end(self, command: Command) -> list[Command]:
        assert isinstance(command, TERMINAL_COMMANDS)
        self.state = SessionState.ENDED
        self.outcome = command
        self._deadline = None
        self._playing = None
        return [command]

    def _go_or_hang_up(self, target: str | None, reason: str, now: dt.datetime) -> list[Command]:
        if target is None:
            return self._end(Hangup(reason))
        return self._enter(target, now)

    def _set(self, name: str, value: str) -> list[Command]:
        self.variables[name] = value
        return [SetVariable(name, value)]

    def _hours_target(self, node: HoursNode, now: dt.datetime) -> str:
        local = self.flow.local(now)
        if node.schedule.is_open(local, self.calendar):
            return node.open
        info = self.calendar.day(local.date())
        if node.holiday is not None and info.festival is not None and not info.is_workday:
            return node.holiday
        return node.closed

    def _account(self, node: PasswordNode) -> str:
        return self.variables.get(node.account_variable, "")

    def _locked(self, node: PasswordNode, now: dt.datetime) -> bool:
        day = self.flow.local(now).date()
        return self.locks.failures(self._account(node), day) >= node.max_failures_per_day

    # --- prompts ---------------------------------------------------------------------

    def _render(self, items: tuple[PromptItem, ...]) -> tuple[str, ...]:
        return tuple(
            f"say:{i.kind}:{self.variables.get(i.variable, '')}" if isinstance(i, Say) else i
            for i in items
        )

    def _play(
        self, items: tuple[PromptItem, ...], interruptible: bool, now: dt.datetime
    ) -> list[Command]:
        """Play prompts; with nothing to play, an input node's first-key timer starts now."""
        if not items:
            self._playing = None
            if self.state is SessionState.COLLECTING:
                self._deadline = now + dt.timedelta(seconds=self._input_node().input.timeout)
                return []
            # A play node with nothing to say: validation forbids it; move on regardless.
            return self._enter(self._next_of_play(), now)
        self._prompt_seq += 1
        self._playing = f"{self.call_id}/p{self._prompt_seq}"
        return [PlayPrompt(self._playing, self._render(items), interruptible)]

    def _next_of_play(self) -> str:
        node = self._node()
        assert isinstance(node, PlayNode)
        return node.next

    def _stop(self) -> list[Command]:
        if self._playing is None:
            return []
        stopped, self._playing = self._playing, None
        return [StopPrompt(stopped)]

    # --- keys ------------------------------------------------------------------------

    def _zero_out_applies(self, node: Node, key: str) -> bool:
        if key != "0" or self.flow.zero_out is None:
            return False
        if isinstance(node, PlayNode):
            return True
        if isinstance(node, MenuNode):
            return node.input.zero_out and "0" not in node.choices
        if isinstance(node, CollectNode | PasswordNode):
            return node.input.zero_out and not self._entry
        return False

    def _zero_out(self, now: dt.datetime) -> list[Command]:
        assert self.flow.zero_out is not None
        return self._stop() + self._enter(self.flow.zero_out, now)

    def _key(self, node: InputNode, key: str, now: dt.datetime) -> list[Command]:
        """One key for an input node whose prompt is no longer playing."""
        if self._zero_out_applies(node, key):
            return self._zero_out(now)
        if isinstance(node, MenuNode):
            target = node.choices.get(key)
            if target is None:
                return self._failed_attempt(node, now, timed_out=False)
            return self._enter(target, now)
        entry, step = feed(node.grammar, self._entry, key)
        if step is Step.CORRECT:
            self._entry = ""
            self._deadline = None
            return self._play(node.prompts, node.interruptible, now)
        if step is Step.DONE:
            self._entry = entry
            return self._complete(node, now)
        self._entry = entry
        self._deadline = now + dt.timedelta(seconds=node.input.inter_digit_timeout)
        return []

    def _complete(self, node: InputNode, now: dt.datetime) -> list[Command]:
        """The entry is finished (`#`, full length or inter-digit timeout): check it."""
        assert not isinstance(node, MenuNode)
        value = value_of(node.grammar, self._entry)
        self._entry = ""
        self._deadline = None
        if value is None:
            return self._failed_attempt(node, now, timed_out=False)
        if isinstance(node, CollectNode):
            return self._set(node.variable, value) + self._enter(node.next, now)
        self.state = SessionState.AWAITING_PASSWORD
        self._deadline = now + dt.timedelta(seconds=node.timeout_result)
        return [VerifyPassword(self._account(node), value)]

    def _failed_attempt(self, node: InputNode, now: dt.datetime, timed_out: bool) -> list[Command]:
        out = self._stop()
        self._entry = ""
        self._deadline = None
        self._attempts += 1
        if self._attempts > node.input.retries:
            reason = "no_input" if timed_out else "invalid_input"
            return out + self._go_or_hang_up(node.input.on_failure, reason, now)
        self.state = SessionState.COLLECTING
        extra = node.input.timeout_prompts if timed_out else node.input.invalid_prompts
        return out + self._play(extra + node.prompts, node.interruptible, now)

    # --- event handlers (named in _TRANSITIONS) --------------------------------------

    def _on_digit_playing(self, event: DtmfDigit, now: dt.datetime) -> list[Command]:
        node = self._node()
        assert isinstance(node, PlayNode)
        if self._zero_out_applies(node, event.digit):
            return self._zero_out(now)
        if not node.interruptible:
            return []
        return self._stop() + self._enter(node.next, now, carry=event.digit)

    def _on_prompt_done_playing(self, event: PromptFinished, now: dt.datetime) -> list[Command]:
        if event.prompt_id != self._playing:
            return []  # a prompt already stopped: a race, not an error
        self._playing = None
        return self._enter(self._next_of_play(), now)

    def _on_digit_collecting(self, event: DtmfDigit, now: dt.datetime) -> list[Command]:
        node = self._input_node()
        if self._playing is None:
            return self._key(node, event.digit, now)
        if not node.interruptible:
            # Keys are dropped during a prompt that must be heard, except zero-out.
            return self._zero_out(now) if self._zero_out_applies(node, event.digit) else []
        return self._stop() + self._key(node, event.digit, now)

    def _on_prompt_done_collecting(self, event: PromptFinished, now: dt.datetime) -> list[Command]:
        if event.prompt_id != self._playing:
            return []
        self._playing = None
        node = self._input_node()
        self._deadline = now + dt.timedelta(seconds=node.input.timeout)
        return []

    def _on_ignored(self, event: Event, now: dt.datetime) -> list[Command]:
        return []  # keys and stale prompt ends while the service is answering

    def _on_hangup(self, event: CallerHungUp, now: dt.datetime) -> list[Command]:
        return self._end(CallerLeft(self.node_id or self.flow.start))

    def _on_password(self, event: PasswordChecked, now: dt.datetime) -> list[Command]:
        node = self._node()
        assert isinstance(node, PasswordNode)
        self._deadline = None
        if event.ok:
            return self._enter(node.next, now)
        day = self.flow.local(now).date()
        account = self._account(node)
        if self.locks.record_failure(account, day) >= node.max_failures_per_day:
            return [PasswordLocked(account, day), *self._enter(node.locked, now)]
        self.state = SessionState.COLLECTING
        self._attempts += 1
        if self._attempts > node.input.retries:
            return self._go_or_hang_up(node.input.on_failure, "wrong_password", now)
        return self._play(node.wrong_prompts + node.prompts, node.interruptible, now)

    def _on_lookup(self, event: LookupResult, now: dt.datetime) -> list[Command]:
        node = self._node()
        assert isinstance(node, LookupNode)
        self._deadline = None
        if not event.ok:
            return self._go_or_hang_up(node.on_failure, "lookup_failed", now)
        out: list[Command] = []
        for name, value in event.values:
            out += self._set(name, value)
        return out + self._enter(node.next, now)

    def _on_payment(self, event: PaymentResult, now: dt.datetime) -> list[Command]:
        node = self._node()
        assert isinstance(node, PayNode)
        self._deadline = None
        if not event.ok:
            return self._go_or_hang_up(node.on_failure, "payment_failed", now)
        appointment = self.variables.get(node.appointment_variable, "")
        try:
            confirmed = self.book.pay(appointment, now)
        except AppointmentError:  # the window closed while the payment was out
            return self._go_or_hang_up(node.expired or node.on_failure, "appointment_expired", now)
        return [confirmed, *self._enter(node.next, now)]


_Handler = Callable[[IvrSession, Any, dt.datetime], list[Command]]

_LIVE = (
    SessionState.PLAYING,
    SessionState.COLLECTING,
    SessionState.AWAITING_PASSWORD,
    SessionState.AWAITING_LOOKUP,
    SessionState.AWAITING_PAYMENT,
)
_AWAITING = _LIVE[2:]

# (state, event type) -> handler. Anything missing is illegal: IvrStateError, no change.
_TRANSITIONS: Final[Mapping[tuple[SessionState, type], _Handler]] = {
    (SessionState.PLAYING, DtmfDigit): IvrSession._on_digit_playing,
    (SessionState.PLAYING, PromptFinished): IvrSession._on_prompt_done_playing,
    (SessionState.COLLECTING, DtmfDigit): IvrSession._on_digit_collecting,
    (SessionState.COLLECTING, PromptFinished): IvrSession._on_prompt_done_collecting,
    **{(s, DtmfDigit): IvrSession._on_ignored for s in _AWAITING},
    **{(s, PromptFinished): IvrSession._on_ignored for s in _AWAITING},
    **{(s, CallerHungUp): IvrSession._on_hangup for s in _LIVE},
    (SessionState.AWAITING_PASSWORD, PasswordChecked): IvrSession._on_password,
    (SessionState.AWAITING_LOOKUP, LookupResult): IvrSession._on_lookup,
    (SessionState.AWAITING_PAYMENT, PaymentResult): IvrSession._on_payment,
}


# --- a text trace for designers and tests --------------------------------------------------


def simulate_path(
    flow: Flow,
    digits: str,
    now: dt.datetime,
    *,
    variables: Mapping[str, str] | None = None,
    calendar: HolidayCalendar | None = None,
    password_ok: bool = True,
    payment_ok: bool = True,
    lookup_values: Mapping[str, str] | None = None,
) -> list[Command]:
    """Walk `flow` with keys pressed after each prompt ends; return every command.

    In `digits`, `_` lets the current timer run out (silence); spaces are ignored. The
    service's answers are taken from the keyword arguments. The walk stops when the call
    leaves the IVR or the keys run out.
    """
    session = IvrSession(flow, "sim", variables or {}, calendar or HolidayCalendar(), now)
    clock = now
    out = session.start(clock)
    answers: dict[SessionState, Event] = {
        SessionState.AWAITING_PASSWORD: PasswordChecked(password_ok),
        SessionState.AWAITING_LOOKUP: LookupResult(True, tuple((lookup_values or {}).items())),
        SessionState.AWAITING_PAYMENT: PaymentResult(payment_ok),
    }

    def settle() -> None:
        nonlocal clock
        for _ in range(_MAX_STEPS):
            playing = session.prompt_playing
            answer = answers.get(session.state)
            if playing is not None:
                clock += dt.timedelta(seconds=1)
                out.extend(session.handle(PromptFinished(playing), clock))
            elif answer is not None:
                out.extend(session.handle(answer, clock))
            else:
                return

    for key in digits:
        if key.isspace():
            continue
        settle()
        if session.ended:
            break
        if key == "_":
            deadline = session.next_deadline()
            if deadline is not None:
                clock = max(clock, deadline)
                out.extend(session.handle_timer(clock))
        else:
            clock += dt.timedelta(seconds=1)
            out.extend(session.handle(DtmfDigit(key), clock))
    settle()
    return out


def describe(command: Command) -> str:
    """One line for a command in a text trace."""
    name = type(command).__name__
    fields = ", ".join(
        f"{f.name}={getattr(command, f.name)!r}" for f in dataclasses.fields(command)
    )
    return f"{name}({fields})"


def format_trace(commands: list[Command]) -> str:
    """A trace as text, one command a line."""
    return "\n".join(describe(c) for c in commands)
