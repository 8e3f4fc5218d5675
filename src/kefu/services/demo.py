"""Demo traffic for `kefu serve --demo`: a living contact center without a SIP trunk.

Theory of operation: `provision(db)` creates (idempotently) the scenario's queues and
numbers and the bot agents in the store; it runs before the app builds its `Center`,
which reads its configuration once. `DemoTraffic` then runs inside the app (started in
the lifespan after the center): one task per arrival stream offers Poisson calls with
`center.offer_call`, as the trunk would, and gives each caller a patience after which a
call still waiting is abandoned (`center.caller_hangup`). One task per bot logs its seat
in, listens on its `agent:<id>` topic like a softphone, answers offers after 1-4 s,
talks for the sampled time (holding when the script says so), and then the script
decides who hangs up; after-call work ends by the core's timer. Bots now and then take
a break. When a bot's call ends, a scripted transcript (demo_transcripts.yaml) is laid
over the real talk time, checked by the QA engine off the event loop and stored with
`qa_review.store_result`, so QA pages fill up. Only the center's public methods are used:
a human agent who logs in and goes idle is offered demo calls like any bot.

The scenario is in the simulator's format (docs/simulation.md); `rate` multiplies the
arrival rates and `speed` divides every duration the driver waits (tests run fast).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import logging
import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from kefu.core.agent import AgentState
from kefu.core.errors import CoreError
from kefu.errors import KefuError
from kefu.security.password import hash_password
from kefu.services import qa_review
from kefu.services.center import Center
from kefu.services.live import LiveHub
from kefu.store.db import Database
from kefu.store.models import Agent, Number, NumberTarget, Queue, Role, User
from kefu.store.models import Strategy as StoreStrategy
from kefu.telephony.scenario import Scenario, parse_scenario
from kefu.telephony.sim import sampler

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kefu.config import Settings
    from kefu.qa.engine import Engine

log = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Shanghai")
SCENARIO_FILE = "demo_scenario.yaml"
TRANSCRIPTS_FILE = "demo_transcripts.yaml"
_LINE = re.compile(r"^\s*([AC])\s*:\s?(.*)$", re.S)
_CPS = {"agent": 2.1, "customer": 3.0}  # characters per second: ~125/min for the agent
_MAX_GAP = 1.5  # seconds between utterances
_MAX_SLOW = 1.1  # speech may slow down to 1/1.1 of _CPS


class DemoError(KefuError):
    """The demo's scenario or transcript data is wrong."""


def _read(name: str) -> str:
    return resources.files("kefu.services").joinpath(name).read_text(encoding="utf-8")


def load_demo_scenario(text: str | None = None) -> Scenario:
    """The demo scenario (the packaged one unless `text` is given)."""
    return parse_scenario(text if text is not None else _read(SCENARIO_FILE), SCENARIO_FILE)


def load_transcripts(text: str | None = None) -> dict[str, Any]:
    """The transcript templates and bot naming (the packaged file unless `text` is given)."""
    data = yaml.safe_load(text if text is not None else _read(TRANSCRIPTS_FILE))
    if not isinstance(data, dict) or not data.get("templates"):
        raise DemoError(f"{TRANSCRIPTS_FILE}:1: needs a non-empty 'templates' list")
    for i, t in enumerate(data["templates"]):
        for line in t.get("lines", []):
            if isinstance(line, str) and _LINE.match(line) is None:
                raise DemoError(f"{TRANSCRIPTS_FILE}: templates.{i}: bad line {line!r}")
    return data


# -- the store -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bot:
    """A bot agent: its agents.id, 工号 and display name."""

    agent_id: int
    agent_no: str
    name: str
    no_answer: float = 0.0


