"""CC-05: the pure dialer (preview, progressive, predictive) and its virtual run with the ACD."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kefu.core.calling_hours import CallingHours
from kefu.core.dialer import (
    AgentsAvailable,
    CallResult,
    CampaignConfig,
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
    Mode,
    OfferPreview,
    PreviewAccepted,
    PreviewSkipped,
    ReleaseAgent,
    ReserveAgent,
    Task,
    TaskStatus,
    Tick,
    parse_mode,
)
from kefu.core.errors import ConfigInvalid, CoreError
from kefu.telephony.dialer_sim import OutboundScenario, run_outbound

TEN = dt.time(10, 0)


def _dialer(mode: Mode, tasks: list[Task], **kw: object) -> Dialer:
    d = Dialer(CampaignConfig("c1", "sales", mode, **kw), tasks)  # type: ignore[arg-type]
    d.handle(CampaignControl(Control.START, 0.0))
    return d


def _of(cmds: list[DialerCommand], kind: type) -> list:  # type: ignore[type-arg]
    return [c for c in cmds if isinstance(c, kind)]


def _tasks(n: int, owner: str | None = None) -> list[Task]:
    return [Task(f"t{i}", f"1390000{i:04d}", owner_agent=owner) for i in range(n)]


def test_progressive_dials_one_number_per_idle_agent() -> None:
    d = _dialer(Mode.PROGRESSIVE, _tasks(10))
    d.handle(AgentsAvailable(0.0, ("a1", "a2", "a3")))
    dials = _of(d.handle(Tick(1.0, TEN)), DialNumber)
    assert [x.agent_id for x in dials] == ["a1", "a2", "a3"]
    assert [x.number for x in dials] == ["13900000000", "13900000001", "13900000002"]
    # No more until an agent is free again: every idle agent has its call out.
    assert _of(d.handle(Tick(2.0, TEN)), DialNumber) == []


def test_answered_call_goes_to_the_owner_agent_when_idle() -> None:
    d = _dialer(Mode.PROGRESSIVE, [Task("t0", "13900000000", owner_agent="a2")])
    d.handle(AgentsAvailable(0.0, ("a1", "a2")))
    [dial] = _of(d.handle(Tick(1.0, TEN)), DialNumber)
    assert dial.agent_id == "a1"  # the first idle agent is claimed ...
    [conn] = _of(d.handle(CallResult(dial.call_id, DialOutcome.ANSWERED, 5.0)), ConnectCall)
    assert conn.agent_id == "a2"  # ... but the idle owner takes the customer
    assert conn.queue == "sales"
    assert d.tasks["t0"].status is TaskStatus.CONNECTED


def test_owner_claimed_by_another_call_swaps_so_nobody_is_dropped() -> None:
    d = _dialer(Mode.PROGRESSIVE, [Task("t0", "1", owner_agent=None), Task("t1", "2", "a1")])
    d.handle(AgentsAvailable(0.0, ("a1", "a2")))
    first, second = _of(d.handle(Tick(1.0, TEN)), DialNumber)
    assert (first.agent_id, second.agent_id) == ("a1", "a2")
    [conn] = _of(d.handle(CallResult(second.call_id, DialOutcome.ANSWERED, 3.0)), ConnectCall)
    assert conn.agent_id == "a1"
    d.handle(AgentsAvailable(3.5, ("a2",)))
    [conn] = _of(d.handle(CallResult(first.call_id, DialOutcome.ANSWERED, 4.0)), ConnectCall)
    assert conn.agent_id == "a2"
    assert d.counts.abandoned == 0


def test_answered_with_no_agent_free_is_dropped_and_retried() -> None:
    d = _dialer(Mode.PROGRESSIVE, _tasks(1))
    d.handle(AgentsAvailable(0.0, ("a1",)))
    [dial] = _of(d.handle(Tick(1.0, TEN)), DialNumber)
    d.handle(AgentsAvailable(2.0, ()))  # a1 took an inbound call meanwhile
    out = d.handle(CallResult(dial.call_id, DialOutcome.ANSWERED, 5.0))
    assert _of(out, DropCall) == [DropCall(dial.call_id, "t0")]
    assert d.counts.abandoned == 1 and d.counts.abandon_rate() == 1.0
    t = d.tasks["t0"]
    assert (t.status, t.last, t.due) == (TaskStatus.PENDING, "abandoned", 605.0)


def test_busy_is_retried_after_its_delay_until_max_attempts() -> None:
    d = _dialer(Mode.PROGRESSIVE, _tasks(1), max_attempts=2, retry_delay={"busy": 60.0})
    d.handle(AgentsAvailable(0.0, ("a1",)))
    [dial] = _of(d.handle(Tick(0.0, TEN)), DialNumber)
    out = d.handle(CallResult(dial.call_id, DialOutcome.BUSY, 3.0))
    assert _of(out, ReleaseAgent) == [ReleaseAgent("a1", "t0")]
    assert _of(d.handle(Tick(62.0, TEN)), DialNumber) == []  # not due before 63 s
    [again] = _of(d.handle(Tick(63.0, TEN)), DialNumber)
    assert again.attempt == 2 and again.call_id != dial.call_id
    out = d.handle(CallResult(again.call_id, DialOutcome.BUSY, 66.0))
    assert d.tasks["t0"].status is TaskStatus.EXHAUSTED
    assert _of(out, CampaignFinished) == [CampaignFinished("c1", CampaignState.FINISHED)]
    assert _of(d.handle(Tick(1000.0, TEN)), DialNumber) == []


def test_no_answer_uses_its_own_delay() -> None:
    d = _dialer(Mode.PROGRESSIVE, _tasks(1), retry_delay={"no_answer": 900.0, "busy": 60.0})
    d.handle(AgentsAvailable(0.0, ("a1",)))
    [dial] = _of(d.handle(Tick(0.0, TEN)), DialNumber)
    d.handle(CallResult(dial.call_id, DialOutcome.NO_ANSWER, 30.0))
    assert d.tasks["t0"].due == 930.0


def test_calling_hours_hold_the_dialling() -> None:
    d = _dialer(Mode.PROGRESSIVE, _tasks(3), hours=CallingHours())
    d.handle(AgentsAvailable(0.0, ("a1",)))
    for local in (dt.time(6, 59), dt.time(12, 30), dt.time(18, 0), dt.time(22, 0)):
        assert _of(d.handle(Tick(1.0, local)), DialNumber) == [], local
    assert len(_of(d.handle(Tick(2.0, dt.time(7, 0))), DialNumber)) == 1


def test_preview_dials_only_after_the_agent_accepts() -> None:
    d = _dialer(Mode.PREVIEW, _tasks(2))
    d.handle(AgentsAvailable(0.0, ("a1",)))
    out = d.handle(Tick(1.0, TEN))
    assert _of(out, ReserveAgent) == [ReserveAgent("a1", "t0")]
    [offer] = _of(out, OfferPreview)
    assert offer.task.number == "13900000000" and _of(out, DialNumber) == []
    assert _of(d.handle(Tick(50.0, TEN)), DialNumber) == []
    [dial] = _of(d.handle(PreviewAccepted("a1", "t0", 51.0)), DialNumber)
    assert (dial.task_id, dial.agent_id) == ("t0", "a1")
    [conn] = _of(d.handle(CallResult(dial.call_id, DialOutcome.ANSWERED, 60.0)), ConnectCall)
    assert conn.agent_id == "a1"


def test_preview_skip_closes_the_task_undialled() -> None:
    d = _dialer(Mode.PREVIEW, _tasks(2))
    d.handle(AgentsAvailable(0.0, ("a1",)))
    d.handle(Tick(1.0, TEN))
    out = d.handle(PreviewSkipped("a1", "t0", 2.0))
    assert _of(out, ReleaseAgent) == [ReleaseAgent("a1", "t0")]
    assert d.tasks["t0"].status is TaskStatus.SKIPPED and d.tasks["t0"].attempts == 0
    [offer] = _of(d.handle(Tick(3.0, TEN)), OfferPreview)
    assert offer.task.id == "t1"
    with pytest.raises(CoreError, match="not previewing"):
        d.handle(PreviewAccepted("a1", "t0", 4.0))


def test_unanswered_preview_goes_back_to_the_list() -> None:
    d = _dialer(Mode.PREVIEW, _tasks(1), preview_timeout=60.0)
    d.handle(AgentsAvailable(0.0, ("a1",)))
    d.handle(Tick(0.0, TEN))
    d.handle(AgentsAvailable(10.0, ()))  # the agent went on break
    out = d.handle(Tick(60.0, TEN))
    assert _of(out, ReleaseAgent) == [ReleaseAgent("a1", "t0")]
    assert d.tasks["t0"].status is TaskStatus.PENDING


def test_predictive_starts_at_ratio_one_and_rises_with_a_low_answer_rate() -> None:
    d = _dialer(Mode.PREDICTIVE, _tasks(500))
    d.handle(AgentsAvailable(0.0, ("a1", "a2", "a3", "a4")))
    dials = _of(d.handle(Tick(0.0, TEN)), DialNumber)
    assert len(dials) == 4 and d.ratio() == 1.0
    now = 1.0
    for _ in range(30):  # 1 in 4 answers, agents stay free (answered ones hang up at once)
        for i, x in enumerate(dials):
            outcome = DialOutcome.ANSWERED if i == 0 else DialOutcome.NO_ANSWER
            d.handle(CallResult(x.call_id, outcome, now))
        d.handle(AgentsAvailable(now, ("a1", "a2", "a3", "a4")))
        dials = _of(d.handle(Tick(now, TEN)), DialNumber)
        now += 1.0
    assert d.counts.abandoned == 0
    assert 3.0 <= d.ratio() <= 4.0  # up to 1 / 0.25, capped at max_ratio 3
    assert len(dials) == 12


def test_predictive_drops_to_ratio_one_over_the_cap() -> None:
    d = _dialer(Mode.PREDICTIVE, _tasks(500))
    d.gain = 1.0
    for i in range(40):
        d._answers.append(i % 4 == 0)
    assert d.ratio() > 2.0
    for _ in range(96):
        d._drops.append(False)
    for _ in range(4):
        d._drops.append(True)  # 4 % over the window of 100 answered calls
    assert d.recent_abandon_rate() > d.config.pacing.abandon_cap
    assert d.ratio() == 1.0


def test_pause_holds_and_stop_cancels() -> None:
    d = _dialer(Mode.PROGRESSIVE, _tasks(3))
    d.handle(CampaignControl(Control.PAUSE, 0.0))
    d.handle(AgentsAvailable(0.0, ("a1",)))
    assert _of(d.handle(Tick(1.0, TEN)), DialNumber) == []
    d.handle(CampaignControl(Control.START, 2.0))
    [dial] = _of(d.handle(Tick(2.0, TEN)), DialNumber)
    d.handle(CampaignControl(Control.STOP, 3.0))
    assert d.status_counts()[TaskStatus.CANCELLED] == 2
    out = d.handle(CallResult(dial.call_id, DialOutcome.BUSY, 4.0))
    assert d.tasks["t0"].status is TaskStatus.CANCELLED
    assert _of(out, CampaignFinished) == [CampaignFinished("c1", CampaignState.STOPPED)]
    with pytest.raises(CoreError, match="cannot start when stopped"):
        d.handle(CampaignControl(Control.START, 5.0))


def test_bad_configuration_is_named() -> None:
    with pytest.raises(ConfigInvalid, match="max_attempts"):
        CampaignConfig("c", "q", Mode.PREVIEW, max_attempts=0)
    with pytest.raises(ConfigInvalid, match="retry_delay 'hangup'"):
        CampaignConfig("c", "q", Mode.PREVIEW, retry_delay={"hangup": 1.0})
    with pytest.raises(ConfigInvalid, match="mode 'robot'"):
        parse_mode("robot")
    with pytest.raises(CoreError, match="listed twice"):
        Dialer(CampaignConfig("c", "q", Mode.PREVIEW), [Task("x", "1"), Task("x", "2")])


# == virtual runs with the real ACD =========================================================
# Each example is a whole simulated campaign: few examples, no shrinking (a failure prints
# its example, which reproduces it as derandomized runs are deterministic).
_FAST = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)


@_FAST
@given(
    answer_rate=st.floats(0.15, 0.7),
    agents=st.integers(3, 15),
    talk=st.floats(20.0, 200.0),
    seed=st.integers(0, 10_000),
)
def test_predictive_keeps_the_abandon_rate_under_the_cap(
    answer_rate: float, agents: int, talk: float, seed: int
) -> None:
    r = run_outbound(
        OutboundScenario(
            mode=Mode.PREDICTIVE,
            agents=agents,
            tasks=1500,
            answer_rate=answer_rate,
            talk=talk,
            seed=seed,
        )
    )
    assert r.finished
    assert r.counts.answered > 200
    assert r.abandon_rate <= 0.03, r.counts


@_FAST
@given(answer_rate=st.floats(0.1, 0.9), agents=st.integers(1, 12), seed=st.integers(0, 10_000))
def test_progressive_never_abandons(answer_rate: float, agents: int, seed: int) -> None:
    r = run_outbound(
        OutboundScenario(
            mode=Mode.PROGRESSIVE,
            agents=agents,
            tasks=40 * agents,
            answer_rate=answer_rate,
            seed=seed,
        )
    )
    assert r.finished and r.counts.answered > 0
    assert r.counts.abandoned == 0
    assert r.counts.dialed == r.counts.answered + r.counts.busy + r.counts.no_answer
    # The idle owner agent always took its own customer.
    owned = [k for k, idle in r.owner_was_idle.items() if idle]
    assert owned and all(r.connected_to[k] == r.owners[k] for k in owned)


@_FAST
@given(skip=st.floats(0.0, 0.5), agents=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_preview_never_dials_without_acceptance(skip: float, agents: int, seed: int) -> None:
    r = run_outbound(
        OutboundScenario(
            mode=Mode.PREVIEW, agents=agents, tasks=30 * agents, skip_rate=skip, seed=seed
        )
    )
    assert r.finished
    assert r.dialed_before_accept == 0
    assert r.counts.abandoned == 0


def test_predictive_beats_progressive_on_a_low_answer_rate() -> None:
    base = OutboundScenario(agents=10, tasks=1500, answer_rate=0.2, seed=3)
    pred = run_outbound(base)
    prog = run_outbound(OutboundScenario(**{**_fields(base), "mode": Mode.PROGRESSIVE}))
    assert pred.finished and prog.finished
    assert pred.seconds < prog.seconds * 0.9
    assert pred.abandon_rate <= 0.03


def _fields(s: OutboundScenario) -> dict[str, object]:
    return {f: getattr(s, f) for f in s.__dataclass_fields__}


def test_the_cap_is_what_holds_the_abandons() -> None:
    """The same campaign with a loose cap (30 %) abandons more than 3 %: the guard, not the
    scenario, keeps the property above true."""
    base = {"agents": 10, "tasks": 1500, "answer_rate": 0.5, "seed": 5}
    loose = run_outbound(OutboundScenario(abandon_cap=0.3, **base))  # type: ignore[arg-type]
    tight = run_outbound(OutboundScenario(abandon_cap=0.03, **base))  # type: ignore[arg-type]
    assert loose.abandon_rate > 0.03
    assert tight.abandon_rate <= 0.03
