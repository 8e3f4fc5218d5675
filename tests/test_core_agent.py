"""Agent states (AG-01..AG-06, AG-11, AG-19..AG-21): the table, ACW, pending, missed rings."""

from __future__ import annotations

import pytest

from core_helpers import center, login, of
from kefu.core.agent import AGENT_TRANSITIONS, AgentState, AgentTrigger
from kefu.core.commands import AgentStateChanged, CallHandled, RingAgent, RingMissed
from kefu.core.errors import IllegalTransition, UnknownAgent
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentRejected,
    CallArrived,
    SkillGroupSignedIn,
    SkillGroupSignedOut,
    StateRequested,
)
from kefu.core.queue import QueueConfig

S = AgentState


def test_every_state_is_reachable_in_the_table() -> None:
    reached = {S.LOGGED_OUT} | set(AGENT_TRANSITIONS.values())
    assert reached == set(AgentState)


def test_login_idle_busy_break_idle_logout() -> None:
    cc = center()
    login(cc, "a")
    assert cc.agents["a"].state is S.IDLE
    cmds = cc.handle(StateRequested("a", S.BUSY, 1.0, reason="meeting"))
    assert cc.agents["a"].state is S.BUSY and cc.agents["a"].reason == "meeting"
    assert of(cmds, AgentStateChanged)[0].new is S.BUSY
    cc.handle(StateRequested("a", S.BREAK, 2.0))
    assert cc.agents["a"].state is S.BREAK
    cc.handle(StateRequested("a", S.IDLE, 3.0))
    assert cc.agents["a"].state is S.IDLE and cc.agents["a"].reason == ""
    cc.handle(AgentLoggedOut("a", 4.0))
    assert cc.agents["a"].state is S.LOGGED_OUT
    with pytest.raises(UnknownAgent):
        cc.handle(StateRequested("a", S.IDLE, 5.0))


def test_login_not_ready_starts_busy() -> None:
    cc = center()
    cc.handle(AgentLoggedIn("a", 0.0, ready=False))
    assert cc.agents["a"].state is S.BUSY


def test_illegal_transition_raises_and_leaves_state() -> None:
    cc = center()
    login(cc, "a")
    cc.handle(StateRequested("a", S.BREAK, 1.0))
    before = (cc.agents["a"].state, cc.agents["a"].epoch)
    with pytest.raises(IllegalTransition):
        cc.handle(StateRequested("a", S.ON_CALL, 2.0))
    with pytest.raises(IllegalTransition):
        cc.handle(AgentLoggedIn("a", 2.0))  # already logged in
    assert (cc.agents["a"].state, cc.agents["a"].epoch) == before


