"""SLA-04 in the pure core: hold timers with injected time. At 2 minutes the agent is told to
take a callback number, at 5 minutes the agent and the team leader are alerted; by default the
caller stays on hold (see `HoldPolicy`), optionally the core takes them off hold itself."""

from __future__ import annotations

from core_helpers import center, login, of
from kefu.core.acd import ContactCenter, HoldPolicy
from kefu.core.agent import AgentState
from kefu.core.call import CallState
from kefu.core.commands import HoldAlert, Resume
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    CallArrived,
    ConsultRequested,
    HoldRequested,
    ResumeRequested,
    TransferKind,
)


def _held(at: float = 100.0, **kw: object) -> ContactCenter:
    cc = center(**kw)  # type: ignore[arg-type]
    login(cc, "a", "b")
    cc.handle(CallArrived("c1", "13800138000", "100", 10))
    cc.handle(AgentAnswered("a", "c1", 11))
    cc.handle(HoldRequested("a", at))
    return cc


def test_warns_at_two_minutes_and_alerts_at_five_without_resuming() -> None:
    cc = _held()
    assert cc.next_deadline() == 220.0
    assert cc.handle_timer(219.9) == []
    assert cc.handle_timer(220.0) == [HoldAlert("c1", "a", "warn", 120.0, 120.0)]
    assert cc.next_deadline() == 400.0
    out = cc.handle_timer(400.0)
    assert out == [HoldAlert("c1", "a", "limit", 300.0, 300.0, resumed=False)]
    assert cc.agents["a"].state is AgentState.ON_HOLD  # the agent decides
    assert cc.calls["c1"].state is CallState.HELD
    assert cc.next_deadline() is None  # one alert each, no repeats


def test_resume_voids_the_timers_and_a_new_hold_starts_afresh() -> None:
    cc = _held()
    cc.handle(ResumeRequested("a", 200))
    assert cc.handle_timer(1000) == []
    cc.handle(HoldRequested("a", 1000))
    assert of(cc.handle_timer(1119), HoldAlert) == []
    assert cc.handle_timer(1120) == [HoldAlert("c1", "a", "warn", 120.0, 120.0)]
    cc.handle(AgentHungUp("a", "c1", 1200))  # hang-up while held: the limit never fires
    assert of(cc.handle_timer(2000), HoldAlert) == []


def test_resume_at_limit_when_configured() -> None:
    cc = _held(hold=HoldPolicy(warn_after=30, limit_after=60, resume_at_limit=True))
    assert cc.handle_timer(130) == [HoldAlert("c1", "a", "warn", 30.0, 30.0)]
    out = cc.handle_timer(160)
    assert of(out, Resume) == [Resume("c1")]
    assert of(out, HoldAlert) == [HoldAlert("c1", "a", "limit", 60.0, 60.0, resumed=True)]
    assert cc.agents["a"].state is AgentState.ON_CALL
    assert cc.calls["c1"].state is CallState.CONNECTED


def test_consultation_hold_is_timed_but_never_auto_resumed() -> None:
    cc = center(hold=HoldPolicy(warn_after=0, limit_after=60, resume_at_limit=True))
    login(cc, "a", "b")
    cc.handle(CallArrived("c1", "13800138000", "100", 10))
    cc.handle(AgentAnswered("a", "c1", 11))
    cc.handle(ConsultRequested("a", TransferKind.AGENT, "b", 100))
    assert cc.next_deadline() is not None
    out = cc.handle_timer(160)
    assert of(out, HoldAlert) == [HoldAlert("c1", "a", "limit", 60.0, 60.0, resumed=False)]
    assert of(out, Resume) == []
    assert cc.calls["c1"].state is CallState.HELD


def test_timers_off() -> None:
    cc = _held(hold=HoldPolicy(warn_after=0, limit_after=0))
    assert cc.next_deadline() is None or of(cc.handle_timer(10_000), HoldAlert) == []
