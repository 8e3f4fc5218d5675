"""Call detail records: one per call and one per leg, handed to a sink when the call ends."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kefu.telephony.port import HangupBy, LegRole


class Disposition(enum.Enum):
    """How a leg or call ended."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"  # the switch answered (IVR, queue) but the caller left first


@dataclass
class LegRecord:
    """One leg's CDR: times are epoch seconds."""

    leg_id: str
    role: LegRole
    peer: str  # caller number for the customer, extension for an agent
    offered_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    disposition: Disposition | None = None
    hangup_by: HangupBy | None = None
    sip_status: int = 0
    codec: str = ""
    reason: str = ""  # why the switch ended it on its own (RTP or session timeout)


@dataclass
class CallRecord:
    """One call's CDR, with its legs in creation order."""

    call_id: str
    caller: str
    dialed: str
    offered_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    disposition: Disposition | None = None
    # who ended the call: how and which side (the first answered leg to go, or the customer)
    hangup_by: HangupBy | None = None
    hangup_role: LegRole | None = None
    recording: Path | None = None
    legs: list[LegRecord] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)


CdrSink = Callable[[CallRecord], None]
