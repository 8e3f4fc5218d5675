"""CC-05 campaign runner: carries out the dialer's commands against the live center.

Every second (and on every dial result) each stored campaign that is running or paused gets
the idle agents of its queue (from the ACD core) and a `Tick` with the center's local time;
the commands come back and are executed here:

- `DialNumber`: the `OutboundPort` dials the customer (the virtual trunk in demo mode, the
  SIP trunk when `kefu serve` runs the SIP line) and reports a `DialOutcome` back;
- `ConnectCall`: the answered customer enters the ACD as a call of the campaign's queue with
  the picked agent as its owner (所属坐席), so the core rings that agent's phone;
- `DropCall`: no agent free: the port plays the short message and hangs up;
- `ReserveAgent` / `ReleaseAgent` (preview): the agent is set busy (reason `campaign`) while
  the task is shown, and idle again after;
- `OfferPreview`: published to the agent's live channel;
- `TaskUpdated`: written to the store. Every attempt leaves a CDR (`calls`, outbound).

Agent ids: the dialer and the task lists use 工号 (agent_no); the core uses `agents.id`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from kefu.core.agent import AgentState
from kefu.core.calling_hours import CallingHours
from kefu.core.dialer import (
    AgentsAvailable,
    CallResult,
    CampaignControl,
    CampaignFinished,
    CampaignState,
    ConnectCall,
    Control,
    Dialer,
    DialerCommand,
    DialNumber,
    DialOutcome,
    DropCall,
    OfferPreview,
    PreviewAccepted,
    PreviewSkipped,
    ReleaseAgent,
    ReserveAgent,
    TaskUpdated,
    Tick,
)
from kefu.core.errors import CoreError
from kefu.services import campaigns
from kefu.services.center import Center
from kefu.store.models import Agent, Call, Campaign, Direction, Disposition

log = logging.getLogger(__name__)

RESERVED = "campaign"  # busy reason of an agent held for a preview or a connecting call

_DISPOSITION = {
    DialOutcome.BUSY: Disposition.BUSY,
    DialOutcome.NO_ANSWER: Disposition.NO_ANSWER,
    DialOutcome.FAILED: Disposition.NO_ANSWER,
}


class OutboundPort(Protocol):
    """The trunk side of the campaign: dial, bring an answered call in, or drop it."""

    def dial(self, call_id: str, number: str, done: Callable[[DialOutcome], None]) -> None:
        """Call the customer; call `done` once with the outcome (on the event loop)."""

    def connect(self, call_id: str, number: str, queue: str, agent_id: str) -> None:
        """The customer answered: hand the call to the center's queue for core agent id."""

    def drop(self, call_id: str) -> None:
        """The customer answered with no agent free: short message, then hang up."""


class VirtualTrunk:
    """Demo customers: answer, busy or no answer, after a ring time (no audio)."""

    def __init__(
        self,
        center: Center,
        *,
        answer_rate: float = 0.5,
        busy_rate: float = 0.2,
        ring: tuple[float, float] = (2.0, 8.0),
        seed: int | None = None,
    ) -> None:
        self.center = center
        self.answer_rate = answer_rate
        self.busy_rate = busy_rate
        self.ring = ring
        self.rng = random.Random(seed)

    def dial(self, call_id: str, number: str, done: Callable[[DialOutcome], None]) -> None:
        r = self.rng.random()
        if r < self.answer_rate:
            outcome = DialOutcome.ANSWERED
        elif r < self.answer_rate + self.busy_rate:
            outcome = DialOutcome.BUSY
        else:
            outcome = DialOutcome.NO_ANSWER
        delay = self.rng.uniform(*self.ring)
        asyncio.get_running_loop().call_later(delay, done, outcome)

    def connect(self, call_id: str, number: str, queue: str, agent_id: str) -> None:
        self.center.offer_call(
            number, "campaign", queue, call_id=call_id, variables={"owner_agent": agent_id}
        )

    def drop(self, call_id: str) -> None:
        return None  # a virtual customer hears nothing


@dataclass(slots=True)
class _Out:
    campaign: str
    task_id: str
    number: str
    started: float


