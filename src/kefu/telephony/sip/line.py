"""The SIP line: real calls on `SipSwitch` driven by the contact-center core in `Center`.

Theory of operation. The line sits between the switch (SIP legs, media) and the center (the
pure core, CDRs, audit, live hub), both ways, and keeps the core ignorant of SIP:

- switch -> core: a call to a number mapped to an IVR flow is answered and walks a core
  `IvrSession` (prompts and DTMF on the switch); its `Enqueue` offers the call to the center
  under the switch's own call id. A number mapped to a queue is offered at once. The agent's
  phone answering is the core's `AgentAnswered`, the agent's BYE its `AgentHungUp`, the
  caller's BYE `CallerHungUp`; a phone that declines or never answers is `AgentRejected`.
- core -> switch: `Center` calls `command()` for every command on a call the line owns;
  RingAgent rings the agent's registered extension, Bridge/StartRecording bridge and record
  (customer left, agent right), Hold/Resume give music on hold, Monitor/Intercept mix a
  supervisor leg, PlayAnnouncement says position and wait, Hangup/Reject end the call.

Every switch event and every command is carried out on the event loop (the center may run
commands from a web worker thread; the switch is not thread-safe), and never re-entrantly
inside `Center.apply`.

The loop never waits on the database: every call into the center and every row the line
writes or reads goes through `_core`, onto the center's one ordered core thread, and what
the line needs back returns to the loop as a callback. A call stays in `calls` (marked
`ended`) until its CDR is finished there, so "no calls" means "all persisted".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import logging
import sys
import time
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select

from kefu.audio.g711 import DECODERS
from kefu.audio.mixer import MixMode
from kefu.core import commands as cmd
from kefu.core import ivr_events as ivr
from kefu.core.agent import AgentState
from kefu.core.calendar import HolidayCalendar
from kefu.core.calling_hours import CallingHours, normalise_number
from kefu.core.errors import CoreError, PermissionDenied
from kefu.core.events import (
    AgentHungUp,
    AgentRejected,
    ConsultAnswered,
    ConsultFailed,
    PartyLeft,
    TransferKind,
)
from kefu.core.ivr import IvrSession
from kefu.core.ivr_flow import Flow, parse_flow
from kefu.core.ivr_password import PasswordLockStore
from kefu.core.routing import normalize
from kefu.core.supervision import MonitorMode
from kefu.errors import ConfigError, KefuError
from kefu.services.ivr_locks import DbPasswordLocks
from kefu.services.progress import CallProgress
from kefu.store import call_rows
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    Call,
    CallLeg,
    Number,
    NumberTarget,
    Party,
    Recording,
    SurveyResponse,
    Voicemail,
)
from kefu.store.models.routing import IvrFlow, IvrFlowVersion
from kefu.telephony.port import (
    CallArrived,
    CallEnded,
    Dtmf,
    HangupBy,
    LegAnswered,
    LegEnded,
    LegRole,
    PlaybackDone,
    ReferRequested,
    RegistrationChanged,
    SwitchEvent,
)
from kefu.telephony.prompts import PROMPT_DIR, number_names, position_names, wait_names
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, SwitchError

if TYPE_CHECKING:
    from kefu.config import Settings
    from kefu.services.center import Center

log = logging.getLogger(__name__)

_REJECT_STATUS = {
    cmd.RejectReason.BLACKLISTED: 403,
    cmd.RejectReason.NO_QUEUE: 404,
    cmd.RejectReason.MAX_WAIT: 480,
    cmd.RejectReason.NO_AGENTS: 480,
}
_MIX = {
    MonitorMode.LISTEN: MixMode.LISTEN,
    MonitorMode.WHISPER: MixMode.WHISPER,
    MonitorMode.BARGE: MixMode.BARGE,
}


PHONE_OFFLINE = "phone_offline"  # the busy reason while an agent's phone is unregistered


def _dt(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


@dataclass
class LineCall:
    """What the line knows of one SIP call."""

    call_id: str
    customer_leg: str
    caller: str
    dialed: str
    arrived: float
    ivr: IvrSession | None = None
    prompt_id: str | None = None  # the IVR prompt playing on the customer leg
    in_core: bool = False
    queued: bool = False  # waiting in a queue: music on hold between announcements
    rings: dict[str, str] = field(default_factory=dict)  # agent id -> ringing leg
    agent: tuple[str, str] | None = None  # (agent id, leg) once answered
    supervisor_leg: str | None = None
    supervisor_mode: MixMode | None = None
    supervisor_id: str | None = None  # the core id of the supervisor on the call
    intercepted: bool = False  # the supervisor took the customer over
    recording: Path | None = None
    ivr_timer: asyncio.TimerHandle | None = None
    hangup_by: Party | None = None  # who ended the customer leg, as the switch saw it
    direct: bool = False  # an extension's own call (CC-14): no core, the line bridges it
    closing: bool = False  # a goodbye prompt plays, then the line hangs up
    in_survey: bool = False  # the agent hung up; the customer rates the call by key (CC-11)
    consult: tuple[str, str] | None = None  # attended transfer: (target, its leg)
    parties: dict[str, str] = field(default_factory=dict)  # three-way party -> its leg
    answered_at: float | None = None  # a direct call's callee answered
    ended: bool = False  # the switch ended it; its CDR is being finished on the core thread
    voicemail: VoicemailTake | None = None  # the caller is leaving a message (CC-03)
    direction: str = "inbound"  # inbound | internal | outbound | click_to_dial (CC-06)
    queue: str = ""  # the queue it was offered to
    connected: bool = False  # the customer talks to an agent or an outside party
    held: bool = False  # the agent put the customer on hold
    busy_agents: dict[str, AgentState] = field(default_factory=dict)  # CC-14: state before
    dial: ClickDial | None = None  # click-to-dial: the agent's phone first, then the customer


@dataclass
class VoicemailTake:
    """A message being left: prompt and beep first, then the caller's audio into `path`."""

    box: str
    path: Path
    wav: wave.Wave_write | None = None
    frames: int = 0
    timer: asyncio.TimerHandle | None = None

    def add(self, pt: int, payload: bytes) -> None:
        """One RTP payload from the caller (decoded to 16-bit PCM)."""
        if self.wav is not None:
            pcm = DECODERS[pt](payload)
            self.wav.writeframes(pcm.astype("<i2").tobytes())
            self.frames += len(pcm)


class IvrServices(Protocol):
    """The back office behind the IVR's service nodes (a bank, a booking desk)."""

    def verify_password(self, account: str, password: str) -> bool:
        """Whether `password` is the account's phone password."""

    def lookup(self, action: str, args: dict[str, str]) -> dict[str, str] | None:
        """The answer's variables, or None when the service cannot answer."""

    def charge(self, appointment_id: str, amount: str) -> bool:
        """Whether the payment went through."""


class NoIvrServices:
    """No back office configured: every request fails, so the flow's failure branch plays."""

    def verify_password(self, account: str, password: str) -> bool:
        """Never verified."""
        return False

    def lookup(self, action: str, args: dict[str, str]) -> dict[str, str] | None:
        """Never answered."""
        return None

    def charge(self, appointment_id: str, amount: str) -> bool:
        """Never charged."""
        return False


@dataclass(frozen=True)
class _Arrival:
    """What the core thread looked up for a new call (the loop decides on it)."""

    caller_agent: str | None
    callee_agent: str | None
    may_go_outside: bool
    route: tuple[str, Flow | str | None]


_CACHE_S = 5.0  # number -> route and extension -> agent look-ups are kept this long


@dataclass
class ClickDial:
    """A click-to-dial call: the agent's phone is the A-leg, the customer is dialled after."""

    agent_id: str
    extension: str
    number: str
    restore: AgentState | None = None  # the state the call made busy, given back after
    agent_answered: bool = False
    customer_answered: bool = False
    outcome: str = "agent_no_answer"  # answered | busy | no_answer | agent_no_answer | failed


