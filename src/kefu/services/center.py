"""The runtime that holds the pure ACD core (`kefu.core.acd.ContactCenter`) for the web process.

Theory of operation: every change goes through `Center.apply(event)`, under one lock. The
engine returns commands; `_execute` persists what the store keeps (CDRs, legs, holds,
missed rings, audit) and publishes live events on the hub (screen pop, agent states,
queue changes). The core thread (`CoreThread`, started by `start`) drives the engine's
timers with wall-clock time: it waits until `next_deadline()` (or until an event may have
moved it) and calls `handle_timer(now)`; the SIP line sends its calls into the center
through the same thread, so no database write ever runs on the event loop. Web requests
call the center from their own worker threads; the lock keeps them apart. Audio (ringing
real phones, bridging, listen/whisper/barge mixing) belongs to the SIP adapter; here only
the core state changes, the CDR and the audit happen.

Agent ids in the core are the `agents.id` primary keys as strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import OperationalError

from kefu.core import commands as cmd
from kefu.core.acd import CenterConfig, ContactCenter, HoldPolicy
from kefu.core.agent import ON_A_CALL, AgentState
from kefu.core.calendar import HolidayCalendar
from kefu.core.errors import PermissionDenied, UnknownAgent
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLoggedIn,
    AgentLoggedOut,
    BlacklistChanged,
    CallArrived,
    CallerHungUp,
    ConferenceRequested,
    ConsultCancelRequested,
    ConsultCompleteRequested,
    ConsultRequested,
    Event,
    HoldRequested,
    MuteRequested,
    PickupRequested,
    ResumeRequested,
    SkillGroupSignedIn,
    SkillGroupSignedOut,
    StateRequested,
    SupervisorRequested,
    TransferKind,
    TransferRequested,
)
from kefu.core.queue import OverflowKind as CoreOverflow
from kefu.core.queue import QueueConfig
from kefu.core.queue import Strategy as CoreStrategy
from kefu.core.supervision import Role as CoreRole
from kefu.core.supervision import SupervisorAction
from kefu.core.wallboard import AgentView, WaitingCallView
from kefu.services.core_thread import CoreThread
from kefu.services.live import LiveHub
from kefu.services.progress import CallsInProgress
from kefu.store import call_rows
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AgentStateLog,
    BlacklistEntry,
    CallHold,
    Direction,
    Disposition,
    Number,
    NumberTarget,
    Party,
    Queue,
    QueueSkill,
    Role,
    Skill,
    SkillGroup,
    SkillGroupMember,
    User,
)
from kefu.store.repositories import AuditRepository

DEFAULT_QUEUE = "default"
_WRITE_RETRIES = 5
_OUTCOME_DISPOSITION = {
    "answered": Disposition.ANSWERED,
    "abandoned": Disposition.ABANDONED,
    "overflowed": Disposition.OVERFLOWED,
    "voicemail": Disposition.VOICEMAIL,
    "rejected": Disposition.REJECTED,
}


class Telephony(Protocol):
    """Real calls behind the center (the SIP line): it hears every command the core issues."""

    def owns(self, call_id: str) -> bool:
        """Whether the call is on this telephony (not a virtual console/demo call)."""

    def command(self, c: cmd.Command, now: float) -> None:
        """Carry out a core command on the real call (after the center persisted it)."""


def _dt(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


@dataclass(slots=True)
class LiveCall:
    """What the web process remembers of an active call, beyond the core's state."""

    call_id: str
    caller: str
    region: str
    queue: str | None
    customer_id: int | None = None
    agent_id: str | None = None
    hold_started: float | None = None
    ringing: set[str] = field(default_factory=set)


def build_config(db: Database) -> tuple[CenterConfig, dict[str, int]]:
    """The core configuration from the store: queues, their skills and numbers, blacklist."""
    with db.session() as session:
        queues = session.scalars(select(Queue).order_by(Queue.id)).all()
        skills = {s.id: s.name for s in session.scalars(select(Skill))}
        groups = {g.id: g.name for g in session.scalars(select(SkillGroup))}
        numbers: dict[int, list[str]] = {}
        for n in session.scalars(select(Number).where(Number.target == NumberTarget.QUEUE)):
            if n.queue_id is not None:
                numbers.setdefault(n.queue_id, []).append(n.number)
        required: dict[int, dict[str, int]] = {}
        for qs in session.scalars(select(QueueSkill)):
            required.setdefault(qs.queue_id, {})[skills[qs.skill_id]] = qs.min_level
        names = {q.id: q.name for q in queues}
        configs = []
        for q in queues:
            need = dict(required.get(q.id, {}))
            if q.skill_group_id is not None:
                need[group_key(groups[q.skill_group_id])] = 1
            overflow = CoreOverflow.REJECT
            if q.overflow.value in ("queue", "voicemail", "callback"):
                overflow = CoreOverflow(q.overflow.value)
            configs.append(
                QueueConfig(
                    name=q.name,
                    numbers=tuple(numbers.get(q.id, ())),
                    priority=q.priority,
                    strategy=CoreStrategy(q.strategy.value),
                    skills=need,
                    ring_timeout=float(q.ring_timeout_s),
                    max_wait=float(q.max_wait_s),
                    overflow=overflow,
                    overflow_queue=names.get(q.overflow_queue_id or -1),
                    owner_wait=float(q.owner_wait_s),
                )
            )
        ids = {q.name: q.id for q in queues}
        if not configs:
            configs.append(QueueConfig(name=DEFAULT_QUEUE))
        blacklist = frozenset(e.number for e in session.scalars(select(BlacklistEntry)))
    return (
        CenterConfig(queues=tuple(configs), blacklist=blacklist, default_queue=configs[0].name),
        ids,
    )