class CampaignRunner:
    """Drives every stored campaign with the live center. See the module docstring."""

    def __init__(
        self,
        center: Center,
        port: OutboundPort,
        *,
        hours: CallingHours | None = None,
        local_time: Callable[[], dt.time] | None = None,
        clock: Callable[[], float] = time.time,
        interval: float = 1.0,
    ) -> None:
        self.center = center
        self.db = center.db
        self.port = port
        self.hours = hours or CallingHours()
        self.local_time = local_time or (lambda: dt.datetime.now().time())
        self.clock = clock
        self.interval = interval
        self.dialers: dict[str, Dialer] = {}
        self.out: dict[str, _Out] = {}  # call id -> what it is for
        self.reserved: dict[str, str] = {}  # agent_no -> campaign (preview)
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="kefu-campaigns")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                self.step()
            except Exception:  # one bad step must not end the outbound service
                log.exception("campaign step failed")
            await asyncio.sleep(self.interval)

    # -- one step ----------------------------------------------------------------------------
    def _agent_numbers(self) -> dict[str, str]:
        with self.db.session() as s:
            return {str(i): no for i, no in s.execute(select(Agent.id, Agent.agent_no))}

    def _idle(self, queue: str, numbers: dict[str, str], campaign: str) -> tuple[str, ...]:
        """Idle agents of the queue (and those this campaign holds), longest idle first."""
        engine = self.center.engine
        with self.center._lock:
            agents = [
                a
                for a in engine.agents.values()
                if any(q.name == queue for q in a.queues)
                and (
                    a.state is AgentState.IDLE
                    or (
                        a.state is AgentState.BUSY
                        and a.reason == RESERVED
                        and self.reserved.get(numbers.get(a.id, "")) == campaign
                    )
                )
            ]
        agents.sort(key=lambda a: (a.idle_since, a.seq))
        return tuple(numbers[a.id] for a in agents if a.id in numbers)

    def step(self) -> None:
        """Sync with the stored campaigns, then pace each of them once."""
        now = self.clock()
        with self.db.session() as s:
            rows = {c.name: c.state for c in s.scalars(select(Campaign))}
        for name, state in rows.items():
            d = self.dialers.get(name)
            if d is None:
                if state not in ("running", "paused"):
                    continue
                with self.db.session() as s:
                    d = campaigns.load_dialer(s, name, now, _wall(now), self.hours)
                self.dialers[name] = d
            else:
                if d.state.value != state and d.state is not CampaignState.FINISHED:
                    action = {"running": Control.START, "paused": Control.PAUSE}.get(
                        state, Control.STOP
                    )
                    with contextlib.suppress(CoreError):
                        self._execute(name, d.handle(CampaignControl(action, now)), now)
                if d.state in (CampaignState.RUNNING, CampaignState.PAUSED):
                    with self.db.session() as s:  # tasks imported since it was loaded
                        campaigns.add_new_tasks(s, d)
        numbers = self._agent_numbers()
        local = self.local_time()
        for name, d in list(self.dialers.items()):
            if d.state in (CampaignState.STOPPED, CampaignState.FINISHED) and not d.calls:
                del self.dialers[name]
                continue
            idle = self._idle(d.config.queue, numbers, name)
            self._execute(name, d.handle(AgentsAvailable(now, idle)), now)
            self._execute(name, d.handle(Tick(now, local)), now)

    # -- inputs from the port and the agents --------------------------------------------------
    def result(self, call_id: str, outcome: DialOutcome) -> None:
        out = self.out.get(call_id)
        if out is None:
            return
        d = self.dialers.get(out.campaign)
        if d is None:
            return
        now = self.clock()
        numbers = self._agent_numbers()
        # the freshest idle list, so the answered customer finds the agents as they are now
        self._execute(
            out.campaign,
            d.handle(AgentsAvailable(now, self._idle(d.config.queue, numbers, out.campaign))),
            now,
        )
        self._execute(out.campaign, d.handle(CallResult(call_id, outcome, now)), now)

    def preview(self, campaign: str, agent_no: str, task_id: str, accept: bool) -> None:
        """The agent accepts (dial now) or skips the task shown. Any thread: the dialer and
        the trunk are only touched on the runner's event loop."""
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            self._preview(campaign, agent_no, task_id, accept)
            return
        fut: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            try:
                self._preview(campaign, agent_no, task_id, accept)
                fut.set_result(None)
            except Exception as exc:
                fut.set_exception(exc)

        loop.call_soon_threadsafe(run)
        fut.result(timeout=10)

    def _preview(self, campaign: str, agent_no: str, task_id: str, accept: bool) -> None:
        d = self.dialers.get(campaign)
        if d is None:
            raise CoreError(f"campaign {campaign!r} is not running")
        now = self.clock()
        event = (
            PreviewAccepted(agent_no, task_id, now)
            if accept
            else PreviewSkipped(agent_no, task_id, now)
        )
        self._execute(campaign, d.handle(event), now)

    # -- commands ----------------------------------------------------------------------------
    def _execute(self, name: str, commands: list[DialerCommand], now: float) -> None:
        if not commands:
            return
        updates: list[TaskUpdated] = []
        calls: dict[str, str] = {}
        ids = {no: i for i, no in self._agent_numbers().items()}
        for c in commands:
            if isinstance(c, TaskUpdated):
                updates.append(c)
            elif isinstance(c, DialNumber):
                self.out[c.call_id] = _Out(name, c.task_id, c.number, now)
                calls[c.task_id] = c.call_id
                self._cdr(c.call_id, name, c.number, now)
                self.port.dial(c.call_id, c.number, _Done(self, c.call_id))
            elif isinstance(c, ConnectCall):
                self.out.pop(c.call_id, None)
                core_id = ids.get(c.agent_id, c.agent_id)
                if self.reserved.pop(c.agent_id, None) is not None:
                    self._set(core_id, AgentState.IDLE)
                self.port.connect(c.call_id, c.number, c.queue, core_id)
            elif isinstance(c, DropCall):
                self.out.pop(c.call_id, None)
                self._cdr_end(c.call_id, Disposition.ABANDONED, now)
                self.port.drop(c.call_id)
            elif isinstance(c, ReserveAgent):
                self.reserved[c.agent_id] = name
                self._set(ids.get(c.agent_id, c.agent_id), AgentState.BUSY, RESERVED)
            elif isinstance(c, ReleaseAgent):
                if self.reserved.pop(c.agent_id, None) is not None:
                    self._set(ids.get(c.agent_id, c.agent_id), AgentState.IDLE)
            elif isinstance(c, OfferPreview):
                t = c.task
                self.center.hub.publish(
                    f"agent:{ids.get(c.agent_id, c.agent_id)}",
                    {
                        "type": "campaign_preview",
                        "campaign": name,
                        "task_id": t.id,
                        "number": t.number,
                        "customer_id": t.customer_id,
                        "attempt": c.attempt,
                    },
                )
            elif isinstance(c, CampaignFinished):
                with self.db.session() as s:
                    campaigns.set_state(s, name, c.state)
        if updates:
            with self.db.session() as s:
                campaigns.save_updates(s, name, updates, now, _wall(now), calls)

    def _set(self, core_id: str, state: AgentState, reason: str = "") -> None:
        with contextlib.suppress(CoreError, ValueError):
            self.center.set_state(int(core_id), state, reason)

    # -- CDR: one row per attempt ------------------------------------------------------------
    def _cdr(self, call_id: str, campaign: str, number: str, now: float) -> None:
        with self.db.session() as s:
            s.add(
                Call(
                    id=call_id,
                    direction=Direction.OUTBOUND,
                    caller=f"campaign:{campaign}"[:32],
                    callee=number,
                    offered_at=_wall(now),
                )
            )

    def _cdr_end(self, call_id: str, disposition: Disposition, now: float) -> None:
        with self.db.session() as s:
            row = s.get(Call, call_id)
            if row is not None:
                row.disposition = disposition
                row.ended_at = _wall(now)

    def _finish_attempt(self, call_id: str, outcome: DialOutcome) -> None:
        if outcome is not DialOutcome.ANSWERED:
            self._cdr_end(call_id, _DISPOSITION[outcome], self.clock())
        self.result(call_id, outcome)


@dataclass(frozen=True, slots=True)
class _Done:
    runner: CampaignRunner
    call_id: str

    def __call__(self, outcome: DialOutcome) -> None:
        try:
            self.runner._finish_attempt(self.call_id, outcome)
        except Exception:
            log.exception("campaign call %s: result %s not applied", self.call_id, outcome)


def _wall(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)