class DialRefused(KefuError):
    """Click-to-dial cannot start; `reason` is a stable id (the web maps it to a status)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass
class SipLine:
    """Connects `switch` and `center`. `recordings`: where the call WAVs go."""

    switch: SipSwitch
    center: Center
    recordings: Path
    trunk: str | None = None  # the trunk outside numbers leave through (CC-14)
    outside_prefix: str = "9"  # what an outside number is dialled with
    survey: bool = False  # after the agent hangs up, the customer rates the call (CC-11)
    extension_ring_s: float = 20.0  # an extension not answering by then: a message (CC-14)
    # key -> score on the reports' 1-5 scale (prompt: 1 满意, 2 一般, 3 不满意)
    survey_scores: dict[str, int] = field(default_factory=lambda: {"1": 5, "2": 3, "3": 1})
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)
    # an agent's phone vanishing mid-call: the caller goes back to the queue, or to voicemail
    lost_agent: Literal["requeue", "voicemail"] = "requeue"
    voicemail_max: float = 120.0  # seconds of message before the line ends it
    ivr_services: IvrServices = field(default_factory=NoIvrServices)
    # CC-03: wrong phone passwords counted across calls; None: the center's database
    # (DbPasswordLocks, set in attach). Its calls are blocking DB I/O made from the IVR.
    password_locks: PasswordLockStore | None = None
    calls: dict[str, LineCall] = field(default_factory=dict)
    on_call_ended: list[Any] = field(default_factory=list)  # callbacks(call_id)
    # the last announcements said (call id, prompt names), for the console and tests
    played: deque[tuple[str, tuple[str, ...]]] = field(default_factory=lambda: deque(maxlen=200))
    # SLA-03: outbound calls only inside these local hours (None: not enforced)
    hours: CallingHours | None = None
    hours_tz: str = "Asia/Shanghai"
    wall_clock: Callable[[], float] = time.time  # the hours rule's clock (tests inject one)
    outbound_caller_id: str | None = None  # shown to dialled customers; None: the extension
    dial_timeout: float = 30.0  # how long click-to-dial rings the agent, then the customer
    # the outcomes of the last click-to-dial calls (call id, outcome), for the console and tests
    dialled: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=200))
    # extension -> (agent id or None, when looked up); number -> (route, when): core thread only
    _ext_agent: dict[str, tuple[str | None, float]] = field(default_factory=dict)
    _routes: dict[str, tuple[tuple[str, Flow | str | None], float]] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None

    # ---- wiring ------------------------------------------------------------------------

    def attach(self) -> None:
        """Become the switch's event sink and the center's telephony (on the event loop)."""
        self._loop = asyncio.get_running_loop()
        self.switch.sink = self._on_switch_event
        self.switch.file_writer = self._file_job  # recordings are written on the core thread
        self.center.telephony = self
        self.recordings.mkdir(parents=True, exist_ok=True)
        if self.password_locks is None:
            self.password_locks = DbPasswordLocks(self.center.db)

    def detach(self) -> None:
        """Stop hearing the center (calls in progress become virtual)."""
        if self.center.telephony is self:
            self.center.telephony = None
        for lc in self.calls.values():
            if lc.ivr_timer is not None:
                lc.ivr_timer.cancel()

    def owns(self, call_id: str) -> bool:
        """Whether the call is a SIP call of this line."""
        return call_id in self.calls

    def command(self, c: cmd.Command, now: float) -> None:
        """A core command for one of our calls; carried out on the loop, after `apply`."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._guard, self._command, c)

    def _on_switch_event(self, event: SwitchEvent) -> None:
        assert self._loop is not None
        self._loop.call_soon(self._guard, self._event, event)

    def _guard(self, fn: Any, arg: Any, call_id: str | None = None) -> None:
        """Run `fn(arg)`, then refresh the board view of `call_id` (or of `arg.call_id`).

        With neither, every call's view is refreshed: at hundreds of calls that costs
        milliseconds of the loop, so callbacks about one call name it (`_core(for_call=)`).
        """
        try:
            fn(arg)
        except (CoreError, SwitchError, KeyError) as exc:
            log.warning("sip line: %s on %r: %s", type(exc).__name__, arg, exc)
        self._refresh(call_id or getattr(arg, "call_id", None))

    # ---- calls in progress for the wallboard (CC-06) ----------------------------------

    def _refresh(self, call_id: str | None) -> None:
        """File the call's board view (every call when the event names none); publish changes.

        Runs after each switch event and core command: memory only, no database.
        """
        board = self.center.progress
        ids = [call_id] if call_id else [v.call_id for v in board.views()] + list(self.calls)
        now = self.center.now()
        for cid in dict.fromkeys(ids):
            lc = self.calls.get(cid)
            if lc is None or lc.ended:  # (an ended call stays in `calls` until persisted)
                if board.drop(cid):
                    self.center.hub.publish("wallboard", {"type": "call_ended", "call_id": cid})
                continue
            view = board.put(self._progress(lc), now)
            if view is not None:
                self.center.hub.publish(
                    "wallboard",
                    {
                        "type": "call",
                        "call_id": cid,
                        "state": view.state,
                        "direction": view.direction,
                        "since": view.since,
                        "agent_id": view.agent_id,
                        "peer_agent_id": view.peer_agent_id,
                        "ringing": list(view.ringing),
                        "ivr_node": view.ivr_node,
                    },
                )

    def _progress(self, lc: LineCall) -> CallProgress:
        """What the board shows of `lc` now."""
        agent = lc.agent[0] if lc.agent is not None and lc.agent[0] != "outside" else ""
        peer = ""
        if lc.dial is not None:
            agent = lc.dial.agent_id
        elif lc.direct:
            agent = self._known_agent(lc.caller)
            if lc.direction == "internal":
                peer = self._known_agent(lc.dialed)
        in_ivr = lc.ivr is not None and not lc.ivr.ended
        if lc.closing:
            state = "ending"
        elif lc.voicemail is not None:
            state = "voicemail"
        elif lc.in_survey:
            state = "survey"
        elif in_ivr:
            state = "ivr"
        elif lc.connected and (lc.agent is not None or lc.intercepted or lc.parties):
            state = "on_hold" if lc.held else "talking"
        elif lc.rings or lc.agent is not None or lc.dial is not None:
            state = "ringing"
        elif lc.queued or lc.in_core:
            state = "queued"
        else:
            state = "ending"
        mode = lc.supervisor_mode
        return CallProgress(
            call_id=lc.call_id,
            state=state,
            direction=lc.direction,
            caller=lc.caller,
            callee=lc.dialed,
            started=lc.arrived,
            agent_id=agent,
            peer_agent_id=peer,
            ringing=tuple(sorted(lc.rings)),
            queue=lc.queue,
            ivr_flow=lc.ivr.flow.name if lc.ivr is not None and in_ivr else "",
            ivr_node=(lc.ivr.node_id or "") if lc.ivr is not None and in_ivr else "",
            supervisor_id=lc.supervisor_id or "",
            supervisor_mode=mode.value if mode is not None and lc.supervisor_id else "",
        )

    # ---- the core thread ------------------------------------------------------------------

    def _core(
        self,
        fn: Any,
        *args: Any,
        then: Any = None,
        refused: Any = None,
        for_call: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Run `fn(*args, **kwargs)` on the center's core thread, in submission order.

        `then(result)` runs back on the loop; so does `refused(exc)` if it raised a CoreError
        (otherwise the error is logged). Then the board view of `for_call` is refreshed (of
        every call when None).
        """
        job = functools.partial(fn, *args, **kwargs) if kwargs else fn
        fut = self.center.worker.submit(job, *(() if kwargs else args))
        fut.add_done_callback(lambda f: self._settled(f, fn, then, refused, for_call))

    def _settled(
        self, fut: Any, fn: Any, then: Any, refused: Any, for_call: str | None = None
    ) -> None:
        exc = fut.exception()
        if exc is not None:
            if isinstance(exc, CoreError | KeyError | SwitchError):
                log.warning("sip line: %s in %s: %s", type(exc).__name__, _name(fn), exc)
            else:
                log.error("sip line: %s failed", _name(fn), exc_info=exc)
            if refused is None or not isinstance(exc, CoreError):
                return
            callback, arg = refused, exc
        elif then is None:
            return
        else:
            callback, arg = then, fut.result()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if self.center.worker.on_thread() or not _is_loop_thread(loop):
            loop.call_soon_threadsafe(self._guard, callback, arg, for_call)
        else:  # ran inline on the loop (no core thread): still not re-entrantly
            loop.call_soon(self._guard, callback, arg, for_call)

    def _file_job(self, job: Any) -> None:
        """The recorder's file writes, queued behind the core's work (in order per call)."""
        fut = self.center.worker.submit(job)
        fut.add_done_callback(_log_failure)

    # ---- routing by dialled number ------------------------------------------------------

    def _route(self, dialed: str) -> tuple[str, Flow | str | None]:
        """('ivr', flow) or ('queue', name) or ('none', None) for a dialled number (core thread;
        kept a few seconds: a changed number or flow applies to calls after that)."""
        hit = self._routes.get(dialed)
        now = time.monotonic()
        if hit is not None and now - hit[1] < _CACHE_S:
            return hit[0]
        route = self._route_db(dialed)
        self._routes[dialed] = (route, now)
        return route

    def _route_db(self, dialed: str) -> tuple[str, Flow | str | None]:
        db = self.center.db
        with db.session() as s:
            n = s.scalars(select(Number).where(Number.number == dialed)).first()
            if n is None:
                return "none", None
            if n.target is NumberTarget.IVR and n.ivr_flow_id is not None:
                flow = s.get(IvrFlow, n.ivr_flow_id)
                if flow is None:
                    return "none", None
                version = s.scalars(
                    select(IvrFlowVersion)
                    .where(IvrFlowVersion.flow_id == flow.id)
                    .where(
                        IvrFlowVersion.version == flow.active_version
                        if flow.active_version is not None
                        else IvrFlowVersion.version >= 0
                    )
                    .order_by(IvrFlowVersion.version.desc())
                ).first()
                if version is None:
                    return "none", None
                return "ivr", parse_flow(version.definition, f"ivr_flows/{flow.name}")
            if n.queue_id is not None:
                from kefu.store.models import Queue

                q = s.get(Queue, n.queue_id)
                return "queue", q.name if q is not None else None
        return "none", None

    def _known_agent(self, ext: str) -> str:
        """The extension's agent id if already looked up, else "" (memory only)."""
        hit = self._ext_agent.get(ext)
        return (hit[0] or "") if hit is not None else ""

    def _agent_of_extension(self, ext: str) -> str | None:
        """The agent id of an extension (core thread; misses kept a few seconds too)."""
        hit = self._ext_agent.get(ext)
        now = time.monotonic()
        if hit is not None and (hit[0] is not None or now - hit[1] < _CACHE_S):
            return hit[0]
        with self.center.db.session() as s:
            aid = s.scalar(select(Agent.id).where(Agent.extension == ext))
        found = None if aid is None else str(aid)
        self._ext_agent[ext] = (found, now)
        return found

    # ---- switch events ----------------------------------------------------------------

    def _event(self, ev: SwitchEvent) -> None:
        if isinstance(ev, RegistrationChanged):
            self._registration(ev)
            return
        if isinstance(ev, CallArrived):
            self._arrived(ev)
            return
        lc = self.calls.get(ev.call_id)
        if lc is None or lc.ended:
            if isinstance(ev, ReferRequested):
                self.switch.notify_refer(ev.leg_id, 481, "Call Does Not Exist")
            return
        if isinstance(ev, ReferRequested):
            self._refer(lc, ev)
        elif isinstance(ev, Dtmf):
            if ev.leg_id == lc.customer_leg and lc.ivr is not None and not lc.ivr.ended:
                self._ivr(lc, ivr.DtmfDigit(ev.digit))
            elif ev.leg_id == lc.customer_leg and lc.in_survey and not lc.closing:
                self._survey_key(lc, ev)
            elif ev.leg_id == lc.customer_leg and ev.digit == "#" and _recording(lc):
                self._voicemail_done(lc, "key")  # # ends the message
                self._close(lc, ["goodbye"])
        elif isinstance(ev, PlaybackDone):
            self._playback_done(lc, ev)
        elif isinstance(ev, LegAnswered):
            self._answered(lc, ev)
        elif isinstance(ev, LegEnded):
            self._leg_ended(lc, ev)
        elif isinstance(ev, CallEnded):
            self._call_ended(lc, ev)

    def _registration(self, ev: RegistrationChanged) -> None:
        """A phone that went away must not be rung: its idle agent is made busy. When it
        registers again, an agent we made busy for it is idle again (not one who chose busy)."""
        self._core(self._phone_online if ev.up else self._phone_offline, ev.extension)

    def _phone_offline(self, extension: str) -> None:
        aid = self._agent_of_extension(extension)
        if aid is None:
            return
        a = self.center.engine.agents.get(aid)
        if a is not None and a.state is AgentState.IDLE:
            self.center.set_state(int(aid), AgentState.BUSY, PHONE_OFFLINE)

    def _phone_online(self, extension: str) -> None:
        aid = self._agent_of_extension(extension)
        if aid is None:
            return
        a = self.center.engine.agents.get(aid)
        if a is not None and a.state is AgentState.BUSY and a.reason == PHONE_OFFLINE:
            with contextlib.suppress(CoreError):
                self.center.set_state(int(aid), AgentState.IDLE)

    def _arrived(self, ev: CallArrived) -> None:
        self._core(self._classify, ev, then=lambda a: self._admit(ev, a), for_call=ev.call_id)

    def _classify(self, ev: CallArrived) -> _Arrival:
        """Core thread: who calls whom (agents by extension) and the number's route."""
        caller = self._agent_of_extension(ev.caller)
        callee = self._agent_of_extension(ev.dialed) if caller is not None else None
        allowed = False
        if caller is not None and callee is None:
            with self.center.db.session() as s:
                agent = s.get(Agent, int(caller))
                allowed = agent is not None and agent.may_transfer_outside
        return _Arrival(caller, callee, allowed, self._route(ev.dialed))

    def _admit(self, ev: CallArrived, a: _Arrival) -> None:
        if ev.call_id not in self.switch.calls:  # the caller gave up while we looked
            return
        if self._direct(ev, a):
            return
        kind, target = a.route
        if kind == "none":
            self.switch.reject(ev.call_id, 404)
            return
        lc = LineCall(ev.call_id, ev.leg_id, ev.caller, ev.dialed, ev.at)
        self.calls[ev.call_id] = lc
        if normalize(ev.caller) in self.center.engine.blacklist:  # AG-14: refused unanswered
            self._refuse_blacklisted(lc, target if kind == "queue" else None)
            return
        self._core(self._store_arrival, lc)
        self.switch.answer(ev.call_id)
        if isinstance(target, Flow):
            now = dt.datetime.now(dt.UTC)
            lc.ivr = IvrSession(
                target,
                ev.call_id,
                {"caller": ev.caller},
                self.calendar,
                now,
                locks=self.password_locks,  # DB-backed: its reads and writes block
            )
            self._ivr_commands(lc, lc.ivr.start(now))
        else:
            self._offer(lc, str(target), 0, {})

    def _refuse_blacklisted(self, lc: LineCall, queue: Flow | str | None) -> None:
        """403 before answer. A queue number asks the core (its Reject counts in the queue's
        figures); an IVR number is refused here, before the caller walks the menus."""
        self._core(self._store_arrival, lc, answered=False)
        if isinstance(queue, str):
            lc.in_core = True
            self._core(self.center.offer_call, lc.caller, lc.dialed, queue, call_id=lc.call_id)
            return
        self._core(self._store_rejected, lc.call_id)
        lc.hangup_by = Party.SYSTEM
        self.switch.reject(lc.call_id, 403)

    def _store_rejected(self, call_id: str) -> None:
        from kefu.store.models import Disposition

        with self.center.db.session() as s:
            call = s.get(Call, call_id)
            if call is not None:
                call.disposition = Disposition.REJECTED

    def _mark_busy(self, lc: LineCall, aid: str) -> None:
        """CC-14: an idle agent on an extension call is busy in the core (the ACD skips them).

        On the core thread, like the restore at the call's end (`_restore_busy`)."""
        self._core(self._mark_busy_core, lc, aid)

    def _mark_busy_core(self, lc: LineCall, aid: str) -> None:
        a = self.center.engine.agents.get(aid)
        if a is not None and a.state is AgentState.IDLE:
            with contextlib.suppress(CoreError):
                self.center.set_state(int(aid), AgentState.BUSY, "extension_call")
                lc.busy_agents[aid] = AgentState.IDLE

    def _direct(self, ev: CallArrived, a: _Arrival) -> bool:
        """CC-14: an agent's phone dials another extension, or the prefix + an outside number."""
        caller, callee = a.caller_agent, a.callee_agent
        if caller is None or self.switch.registrar.lookup(ev.caller) is None:
            return False
        p = self.outside_prefix
        outside = bool(p) and ev.dialed.startswith(p) and len(ev.dialed) > len(p) + 2
        if callee is None and not outside:
            return False
        if callee is None:
            if self.trunk is None or not a.may_go_outside:  # AG-08: by permission only
                self.switch.reject(ev.call_id, 403)
                return True
            if self.hours_refusal() is not None:  # SLA-03: not at night, lunch or dinner
                self.switch.reject(ev.call_id, 403)
                return True
        lc = LineCall(ev.call_id, ev.leg_id, ev.caller, ev.dialed, ev.at, direct=True)
        lc.direction = "internal" if callee is not None else "outbound"
        self.calls[ev.call_id] = lc
        kind = "internal" if callee is not None else "outbound"
        self._core(self._store_arrival, lc, kind, caller)
        self.switch.answer(ev.call_id)
        self._mark_busy(lc, caller)
        if callee is None:
            assert self.trunk is not None
            lc.agent = (
                "outside",
                self.switch.dial_out(ev.call_id, ev.dialed[len(p) :], self.trunk),
            )
        elif self.switch.registrar.lookup(ev.dialed) is None:
            self._close(lc, ["extension_no_answer", "goodbye"])
        else:
            self._mark_busy(lc, callee)
            lc.agent = (
                callee,
                self.switch.ring(ev.call_id, ev.dialed, timeout=self.extension_ring_s),
            )
        return True

    def _record(self, lc: LineCall, *, swap: bool = False) -> None:
        """Record the call (once: the switch keeps the first recorder); `swap`: the bridged
        leg is the customer (left channel)."""
        lc.recording = self.recordings / f"{lc.call_id}.wav"
        self.switch.record(lc.call_id, lc.recording, swap=swap)

    def _survey_key(self, lc: LineCall, ev: Dtmf) -> None:
        score = self.survey_scores.get(ev.digit)
        if score is None:
            self.switch.play(lc.customer_leg, ["invalid_input", "survey"], interruptible=True)
            return
        self._core(self._store_survey, lc.call_id, score, ev.at)
        self.switch.stop_playback(lc.customer_leg)
        self._close(lc, ["survey_thanks", "goodbye"])

    def _store_survey(self, call_id: str, score: int, at: float) -> None:
        with self.center.db.session() as s:
            call = s.get(Call, call_id)
            s.add(
                SurveyResponse(
                    call_id=call_id,
                    agent_id=call.agent_id if call is not None else None,
                    channel="voice",
                    score=score,
                    answered_at=_dt(at),
                )
            )

    def _close(self, lc: LineCall, prompts: list[str]) -> None:
        """Say `prompts` to the caller, then hang up."""
        lc.closing = True
        self.played.append((lc.call_id, tuple(prompts)))
        self.switch.play(lc.customer_leg, prompts, interruptible=False)

    def _store_arrival(
        self,
        lc: LineCall,
        direction: str = "inbound",
        agent: str | None = None,
        *,
        answered: bool = True,
    ) -> None:
        """The CDR row from the moment the switch answers (calls ended in the IVR count too)."""
        from kefu.store.models import Direction

        with self.center.db.session() as s:
            conn = s.connection()
            call_rows.add_call(
                conn,
                id=lc.call_id,
                direction=Direction(direction),
                agent_id=int(agent) if agent is not None else None,
                caller=lc.caller,
                callee=lc.dialed,
                offered_at=_dt(lc.arrived),
            )
            call_rows.add_leg(
                conn,
                call_id=lc.call_id,
                party=Party.CUSTOMER,
                address=lc.caller,
                started_at=_dt(lc.arrived),
                answered_at=_dt(lc.arrived) if answered else None,
            )

    def _offer(self, lc: LineCall, queue: str, priority: int, variables: dict[str, str]) -> None:
        lc.in_core = True
        lc.queued = True
        lc.queue = queue
        self._core(
            self.center.offer_call,
            lc.caller,
            lc.dialed,
            queue,
            call_id=lc.call_id,
            priority=priority,
            variables=variables,
        )
        self._moh(lc)

    def _moh(self, lc: LineCall) -> None:
        """Music on hold while the caller waits (after any announcement playing)."""
        if lc.queued and lc.agent is None:
            self.switch.play(lc.customer_leg, [self.switch.config.moh], interruptible=False)

    def _playback_done(self, lc: LineCall, ev: PlaybackDone) -> None:
        if ev.leg_id != lc.customer_leg:
            return
        if lc.voicemail is not None:  # the prompt and beep played: the message starts
            if not ev.interrupted and lc.voicemail.wav is None and not lc.closing:
                self._voicemail_record(lc)
            elif lc.closing and not ev.interrupted:
                self.switch.hangup_call(lc.call_id)
            return
        if lc.ivr is not None and not lc.ivr.ended:
            if lc.prompt_id is not None and not ev.interrupted:
                pid, lc.prompt_id = lc.prompt_id, None
                self._ivr(lc, ivr.PromptFinished(pid))
            return
        if lc.closing:  # (an interrupted prompt before the goodbye is not its end)
            if not ev.interrupted:
                self.switch.hangup_call(lc.call_id)
        elif lc.in_survey and not ev.interrupted:  # no key pressed: say goodbye
            self._close(lc, ["goodbye"])
        elif not ev.interrupted:
            self._moh(lc)

    def _answered(self, lc: LineCall, ev: LegAnswered) -> None:
        if lc.dial is not None:
            self._dial_answered(lc, lc.dial, ev)
            return
        if ev.leg_id == lc.customer_leg:
            return
        if self._transfer_leg_answered(lc, ev):
            return
        if lc.agent is not None and lc.agent[1] == ev.leg_id:  # picker, extension, outside
            lc.queued = False
            lc.connected = True
            self.switch.stop_playback(lc.customer_leg)
            self.switch.bridge(lc.call_id, ev.leg_id)
            if lc.direct or lc.agent[0] == "outside":  # no core to say it was answered
                lc.answered_at = lc.answered_at or ev.at
                self._core(self._store_answered, lc.call_id, ev.at)
            if lc.direct:
                # CC-04: every call is recorded; on a 9 + number call the outside party is
                # the customer (left), on an extension's call the caller is on the left
                self._record(lc, swap=lc.agent[0] == "outside")
            elif lc.recording is None:  # the IVR forwarded the caller outside: caller left
                self._record(lc)
            return
        if ev.leg_id == lc.supervisor_leg:
            if lc.supervisor_mode is not None:
                self.switch.supervise(lc.call_id, ev.leg_id, lc.supervisor_mode)
            return
        for aid, leg in list(lc.rings.items()):
            if leg == ev.leg_id:
                del lc.rings[aid]
                if lc.agent is not None:  # a transfer: the first agent's leg is done
                    self.switch.hangup(lc.agent[1])
                lc.agent = (aid, leg)
                lc.queued = False
                lc.connected = True

                def withdrawn(_exc: CoreError, aid: str = aid, leg: str = leg) -> None:
                    # the core withdrew the offer meanwhile: the phone's leg goes
                    if lc.agent == (aid, leg):
                        lc.agent = None
                    if leg in self.switch.legs:
                        self.switch.hangup(leg)

                self._core(
                    self.center.answer, int(aid), lc.call_id, refused=withdrawn, for_call=lc.call_id
                )
                return

    def _store_answered(self, call_id: str, at: float) -> None:
        with self.center.db.session() as s:
            call = s.get(Call, call_id)
            if call is not None:
                call.answered_at = call.answered_at or _dt(at)

    def _leg_ended(self, lc: LineCall, ev: LegEnded) -> None:
        if lc.dial is not None:
            self._dial_leg_ended(lc, lc.dial, ev)
            return
        if self._transfer_leg_ended(lc, ev):
            return
        if ev.leg_id == lc.customer_leg:
            lc.hangup_by = Party.CUSTOMER if ev.by is HangupBy.REMOTE else Party.SYSTEM
            if lc.voicemail is not None:
                self._voicemail_done(lc, "hangup")
            if lc.ivr is not None and not lc.ivr.ended:
                self._ivr(lc, ivr.CallerHungUp())
            if lc.in_core and ev.by is not HangupBy.SWITCH and ev.by is not HangupBy.PEER_LEG:
                lc.in_core = False
                self._core(self.center.caller_hangup, lc.call_id)
            return
        if ev.leg_id == lc.supervisor_leg:
            lc.supervisor_leg = None
            sup, lc.supervisor_id = lc.supervisor_id, None
            if sup is None or ev.by is HangupBy.SWITCH or not lc.in_core:
                return
            now = self.center.now()
            if lc.intercepted:  # the supervisor was the customer's party: the call ends
                lc.in_core = False
                self._core(self.center.apply, AgentHungUp(sup, lc.call_id, now))
            else:  # a listening/whispering supervisor left: the core forgets the monitor
                self._core(self.center.apply, PartyLeft(lc.call_id, sup, now))
            return
        for aid, leg in list(lc.rings.items()):
            if leg == ev.leg_id:  # the phone declined, failed or never answered
                del lc.rings[aid]
                if ev.by is not HangupBy.SWITCH:
                    self._core(
                        self.center.apply,
                        AgentRejected(aid, lc.call_id, self.center.now(), f"sip_{ev.status}"),
                    )
                return
        if lc.direct and lc.agent is not None and lc.agent[1] == ev.leg_id:
            lc.agent = None
            if ev.by is HangupBy.REMOTE or lc.answered_at is not None:
                self.switch.hangup_call(lc.call_id)
            elif ev.by is not HangupBy.PEER_LEG:  # CC-14: busy or no answer, say so
                busy = ev.status in (0, 486, 600)
                self._close(lc, ["extension_busy" if busy else "extension_no_answer", "goodbye"])
            return
        if lc.agent is not None and lc.agent[1] == ev.leg_id:
            aid = lc.agent[0]
            lc.agent = None
            if ev.by in (HangupBy.SWITCH, HangupBy.PEER_LEG):
                return  # we ended it (core hang-up, intercept) or the customer left
            if not lc.in_core:  # an outside party (after DialOutside) hung up
                self.switch.hangup_call(lc.call_id)
                return
            by = ev.by
            if by in (HangupBy.TIMEOUT, HangupBy.ERROR) and self.lost_agent == "voicemail":
                self._core(
                    self._lost_to_voicemail,
                    lc,
                    aid,
                    then=lambda ok: (
                        self._voicemail_play(lc) if ok else self._agent_left(lc, aid, by)
                    ),
                    for_call=lc.call_id,
                )
                return
            if by in (HangupBy.TIMEOUT, HangupBy.ERROR) and self.lost_agent == "requeue":
                self._core(
                    self._requeue,
                    lc.call_id,
                    aid,
                    then=lambda ok: self._requeued(lc) if ok else self._agent_left(lc, aid, by),
                    for_call=lc.call_id,
                )
                return
            self._agent_left(lc, aid, by)

    def _agent_left(self, lc: LineCall, aid: str, by: HangupBy) -> None:
        if lc.ended or not lc.in_core:
            return
        lc.in_core = False
        lc.in_survey = self.survey and by is HangupBy.REMOTE
        self._core(self.center.apply, AgentHungUp(aid, lc.call_id, self.center.now()))
        if not lc.in_survey:
            self.switch.hangup_call(lc.call_id)

    def _requeue(self, call_id: str, aid: str) -> bool:
        """The agent's phone vanished mid-call: the customer goes back into the queue.

        The core's transfer to a queue (re-entering it with the call's priority) is what it
        offers; the agent, phone gone, is set busy. Core thread.
        """
        c = self.center.engine.calls.get(call_id)
        if c is None or c.queue is None:
            return False
        try:
            self.center.transfer(int(aid), TransferKind.QUEUE, c.queue.config.name)
        except CoreError:
            return False
        with contextlib.suppress(CoreError):
            self.center.set_state(int(aid), AgentState.BUSY, "phone_lost")
        return True

    def _requeued(self, lc: LineCall) -> None:
        if lc.ended:
            return
        lc.queued = True
        self._moh(lc)

    def _lost_to_voicemail(self, lc: LineCall, aid: str) -> bool:
        """The agent's phone vanished: the caller leaves a message in the queue's box.

        The core hears the agent hang up (its call ends, the agent is set busy); the SIP call
        goes on into voicemail, so the CDR's end is left for the real end of the call. Core
        thread; the loop then plays the prompt (`_voicemail_play`).
        """
        c = self.center.engine.calls.get(lc.call_id)
        if c is None or c.queue is None or lc.voicemail is not None:
            return False
        # set before the core's Hangup reaches the loop, which then ignores it
        lc.voicemail = VoicemailTake(c.queue.config.name, self._voicemail_path(lc))
        try:
            self.center.apply(AgentHungUp(aid, lc.call_id, self.center.now()))
        except CoreError:
            lc.voicemail = None
            return False
        lc.in_core = False
        with contextlib.suppress(CoreError):
            self.center.set_state(int(aid), AgentState.BUSY, "phone_lost")
        with self.center.db.session() as s:
            call = s.get(Call, lc.call_id)
            if call is not None:
                call.ended_at, call.hangup_by = None, None
            for leg in s.scalars(
                select(CallLeg).where(
                    CallLeg.call_id == lc.call_id, CallLeg.party == Party.CUSTOMER
                )
            ):
                leg.ended_at, leg.hangup_by = None, None
        return True

    # ---- voicemail (CC-04) ----------------------------------------------------------------

    def _voicemail_path(self, lc: LineCall) -> Path:
        folder = self.recordings / "voicemail"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{lc.call_id}.wav"

    def _voicemail(self, lc: LineCall, box: str) -> None:
        """Say the voicemail prompt and the beep; the message is recorded after them."""
        if lc.voicemail is not None:
            return
        lc.voicemail = VoicemailTake(box, self._voicemail_path(lc))
        self._voicemail_play(lc)

    def _voicemail_play(self, lc: LineCall) -> None:
        if lc.ended:
            return
        lc.queued = False
        _cancel(lc.ivr_timer)
        lc.ivr_timer = None
        self.switch.stop_playback(lc.customer_leg)
        self.switch.play(lc.customer_leg, ["voicemail", "beep"], interruptible=False)

    def _voicemail_record(self, lc: LineCall) -> None:
        vm = lc.voicemail
        assert vm is not None and self._loop is not None
        wav = wave.open(str(vm.path), "wb")  # noqa: SIM115 - open for the message
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        vm.wav = wav
        self.switch.tap(lc.customer_leg, vm.add)

        def too_long() -> None:
            if lc.voicemail is vm and vm.wav is not None:
                self._voicemail_done(lc, "max_length")
                self._close(lc, ["goodbye"])

        vm.timer = self._loop.call_later(
            self.voicemail_max, self._guard, lambda _: too_long(), None, lc.call_id
        )

    def _voicemail_done(self, lc: LineCall, ended_by: str) -> None:
        """Close the message's WAV and store its row (once)."""
        vm = lc.voicemail
        if vm is None or vm.wav is None:
            return
        _cancel(vm.timer)
        with contextlib.suppress(SwitchError):
            self.switch.tap(lc.customer_leg, None)
        wav, vm.wav = vm.wav, None
        wav.close()
        self._core(self._store_voicemail, lc, vm, ended_by, dt.datetime.now(dt.UTC))

    def _reopen_cdr(self, call_id: str) -> None:
        with self.center.db.session() as s:
            call = s.get(Call, call_id)
            if call is not None:
                call.ended_at = None

    def _store_voicemail(
        self, lc: LineCall, vm: VoicemailTake, ended_by: str, at: dt.datetime
    ) -> None:
        from kefu.store.models import Disposition

        with self.center.db.session() as s:
            call = s.get(Call, lc.call_id)
            if call is not None and call.answered_at is None:
                call.disposition = Disposition.VOICEMAIL
            s.add(
                Voicemail(
                    call_id=lc.call_id,
                    box=vm.box,
                    caller=lc.caller,
                    path=str(vm.path),
                    duration_s=vm.frames / 8000.0,
                    ended_by=ended_by,
                    created_at=at,
                )
            )

    def _call_ended(self, lc: LineCall, ev: CallEnded) -> None:
        if lc.ivr_timer is not None:
            lc.ivr_timer.cancel()
        lc.ended = True  # stays in `calls` until its CDR is finished
        if lc.dial is not None:
            self._dial_ended(lc, lc.dial)
        if lc.voicemail is not None:
            self._voicemail_done(lc, "hangup")
        self._core(self._restore_busy, lc)
        if lc.in_core:  # the switch lost the call without a BYE we saw
            lc.in_core = False
            self._core(self._caller_gone, lc.call_id)
        self._core(
            self._finish_cdr, lc, ev.at, then=lambda _: self._forget(lc), for_call=lc.call_id
        )

    def _restore_busy(self, lc: LineCall) -> None:
        for aid, before in lc.busy_agents.items():  # CC-14: back to what they were
            view = self.center.agent_view(int(aid))
            if view.state is AgentState.BUSY and view.reason == "extension_call":
                with contextlib.suppress(CoreError):
                    self.center.set_state(int(aid), before)

    def _caller_gone(self, call_id: str) -> None:
        with contextlib.suppress(CoreError):
            self.center.caller_hangup(call_id)

    def _forget(self, lc: LineCall) -> None:
        if self.calls.get(lc.call_id) is lc:
            del self.calls[lc.call_id]
        for cb in self.on_call_ended:
            cb(lc.call_id)

    def _finish_cdr(self, lc: LineCall, at: float) -> None:
        """Core thread: the switch's view of the end (after the recording was closed)."""
        try:
            self._finish_cdr_rows(lc, at)
        except Exception:  # the call must still leave `calls`
            log.exception("sip line: cannot finish the CDR of %s", lc.call_id)

    def _finish_cdr_rows(self, lc: LineCall, at: float) -> None:
        from kefu.store.models import Disposition

        with self.center.db.session() as s:
            conn = s.connection()
            call = call_rows.call_fields(
                conn, lc.call_id, "hangup_by", "ended_at", "answered_at", "disposition"
            )
            if call is None:
                return
            by = call.hangup_by or lc.hangup_by or Party.SYSTEM
            values: dict[str, Any] = {"hangup_by": by}
            if call.ended_at is None:  # ended in the IVR or before the core heard of it
                values["ended_at"] = _dt(at)
                if call.disposition is None:
                    values["disposition"] = (
                        Disposition.ANSWERED if call.answered_at else Disposition.ABANDONED
                    )
            if values != {"hangup_by": call.hangup_by}:
                call_rows.set_call(conn, lc.call_id, **values)
            call_rows.end_open_legs(conn, lc.call_id, _dt(at), by)
            if lc.recording is not None and lc.recording.exists():
                self.switch_recording_row(s, lc)

    def switch_recording_row(self, s: Any, lc: LineCall) -> None:
        """The `recordings` row of a closed WAV (duration read from the file)."""
        assert lc.recording is not None
        try:
            with wave.open(str(lc.recording), "rb") as w:
                duration = w.getnframes() / float(w.getframerate())
                channels, rate = w.getnchannels(), w.getframerate()
        except (wave.Error, EOFError):
            return
        s.connection().execute(
            insert(cast(Table, Recording.__table__)).values(
                call_id=lc.call_id,
                path=str(lc.recording),
                channels=channels,
                sample_rate=rate,
                duration_s=duration,
                created_at=dt.datetime.now(dt.UTC),
            )
        )

    # ---- the IVR ----------------------------------------------------------------------

    def _ivr(self, lc: LineCall, event: ivr.Event) -> None:
        assert lc.ivr is not None
        now = dt.datetime.now(dt.UTC)
        try:
            out = lc.ivr.handle(event, now)
        except ivr.IvrStateError:
            return
        self._ivr_commands(lc, out)

    def _ivr_commands(self, lc: LineCall, out: list[ivr.Command]) -> None:
        assert lc.ivr is not None
        for c in out:
            if isinstance(c, ivr.PlayPrompt):
                lc.prompt_id = c.prompt_id
                names = self._prompt_files(c.prompts)
                if names:
                    self.switch.play(lc.customer_leg, names, interruptible=c.interruptible)
                else:  # nothing we can say: as if it had played
                    self._loop_soon(lc, ivr.PromptFinished(c.prompt_id))
            elif isinstance(c, ivr.StopPrompt):
                lc.prompt_id = None
                self.switch.stop_playback(lc.customer_leg)
            elif isinstance(c, ivr.Enqueue):
                _cancel(lc.ivr_timer)
                lc.ivr_timer = None
                self._offer(lc, c.queue, c.priority, dict(c.variables))
            elif isinstance(c, ivr.SendToVoicemail):
                self._voicemail(lc, c.box)
            elif isinstance(c, ivr.TransferOutside):
                _cancel(lc.ivr_timer)
                lc.ivr_timer = None
                self._ivr_outside(lc, c.number)
            elif isinstance(c, ivr.Hangup):
                _cancel(lc.ivr_timer)
                lc.ivr_timer = None
                self.switch.hangup_call(lc.call_id)
            elif isinstance(c, ivr.VerifyPassword | ivr.Lookup | ivr.ChargePayment):
                self._loop_soon(lc, self._ivr_service(lc, c))
        self._arm_ivr_timer(lc)

    def _ivr_service(
        self, lc: LineCall, c: ivr.VerifyPassword | ivr.Lookup | ivr.ChargePayment
    ) -> ivr.Event:
        """Ask the back office; a failure (or none configured) is the core's failure event."""
        svc = self.ivr_services
        try:
            if isinstance(c, ivr.VerifyPassword):
                return ivr.PasswordChecked(svc.verify_password(c.account, c.password))
            if isinstance(c, ivr.Lookup):
                values = svc.lookup(c.action, dict(c.args))
                return ivr.LookupResult(values is not None, tuple((values or {}).items()))
            return ivr.PaymentResult(svc.charge(c.appointment_id, c.amount))
        except Exception:  # a broken back office must not drop the caller
            log.exception("sip line: IVR service %s failed", type(c).__name__)
            if isinstance(c, ivr.VerifyPassword):
                return ivr.PasswordChecked(False)
            if isinstance(c, ivr.Lookup):
                return ivr.LookupResult(False)
            return ivr.PaymentResult(False)

    def _ivr_outside(self, lc: LineCall, number: str) -> None:
        """The IVR hands the caller to an outside number, through the trunk."""
        if self.trunk is None:
            log.warning("sip line: IVR transfer to %s but no trunk is configured", number)
            self._close(lc, ["goodbye"])
            return
        try:
            lc.agent = ("outside", self.switch.dial_out(lc.call_id, number, self.trunk))
        except SwitchError as exc:
            log.warning("sip line: IVR transfer to %s: %s", number, exc)
            self._close(lc, ["goodbye"])
            return
        self.switch.play(lc.customer_leg, ["transfer"], interruptible=False)

    def _loop_soon(self, lc: LineCall, event: ivr.Event) -> None:
        assert self._loop is not None
        self._loop.call_soon(self._guard, lambda e: self._ivr(lc, e), event, lc.call_id)

    def _arm_ivr_timer(self, lc: LineCall) -> None:
        _cancel(lc.ivr_timer)
        lc.ivr_timer = None
        if lc.ivr is None or lc.ivr.ended or self._loop is None:
            return
        due = lc.ivr.next_deadline()
        if due is None:
            return
        delay = max(0.0, (due - dt.datetime.now(dt.UTC)).total_seconds())

        def fire() -> None:
            if lc.ivr is None or lc.ivr.ended:
                return
            self._ivr_commands(lc, lc.ivr.handle_timer(dt.datetime.now(dt.UTC)))
            self._refresh(lc.call_id)

        lc.ivr_timer = self._loop.call_later(delay + 0.01, fire)

    def _prompt_files(self, prompts: tuple[str, ...]) -> list[str]:
        """Prompt ids the switch can play (say:number:N read out; unknown ids skipped)."""
        out: list[str] = []
        prompt_dir = self.switch.config.prompt_dir
        for p in prompts:
            if p.startswith("say:"):
                _, kind, value = p.split(":", 2)
                if kind in ("number", "digits") and value.isdigit():
                    out += (
                        number_names(int(value) % 1000)
                        if kind == "number"
                        else [f"digit_{d}" for d in value]
                    )
                continue
            if (
                ("/" in p and Path(p).exists())
                or (prompt_dir / f"{p}.wav").exists()
                or (PROMPT_DIR / f"{p}.wav").exists()
            ):
                out.append(p)
            else:
                log.warning("sip line: no audio for prompt %r", p)
        return out

    # ---- core commands ------------------------------------------------------------------

    def _command(self, c: cmd.Command) -> None:
        lc = self.calls.get(getattr(c, "call_id", ""))
        if lc is None or lc.ended:
            return
        if isinstance(c, cmd.RingAgent):
            if self.switch.registrar.lookup(c.extension) is None:
                # AG: an agent whose phone is not registered is not rung; the core moves on
                self._core(
                    self.center.apply,
                    AgentRejected(c.agent_id, c.call_id, self.center.now(), "unregistered"),
                )
                return
            lc.rings[c.agent_id] = self.switch.ring(c.call_id, c.extension, timeout=c.timeout + 5.0)
        elif isinstance(c, cmd.StopRinging | cmd.RingMissed):
            leg = lc.rings.pop(c.agent_id, None)
            if leg is not None:
                self.switch.cancel_ring(leg)
        elif isinstance(c, cmd.Bridge):
            if lc.agent is None or lc.agent[0] != c.agent_id:
                # 抢接 (AG-13) from the console: the picker's phone rings, then is bridged
                a = self.center.engine.agents.get(c.agent_id)
                if a is None or self.switch.registrar.lookup(a.extension) is None:
                    return
                old = lc.agent
                lc.agent = (c.agent_id, self.switch.ring(c.call_id, a.extension))
                if old is not None:
                    self.switch.hangup(old[1])
                return
            lc.queued = False
            self.switch.stop_playback(lc.customer_leg)
            # the core's StartRecording follows every Bridge: record first, so the bridge
            # hands the call to the native relay once, already recorded
            self._record(lc)
            self.switch.bridge(c.call_id, lc.agent[1])
        elif isinstance(c, cmd.StartRecording):
            self._record(lc)
        elif isinstance(c, cmd.PlayAnnouncement):
            names = position_names(max(c.position - 1, 0)) + wait_names(int(c.estimated_wait))
            self.played.append((c.call_id, tuple(names)))
            self.switch.play(lc.customer_leg, names, interruptible=False)
        elif isinstance(c, cmd.Hold):
            lc.held = True
            self.switch.hold(c.call_id)
        elif isinstance(c, cmd.Resume):
            lc.held = False
            self.switch.resume(c.call_id)
        elif isinstance(c, cmd.Monitor):
            lc.supervisor_mode = _MIX[c.mode]
            lc.supervisor_id = c.supervisor_id
            if lc.supervisor_leg is not None:
                self.switch.supervise(c.call_id, lc.supervisor_leg, lc.supervisor_mode)
            else:
                self._core(
                    self._extension_of,
                    c.supervisor_id,
                    then=lambda ext: self._ring_supervisor(lc, c.supervisor_id, ext),
                    for_call=lc.call_id,
                )
        elif isinstance(c, cmd.StopMonitor):
            if lc.supervisor_leg is not None:
                leg, lc.supervisor_leg, lc.supervisor_id = lc.supervisor_leg, None, None
                self.switch.hangup(leg)
        elif isinstance(c, cmd.Intercept):
            lc.agent = None  # the agent's leg is dropped when the supervisor takes over
            lc.intercepted = True
            lc.supervisor_id = c.supervisor_id
            lc.supervisor_mode = MixMode.INTERCEPT
            if lc.supervisor_leg is not None:
                self.switch.supervise(c.call_id, lc.supervisor_leg, MixMode.INTERCEPT)
            else:  # not monitoring yet: ring the supervisor; the agent talks until it answers
                sup = c.supervisor_id
                self._core(
                    self._extension_of,
                    sup,
                    then=lambda ext: self._intercept_ring(lc, sup, ext),
                    for_call=lc.call_id,
                )
        elif isinstance(c, cmd.Mute):
            self.switch.mute(c.call_id, c.muted)
        elif isinstance(c, cmd.SendToVoicemail):  # queue overflow to voicemail
            lc.in_core = False
            self._voicemail(lc, c.queue)
            self._core(self._reopen_cdr, c.call_id)  # it ends after the message, not now
        elif isinstance(c, cmd.DialOutside):
            if self.trunk is not None:
                number = c.number
                if self.outside_prefix and number.startswith(self.outside_prefix):
                    number = number[len(self.outside_prefix) :]
                if lc.agent is not None:
                    self.switch.hangup(lc.agent[1])
                    lc.agent = None
                lc.in_core = False
                leg = self.switch.dial_out(c.call_id, number, self.trunk)
                lc.agent = ("outside", leg)
        elif isinstance(
            c,
            cmd.Transferred
            | cmd.ConsultTarget
            | cmd.ConsultConnected
            | cmd.ConsultEnded
            | cmd.TransferCompleted
            | cmd.Conference,
        ):
            self._transfer_command(lc, c)
        elif isinstance(c, cmd.Reject):
            lc.in_core = False
            self._reject(lc, _REJECT_STATUS.get(c.reason, 480))
        elif isinstance(c, cmd.Hangup):
            lc.in_core = False
            if lc.voicemail is not None:  # the agent's phone vanished: the caller leaves a message
                return
            if lc.in_survey:  # 满意度调查: the customer stays on to rate the call
                self.switch.play(lc.customer_leg, ["survey"], interruptible=True)
            else:
                self.switch.hangup_call(c.call_id)
        elif isinstance(c, cmd.CallRecord) and c.outcome.value != "answered":
            lc.in_core = False
            if c.outcome.value not in ("abandoned", "voicemail"):
                self.switch.hangup_call(c.call_id)

    def _intercept_ring(self, lc: LineCall, sup: str, ext: str | None) -> None:
        if lc.ended or lc.supervisor_leg is not None or lc.supervisor_id != sup:
            return
        if ext is not None and self.switch.registrar.lookup(ext) is not None:
            lc.supervisor_leg = self.switch.ring(lc.call_id, ext, role=LegRole.SUPERVISOR)
        else:  # as if the supervisor's phone had refused: the core ends the call
            log.warning("sip line: intercept by %s: no phone registered", sup)
            lc.in_core = False
            self._core(self.center.apply, AgentHungUp(sup, lc.call_id, self.center.now()))

    def _ring_supervisor(self, lc: LineCall, supervisor: str, ext: str | None) -> None:
        if ext is None or lc.ended or lc.supervisor_id != supervisor:  # stopped meanwhile
            return
        if lc.supervisor_leg is None:
            lc.supervisor_leg = self.switch.ring(lc.call_id, ext, role=LegRole.SUPERVISOR)

    # ---- click-to-dial and the outbound hours (SLA-03) -----------------------------------

    def hours_refusal(self) -> str | None:
        """Why an outbound call may not start now (SLA-03), or None when it may."""
        if self.hours is None:
            return None
        tz = ZoneInfo(self.hours_tz)
        local = dt.datetime.fromtimestamp(self.wall_clock(), tz)
        if self.hours.allows(local.time()):
            return None
        return (
            f"outbound calls are allowed only {self.hours.describe()} ({self.hours_tz}); "
            f"it is {local:%H:%M} there now"
        )

    def _busy_with_call(self, agent_id: str, extension: str) -> bool:
        for lc in self.calls.values():
            if lc.dial is not None and lc.dial.agent_id == agent_id:
                return True
            if lc.agent is not None and lc.agent[0] == agent_id:
                return True
            if agent_id in lc.rings or (lc.direct and lc.caller == extension):
                return True
        return False

    def click_to_dial(self, agent_id: int, number: str) -> str:
        """Ring the agent's phone (showing the customer's number); once it answers, dial the
        customer through the trunk. Returns the call id. Call on the event loop.

        Raises `DialRefused` (reason: bad-number, no-trunk, outside-hours, not-logged-in,
        on-call, not-registered) before anything rings.
        """
        try:
            bare = normalise_number(number)
        except ValueError as exc:
            raise DialRefused("bad-number", str(exc)) from None
        if self.trunk is None:
            raise DialRefused(
                "no-trunk", "no trunk for outside numbers is configured (KEFU_SIP_GATEWAY)"
            )
        refusal = self.hours_refusal()
        if refusal is not None:
            raise DialRefused("outside-hours", refusal)
        aid = str(agent_id)
        view = self.center.agent_view(agent_id)
        if view.state is AgentState.LOGGED_OUT:
            raise DialRefused("not-logged-in", "log the seat in before dialling")
        with self.center.db.session() as s:
            agent = s.get(Agent, agent_id)
            extension = agent.extension if agent is not None else ""
        if view.state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.ON_HOLD) or (
            self._busy_with_call(aid, extension)
        ):
            raise DialRefused("on-call", "the agent is already on a call")
        if not extension or self.switch.registrar.lookup(extension) is None:
            raise DialRefused(
                "not-registered",
                f"the phone of extension {extension or '(none)'} is not registered: "
                "start the softphone and try again",
            )
        try:
            call_id, leg = self.switch.originate(extension, bare, timeout=self.dial_timeout)
        except SwitchError as exc:
            raise DialRefused("not-registered", str(exc)) from None
        now = time.time()
        d = ClickDial(aid, extension, bare)
        lc = LineCall(call_id, leg, extension, bare, now, dial=d, direction="click_to_dial")
        self.calls[call_id] = lc
        from kefu.store.models import Direction

        with self.center.db.session() as s:
            s.add(
                Call(
                    id=call_id,
                    direction=Direction.OUTBOUND,
                    agent_id=agent_id,
                    caller=self.outbound_caller_id or extension,
                    callee=bare,
                    offered_at=_dt(now),
                    ringing_at=_dt(now),
                )
            )
            s.flush()
            s.add(
                CallLeg(
                    call_id=call_id,
                    party=Party.AGENT,
                    address=extension,
                    agent_id=agent_id,
                    started_at=_dt(now),
                )
            )
        # the core must not offer a queue call to the seat meanwhile: busy until the end
        if view.state in (AgentState.IDLE, AgentState.AFTER_CALL_WORK):
            with contextlib.suppress(CoreError):
                self.center.set_state(agent_id, AgentState.BUSY, "click_to_dial")
                d.restore = AgentState.IDLE
        self.center.hub.publish(
            f"agent:{aid}", {"type": "dialing", "call_id": call_id, "number": bare}
        )
        self._refresh(call_id)
        return call_id

    def _dial_cdr(self, lc: LineCall, **changes: Any) -> None:
        """Update the click-to-dial CDR (on the core thread; see `_dial_cdr_rows`)."""
        self._core(self._dial_cdr_rows, lc, **changes)

    def _dial_cdr_rows(
        self,
        lc: LineCall,
        *,
        agent_answered: float | None = None,
        customer_dialled: bool = False,
        customer_answered: float | None = None,
        disposition: Any = None,
    ) -> None:
        """Update the click-to-dial CDR: the call row and its agent and customer legs."""
        with self.center.db.session() as s:
            call = s.get(Call, lc.call_id)
            legs = {
                leg.party: leg
                for leg in s.scalars(select(CallLeg).where(CallLeg.call_id == lc.call_id))
            }
            if agent_answered is not None and Party.AGENT in legs:
                legs[Party.AGENT].answered_at = _dt(agent_answered)
            if customer_dialled and Party.CUSTOMER not in legs:
                s.add(
                    CallLeg(
                        call_id=lc.call_id,
                        party=Party.CUSTOMER,
                        address=lc.dialed,
                        started_at=_dt(time.time()),
                    )
                )
            if customer_answered is not None:
                if Party.CUSTOMER in legs:
                    legs[Party.CUSTOMER].answered_at = _dt(customer_answered)
                if call is not None:
                    call.answered_at = _dt(customer_answered)
            if disposition is not None and call is not None:
                call.disposition = disposition

    def _dial_answered(self, lc: LineCall, d: ClickDial, ev: LegAnswered) -> None:
        if ev.leg_id == lc.customer_leg and not d.agent_answered:
            # the agent took the call: now the customer's phone rings through the trunk;
            # the agent hears ringback meanwhile
            d.agent_answered = True
            self._dial_cdr(lc, agent_answered=ev.at)
            self.switch.ringback_tone(lc.customer_leg)
            assert self.trunk is not None
            try:
                leg = self.switch.dial_out(
                    lc.call_id,
                    d.number,
                    self.trunk,
                    timeout=self.dial_timeout,
                    caller=self.outbound_caller_id or d.extension,
                )
            except SwitchError as exc:
                log.warning("click-to-dial %s: %s", lc.call_id, exc)
                d.outcome = "failed"
                from kefu.store.models import Disposition

                self._dial_cdr(lc, disposition=Disposition.NO_ANSWER)
                self._close(lc, ["extension_no_answer", "goodbye"])
                return
            lc.agent = ("outside", leg)
            self._dial_cdr(lc, customer_dialled=True)
        elif lc.agent is not None and ev.leg_id == lc.agent[1]:
            d.customer_answered = True
            d.outcome = "answered"
            lc.connected = True
            self.switch.bridge(lc.call_id, ev.leg_id)
            # CC-04: recorded like every call, the customer left and the agent right
            self._record(lc, swap=True)
            from kefu.store.models import Disposition

            self._dial_cdr(lc, customer_answered=ev.at, disposition=Disposition.ANSWERED)

    def _dial_leg_ended(self, lc: LineCall, d: ClickDial, ev: LegEnded) -> None:
        from kefu.store.models import Disposition

        if ev.leg_id == lc.customer_leg:  # the agent's phone
            if not d.agent_answered:  # declined or never answered: nobody else was dialled
                d.outcome = "agent_no_answer"
                lc.hangup_by = Party.AGENT if ev.by is HangupBy.REJECTED else Party.SYSTEM
                self._dial_cdr(lc, disposition=Disposition.AGENT_NO_ANSWER)
            elif ev.by is HangupBy.REMOTE:
                lc.hangup_by = Party.AGENT
                if not d.customer_answered:  # the agent gave up while the customer rang
                    d.outcome = "no_answer"
                    self._dial_cdr(lc, disposition=Disposition.NO_ANSWER)
            else:
                lc.hangup_by = lc.hangup_by or Party.SYSTEM
            return
        if lc.agent is None or ev.leg_id != lc.agent[1]:
            return
        lc.agent = None
        if d.customer_answered:
            if ev.by is HangupBy.REMOTE:
                lc.hangup_by = Party.CUSTOMER
            self.switch.hangup_call(lc.call_id)
        elif ev.by is not HangupBy.PEER_LEG:  # busy or no answer: the agent hears why
            busy = ev.status in (486, 600, 603)
            d.outcome = "busy" if busy else "no_answer"
            lc.hangup_by = Party.CUSTOMER if busy else Party.SYSTEM
            self._dial_cdr(lc, disposition=Disposition.BUSY if busy else Disposition.NO_ANSWER)
            self._close(lc, ["extension_busy" if busy else "extension_no_answer", "goodbye"])

    def _dial_ended(self, lc: LineCall, d: ClickDial) -> None:
        """The seat's state comes back; the outcome is kept for the console and the audit."""
        self.dialled.append((lc.call_id, d.outcome))
        self._core(self._dial_ended_core, lc, d)

    def _dial_ended_core(self, lc: LineCall, d: ClickDial) -> None:
        if d.restore is not None:
            view = self.center.agent_view(int(d.agent_id))
            if view.state is AgentState.BUSY and view.reason == "click_to_dial":
                with contextlib.suppress(CoreError):
                    self.center.set_state(int(d.agent_id), d.restore)
        with self.center.db.session() as s:
            agent = s.get(Agent, int(d.agent_id))
            from kefu.store.repositories import AuditRepository

            AuditRepository(s).record(
                "agent.click_to_dial.ended",
                actor=agent.user if agent is not None else None,
                target=d.number,
                detail={"call_id": lc.call_id, "agent_id": d.agent_id, "outcome": d.outcome},
            )
        self.center.hub.publish(
            f"agent:{d.agent_id}",
            {"type": "dial_ended", "call_id": lc.call_id, "outcome": d.outcome},
        )

    # ---- transfer, consult and three-way calls ---------------------------------------------

    def _transfer_command(
        self,
        lc: LineCall,
        c: cmd.Transferred
        | cmd.ConsultTarget
        | cmd.ConsultConnected
        | cmd.ConsultEnded
        | cmd.TransferCompleted
        | cmd.Conference,
    ) -> None:
        if isinstance(c, cmd.Transferred):  # blind: the agent leaves, the caller waits
            if lc.agent is not None and lc.agent[0] == c.agent_id:
                leg, lc.agent = lc.agent[1], None
                self.switch.notify_refer(leg, 200)  # a REFER from the phone succeeded
                self.switch.hangup(leg)
            lc.queued = True
            self._moh(lc)
        elif isinstance(c, cmd.ConsultTarget):
            placed = self._call_party(lc, c.kind is TransferKind.OUTSIDE, c.extension)
            if placed is None:
                self._core(
                    self.center.apply, ConsultFailed(c.agent_id, self.center.now(), "unreachable")
                )
                return
            lc.consult = (c.target, placed)
        elif isinstance(c, cmd.ConsultConnected):
            if lc.consult is not None:
                self.switch.consult(lc.call_id, lc.consult[1])
        elif isinstance(c, cmd.ConsultEnded):
            if lc.consult is not None:
                leg = lc.consult[1]
                lc.consult = None
                self.switch.end_consult(lc.call_id)
                self.switch.hangup(leg)
        elif isinstance(c, cmd.TransferCompleted):
            if lc.consult is None:
                return
            leg = lc.consult[1]
            lc.consult = None
            outside = c.kind is TransferKind.OUTSIDE
            lc.agent = ("outside" if outside else c.target, leg)
            if outside:  # the call has left the center: the line only relays it now
                lc.in_core = False
            self.switch.transfer_bridge(lc.call_id, leg)
        else:  # Conference: ring the agent's phone, or dial the number through the trunk
            agent = self.center.engine.agents.get(c.party)
            address = c.party if agent is None else agent.extension
            placed = self._call_party(lc, agent is None, address)
            if placed is None:
                self._core(self.center.apply, PartyLeft(lc.call_id, c.party, self.center.now()))
                return
            lc.parties[c.party] = placed

    def _call_party(self, lc: LineCall, outside: bool, address: str) -> str | None:
        """Ring an extension or dial an outside number for the call; None if unreachable."""
        if not outside:
            if self.switch.registrar.lookup(address) is None:
                return None
            return self.switch.ring(lc.call_id, address, timeout=25.0)
        if self.trunk is None:
            return None
        p = self.outside_prefix
        number = address[len(p) :] if p and address.startswith(p) else address
        try:
            return self.switch.dial_out(lc.call_id, number, self.trunk, timeout=25.0)
        except SwitchError:
            return None

    def _transfer_leg_answered(self, lc: LineCall, ev: LegAnswered) -> bool:
        if lc.consult is not None and lc.consult[1] == ev.leg_id:
            if lc.agent is not None and lc.in_core:
                self._core(self.center.apply, ConsultAnswered(lc.agent[0], self.center.now()))
            return True
        for leg in lc.parties.values():
            if leg == ev.leg_id:
                self.switch.conference(lc.call_id, leg)
                return True
        return False

    def _transfer_leg_ended(self, lc: LineCall, ev: LegEnded) -> bool:
        ours = ev.by in (HangupBy.SWITCH, HangupBy.PEER_LEG)
        if lc.consult is not None and lc.consult[1] == ev.leg_id:
            lc.consult = None
            if not ours and lc.in_core and lc.agent is not None:
                if ev.status in (408, 480) or ev.by is HangupBy.TIMEOUT:
                    reason = "no_answer"
                elif ev.status:
                    reason = "declined"
                else:
                    reason = "hung_up"
                self._core(self.center.apply, ConsultFailed(lc.agent[0], self.center.now(), reason))
            return True
        for party, leg in list(lc.parties.items()):
            if leg == ev.leg_id:
                del lc.parties[party]
                if not ours and lc.in_core:  # (a CoreError there is only logged)
                    self._core(self.center.apply, PartyLeft(lc.call_id, party, self.center.now()))
                return True
        return False

    def _refer(self, lc: LineCall, ev: ReferRequested) -> None:
        """REFER from the agent's phone (its transfer button): a blind transfer by the core.

        Refer-To names an extension (to that agent), the outside prefix + a number (needs the
        agent's permission) or a queue's number. The phone hears 202 at once, then a NOTIFY:
        200 when the core took the transfer, 403 refused, 404 unknown target, 480 not now.
        """
        if lc.agent is None or lc.agent[1] != ev.leg_id or not lc.in_core:
            self.switch.notify_refer(ev.leg_id, 403, "Forbidden")
            return
        leg = ev.leg_id
        self._core(
            self._refer_transfer,
            lc.agent[0],
            ev.target,
            then=lambda st: self.switch.notify_refer(leg, *st),
        )

    def _refer_transfer(self, aid: str, target: str) -> tuple[int, str]:
        """Core thread: look the REFER's target up and ask the core; the NOTIFY's status."""
        kind: TransferKind | None = None
        p = self.outside_prefix
        agent = self._agent_of_extension(target)
        if agent is not None:
            kind, target = TransferKind.AGENT, agent
        elif p and target.startswith(p) and target[len(p) :].isdigit() and len(target) > len(p) + 2:
            kind, target = TransferKind.OUTSIDE, target[len(p) :]
        else:
            route, queue = self._route(target)
            if route == "queue" and isinstance(queue, str):
                kind, target = TransferKind.QUEUE, queue
        if kind is None:
            return 404, "Not Found"
        try:
            self.center.transfer(int(aid), kind, target)
        except PermissionDenied:
            return 403, "Forbidden"
        except CoreError:
            return 480, "Temporarily Unavailable"
        return 200, ""

    def _reject(self, lc: LineCall, status: int) -> None:
        """Refuse: an answered call (after the IVR) hears 'busy' and is hung up."""
        try:
            self.switch.reject(lc.call_id, status)
        except SwitchError:
            self.switch.hangup_call(lc.call_id)

    def _extension_of(self, user_or_agent: str) -> str | None:
        if not user_or_agent.isdigit():
            return None
        with self.center.db.session() as s:
            a = s.scalar(select(Agent).where(Agent.user_id == int(user_or_agent)))
            if a is None:
                a = s.get(Agent, int(user_or_agent))
            return a.extension if a is not None else None