def provision(db: Database, scenario: Scenario, transcripts: dict[str, Any]) -> list[Bot]:
    """Create the scenario's queues, numbers and bot agents if missing; return the bots."""
    naming = transcripts.get("bots", {})
    with db.session() as session:
        queues = {q.name: q for q in session.scalars(select(Queue))}
        for spec in scenario.queues:
            q = queues.get(spec.name)
            if q is None:
                q = Queue(
                    name=spec.name,
                    priority=spec.priority,
                    strategy=StoreStrategy(spec.strategy.value),
                    ring_timeout_s=int(spec.ring_timeout),
                    owner_wait_s=int(spec.owner_wait),
                    wrap_up_s=int(scenario.acw_seconds),
                    service_level_s=int(scenario.service_level.answer_within),
                )
                if spec.max_wait is not None:
                    q.max_wait_s = int(spec.max_wait)
                session.add(q)
                session.flush()
                queues[spec.name] = q
            for n in spec.numbers:
                if session.scalar(select(Number).where(Number.number == n)) is None:
                    session.add(Number(number=n, target=NumberTarget.QUEUE, queue_id=q.id))
        bots: list[Bot] = []
        serial = 0
        for group in scenario.agents:
            for _ in range(group.count):
                serial += 1
                agent_no = str(int(naming.get("first_agent_no", 9001)) + serial - 1)
                ext = str(int(naming.get("first_extension", 89001)) + serial - 1)
                name = str(naming.get("display_name", "bot{n:02d}")).format(
                    n=serial, agent_no=agent_no
                )
                agent = session.scalar(select(Agent).where(Agent.agent_no == agent_no))
                if agent is None:
                    username = str(naming.get("username", "demo{agent_no}")).format(
                        n=serial, agent_no=agent_no
                    )
                    # a random password nobody knows: bots never log in through the web
                    user = User(
                        username=username,
                        display_name=name,
                        role=Role.AGENT,
                        password_hash=hash_password(secrets.token_urlsafe(24)),
                    )
                    user.agent = Agent(agent_no=agent_no, extension=ext)
                    session.add(user)
                    session.flush()
                    agent = user.agent
                bots.append(Bot(agent.id, agent_no, agent.user.display_name, group.no_answer))
    return bots


