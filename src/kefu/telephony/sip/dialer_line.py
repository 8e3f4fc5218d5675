"""CC-05 over SIP: the campaign runner's `OutboundPort` on the SIP line.

A campaign call starts with the customer: a new switch call whose A-leg is placed to the
trunk (as `originate` places it to a phone). Until it is answered the line does not know the
call; this port watches the switch's events for it (it wraps the line's event sink) and
reports answered, busy (486/600), no answer (408/480/487) or failed. Once the dialer says
where the answered customer goes, the call becomes an ordinary line call offered to the
core queue with the picked agent as owner: the ACD rings that agent's phone and the line
bridges them, records and writes the CDR as for any queue call. A dropped call (no agent
free) hears the short message, then the line hangs up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from kefu.core.dialer import DialOutcome
from kefu.telephony.port import HangupBy, LegAnswered, LegEnded, LegRole, SwitchEvent
from kefu.telephony.sip.b2bua import Call as SwitchCall
from kefu.telephony.sip.cdr import CallRecord
from kefu.telephony.sip.line import LineCall
from kefu.telephony.sip.registrar import Binding

DROP_PROMPTS = ["goodbye"]  # the short message an abandoned customer hears
_BUSY = frozenset({486, 600, 603})
_NO_ANSWER = frozenset({408, 480, 487})


class SipCampaignPort:
    """Dial campaign customers through the line's trunk. Call on the event loop."""

    def __init__(self, line: Any, ring_timeout: float = 30.0) -> None:
        self.line = line
        self.switch = line.switch
        self.ring_timeout = ring_timeout
        self.pending: dict[str, tuple[str, str, Callable[[DialOutcome], None]]] = {}
        self.answered: dict[str, tuple[str, str, float]] = {}  # call id -> leg, number, at
        self.dialled: dict[str, str] = {}  # campaign call id -> switch call id
        self._sink = self.switch.sink
        self.switch.sink = self._on_event

    def _on_event(self, event: SwitchEvent) -> None:
        cid = getattr(event, "call_id", None)
        if cid in self.pending:
            loop = self.line._loop or asyncio.get_running_loop()
            loop.call_soon(self._mine, event)
            return
        if self._sink is not None:
            self._sink(event)

    def _mine(self, event: SwitchEvent) -> None:
        cid = getattr(event, "call_id", "")
        entry = self.pending.get(cid)
        if entry is None:
            return
        leg_id, number, done = entry
        if isinstance(event, LegAnswered) and event.leg_id == leg_id:
            del self.pending[cid]
            self.answered[cid] = (leg_id, number, event.at)
            done(DialOutcome.ANSWERED)
        elif isinstance(event, LegEnded) and event.leg_id == leg_id:
            del self.pending[cid]
            if event.status in _BUSY:
                outcome = DialOutcome.BUSY
            elif event.status in _NO_ANSWER or event.by is HangupBy.TIMEOUT:
                outcome = DialOutcome.NO_ANSWER
            else:
                outcome = DialOutcome.FAILED
            done(outcome)

    def dial(self, call_id: str, number: str, done: Callable[[DialOutcome], None]) -> None:
        """Place the customer leg to the trunk; the switch call id is the campaign's."""
        sw = self.switch
        trunk = self.line.trunk
        addr = sw.config.trunks.get(trunk) if trunk is not None else None
        if addr is None:
            asyncio.get_running_loop().call_soon(done, DialOutcome.FAILED)
            return
        caller = self.line.outbound_caller_id or "kefu"
        call = SwitchCall(call_id, CallRecord(call_id, caller, number, time.time()))
        sw.calls[call_id] = call
        leg_id = sw._new_id("leg")
        binding = Binding(number, f"sip:{number}@{addr[0]}:{addr[1]}", addr, float("inf"))
        self.pending[call_id] = (leg_id, number, done)
        asyncio.get_running_loop().create_task(
            sw._place(
                call, leg_id, number, LegRole.CUSTOMER, self.ring_timeout, binding, caller=caller
            )
        )

    def connect(self, call_id: str, number: str, queue: str, agent_id: str) -> None:
        """The answered customer becomes a line call in the queue, owned by `agent_id`."""
        entry = self.answered.pop(call_id, None)
        if entry is None:
            return
        leg_id, _number, at = entry
        line = self.line
        lc = LineCall(call_id, leg_id, number, "campaign", at)
        line.calls[call_id] = lc
        line._offer(lc, queue, 0, {"owner_agent": agent_id})

    def drop(self, call_id: str) -> None:
        entry = self.answered.pop(call_id, None)
        if entry is None:
            return
        leg_id, number, at = entry
        line = self.line
        lc = LineCall(call_id, leg_id, number, "campaign", at)
        line.calls[call_id] = lc
        line._close(lc, list(DROP_PROMPTS))
