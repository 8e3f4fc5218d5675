"""Supervisor actions with permissions and audit (AG-15..AG-22); transfers, hold, mute,
three-way calls (AG-05, AG-08, AG-09)."""

from __future__ import annotations

import pytest

from core_helpers import center, login, of
from kefu.core.agent import AgentState
from kefu.core.call import CallState
from kefu.core.commands import (
    AuditEvent,
    Bridge,
    Conference,
    DialOutside,
    Hangup,
    Hold,
    Intercept,
    Monitor,
    Mute,
    Resume,
    RingAgent,
    StopMonitor,
)
from kefu.core.errors import IllegalTransition, PermissionDenied, UnknownQueue
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    CallArrived,
    CallerHungUp,
    ConferenceRequested,
    HoldRequested,
    MuteRequested,
    PartyLeft,
    ResumeRequested,
    StateRequested,
    SupervisorRequested,
    TransferKind,
    TransferRequested,
)
from kefu.core.queue import QueueConfig
from kefu.core.supervision import PERMISSIONS, MonitorMode, Role, SupervisorAction

S = AgentState
A = SupervisorAction


def _on_call(**kw: object):  # type: ignore[no-untyped-def]
    cc = center(QueueConfig("q", numbers=("100",)), QueueConfig("other", numbers=("200",)), **kw)  # type: ignore[arg-type]
    login(cc, "a")
    cc.handle(CallArrived("c1", "13800138000", "100", 10))
    cc.handle(AgentAnswered("a", "c1", 11))
    return cc


def _sup(cc, action: A, role: Role = Role.SUPERVISOR, agent: str = "a", now: float = 20):  # type: ignore[no-untyped-def]
    return cc.handle(SupervisorRequested("boss", role, action, agent, now))


@pytest.mark.parametrize(
    ("action", "mode"),
    [
        (A.LISTEN, MonitorMode.LISTEN),
        (A.WHISPER, MonitorMode.WHISPER),
        (A.BARGE, MonitorMode.BARGE),
    ],
)
def test_listen_whisper_barge_join_the_call_and_are_audited(action: A, mode: MonitorMode) -> None:
    cc = _on_call()
    cmds = _sup(cc, action)
    assert of(cmds, Monitor) == [Monitor("c1", "boss", mode)]
    audit = of(cmds, AuditEvent)[0]
    assert audit.allowed and audit.action is action and audit.call_id == "c1"
    cmds = _sup(cc, A.STOP_MONITOR, now=30)
    assert of(cmds, StopMonitor) == [StopMonitor("c1", "boss")]


def test_roles_are_checked_and_refusals_are_audited() -> None:
    cc = _on_call()
    for role in Role:
        for action in (A.LISTEN, A.WHISPER, A.BARGE, A.INTERCEPT, A.FORCE_HANGUP):
            if action in PERMISSIONS[role]:
                continue
            with pytest.raises(PermissionDenied) as exc:
                _sup(cc, action, role=role)
            assert exc.value.audit is not None
            assert exc.value.audit.allowed is False and exc.value.audit.role is role
    assert cc.agents["a"].state is S.ON_CALL and cc.calls["c1"].monitors == {}
    assert A.LISTEN in PERMISSIONS[Role.QA] and A.BARGE not in PERMISSIONS[Role.QA]
    assert PERMISSIONS[Role.AGENT] == frozenset()


def test_monitoring_an_idle_agent_is_illegal() -> None:
    cc = center()
    login(cc, "a")
    with pytest.raises(IllegalTransition):
        _sup(cc, A.LISTEN)


def test_intercept_gives_the_caller_to_the_supervisor_and_drops_the_agent() -> None:
    cc = _on_call()
    cmds = _sup(cc, A.INTERCEPT)
    assert of(cmds, Intercept) == [Intercept("c1", "boss", "a")]
    assert cc.agents["a"].state is S.AFTER_CALL_WORK
    assert cc.calls["c1"].state is CallState.CONNECTED and cc.calls["c1"].supervisor == "boss"
    cmds = cc.handle(AgentHungUp("boss", "c1", 40))
    assert of(cmds, Hangup)[0].reason == "supervisor" and "c1" not in cc.calls


def test_force_hangup_ends_the_call() -> None:
    cc = _on_call()
    cmds = _sup(cc, A.FORCE_HANGUP)
    assert of(cmds, Hangup) == [Hangup("c1", "forced")]
    assert cc.agents["a"].state is S.AFTER_CALL_WORK and "c1" not in cc.calls


def test_force_busy_idle_and_logout() -> None:
    cc = center()
    login(cc, "a")
    cmds = _sup(cc, A.FORCE_BUSY, role=Role.TEAM_LEADER)
    assert cc.agents["a"].state is S.BUSY and cc.agents["a"].reason == "forced"
    assert of(cmds, AuditEvent)[0].allowed
    _sup(cc, A.FORCE_IDLE, role=Role.TEAM_LEADER, now=21)
    assert cc.agents["a"].state is S.IDLE
    with pytest.raises(PermissionDenied):
        _sup(cc, A.FORCE_LOGOUT, role=Role.TEAM_LEADER, now=22)
    _sup(cc, A.FORCE_LOGOUT, role=Role.ADMIN, now=23)
    assert cc.agents["a"].state is S.LOGGED_OUT