# -- transcripts ---------------------------------------------------------------------------
def render_transcript(
    template: dict[str, Any],
    values: dict[str, str],
    *,
    answer_at: float,
    span: float,
    hold_scale: float = 1.0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Lay a template's lines over `span` seconds after `answer_at`: (utterances, events, end).

    Each utterance lasts as long as its characters take at a natural speech rate; time
    left over becomes short pauses and slightly slower speech, so the record spans about
    `span` (less for a short script, more for a long one). Holds keep their scripted
    length (times `hold_scale`).
    """
    items: list[tuple[str, str] | float] = []
    for line in template.get("lines", []):
        if isinstance(line, dict) and "hold" in line:
            items.append(float(line["hold"]) * hold_scale)
            continue
        m = _LINE.match(str(line))
        assert m is not None  # checked when loading
        role = "agent" if m.group(1) == "A" else "customer"
        items.append((role, m.group(2).format_map(values)))
    speech = sum(len(i[1]) / _CPS[i[0]] for i in items if isinstance(i, tuple))
    held = sum(i for i in items if isinstance(i, float))
    # pauses stay short (long ones are dead air or an unthanked wait to QA); what is left
    # is taken up by slower speech, down to about 100 characters a minute for the agent
    gap = min(_MAX_GAP, max(0.4, (span - speech - held) / (len(items) + 1)))
    slow = min(_MAX_SLOW, max(1.0, (span - held - gap * (len(items) + 1)) / max(speech, 1e-9)))
    t = answer_at + gap
    utterances: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, float):
            events.append({"t": round(t, 2), "type": "hold_start"})
            t += item
            events.append({"t": round(t, 2), "type": "hold_end"})
            t += gap
            continue
        role, text = item
        end = t + len(text) / _CPS[role] * slow
        utterances.append({"role": role, "start": round(t, 2), "end": round(end, 2), "text": text})
        t = end + gap
    return utterances, events, t


# -- the driver ----------------------------------------------------------------------------
@dataclass(slots=True)
class DemoStats:
    """What the driver did so far (for tests and the log)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    breaks: int = 0
    qa_stored: int = 0
    qa_errors: int = 0
    by_template: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Offer:
    queue: str
    dialed: str
    caller: str


class DemoTraffic:
    """Live demo traffic: arrivals, patient and impatient callers, bot agents, QA."""

    def __init__(
        self,
        center: Center,
        db: Database,
        hub: LiveHub,
        scenario: Scenario | None = None,
        rng_seed: int | None = None,
        speed: float = 1.0,
        *,
        rate: float = 1.0,
        transcripts: dict[str, Any] | None = None,
        bots: list[Bot] | None = None,
        break_chance: float = 0.12,
        warmup: int = 3,
    ) -> None:
        if speed <= 0 or rate < 0:
            raise DemoError("speed must be > 0 and rate >= 0")
        self.center = center
        self.db = db
        self.hub = hub
        self.scenario = scenario or load_demo_scenario()
        self.transcripts = transcripts or load_transcripts()
        seed = rng_seed if rng_seed is not None else self.scenario.seed
        self.rng = random.Random(seed)
        self.speed = speed
        self.rate = rate
        self.break_chance = break_chance
        self.warmup = warmup
        self.bots = bots if bots is not None else provision(db, self.scenario, self.transcripts)
        self.stats = DemoStats()
        self.time_scale = float(self.transcripts.get("time_scale", 1.0))
        self._talk = {q.name: sampler(q.talk_time, self.rng) for q in self.scenario.queues}
        self._patience: dict[str, Callable[[], float] | None] = {
            q.name: sampler(q.patience, self.rng) if q.patience else None
            for q in self.scenario.queues
        }
        self._queue_of_number = {n: q.name for q in self.scenario.queues for n in q.numbers}
        self._offers: dict[str, _Offer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._qa_tasks: set[asyncio.Task[None]] = set()
        self._engine: Engine | None = None
        self._engine_ready: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the arrival streams, the bots and the QA engine (loaded once, off the loop)."""
        self._engine_ready = asyncio.create_task(self._load_engine(), name="demo-qa-load")
        for bot in self.bots:
            self._tasks.append(asyncio.create_task(self._bot(bot), name=f"demo-bot-{bot.agent_no}"))
        for i in range(len(self.scenario.arrivals)):
            self._tasks.append(asyncio.create_task(self._arrivals(i), name=f"demo-arrivals-{i}"))
        log.info("demo traffic: %d bots, %d streams", len(self.bots), len(self._tasks))

    async def stop(self) -> None:
        """Cancel every task of the driver."""
        tasks = [*self._tasks, *self._qa_tasks]
        if self._engine_ready is not None:
            tasks.append(self._engine_ready)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()

    async def _load_engine(self) -> None:
        from kefu.qa.engine import Engine

        self._engine = await asyncio.to_thread(Engine.load, "default")

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    # -- callers ----------------------------------------------------------------------------
    async def _arrivals(self, index: int) -> None:
        spec = self.scenario.arrivals[index]
        period = self.scenario.rate_minutes * 60.0
        prefixes = [c.prefix for c in spec.callers] or ["1380013"]
        cum: list[float] = []
        total = sum(c.weight for c in spec.callers) or 1.0
        acc = 0.0
        for c in spec.callers or []:
            acc += c.weight
            cum.append(acc / total)
        loop = asyncio.get_running_loop()
        started = loop.time()
        warm = self.warmup if index == 0 else 0
        while True:
            k = int((loop.time() - started) * self.speed // period) % len(spec.rates)
            per_second = spec.rates[k] / 3600.0 * self.rate
            if warm > 0:  # the first calls come at once: the board moves from the start
                warm -= 1
                await self._sleep(self.rng.uniform(0.5, 3.0))
            elif per_second <= 0:
                await self._sleep(period / 10)
                continue
            else:
                await self._sleep(self.rng.expovariate(per_second))
            p = prefixes[min(bisect.bisect_left(cum, self.rng.random()), len(prefixes) - 1)]
            width = 11 - len(p)
            caller = p + (f"{self.rng.randrange(10**width):0{width}d}" if width > 0 else "")
            queue = spec.queue or self._queue_of_number.get(spec.number or "", "")
            dialed = spec.number or next(
                (n for q in self.scenario.queues if q.name == queue for n in q.numbers), ""
            )
            try:
                # the queue is named (not left to number routing) so the CDR row carries it
                call_id = self.center.offer_call(caller, dialed, queue or None)
            except (CoreError, KeyError) as exc:
                log.warning("demo: offer failed: %s", exc)
                continue
            self.stats.offered += 1
            self._offers[call_id] = _Offer(queue, dialed, caller)
            patience = self._patience.get(queue)
            if patience is not None:
                loop.call_later(patience() / self.speed, self._maybe_abandon, call_id)

    def _maybe_abandon(self, call_id: str) -> None:
        if any(w.call_id == call_id for w in self.center.waiting_calls()):
            try:
                self.center.caller_hangup(call_id)
            except CoreError:
                return
            self.stats.abandoned += 1
            self._offers.pop(call_id, None)

    # -- bots -------------------------------------------------------------------------------
    async def _bot(self, bot: Bot) -> None:
        async with self.hub.subscribe(f"agent:{bot.agent_id}") as inbox:
            try:
                self.center.agent_login(bot.agent_id, ready=True)
            except (CoreError, KeyError) as exc:
                log.warning("demo: bot %s cannot log in: %s", bot.agent_no, exc)
                return
            while True:
                try:
                    event = await asyncio.wait_for(inbox.get(), timeout=5.0 / self.speed)
                except TimeoutError:
                    self._tend(bot)
                    continue
                if event.get("type") == "offer":
                    try:
                        await self._take(bot, str(event["call_id"]), str(event.get("caller", "")))
                    except CoreError as exc:  # the call went away meanwhile (abandon, pickup)
                        log.debug("demo: bot %s: %s", bot.agent_no, exc)

    def _tend(self, bot: Bot) -> None:
        """Bring a bot back: logged out (forced) -> log in; busy without a break -> idle."""
        view = self.center.agent_view(bot.agent_id)
        try:
            if view.state is AgentState.LOGGED_OUT:
                self.center.agent_login(bot.agent_id, ready=True)
            elif view.state in (AgentState.BUSY, AgentState.BREAK) and not view.pending:
                self.center.set_state(bot.agent_id, AgentState.IDLE)
        except (CoreError, KeyError):
            return

    async def _take(self, bot: Bot, call_id: str, caller: str) -> None:
        offered_at = self.center.now()
        delay = self.rng.uniform(1.0, 4.0)
        await self._sleep(delay)
        view = self.center.agent_view(bot.agent_id)
        if view.state is not AgentState.RINGING or view.call_id != call_id:
            return
        if self.rng.random() < bot.no_answer:
            return  # let it ring out: the core's ring timeout and missed-ring rule
        self.center.answer(bot.agent_id, call_id)
        self.stats.answered += 1
        answered_at = self.center.now()
        offer = self._offers.pop(call_id, None)
        queue = offer.queue if offer else self.scenario.queues[0].name
        caller = offer.caller if offer else caller
        template = self._pick(queue)
        talk = self._talk.get(queue, self._talk[self.scenario.queues[0].name])()
        holds = [float(x["hold"]) for x in template.get("lines", []) if isinstance(x, dict)]
        if holds:
            await self._sleep(talk * 0.3)
            if not self._on_call(bot, call_id):
                return
            self.center.hold(bot.agent_id)
            await self._sleep(holds[0] / self.time_scale)
            if not self._on_call(bot, call_id):
                return
            self.center.resume(bot.agent_id)
            await self._sleep(max(1.0, talk * 0.7 - holds[0] / self.time_scale))
        else:
            await self._sleep(talk)
        if not self._on_call(bot, call_id):
            return
        ended = self.center.now()
        if template.get("hangup") == "agent":
            self.center.hangup(bot.agent_id)
        else:
            self.center.caller_hangup(call_id)
        name = str(template.get("name", "?"))
        self.stats.by_template[name] = self.stats.by_template.get(name, 0) + 1
        record = self._record(bot, call_id, caller, template, offered_at, answered_at, ended)
        task = asyncio.create_task(self._qa(bot, call_id, record), name=f"demo-qa-{call_id}")
        self._qa_tasks.add(task)  # keep a reference until done
        task.add_done_callback(self._qa_tasks.discard)
        if self.rng.random() < self.break_chance:
            await self._break(bot)

    def _on_call(self, bot: Bot, call_id: str) -> bool:
        view = self.center.agent_view(bot.agent_id)
        return view.call_id == call_id and view.state in (AgentState.ON_CALL, AgentState.ON_HOLD)

    async def _break(self, bot: Bot) -> None:
        reasons = self.transcripts.get("break_reasons") or [""]
        state = AgentState.BREAK if self.rng.random() < 0.6 else AgentState.BUSY
        try:  # requested during after-call work: the core applies it when ACW ends
            self.center.set_state(bot.agent_id, state, str(self.rng.choice(reasons)))
        except CoreError:
            return
        self.stats.breaks += 1
        await self._sleep(self.rng.uniform(20.0, 60.0) + self.scenario.acw_seconds)
        with contextlib.suppress(CoreError):
            view = self.center.agent_view(bot.agent_id)
            if view.state in (AgentState.BREAK, AgentState.BUSY) or view.pending:
                self.center.set_state(bot.agent_id, AgentState.IDLE)

    def _pick(self, queue: str) -> dict[str, Any]:
        templates = [
            t for t in self.transcripts["templates"] if not t.get("queues") or queue in t["queues"]
        ] or list(self.transcripts["templates"])
        weights = [float(t.get("weight", 1)) for t in templates]
        return dict(self.rng.choices(templates, weights)[0])

    def _record(
        self,
        bot: Bot,
        call_id: str,
        caller: str,
        template: dict[str, Any],
        offered_at: float,
        answered_at: float,
        ended_at: float,
    ) -> dict[str, Any]:
        values = {k: str(self.rng.choice(v)) for k, v in self.transcripts.get("fill", {}).items()}
        for k, n in self.transcripts.get("digits", {}).items():
            values[k] = "".join(str(self.rng.randrange(10)) for _ in range(int(n)))
        values |= {"agent_no": bot.agent_no, "phone": caller}
        # the demo plays calls compressed: the record stretches the real talk time back
        span = (ended_at - answered_at) * self.speed * self.time_scale
        answer_at = round((answered_at - offered_at) * self.speed, 2)
        utterances, events, end = render_transcript(
            template, values, answer_at=answer_at, span=span
        )
        by = "agent" if template.get("hangup") == "agent" else "customer"
        return {
            "id": f"demo-{call_id}",
            "channel": "voice",
            "direction": "inbound",
            "started_at": dt.datetime.fromtimestamp(offered_at, TZ).isoformat(timespec="seconds"),
            "profile": "default",
            "agent": {"id": bot.agent_no, "name": bot.name},
            "customer": {"number": caller},
            "events": [
                {"t": 0.0, "type": "ring"},
                {"t": answer_at, "type": "answer"},
                *events,
                {"t": round(end, 2), "type": "hangup", "by": by},
            ],
            "utterances": utterances,
            "demo_template": template.get("name", ""),
        }

    async def _qa(self, bot: Bot, call_id: str, record: dict[str, Any]) -> None:
        if self._engine_ready is not None:
            await self._engine_ready
        engine = self._engine
        if engine is None:
            return
        output = await asyncio.to_thread(engine.check, record)
        if "error" in output:
            self.stats.qa_errors += 1
            log.warning("demo: QA refused %s: %s", record["id"], output["error"])
            return
        # stored on the loop thread, where the center writes too: SQLite's deferred
        # transactions fail at once (not after busy_timeout) when writers interleave
        with self.db.session() as session:
            qa_review.store_result(session, output, record, call_id=call_id, agent_id=bot.agent_id)
        self.stats.qa_stored += 1


# -- wiring --------------------------------------------------------------------------------
def demo_app(
    settings: Settings,
    db: Database,
    *,
    rate: float = 1.0,
    speed: float = 1.0,
    seed: int | None = None,
) -> FastAPI:
    """The web app in demo mode with live traffic (`rate` 0: the call-injection API only)."""
    from kefu.web.app import create_app

    scenario = load_demo_scenario()
    transcripts = load_transcripts()
    bots = provision(db, scenario, transcripts) if rate > 0 else []
    app = create_app(settings, db, demo=True)  # the center reads the provisioned queues
    if rate > 0:
        app.state.demo_traffic = DemoTraffic(
            app.state.center,
            db,
            app.state.hub,
            scenario,
            seed,
            speed,
            rate=rate,
            transcripts=transcripts,
            bots=bots,
        )
    return app


def login_hint(settings: Settings, app: FastAPI) -> str:
    """One line telling how to watch and join the demo (printed once by `kefu serve`)."""
    traffic: DemoTraffic | None = getattr(app.state, "demo_traffic", None)
    base = f"http://{settings.host}:{settings.port}"
    if traffic is None:
        return f"Demo call injection on (/api/sim/calls); log in at {base}/login"
    numbers = ", ".join(n for q in traffic.scenario.queues for n in q.numbers)
    return (
        f"Demo traffic on: {len(traffic.bots)} bot agents take calls to {numbers}. "
        f"Log in at {base}/login as admin and open /wallboard and /qa; to take calls "
        "yourself, create an agent (kefu admin create-user NAME --role agent --agent-no 1001 "
        f"--extension 8001), log in at {base}/workspace and set yourself idle."
    )
