"""A minimal call router behind the switch port, until the contact-center core plugs in.

Dialed number -> a configured list of extensions; the first registered one that is not
already ringing or talking rings (then the next, if it is busy or does not answer). The
customer is answered at once and hears the welcome prompt while the agent's phone rings;
when the agent answers, the two are bridged and the call is recorded. A dialed number that
is itself a registered extension rings that extension (agents calling each other). When
nobody can take the call the caller hears "busy"/"no answer" and is hung up. When the
agent hangs up, the customer is hung up (not when the switch dropped the agent on command,
as in a supervisor's intercept). Dialling *8<ext> picks up the call ringing at <ext>.
Dialling 9<number> takes an outside line through the trunk, for permitted extensions only.
With `survey` on, a customer whose agent hung up hears the survey prompt and rates the call
with one key (1-3), kept in `survey_results`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kefu.telephony.port import (
    CallArrived,
    CallEnded,
    Dtmf,
    HangupBy,
    LegAnswered,
    LegEnded,
    PlaybackDone,
    SwitchEvent,
)
from kefu.telephony.sip.b2bua import SipSwitch, SwitchError


@dataclass
class _Route:
    customer_leg: str
    candidates: list[str]
    agent_leg: str | None = None
    agent_up: bool = False
    closing: bool = False
    in_survey: bool = False
    last_status: int = 0


@dataclass
class Router:
    """Routes calls on `switch` by `routes` (dialed number -> extensions)."""

    switch: SipSwitch
    routes: dict[str, list[str]]
    recordings: Path | None = None
    welcome: str | None = "welcome"
    ring_timeout: float = 20.0
    pickup_prefix: str = "*8"
    outside_prefix: str = "9"  # an extension dials 9 + number for an outside line
    trunk: str | None = None  # the trunk outside calls leave through
    outside_allowed: frozenset[str] = frozenset()  # extensions with the permission (AG-08)
    survey: bool = False  # after the agent hangs up, ask the customer to rate by key press
    survey_keys: str = "123"
    survey_results: dict[str, str] = field(default_factory=dict)  # call id -> key
    events: list[SwitchEvent] = field(default_factory=list)
    keep_events: bool = True
    _calls: dict[str, _Route] = field(default_factory=dict)
    _busy: dict[str, str] = field(default_factory=dict)  # leg id -> extension ringing/talking

    def __call__(self, event: SwitchEvent) -> None:
        """The switch's event sink."""
        if self.keep_events:
            self.events.append(event)
        if isinstance(event, CallArrived):
            self._arrived(event)
        elif isinstance(event, LegAnswered):
            self._answered(event)
        elif isinstance(event, LegEnded):
            self._ended(event)
        elif isinstance(event, Dtmf):
            self._key(event)
        elif isinstance(event, PlaybackDone):
            r = self._calls.get(event.call_id)
            if r is None or event.leg_id != r.customer_leg:
                return
            if r.closing:
                self.switch.hangup_call(event.call_id)
            elif r.in_survey and not event.interrupted:  # no key pressed: say goodbye
                self._close(r, ["goodbye"])
        elif isinstance(event, CallEnded):
            self._calls.pop(event.call_id, None)

    def _arrived(self, ev: CallArrived) -> None:
        if ev.dialed.startswith(self.pickup_prefix) and self._pickup(ev):
            return
        if self._is_outside(ev):
            self._outside(ev)
            return
        cands = list(self.routes.get(ev.dialed, []))
        if not cands and self.switch.registrar.lookup(ev.dialed) is not None:
            cands = [ev.dialed]
        r = _Route(ev.leg_id, cands)
        self._calls[ev.call_id] = r
        self.switch.answer(ev.call_id)
        if self.welcome:
            self.switch.play(ev.leg_id, [self.welcome], interruptible=False)
        self._ring_next(ev.call_id, r)

    def _key(self, ev: Dtmf) -> None:
        r = self._calls.get(ev.call_id)
        if r is None or not r.in_survey or r.closing or ev.leg_id != r.customer_leg:
            return
        if ev.digit in self.survey_keys:
            self.survey_results[ev.call_id] = ev.digit
            self._close(r, ["survey_thanks", "goodbye"])
        else:
            self.switch.play(r.customer_leg, ["invalid_input", "survey"], interruptible=True)

    def _close(self, r: _Route, prompts: list[str]) -> None:
        r.closing = True
        self.switch.play(r.customer_leg, prompts, interruptible=False)

    def _is_outside(self, ev: CallArrived) -> bool:
        p = self.outside_prefix
        return (
            bool(p)
            and ev.dialed.startswith(p)
            and len(ev.dialed) > len(p) + 2
            and (ev.dialed not in self.routes and self.switch.registrar.lookup(ev.dialed) is None)
        )

    def _outside(self, ev: CallArrived) -> None:
        """Outside line: only for permitted extensions (off by default), through the trunk."""
        if self.trunk is None or ev.caller not in self.outside_allowed:
            self.switch.reject(ev.call_id, 403)
            return
        r = _Route(ev.leg_id, [])
        self._calls[ev.call_id] = r
        self.switch.answer(ev.call_id)
        number = ev.dialed[len(self.outside_prefix) :]
        r.agent_leg = self.switch.dial_out(ev.call_id, number, self.trunk)

    def _pickup(self, ev: CallArrived) -> bool:
        """*8<ext>: take the call ringing at <ext> (抢接)."""
        ext = ev.dialed[len(self.pickup_prefix) :]
        for call_id, r in self._calls.items():
            if r.agent_leg and not r.agent_up and self._busy.get(r.agent_leg) == ext:
                ringing = r.agent_leg
                r.agent_leg = ev.leg_id  # before the ringing leg's LegEnded arrives
                self._busy[ev.leg_id] = ev.caller
                self._busy.pop(ringing, None)
                self.switch.pickup(call_id, ev.call_id)
                return True
        self.switch.reject(ev.call_id, 404)
        return True

    def _ring_next(self, call_id: str, r: _Route) -> None:
        busy = set(self._busy.values())
        while r.candidates:
            ext = r.candidates.pop(0)
            if ext in busy:  # already ringing or talking for another call
                continue
            try:
                r.agent_leg = self.switch.ring(call_id, ext, timeout=self.ring_timeout)
                self._busy[r.agent_leg] = ext
                return
            except SwitchError:
                continue
        r.agent_leg = None
        prompt = "extension_busy" if r.last_status in (0, 486) else "extension_no_answer"
        self._close(r, [prompt, "goodbye"])

    def _answered(self, ev: LegAnswered) -> None:
        r = self._calls.get(ev.call_id)
        if r is None or ev.leg_id != r.agent_leg:
            return
        r.agent_up = True
        self.switch.bridge(ev.call_id, ev.leg_id)
        if self.recordings is not None:
            self.switch.record(ev.call_id, self.recordings / f"{ev.call_id}.wav")

    def _ended(self, ev: LegEnded) -> None:
        self._busy.pop(ev.leg_id, None)
        r = self._calls.get(ev.call_id)
        if r is None or ev.leg_id != r.agent_leg or ev.by is HangupBy.PEER_LEG:
            return
        if r.agent_up:
            if ev.by is HangupBy.SWITCH:  # dropped on command (intercept): the call goes on
                return
            if self.survey and ev.by is HangupBy.REMOTE and not r.in_survey:
                r.in_survey = True  # 满意度调查: the customer stays on to rate the call
                self.switch.play(r.customer_leg, ["survey"], interruptible=True)
            else:
                self.switch.hangup_call(ev.call_id)
        elif not r.closing:
            r.last_status = ev.status
            self._ring_next(ev.call_id, r)