def _talk(cc, agent: str = "a", call: str = "c1", now: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    cc.handle(CallArrived(call, "13800138000", "100", now))
    cc.handle(AgentAnswered(agent, call, now + 1))


def test_acw_ends_by_itself_after_30_seconds() -> None:
    cc = center()
    login(cc, "a")
    _talk(cc)
    cc.handle(AgentHungUp("a", "c1", 50.0))
    assert cc.agents["a"].state is S.AFTER_CALL_WORK
    assert cc.next_deadline() == 80.0
    assert cc.handle_timer(79.9) == []
    cmds = cc.handle_timer(80.0)
    assert cc.agents["a"].state is S.IDLE
    handled = of(cmds, CallHandled)[0]
    assert handled.talk == pytest.approx(39.0) and handled.acw == pytest.approx(30.0)


def test_agent_ends_acw_early_and_the_stale_timer_is_ignored() -> None:
    cc = center()
    login(cc, "a")
    _talk(cc)
    cc.handle(AgentHungUp("a", "c1", 50.0))
    cmds = cc.handle(StateRequested("a", S.IDLE, 55.0))
    assert of(cmds, CallHandled)[0].acw == pytest.approx(5.0)
    assert cc.agents["a"].state is S.IDLE
    assert cc.next_deadline() is None
    assert cc.handle_timer(80.0) == []


def test_busy_requested_on_a_call_applies_after_the_call() -> None:
    cc = center()
    login(cc, "a")
    _talk(cc)
    cc.handle(StateRequested("a", S.BUSY, 20.0, reason="training"))
    assert cc.agents["a"].state is S.ON_CALL
    cc.handle(AgentHungUp("a", "c1", 30.0))
    cc.handle_timer(60.0)
    assert cc.agents["a"].state is S.BUSY and cc.agents["a"].reason == "training"


def test_idle_requested_on_a_call_cancels_a_pending_request() -> None:
    cc = center()
    login(cc, "a")
    _talk(cc)
    cc.handle(AgentLoggedOut("a", 20.0))
    cc.handle(StateRequested("a", S.IDLE, 21.0))
    cc.handle(AgentHungUp("a", "c1", 30.0))
    cc.handle_timer(60.0)
    assert cc.agents["a"].state is S.IDLE


def test_missed_rings_in_a_row_make_the_agent_busy() -> None:
    cc = center(max_missed_rings=2)
    login(cc, "a")
    cc.handle(CallArrived("c1", "13800138000", "100", 10.0))
    cmds = cc.handle(AgentRejected("a", "c1", 11.0))
    assert of(cmds, RingMissed)[0].missed_in_row == 1
    # The call comes straight back to the only agent; this time the ring times out.
    assert cc.agents["a"].state is S.RINGING
    deadline = cc.next_deadline()
    assert deadline == pytest.approx(31.0)
    cmds = cc.handle_timer(deadline)
    assert cc.agents["a"].state is S.BUSY and cc.agents["a"].reason == "missed_rings"
    assert cc.agents["a"].missed_total == 2
    assert of(cmds, RingMissed)[0].reason == "timeout"


def test_answering_resets_the_missed_counter() -> None:
    cc = center(max_missed_rings=2)
    login(cc, "a")
    cc.handle(CallArrived("c1", "13800138000", "100", 10.0))
    cc.handle(AgentRejected("a", "c1", 11.0))
    cc.handle(AgentAnswered("a", "c1", 12.0))
    assert cc.agents["a"].missed_in_row == 0 and cc.agents["a"].missed_total == 1


def test_skill_group_sign_in_and_out_changes_which_calls_ring() -> None:
    cc = center(QueueConfig("vip", numbers=("200",), skills={"vip": 1}))
    login(cc, "a", skills={"vip": 3}, signed_in=frozenset())
    assert cc.agents["a"].queues == []
    cmds = cc.handle(CallArrived("c1", "13800138000", "200", 5.0))
    assert of(cmds, RingAgent) == []
    cmds = cc.handle(SkillGroupSignedIn("a", "vip", 6.0))
    assert of(cmds, RingAgent)[0].call_id == "c1"
    cc.handle(AgentAnswered("a", "c1", 7.0))
    cc.handle(SkillGroupSignedOut("a", "vip", 8.0))
    assert cc.queues["vip"].staffed == 0


def test_logout_while_ringing_returns_the_call_to_the_queue() -> None:
    cc = center()
    login(cc, "a", "b")
    cc.handle(StateRequested("b", S.BUSY, 5.0))
    cc.handle(CallArrived("c1", "13800138000", "100", 10.0))
    cc.handle(AgentLoggedOut("a", 11.0))
    assert cc.calls["c1"].state.name == "QUEUED"
    cmds = cc.handle(StateRequested("b", S.IDLE, 12.0))
    assert of(cmds, RingAgent)[0].agent_id == "b"


def test_time_in_states_adds_up() -> None:
    cc = center()
    login(cc, "a")
    _talk(cc)
    cc.handle(AgentHungUp("a", "c1", 41.0))
    cc.handle_timer(71.0)
    t = cc.time_in_states("a", 100.0)
    assert t[S.ON_CALL] == pytest.approx(30.0)
    assert t[S.AFTER_CALL_WORK] == pytest.approx(30.0)
    assert t[S.RINGING] == pytest.approx(1.0)
    assert sum(t.values()) == pytest.approx(100.0)


def test_trigger_enum_is_covered_by_the_table() -> None:
    used = {t for (_, t) in AGENT_TRANSITIONS}
    assert used == set(AgentTrigger)
