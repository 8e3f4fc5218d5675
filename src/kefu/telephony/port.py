"""The switch port: what the contact-center core may ask of a switch, and what it hears back.

The core never sees SIP. A switch (the SIP B2BUA in `kefu.telephony.sip`, or the simulator)
implements `Switch`; it reports `SwitchEvent`s to one callback. Calls and legs are named by
opaque string ids that the switch chooses: a call is the customer's leg plus whatever legs
the switch adds to it (agent, supervisor). Every method returns at once; outcomes arrive as
events (LegAnswered, LegEnded, PlaybackDone...).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kefu.audio.mixer import MixMode


class HangupBy(enum.Enum):
    """Who ended a leg."""

    REMOTE = "remote"  # the far end of the leg sent BYE or CANCEL
    SWITCH = "switch"  # we hung it up on the core's command
    PEER_LEG = "peer_leg"  # the other leg of the bridge hung up
    TIMEOUT = "timeout"  # no RTP for the inactivity timeout
    REJECTED = "rejected"  # the callee answered with an error (busy, no answer...)
    ERROR = "error"


class LegRole(enum.Enum):
    """What a leg is to the call."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    OUTSIDE = "outside"  # an outside number reached through a trunk


# ---- events: switch -> core -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallArrived:
    """A new inbound call; the switch has not answered it yet."""

    call_id: str
    leg_id: str
    caller: str
    dialed: str
    at: float


@dataclass(frozen=True, slots=True)
class LegRinging:
    """An outbound leg is ringing at its extension."""

    call_id: str
    leg_id: str
    extension: str
    at: float


@dataclass(frozen=True, slots=True)
class LegAnswered:
    """A leg is up (the customer leg after `answer`, an agent leg when the phone answers)."""

    call_id: str
    leg_id: str
    at: float


@dataclass(frozen=True, slots=True)
class LegEnded:
    """A leg is gone; `status` is the SIP status when it never answered."""

    call_id: str
    leg_id: str
    by: HangupBy
    at: float
    status: int = 0


@dataclass(frozen=True, slots=True)
class Dtmf:
    """A key pressed on a leg (RFC 4733 or SIP INFO)."""

    call_id: str
    leg_id: str
    digit: str
    at: float
    via: str = "rfc4733"


@dataclass(frozen=True, slots=True)
class PlaybackDone:
    """The prompts queued on a leg finished (or were stopped by a key press)."""

    call_id: str
    leg_id: str
    at: float
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class HoldChanged:
    """A phone put its call on hold or resumed it (re-INVITE)."""

    call_id: str
    leg_id: str
    held: bool
    at: float


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    """An extension's phone registered (up) or its binding expired/was removed (down)."""

    extension: str
    up: bool
    contact: str
    at: float


@dataclass(frozen=True, slots=True)
class SupervisionChanged:
    """A supervisor leg's mix mode changed (for the audit log of supervisor actions)."""

    call_id: str
    leg_id: str
    mode: MixMode
    at: float


@dataclass(frozen=True, slots=True)
class ReferRequested:
    """A phone asked, by REFER (RFC 3515), to transfer its call to `target` (the Refer-To
    user part: an extension, the outside prefix + a number, or a queue's number). The switch
    has answered 202; report the outcome with `notify_refer(leg_id, status)`."""

    call_id: str
    leg_id: str
    target: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """Every leg of a call is gone; the CDR is complete."""

    call_id: str
    at: float


SwitchEvent = (
    CallArrived
    | LegRinging
    | LegAnswered
    | LegEnded
    | Dtmf
    | PlaybackDone
    | HoldChanged
    | RegistrationChanged
    | SupervisionChanged
    | ReferRequested
    | CallEnded
)
EventSink = Callable[[SwitchEvent], None]


# ---- commands: core -> switch ----------------------------------------------------------


class Switch(Protocol):
    """What the core can ask of the switch."""

    def answer(self, call_id: str) -> None:
        """Answer the customer leg (IVR starts; media flows)."""

    def reject(self, call_id: str, status: int = 486) -> None:
        """Refuse an unanswered inbound call with a SIP status."""

    def ring(
        self, call_id: str, extension: str, role: LegRole = LegRole.AGENT, timeout: float = 30.0
    ) -> str:
        """Ring an agent's extension for this call; returns the new leg id."""

    def dial_out(self, call_id: str, number: str, trunk: str, timeout: float | None = None) -> str:
        """Call an outside number through a trunk for this call; returns the new leg id."""

    def pickup(self, call_id: str, picker_call_id: str) -> str:
        """Connect the phone that dialled a pick-up code to the call ringing elsewhere."""

    def cancel_ring(self, leg_id: str) -> None:
        """Stop ringing an outbound leg that has not answered."""

    def bridge(self, call_id: str, leg_id: str) -> None:
        """Connect the customer leg and `leg_id` (audio both ways)."""

    def unbridge(self, call_id: str) -> None:
        """Disconnect the customer from the agent (both legs stay up)."""

    def play(self, leg_id: str, prompts: Sequence[str], *, interruptible: bool = True) -> None:
        """Play prompts (names, or paths of uploaded WAVs) one after the other to a leg."""

    def stop_playback(self, leg_id: str) -> None:
        """Stop the prompts playing to a leg."""

    def hold(self, call_id: str) -> None:
        """Put the customer on hold: music on hold plays and the agent is not heard."""

    def resume(self, call_id: str) -> None:
        """Take the customer off hold (re-bridge)."""

    def record(self, call_id: str, path: Path) -> None:
        """Record the call to a stereo WAV: customer left, agent right."""

    def stop_recording(self, call_id: str) -> None:
        """Stop and close the call's recording."""

    def supervise(self, call_id: str, leg_id: str, mode: MixMode) -> None:
        """Mix the supervisor leg `leg_id` into the call as listen/whisper/barge/intercept."""

    def hangup(self, leg_id: str) -> None:
        """Hang up one leg (force hang-up is this on the customer or agent leg)."""

    def hangup_call(self, call_id: str) -> None:
        """Hang up every leg of a call."""