def _recording(lc: LineCall) -> bool:
    """Whether the caller's voicemail message is being recorded."""
    return lc.voicemail is not None and lc.voicemail.wav is not None


def _cancel(handle: asyncio.TimerHandle | None) -> None:
    if handle is not None:
        handle.cancel()


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or fn)


def _is_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _log_failure(fut: Any) -> None:
    exc = fut.exception()
    if exc is not None:
        log.error("sip line: recording write failed", exc_info=exc)


@dataclass
class AgentCredentials:
    """Digest HA1 of the agents' extensions, from the `agents` table (never a password)."""

    db: Database
    ttl: float = 5.0  # REGISTER refreshes are answered from memory for this long
    _seen: dict[str, tuple[str | None, float]] = field(default_factory=dict)

    def ha1_for(self, username: str, realm: str) -> str | None:
        """The stored HA1 of extension `username` (computed by the admin for realm kefu).

        Read on the event loop (the registrar is synchronous), so kept a few seconds: a
        phone re-registering does not wait on the database each time.
        """
        hit = self._seen.get(username)
        now = time.monotonic()
        if hit is not None and now - hit[1] < self.ttl:
            return hit[0]
        with self.db.session() as s:
            ha1 = s.scalar(select(Agent.sip_ha1).where(Agent.extension == username))
        self._seen[username] = (ha1, now)
        return ha1