def test_force_logout_during_a_call_applies_after_it() -> None:
    cc = _on_call()
    _sup(cc, A.FORCE_LOGOUT)
    assert cc.agents["a"].state is S.ON_CALL
    cc.handle(CallerHungUp("c1", 30))
    cc.handle_timer(60)
    assert cc.agents["a"].state is S.LOGGED_OUT


def test_hold_and_resume() -> None:
    cc = _on_call()
    cmds = cc.handle(HoldRequested("a", 20))
    assert of(cmds, Hold) == [Hold("c1")]
    assert cc.agents["a"].state is S.ON_HOLD and cc.calls["c1"].state is CallState.HELD
    with pytest.raises(IllegalTransition):
        cc.handle(HoldRequested("a", 21))
    cmds = cc.handle(ResumeRequested("a", 22))
    assert of(cmds, Resume) == [Resume("c1")] and cc.agents["a"].state is S.ON_CALL


def test_mute_is_an_attribute_of_the_call() -> None:
    cc = _on_call()
    cmds = cc.handle(MuteRequested("a", True, 20))
    assert cmds == [Mute("c1", "a", True)] and cc.calls["c1"].muted
    assert cc.agents["a"].state is S.ON_CALL


def test_transfer_to_a_queue() -> None:
    cc = _on_call()
    login(cc, "b", now=12)
    cmds = cc.handle(TransferRequested("a", TransferKind.QUEUE, "other", 20))
    assert cc.agents["a"].state is S.AFTER_CALL_WORK
    assert of(cmds, RingAgent)[0].agent_id == "b"
    assert cc.calls["c1"].queue is cc.queues["other"]
    cc.handle(AgentAnswered("b", "c1", 21))
    with pytest.raises(UnknownQueue):
        cc.handle(TransferRequested("b", TransferKind.QUEUE, "nope", 21))


def test_transfer_to_an_agent() -> None:
    cc = _on_call()
    login(cc, "b", now=12)
    cmds = cc.handle(TransferRequested("a", TransferKind.AGENT, "b", 20))
    assert of(cmds, RingAgent)[0].agent_id == "b"
    cmds = cc.handle(AgentAnswered("b", "c1", 22))
    assert of(cmds, Bridge) == [Bridge("c1", "b")]


def test_transfer_to_a_busy_agent_is_refused_and_nothing_changes() -> None:
    cc = _on_call()
    login(cc, "b", now=12)
    cc.handle(StateRequested("b", S.BUSY, 13))
    with pytest.raises(IllegalTransition):
        cc.handle(TransferRequested("a", TransferKind.AGENT, "b", 20))
    assert cc.agents["a"].state is S.ON_CALL and cc.calls["c1"].state is CallState.CONNECTED


def test_transfer_outside_needs_a_permission_that_is_off_by_default() -> None:
    cc = _on_call()
    with pytest.raises(PermissionDenied) as exc:
        cc.handle(TransferRequested("a", TransferKind.OUTSIDE, "02088886666", 20))
    assert exc.value.audit is not None and not exc.value.audit.allowed
    assert cc.agents["a"].state is S.ON_CALL
    cc2 = center()
    login(cc2, "a", may_transfer_outside=True)
    cc2.handle(CallArrived("c1", "13800138000", "100", 10))
    cc2.handle(AgentAnswered("a", "c1", 11))
    cmds = cc2.handle(TransferRequested("a", TransferKind.OUTSIDE, "02088886666", 20))
    assert of(cmds, DialOutside) == [DialOutside("c1", "02088886666")]
    assert of(cmds, AuditEvent)[0].allowed and "c1" not in cc2.calls


def test_three_way_call_and_barge() -> None:
    cc = _on_call()
    with pytest.raises(PermissionDenied):  # an outside party needs the outside permission
        cc.handle(ConferenceRequested("a", "02088886666", 20))
    cc.agents["a"].may_transfer_outside = True
    cmds = cc.handle(ConferenceRequested("a", "02088886666", 20))
    assert cmds[0] == Conference("c1", "02088886666")
    assert of(cmds, AuditEvent)[0].action == "conference_outside"
    _sup(cc, A.BARGE, now=21)  # AG-16: barge into the three-way call
    assert cc.calls["c1"].parties == ["02088886666"]
    assert cc.calls["c1"].monitors == {"boss": MonitorMode.BARGE}
    assert cc.handle(PartyLeft("c1", "02088886666", 30)) == []
    assert of(cc.handle(PartyLeft("c1", "boss", 31)), StopMonitor)
    with pytest.raises(IllegalTransition):
        cc.handle(PartyLeft("c1", "nobody", 32))