log = logging.getLogger(__name__)

# agent id, new state, reason, call id, when
_StateRow = tuple[int, AgentState, str, str | None, dt.datetime]


class StateLogWriter:
    """CC-10: writes agent state intervals (`agent_state_log`) on a thread of its own, in
    batches, so that the event loop (and with it the SIP media clock) never waits for the
    database on a state change. Rows are written in order; `flush()` waits for them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: queue.Queue[_StateRow | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.gather_s = 0.2  # the log feeds reports, not the live view: a moment late is fine

    def put(self, row: _StateRow) -> None:
        """Queue one state change."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kefu-state-log", daemon=True
                )
                self._thread.start()
        self._queue.put(row)

    def flush(self) -> None:
        """Wait until every queued change is written."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch: list[_StateRow | None] = [first]
            if first is not None:
                # gather what comes in the next moment: one transaction for many changes
                time.sleep(self.gather_s)
            with contextlib.suppress(queue.Empty):
                while len(batch) < 500:
                    batch.append(self._queue.get_nowait())
            rows = [r for r in batch if r is not None]
            try:
                if rows:
                    self._write(rows)
            except Exception:  # a lost interval must not stop the writer
                log.exception("agent state log: %d changes not written", len(rows))
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    def _write(self, rows: list[_StateRow]) -> None:
        # One UPDATE per agent (its open interval ends at its first change in the batch) and
        # one multi-row INSERT: a change within the batch ends at the agent's next change.
        # Same rows as closing and inserting one change at a time, with a fraction of the
        # statements (at hundreds of calls this writer was a sixth of the interpreter's time).
        first: dict[int, dt.datetime] = {}
        inserts: list[dict[str, Any]] = []
        open_row: dict[int, dict[str, Any]] = {}  # agent -> its last inserted row (still open)
        for agent_id, state, reason, call_id, at in rows:
            first.setdefault(agent_id, at)
            prev = open_row.pop(agent_id, None)
            if prev is not None:
                prev["ended_at"] = at
            if state is not AgentState.LOGGED_OUT:
                row = {
                    "agent_id": agent_id,
                    "state": state.value,
                    "reason": reason[:64],
                    "call_id": call_id,
                    "started_at": at,
                    "ended_at": None,
                }
                inserts.append(row)
                open_row[agent_id] = row
        for attempt in range(_WRITE_RETRIES):
            try:
                with self.db.engine.begin() as conn:
                    conn.execute(
                        _CLOSE_INTERVAL, [{"agent": a, "at": at} for a, at in first.items()]
                    )
                    if inserts:
                        conn.execute(_OPEN_INTERVAL, inserts)
                return
            except OperationalError as exc:
                if "locked" not in str(exc) or attempt == _WRITE_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))


_STATE_LOG = cast(Table, AgentStateLog.__table__)
# built once: executed with many parameter sets per batch
_CLOSE_INTERVAL = (
    update(_STATE_LOG)
    .where(_STATE_LOG.c.agent_id == bindparam("agent"), _STATE_LOG.c.ended_at.is_(None))
    .values(ended_at=bindparam("at", type_=_STATE_LOG.c.ended_at.type))
)
_OPEN_INTERVAL = insert(_STATE_LOG)


def group_key(name: str) -> str:
    """The core skill key of a skill group (groups and skills share the core's namespace)."""
    return f"group:{name}"


class Center:
    """The live contact center of this process. See the module docstring."""

    def __init__(
        self,
        db: Database,
        hub: LiveHub,
        clock: Callable[[], float] = time.time,
        *,
        hold: HoldPolicy | None = None,
    ) -> None:
        self.db = db
        self.hub = hub
        self.clock = clock
        self.hold_policy = hold or HoldPolicy()  # SLA-04
        self.state_log = StateLogWriter(db)  # CC-10
        self._held = threading.local()  # publishes waiting for `_execute`'s commit
        config, self.queue_ids = build_config(db)
        config = dataclasses.replace(config, hold=self.hold_policy)
        self.engine = ContactCenter(config)
        self.calls: dict[str, LiveCall] = {}
        self.agent_labels: dict[str, str] = {}  # core id -> 工号
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # timers and the SIP line's database work run here, never on the event loop
        self.worker = CoreThread(self._next_deadline, self._fire_timers, clock)
        self._seq = 0
        # SV-04: the holiday calendar of the IVR, chat and console; the app gives it the
        # admin's stored schedules (kefu.services.holidays.StoredCalendar)
        self.calendar: HolidayCalendar = HolidayCalendar()
        # The SIP line, when `kefu serve` runs a switch; None keeps every call virtual.
        self.telephony: Telephony | None = None
        # The line's calls as the wallboard shows them, IVR and direct calls included (CC-06).
        self.progress = CallsInProgress()

    # -- the core thread: timers and the SIP line's database work ---------------------------
    async def start(self) -> None:
        """Start driving the engine's timers with wall-clock time (on the core thread)."""
        self._loop = asyncio.get_running_loop()
        self.hub.bind(self._loop)
        self.worker.start()

    async def stop(self) -> None:
        """Finish the queued work, stop the core thread, write the queued agent state changes."""
        await asyncio.to_thread(self.worker.stop)
        await asyncio.to_thread(self.state_log.close)

    def _next_deadline(self) -> float | None:
        with self._lock:
            return self.engine.next_deadline()

    def _fire_timers(self) -> None:
        self.tick()

    def tick(self) -> list[cmd.Command]:
        """Run the engine's timers due at `clock()`; the core thread calls it, and so do tests
        with an injected clock."""
        now = self.clock()
        with self._lock:
            due = self.engine.next_deadline()
            if due is None or due > now:
                return []
            out = self.engine.handle_timer(now)
            self._execute(out, now)
        return out

    def _poke(self) -> None:
        self.worker.wake()

    # -- applying events -------------------------------------------------------------------
    def apply(self, event: Event, before: Callable[[], None] | None = None) -> list[cmd.Command]:
        """Apply one event to the core and carry out its commands.

        `before` writes what the commands' rows need first, in their transaction (on its
        own if the core refuses the event)."""
        with self._lock:
            try:
                out = self.engine.handle(event)
            except Exception as exc:
                if before is not None:
                    before()
                if isinstance(exc, PermissionDenied) and exc.audit is not None:
                    self._execute([exc.audit], self.clock())  # AG-22: refused ones audited
                raise
            self._execute(out, self.clock(), before)
        self._poke()
        return out

    def now(self) -> float:
        """The engine's clock."""
        return self.clock()

    def reload(self) -> bool:
        """Rebuild the core from the stored configuration (queues, numbers, skills, blacklist).

        Only between calls: returns False, changing nothing, while any call is in the center.
        Logged-in agents are logged in again, idle ones idle, the others busy.
        """
        with self._lock:
            if self.engine.calls:
                return False
            seats = {
                aid: a.state
                for aid, a in self.engine.agents.items()
                if a.state is not AgentState.LOGGED_OUT
            }
            config, self.queue_ids = build_config(self.db)
            self.engine = ContactCenter(dataclasses.replace(config, hold=self.hold_policy))
            self.calls.clear()
            for aid, state in seats.items():
                self.agent_login(int(aid), ready=state is AgentState.IDLE)
        self._poke()
        return True

    # -- agents (AG-01..AG-06, AG-09, AG-13) -------------------------------------------------
    def agent_login(self, agent_id: int, *, ready: bool = False) -> AgentView:
        """Log the agent's seat in (busy unless `ready`) with their skills and groups."""
        aid = str(agent_id)
        with self.db.session() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise KeyError(agent_id)
            skills = {s.skill.name: s.level for s in agent.skills}
            signed = set(skills)
            for m in session.execute(
                select(SkillGroupMember.signed_in, SkillGroup.name)
                .join(SkillGroup, SkillGroup.id == SkillGroupMember.group_id)
                .where(SkillGroupMember.agent_id == agent_id)
            ):
                skills[group_key(m.name)] = 1
                if m.signed_in:
                    signed.add(group_key(m.name))
            role = CoreRole(agent.user.role.value)
            extension = agent.extension
            outside = agent.may_transfer_outside
            self.agent_labels[aid] = agent.agent_no
        with self._lock:
            existing = self.engine.agents.get(aid)
            if existing is None or existing.state is AgentState.LOGGED_OUT:
                self.apply(
                    AgentLoggedIn(
                        aid,
                        self.clock(),
                        extension=extension,
                        skills=skills,
                        signed_in=frozenset(signed),
                        role=role,
                        may_transfer_outside=outside,
                        ready=ready,
                    )
                )
            return self.agent_view(agent_id)

    def is_logged_in(self, agent_id: int) -> bool:
        """Whether the agent's seat is logged in."""
        a = self.engine.agents.get(str(agent_id))
        return a is not None and a.state is not AgentState.LOGGED_OUT

    def agent_logout(self, agent_id: int) -> None:
        """Log the seat out (after the call, if on one)."""
        if self.is_logged_in(agent_id):
            self.apply(AgentLoggedOut(str(agent_id), self.clock()))

    def set_state(self, agent_id: int, state: AgentState, reason: str = "") -> AgentView:
        """示闲 / 示忙 (with a reason) / 小休 (AG-05)."""
        self.apply(StateRequested(str(agent_id), state, self.clock(), reason))
        return self.agent_view(agent_id)

    def mute(self, agent_id: int, muted: bool) -> None:
        """静音 on the current call."""
        self.apply(MuteRequested(str(agent_id), muted, self.clock()))

    def sign_group(self, agent_id: int, group: str, signed_in: bool) -> AgentView:
        """签入/签出 a skill group (AG-06); the membership row remembers it."""
        with self.db.session() as session:
            row = session.execute(
                select(SkillGroupMember)
                .join(SkillGroup, SkillGroup.id == SkillGroupMember.group_id)
                .where(SkillGroupMember.agent_id == agent_id, SkillGroup.name == group)
            ).scalar_one_or_none()
            if row is None:
                raise LookupError(group)
            row.signed_in = signed_in
        if self.is_logged_in(agent_id):
            key = group_key(group)
            now = self.clock()
            aid = str(agent_id)
            self.apply(
                SkillGroupSignedIn(aid, key, now)
                if signed_in
                else SkillGroupSignedOut(aid, key, now)
            )
        return self.agent_view(agent_id)

    def answer(self, agent_id: int, call_id: str) -> None:
        """The agent answers the offered call (the softphone's answer)."""
        self.apply(AgentAnswered(str(agent_id), call_id, self.clock()))

    def hangup(self, agent_id: int) -> None:
        """The agent hangs up their call."""
        a = self.engine.agents.get(str(agent_id))
        if a is None or a.call is None:
            from kefu.core.errors import IllegalTransition

            raise IllegalTransition(f"agent {agent_id}", a.state if a else None, "hang up")
        self.apply(AgentHungUp(str(agent_id), a.call.id, self.clock()))

    def hold(self, agent_id: int) -> None:
        """Hold (AG-09)."""
        self.apply(HoldRequested(str(agent_id), self.clock()))

    def resume(self, agent_id: int) -> None:
        """Resume (AG-09)."""
        self.apply(ResumeRequested(str(agent_id), self.clock()))

    def transfer(self, agent_id: int, kind: TransferKind, target: str) -> None:
        """Transfer to an agent (by id), a queue or an outside number (AG-08)."""
        self.apply(TransferRequested(str(agent_id), kind, target, self.clock()))

    def consult(self, agent_id: int, kind: TransferKind, target: str) -> None:
        """Attended transfer, step 1: hold the caller and call an agent (by id) or an outside
        number (needs the permission) for a consultation. A queue is transferred blind only."""
        self.apply(ConsultRequested(str(agent_id), kind, target, self.clock()))

    def complete_transfer(self, agent_id: int) -> None:
        """Attended transfer, step 2: the caller is joined to the consulted party."""
        self.apply(ConsultCompleteRequested(str(agent_id), self.clock()))

    def cancel_consult(self, agent_id: int) -> None:
        """Drop the consulted party and take the caller back off hold."""
        self.apply(ConsultCancelRequested(str(agent_id), self.clock()))

    def conference(self, agent_id: int, party: str) -> None:
        """Three-way call with an agent id or an outside number (AG-08)."""
        self.apply(ConferenceRequested(str(agent_id), party, self.clock()))

    def pickup(self, agent_id: int, call_id: str) -> None:
        """抢接 a call ringing at another agent (AG-13)."""
        self.apply(PickupRequested(str(agent_id), call_id, self.clock()))

    def supervise(
        self, actor: int, role: Role, action: SupervisorAction, target_agent: int, reason: str = ""
    ) -> None:
        """A supervisor action (AG-15..AG-21); the core checks the role and audits."""
        self.apply(
            SupervisorRequested(
                str(actor), CoreRole(role.value), action, str(target_agent), self.clock(), reason
            )
        )

    def blacklist(self, actor: int, role: Role, number: str, blocked: bool) -> None:
        """Tell the core a number is (un)blacklisted (AG-14)."""
        self.apply(
            BlacklistChanged(str(actor), CoreRole(role.value), number, blocked, self.clock())
        )

    # -- calls (from the SIP adapter, or the demo/test path) ------------------------------
    def offer_call(
        self,
        caller: str,
        dialed: str,
        queue: str | None = None,
        *,
        call_id: str | None = None,
        priority: int = 0,
        variables: dict[str, str] | None = None,
    ) -> str:
        """A call arrives (CallArrived), as the trunk would deliver it; returns its id.

        The SIP line passes the switch's `call_id` (and what its IVR collected); virtual
        calls get a `web-...` id.
        """
        with self._lock:
            if call_id is None:
                self._seq += 1
                call_id = f"web-{int(self.clock() * 1000)}-{self._seq}"
            region = self.engine.region(caller)
            self.calls[call_id] = LiveCall(call_id, caller, region, queue)
            vars_ = dict(variables or {})
            arrival = functools.partial(
                self._persist_arrival, call_id, caller, dialed, region, queue
            )
            self.apply(
                CallArrived(
                    call_id,
                    caller,
                    dialed,
                    self.clock(),
                    queue=queue,
                    priority=priority,
                    owner_agent=vars_.get("owner_agent") or None,
                    variables=vars_,
                ),
                arrival,
            )
        return call_id

    def caller_hangup(self, call_id: str) -> None:
        """The caller hangs up."""
        self.apply(CallerHungUp(call_id, self.clock()))

    # -- views -----------------------------------------------------------------------------
    def agent_view(self, agent_id: int) -> AgentView:
        """The agent's live state, or a logged-out view."""
        with self._lock:
            aid = str(agent_id)
            try:
                return self.engine.agent_view(aid, self.clock())
            except UnknownAgent:
                return AgentView(aid, AgentState.LOGGED_OUT, "", self.clock(), "", (), 0, 0, "")

    def waiting_calls(self) -> list[WaitingCallView]:
        """Calls waiting or ringing in queues (AG-12)."""
        with self._lock:
            return self.engine.waiting_calls(self.clock())

    def agents(self) -> list[AgentView]:
        """Every known agent's view."""
        with self._lock:
            now = self.clock()
            views = []
            for a in list(self.engine.agents):
                try:
                    views.append(self.engine.agent_view(a, now))
                except UnknownAgent:
                    continue
            return views

    def call_of(self, agent_id: int) -> LiveCall | None:
        """The call the agent is offered or on."""
        a = self.engine.agents.get(str(agent_id))
        if a is None or a.call is None:
            return None
        return self.calls.get(a.call.id)

    # -- commands --------------------------------------------------------------------------
    def _persist_arrival(
        self, call_id: str, caller: str, dialed: str, region: str, queue: str | None
    ) -> None:
        queue_id = self.queue_ids.get(queue or "")
        with self.db.session() as session:
            conn = session.connection()
            # the SIP line stored the row when the IVR answered
            if call_rows.set_call(conn, call_id, caller_region=region or None, queue_id=queue_id):
                return
            call_rows.add_call(
                conn,
                id=call_id,
                direction=Direction.INBOUND,
                caller=caller,
                callee=dialed,
                caller_region=region or None,
                queue_id=queue_id,
                offered_at=_dt(self.clock()),
            )

    def _execute(
        self, commands: list[cmd.Command], now: float, before: Callable[[], None] | None = None
    ) -> None:
        handlers = [
            (h, c) for c in commands if (h := getattr(self, "_on_" + type(c).__name__, None))
        ]

        def run() -> None:
            if before is not None:
                before()
            for handler, c in handlers:
                handler(c, now)

        if handlers or before is not None:
            # One transaction for all the commands of one event (under load a commit per
            # command was most of the core thread's time); what they publish goes out after
            # the commit, so a client that reads on an event sees its rows.
            if getattr(self._held, "events", None) is not None:
                # applied from inside a handler: part of the outer unit and its publishes
                with self.db.unit():
                    run()
                return self._telephony(commands, now)
            self._held.events = []
            try:
                for attempt in range(_WRITE_RETRIES):
                    try:
                        with self.db.unit():
                            run()
                        break
                    except OperationalError as exc:
                        # SQLite gave up waiting for another writer (busy_timeout): the
                        # handlers are idempotent, so the whole unit is tried again
                        if "locked" not in str(exc) or attempt == _WRITE_RETRIES - 1:
                            raise
                        time.sleep(0.01 * (attempt + 1))
            finally:
                held, self._held.events = self._held.events, None
                for topic, event in held or ():
                    self.hub.publish(topic, event)
        self._telephony(commands, now)

    def _telephony(self, commands: list[cmd.Command], now: float) -> None:
        if self.telephony is not None:
            for c in commands:
                call_id = getattr(c, "call_id", None)
                if call_id is not None and self.telephony.owns(call_id):
                    self.telephony.command(c, now)

    def _publish(self, topic: str, event: dict[str, Any]) -> None:
        held: list[tuple[str, dict[str, Any]]] | None = getattr(self._held, "events", None)
        if held is None:
            self.hub.publish(topic, event)
        else:  # inside `_execute`: after its commit
            held.append((topic, event))

    def _publish_agent(self, agent_id: str, event: dict[str, Any]) -> None:
        self._publish(f"agent:{agent_id}", event)

    def _on_RingAgent(self, c: cmd.RingAgent, now: float) -> None:
        live = self.calls.get(c.call_id)
        if live is not None:
            live.ringing.add(c.agent_id)
        with self.db.session() as session:
            conn = session.connection()
            call_rows.set_call(conn, c.call_id, keep=("ringing_at",), ringing_at=_dt(now))
            call_rows.add_leg(
                conn,
                call_id=c.call_id,
                party=Party.AGENT,
                address=c.extension,
                agent_id=int(c.agent_id),
                started_at=_dt(now),
            )
        self._publish_agent(
            c.agent_id,
            {
                "type": "offer",
                "call_id": c.call_id,
                "caller": c.caller,
                "region": c.region,
                "timeout": c.timeout,
            },
        )
        self._publish("wallboard", {"type": "call_ringing", "call_id": c.call_id})

    def _end_leg(
        self, call_id: str, agent_id: str, now: float, *, answered: bool, missed: bool = False
    ) -> None:
        """Answer or end the agent's open ringing leg. A missed ring (declined, failed, not
        registered, timed out) ends with hangup_by AGENT: the reports count those (AG-11)."""
        with self.db.session() as session:
            conn = session.connection()
            leg = call_rows.latest_open_leg(conn, call_id, agent_id=int(agent_id))
            if leg is None:
                return
            if answered:
                call_rows.set_leg(conn, leg, answered_at=_dt(now))
            elif missed:
                call_rows.set_leg(conn, leg, ended_at=_dt(now), hangup_by=Party.AGENT)
            else:
                call_rows.set_leg(conn, leg, ended_at=_dt(now))

    def _on_StopRinging(self, c: cmd.StopRinging, now: float) -> None:
        live = self.calls.get(c.call_id)
        if live is not None:
            live.ringing.discard(c.agent_id)
        a = self.engine.agents.get(c.agent_id)
        still_ours = a is not None and a.call is not None and a.call.id == c.call_id
        if not still_ours:
            self._end_leg(c.call_id, c.agent_id, now, answered=False)
        self._publish_agent(c.agent_id, {"type": "offer_withdrawn", "call_id": c.call_id})

    def _on_RingMissed(self, c: cmd.RingMissed, now: float) -> None:
        self._end_leg(c.call_id, c.agent_id, now, answered=False, missed=True)
        self._publish_agent(
            c.agent_id, {"type": "missed", "call_id": c.call_id, "reason": c.reason}
        )

    def _on_Bridge(self, c: cmd.Bridge, now: float) -> None:
        live = self.calls.get(c.call_id)
        if live is not None:
            live.agent_id = c.agent_id
        self._end_leg(c.call_id, c.agent_id, now, answered=True)
        values: dict[str, Any] = {"answered_at": _dt(now), "agent_id": int(c.agent_id)}
        if live is not None and live.customer_id is not None:
            values["customer_id"] = live.customer_id
        with self.db.session() as session:
            call_rows.set_call(session.connection(), c.call_id, keep=("answered_at",), **values)
        self._publish_agent(c.agent_id, {"type": "connected", "call_id": c.call_id})
        self._publish("wallboard", {"type": "call_connected", "call_id": c.call_id})

    def _on_CallRecord(self, c: cmd.CallRecord, now: float) -> None:
        # a queue already set stays; routed by the dialled number, the core named the queue
        keep = ["queued_at", "queue_id"]
        values: dict[str, Any] = {
            "queued_at": _dt(c.arrived),
            "queue_id": self.queue_ids.get(c.queue),
            "wait_seconds": c.waited,
        }
        disposition = _OUTCOME_DISPOSITION.get(c.outcome.value)
        if disposition is not None:
            values["disposition"] = disposition
        if c.outcome.value != "answered":
            keep.append("ended_at")
            values["ended_at"] = _dt(now)
        with self.db.session() as session:
            call_rows.set_call(session.connection(), c.call_id, keep=tuple(keep), **values)
        self._publish("wallboard", {"type": "queue_changed", "queue": c.queue})

    def _on_Reject(self, c: cmd.Reject, now: float) -> None:
        with self.db.session() as session:
            call_rows.set_call(
                session.connection(),
                c.call_id,
                disposition=Disposition.REJECTED,
                ended_at=_dt(now),
                hangup_by=Party.SYSTEM,
            )
        self.calls.pop(c.call_id, None)

    def _finish_call(self, call_id: str, now: float, by: Party) -> None:
        live = self.calls.pop(call_id, None)
        with self.db.session() as session:
            conn = session.connection()
            call_rows.finish_call(conn, call_id, _dt(now), by)
            call_rows.end_open_legs(conn, call_id, _dt(now), by)
        if live is not None and live.agent_id is not None:
            self._publish_agent(live.agent_id, {"type": "call_ended", "call_id": call_id})

    def _on_Hangup(self, c: cmd.Hangup, now: float) -> None:
        by = Party.AGENT if c.reason == "agent" else Party.CUSTOMER
        if c.reason not in ("agent", "caller"):
            by = Party.SUPERVISOR if "super" in c.reason or "force" in c.reason else by
        self._finish_call(c.call_id, now, by)

    def _on_CallHandled(self, c: cmd.CallHandled, now: float) -> None:
        if c.acw > 0:  # CC-10: after-call work counts in the call's handling time
            with self.db.session() as session:
                call_rows.add_to_call(session.connection(), c.call_id, "acw_seconds", c.acw)
        # after a transfer the first agent's wrap-up ends while the call goes on
        if c.call_id in self.calls and c.call_id not in self.engine.calls:
            self._finish_call(c.call_id, now, Party.CUSTOMER)

    def _on_DialOutside(self, c: cmd.DialOutside, now: float) -> None:
        self._finish_call(c.call_id, now, Party.AGENT)

    def _on_Hold(self, c: cmd.Hold, now: float) -> None:
        live = self.calls.get(c.call_id)
        if live is not None:
            live.hold_started = now
        with self.db.session() as session:
            session.add(CallHold(call_id=c.call_id, started_at=_dt(now)))

    def _on_Resume(self, c: cmd.Resume, now: float) -> None:
        live = self.calls.get(c.call_id)
        with self.db.session() as session:
            hold = session.scalars(
                select(CallHold).where(CallHold.call_id == c.call_id, CallHold.ended_at.is_(None))
            ).first()
            if hold is not None:
                hold.ended_at = _dt(now)
            if live is not None and live.hold_started is not None:
                call_rows.add_to_call(
                    session.connection(), c.call_id, "held_seconds", now - live.hold_started
                )
        if live is not None:
            live.hold_started = None

    def _state_call(self, agent_id: str, state: AgentState) -> str | None:
        """The call an on-call, on-hold or after-call-work interval belongs to."""
        a = self.engine.agents.get(agent_id)
        if a is None:
            return None
        if state in ON_A_CALL and a.call is not None:
            return a.call.id
        if state in ON_A_CALL or state is AgentState.AFTER_CALL_WORK:
            return a.last_call[0] or None
        return None

    def _on_AgentStateChanged(self, c: cmd.AgentStateChanged, now: float) -> None:
        if c.agent_id.isdigit():
            self._log_state(c)
        event = {
            "type": "state",
            "agent_id": c.agent_id,
            "agent_no": self.agent_labels.get(c.agent_id, c.agent_id),
            "old": c.old.value,
            "state": c.new.value,
            "reason": c.reason,
            "since": c.now,
        }
        self._publish_agent(c.agent_id, event)
        self._publish("wallboard", event)

    def _log_state(self, c: cmd.AgentStateChanged) -> None:
        """CC-10: close the agent's open interval and open the new one (none when logged out),
        stamped with the core's clock (`c.now`) so both ends of an interval agree. Written by
        the state-log thread; the call is looked up now, while the engine is at this change."""
        self.state_log.put(
            (int(c.agent_id), c.new, c.reason, self._state_call(c.agent_id, c.new), _dt(c.now))
        )

    def _on_HoldAlert(self, c: cmd.HoldAlert, now: float) -> None:
        """SLA-04: the agent's workspace shows the alert (at the warning: take a callback
        number instead), the wallboard shows it to the team leader, and the audit keeps it."""
        agent_no = self.agent_labels.get(c.agent_id, c.agent_id)
        event = {
            "type": "hold_alert",
            "level": c.level,
            "call_id": c.call_id,
            "agent_id": c.agent_id,
            "agent_no": agent_no,
            "held_s": round(c.held, 1),
            "limit_s": c.limit,
            "resumed": c.resumed,
        }
        with self.db.session() as session:
            AuditRepository(session).record(
                f"hold.{c.level}",
                target=agent_no,
                detail={k: v for k, v in event.items() if k != "type"},
                at=_dt(now),
            )
        self._publish_agent(c.agent_id, event)
        self._publish("wallboard", event)

    def _on_Mute(self, c: cmd.Mute, now: float) -> None:
        self._publish_agent(c.agent_id, {"type": "mute", "muted": c.muted})

    def _on_Conference(self, c: cmd.Conference, now: float) -> None:
        live = self.calls.get(c.call_id)
        if live is not None and live.agent_id:
            self._publish_agent(live.agent_id, {"type": "conference", "party": c.party})

    # -- transfers (AG-08): the CDR gets a leg per party, ended when the party leaves --------
    def _close_leg(self, call_id: str, now: float, agent_id: str = "", address: str = "") -> None:
        with self.db.session() as session:
            conn = session.connection()
            if agent_id.isdigit():
                call_rows.end_open_legs(
                    conn, call_id, _dt(now), Party.AGENT, agent_id=int(agent_id)
                )
            else:
                call_rows.end_open_legs(
                    conn, call_id, _dt(now), Party.AGENT, address=address, party=Party.OUTSIDE
                )

    def _on_Transferred(self, c: cmd.Transferred, now: float) -> None:
        live = self.calls.get(c.call_id)
        if live is not None and live.agent_id == c.agent_id:
            live.agent_id = None
        self._close_leg(c.call_id, now, agent_id=c.agent_id)
        self._publish_agent(
            c.agent_id,
            {"type": "transferred", "call_id": c.call_id, "kind": c.kind.value, "to": c.target},
        )

    def _on_ConsultTarget(self, c: cmd.ConsultTarget, now: float) -> None:
        outside = c.kind is TransferKind.OUTSIDE
        with self.db.session() as session:
            call_rows.add_leg(
                session.connection(),
                call_id=c.call_id,
                party=Party.OUTSIDE if outside else Party.AGENT,
                address=c.extension,
                agent_id=None if outside else int(c.target),
                started_at=_dt(now),
            )
        if not outside:
            self._publish_agent(
                c.target, {"type": "consult_offer", "call_id": c.call_id, "from": c.agent_id}
            )

    def _on_ConsultConnected(self, c: cmd.ConsultConnected, now: float) -> None:
        with self.db.session() as session:
            conn = session.connection()
            leg = (
                call_rows.latest_open_leg(conn, c.call_id, agent_id=int(c.target))
                if c.target.isdigit() and c.target in self.engine.agents
                else call_rows.latest_open_leg(conn, c.call_id, address=c.target)
            )
            if leg is not None:
                call_rows.set_leg(conn, leg, answered_at=_dt(now))
        self._publish_agent(c.agent_id, {"type": "consult_connected", "call_id": c.call_id})

    def _on_ConsultEnded(self, c: cmd.ConsultEnded, now: float) -> None:
        agent = c.target if c.target in self.engine.agents else ""
        self._close_leg(c.call_id, now, agent_id=agent, address=c.target)
        self._publish_agent(
            c.agent_id, {"type": "consult_ended", "call_id": c.call_id, "reason": c.reason}
        )

    def _on_TransferCompleted(self, c: cmd.TransferCompleted, now: float) -> None:
        self._close_leg(c.call_id, now, agent_id=c.agent_id)
        self._publish_agent(c.agent_id, {"type": "transferred", "call_id": c.call_id})
        if c.kind is TransferKind.OUTSIDE:  # the call left the center; the switch ends its CDR
            self.calls.pop(c.call_id, None)
            return
        live = self.calls.get(c.call_id)
        if live is not None:
            live.agent_id = c.target
        with self.db.session() as session:
            call_rows.set_call(session.connection(), c.call_id, agent_id=int(c.target))
        self._publish_agent(c.target, {"type": "connected", "call_id": c.call_id})

    def _on_Monitor(self, c: cmd.Monitor, now: float) -> None:
        self._publish(
            "wallboard",
            {"type": "monitor", "call_id": c.call_id, "mode": c.mode.value, "by": c.supervisor_id},
        )

    def _on_Intercept(self, c: cmd.Intercept, now: float) -> None:
        self._publish_agent(c.agent_id, {"type": "intercepted", "call_id": c.call_id})

    def _on_AuditEvent(self, c: cmd.AuditEvent, now: float) -> None:
        action = c.action.value if isinstance(c.action, SupervisorAction) else str(c.action)
        with self.db.session() as session:
            actor = session.get(User, int(c.actor_id)) if c.actor_id.isdigit() else None
            AuditRepository(session).record(
                f"supervisor.{action}",
                actor=actor,
                target=self.agent_labels.get(c.target, c.target),
                detail={
                    "actor": c.actor_id,
                    "role": c.role.value,
                    "call_id": c.call_id,
                    "allowed": c.allowed,
                    "detail": c.detail,
                },
                at=_dt(now),
            )