async def open_line(center: Center, settings: Settings) -> SipLine:
    """Start the switch on the settings' SIP address and connect it to `center`."""
    gateway = settings.sip_gateway
    config = SwitchConfig(
        host=settings.sip_host,
        port=settings.sip_port,
        tcp=settings.sip_tcp,
        trunk_allow=tuple(settings.sip_trunk_allow),
        codecs=settings.sip_codec_types,
        id_prefix=f"sip{int(time.time())}-",  # call ids stay unique across restarts
    )
    if gateway:
        host, _, port = gateway.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError("KEFU_SIP_GATEWAY", f"cannot read {gateway!r}", "Use HOST:PORT.")
        config.trunks["gateway"] = (host, int(port))
    switch = SipSwitch(config, credentials=AgentCredentials(center.db))
    line = SipLine(
        switch,
        center,
        recordings=settings.data_dir / "recordings",
        trunk="gateway" if gateway else None,
        outside_prefix=settings.sip_outside_prefix,
        survey=settings.sip_survey,
        hours=settings.calling_hours,
        hours_tz=settings.outbound_timezone,
        lost_agent=settings.sip_lost_agent,
        voicemail_max=settings.sip_voicemail_max_s,
        calendar=center.calendar,  # SV-04: with the admin's holiday schedules
    )
    from kefu.services.call_scoring import CallScorer

    scorer = CallScorer(center.db)
    line.on_call_ended.append(scorer)  # timing-only QA of each call
    scorer.score_unscored()  # the calls still queued for it when the process last stopped
    line.attach()
    try:
        await switch.start()
    except OSError as exc:
        line.detach()
        raise ConfigError(
            "KEFU_SIP_PORT",
            f"cannot listen on {config.host}:{config.port} for SIP ({exc.strerror})",
            "Stop what uses it, pick another with KEFU_SIP_PORT, or run with --no-sip.",
        ) from None
    # A full garbage collection walks every object of the process (~180k once the app is
    # loaded: 50-150 ms with the interpreter lock held, every call's audio stops). What exists
    # now lives as long as the process: freeze it, so later collections only see new objects.
    gc.collect()
    gc.freeze()
    # Calls keep making objects that live a while (dialogs, transactions kept 32 s for
    # retransmissions): collect the young ones in bigger batches, so the full collections
    # these trigger (each still tens of ms) come about 15 times less often.
    g0, g1, g2 = gc.get_threshold()
    gc.set_threshold(max(g0, 10_000), g1, g2)
    # The loop wakes for every RTP packet while the core and QA threads compute; a thread
    # that wants the interpreter waits up to this interval for it (default 5 ms per wake).
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
    return line


async def close_line(line: SipLine) -> None:
    """Hang up every call (their CDRs are finished), then stop the switch."""
    await line.switch.stop()
    for _ in range(500):  # the queued events reach the center, the CDRs are finished
        await asyncio.sleep(0.02)
        if not line.calls:
            break
    line.detach()
    for cb in line.on_call_ended:  # e.g. the QA scorer's worker process
        close = getattr(cb, "close", None)
        if close is not None:
            close()
