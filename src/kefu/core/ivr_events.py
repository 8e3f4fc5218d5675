"""The IVR's vocabulary: the events an adapter feeds in and the commands it carries out.

An adapter (the SIP switch or the simulator) turns DTMF and media events into these events,
and turns the commands into audio, queue entries and call control. Prompt items are IDs that
the adapter resolves to audio files; an item `say:<kind>:<value>` asks it to speak a value
(kind is `digits`, `number`, `amount` or `date`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kefu.core.ivr_grammar import DTMF_KEYS
from kefu.errors import KefuError


class IvrError(KefuError):
    """Base error of the IVR."""


class IvrStateError(IvrError):
    """An event arrived that the session cannot take in its state; the state is unchanged."""


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """The caller pressed a key."""

    digit: str

    def __post_init__(self) -> None:
        if self.digit not in DTMF_KEYS:
            raise IvrError(f"not a DTMF key: {self.digit!r}")


@dataclass(frozen=True, slots=True)
class PromptFinished:
    """A `PlayPrompt` played to its end (`prompt_id` is the command's id)."""

    prompt_id: str


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller hung up."""


@dataclass(frozen=True, slots=True)
class PasswordChecked:
    """The answer to `VerifyPassword`."""

    ok: bool


@dataclass(frozen=True, slots=True)
class LookupResult:
    """The answer to `Lookup`: on success, the variables to set."""

    ok: bool
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """The answer to `ChargePayment`."""

    ok: bool


Event = DtmfDigit | PromptFinished | CallerHungUp | PasswordChecked | LookupResult | PaymentResult


# --- commands -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlayPrompt:
    """Play these prompts in order; a keypress stops them when `interruptible` (barge-in)."""

    prompt_id: str
    prompts: tuple[str, ...]
    interruptible: bool


@dataclass(frozen=True, slots=True)
class StopPrompt:
    """Stop the prompt now playing (the caller barged in or left the node)."""

    prompt_id: str


@dataclass(frozen=True, slots=True)
class CollectStarted:
    """The session now reads keys for `node` with this grammar (`menu` for a menu)."""

    node: str
    grammar: str


@dataclass(frozen=True, slots=True)
class SetVariable:
    """A call variable changed: the service keeps it with the call (screen pop, CRM)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class VerifyPassword:
    """Check this password for this account; answer with `PasswordChecked`."""

    account: str
    password: str


@dataclass(frozen=True, slots=True)
class PasswordLocked:
    """The account's phone password is locked for the rest of `day` (5 wrong tries)."""

    account: str
    day: dt.date


@dataclass(frozen=True, slots=True)
class Lookup:
    """Fetch data for the caller (a balance, an order); answer with `LookupResult`."""

    action: str
    args: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CreateAppointment:
    """Book an expert appointment; it is cancelled unless paid by `pay_by`."""

    appointment_id: str
    expert: str
    date: str
    caller: str
    pay_by: dt.datetime


@dataclass(frozen=True, slots=True)
class ChargePayment:
    """Take the payment for an appointment; answer with `PaymentResult`."""

    appointment_id: str
    amount: str


@dataclass(frozen=True, slots=True)
class ConfirmAppointment:
    """The appointment is paid: it stands."""

    appointment_id: str


@dataclass(frozen=True, slots=True)
class CancelAppointment:
    """The appointment was not paid in time: cancel it and free the slot."""

    appointment_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Hand the call to the ACD queue, with the call's variables for the screen pop."""

    queue: str
    priority: int
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SendToVoicemail:
    """Hand the call to a voicemail box (留言)."""

    box: str


@dataclass(frozen=True, slots=True)
class TransferOutside:
    """Forward the call to an outside number."""

    number: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """Hang up the call."""

    reason: str


@dataclass(frozen=True, slots=True)
class CallerLeft:
    """The caller hung up in the IVR at `node` (for reports); nothing to do."""

    node: str


Command = (
    PlayPrompt
    | StopPrompt
    | CollectStarted
    | SetVariable
    | VerifyPassword
    | PasswordLocked
    | Lookup
    | CreateAppointment
    | ChargePayment
    | ConfirmAppointment
    | CancelAppointment
    | Enqueue
    | SendToVoicemail
    | TransferOutside
    | Hangup
    | CallerLeft
)

# The commands that end a session: the call leaves the IVR.
TERMINAL_COMMANDS: tuple[type, ...] = (
    Enqueue,
    SendToVoicemail,
    TransferOutside,
    Hangup,
    CallerLeft,
)
