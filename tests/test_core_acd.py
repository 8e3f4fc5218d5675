"""Queues and ACD routing (CC-02, AG-12, AG-13, AG-14)."""

from __future__ import annotations

import random

import pytest

from core_helpers import center, login, of
from kefu.core.acd import CenterConfig, ContactCenter
from kefu.core.agent import AgentState
from kefu.core.call import CallState, Outcome
from kefu.core.commands import (
    Bridge,
    CallRecord,
    Hangup,
    OfferCallback,
    Overflow,
    PlayAnnouncement,
    Reject,
    RejectReason,
    RingAgent,
    SendToVoicemail,
    StopRinging,
)
from kefu.core.errors import IllegalTransition, PermissionDenied
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentRejected,
    BlacklistChanged,
    CallArrived,
    CallerHungUp,
    PickupRequested,
    StateRequested,
)
from kefu.core.queue import OverflowKind, QueueConfig, Strategy
from kefu.core.routing import RoutingRule, normalize, region_of
from kefu.core.supervision import Role

S = AgentState


def _ring(cc: ContactCenter, call: str, now: float, dialed: str = "100", **kw: object) -> list:  # type: ignore[type-arg]
    return of(cc.handle(CallArrived(call, "13800138000", dialed, now, **kw)), RingAgent)  # type: ignore[arg-type]


def _cycle(cc: ContactCenter, agent: str, call: str, now: float) -> None:
    """Answer, hang up and finish ACW early: the agent is idle again at `now + 3`."""
    cc.handle(AgentAnswered(agent, call, now))
    cc.handle(AgentHungUp(agent, call, now + 1))
    cc.handle(StateRequested(agent, S.IDLE, now + 3))


def test_longest_idle_picks_the_agent_idle_longest() -> None:
    cc = center()
    login(cc, "a", "b", "c")  # idle since 0, 1, 2
    assert _ring(cc, "c1", 10)[0].agent_id == "a"
    _cycle(cc, "a", "c1", 11)  # a idle again at 14
    assert _ring(cc, "c2", 20)[0].agent_id == "b"
    assert _ring(cc, "c3", 21)[0].agent_id == "c"
    assert _ring(cc, "c4", 22)[0].agent_id == "a"


def test_round_robin_takes_turns() -> None:
    cc = center(QueueConfig("q", numbers=("100",), strategy=Strategy.ROUND_ROBIN))
    login(cc, "a", "b", "c")
    order = []
    for i in range(6):
        r = _ring(cc, f"c{i}", 10 + 10 * i)
        order.append(r[0].agent_id)
        _cycle(cc, r[0].agent_id, f"c{i}", 11 + 10 * i)
    assert order == ["a", "b", "c", "a", "b", "c"]


def test_fewest_calls_prefers_the_least_busy_agent() -> None:
    cc = center(QueueConfig("q", numbers=("100",), strategy=Strategy.FEWEST_CALLS))
    login(cc, "a", "b")
    _cycle(cc, _ring(cc, "c1", 10)[0].agent_id, "c1", 11)  # a: 1 call
    _cycle(cc, _ring(cc, "c2", 20)[0].agent_id, "c2", 21)  # b: 1 call
    # Both have one call; a has been idle longer, gets c3, then b must get c4 and c5
    first = _ring(cc, "c3", 30)[0].agent_id
    _cycle(cc, first, "c3", 31)
    other = _ring(cc, "c4", 40)[0].agent_id
    assert other != first


def test_random_strategy_is_reproducible_with_a_seed_and_spreads_calls() -> None:
    def picks(seed: int) -> list[str]:
        q = QueueConfig("q", numbers=("100",), strategy=Strategy.RANDOM)
        cc = ContactCenter(CenterConfig(queues=(q,), acw_seconds=0), rng=random.Random(seed))
        login(cc, *"abcdef")
        out = []
        for i in range(30):
            a = _ring(cc, f"c{i}", 10 + 10 * i)[0].agent_id
            out.append(a)
            cc.handle(AgentAnswered(a, f"c{i}", 11 + 10 * i))
            cc.handle(AgentHungUp(a, f"c{i}", 12 + 10 * i))
        return out

    assert picks(1) == picks(1)
    assert picks(1) != picks(2)
    assert len(set(picks(1))) >= 4


def test_ring_all_first_answer_wins_and_others_stop() -> None:
    cc = center(QueueConfig("q", numbers=("100",), strategy=Strategy.RING_ALL))
    login(cc, "a", "b", "c")
    rings = _ring(cc, "c1", 10)
    assert {r.agent_id for r in rings} == {"a", "b", "c"}
    cmds = cc.handle(AgentAnswered("b", "c1", 12))
    assert {s.agent_id for s in of(cmds, StopRinging)} == {"a", "c"}
    assert of(cmds, Bridge) == [Bridge("c1", "b")]
    assert cc.agents["a"].state is S.IDLE and cc.agents["c"].state is S.IDLE
    with pytest.raises(IllegalTransition):
        cc.handle(AgentAnswered("a", "c1", 12.5))  # a second answer connects nobody
    assert cc.calls["c1"].agent is cc.agents["b"]


def test_ring_all_one_agent_dropping_does_not_hang_up_the_caller() -> None:
    """Asterisk issue 1557: one ringing member hanging up must not end the call."""
    cc = center(QueueConfig("q", numbers=("100",), strategy=Strategy.RING_ALL))
    login(cc, "a", "b", "c")
    _ring(cc, "c1", 10)
    cmds = cc.handle(AgentHungUp("a", "c1", 11))
    assert of(cmds, Hangup) == []
    assert of(cmds, StopRinging) == [StopRinging("c1", "a")]
    assert cc.agents["b"].state is S.RINGING and cc.agents["c"].state is S.RINGING
    cmds = cc.handle(AgentRejected("b", "c1", 12))
    assert of(cmds, Hangup) == [] and cc.agents["c"].state is S.RINGING
    cmds = cc.handle(AgentAnswered("c", "c1", 13))
    assert of(cmds, Bridge) == [Bridge("c1", "c")]


def test_ring_timeout_moves_the_call_to_the_next_agent() -> None:
    cc = center(QueueConfig("q", numbers=("100",), ring_timeout=15))
    login(cc, "a", "b")
    assert _ring(cc, "c1", 10)[0].agent_id == "a"
    cmds = cc.handle_timer(25)
    assert of(cmds, StopRinging) == [StopRinging("c1", "a")]
    assert of(cmds, RingAgent)[0].agent_id == "b"


def test_owner_agent_first_then_anyone_after_the_wait() -> None:
    cc = center(QueueConfig("q", numbers=("100",), owner_wait=20))
    login(cc, "a", "own")
    cc.handle(CallArrived("x", "13800138001", "100", 5))
    cc.handle(AgentAnswered("a", "x", 6))  # a is idle longer; busy now
    cc.handle(CallArrived("y", "13800138002", "100", 7))
    cc.handle(AgentAnswered("own", "y", 8))  # owner busy on another call
    cmds = cc.handle(CallArrived("c1", "13800138000", "100", 10, owner_agent="own"))
    assert of(cmds, RingAgent) == []
    cmds = cc.handle(AgentHungUp("a", "x", 12))
    cc.handle(StateRequested("a", S.IDLE, 13))
    assert cc.agents["a"].state is S.IDLE  # not given c1: it waits for its owner
    cc.handle(AgentHungUp("own", "y", 15))
    cmds = cc.handle(StateRequested("own", S.IDLE, 16))
    assert of(cmds, RingAgent)[0].agent_id == "own"


def test_owner_wait_expires_and_anyone_takes_the_call() -> None:
    cc = center(QueueConfig("q", numbers=("100",), owner_wait=20))
    login(cc, "a", "own")
    cc.handle(StateRequested("a", S.BUSY, 1))
    cc.handle(CallArrived("y", "13800138002", "100", 7))
    cc.handle(AgentAnswered("own", "y", 8))
    cc.handle(StateRequested("a", S.IDLE, 9))
    cc.handle(CallArrived("c1", "13800138000", "100", 10, owner_agent="own"))
    assert cc.agents["a"].state is S.IDLE
    assert cc.next_deadline() == 30
    cmds = cc.handle_timer(30)
    assert of(cmds, RingAgent)[0].agent_id == "a"


def test_region_rule_routes_guangdong_callers_to_the_cantonese_queue() -> None:
    assert region_of("+86 139 2222 3333").startswith("广东")
    assert region_of("075588886666") == "广东省深圳市"
    assert normalize("+86 139-2222-3333") == "13922223333"
    cc = center(
        QueueConfig("general", numbers=("100",)),
        QueueConfig("cantonese", skills={"yue": 1}),
        rules=(RoutingRule("粤语", regions=("广东",), to_queue="cantonese"),),
    )
    login(cc, "m", skills={"mandarin": 1})
    login(cc, "y", now=5, skills={"yue": 2})
    rings = of(cc.handle(CallArrived("c1", "13922223333", "100", 10)), RingAgent)
    assert rings[0].agent_id == "y" and rings[0].region == "广东省广州市"
    rings = of(cc.handle(CallArrived("c2", "13800138000", "100", 11)), RingAgent)
    assert rings[0].agent_id == "m"  # a Beijing number stays in the general queue


def test_number_list_rule_goes_to_designated_agents_first() -> None:
    cc = center(rules=(RoutingRule("vip", numbers=frozenset({"13800138000"}), to_agents=("v",)),))
    login(cc, "a", "v")
    rings = _ring(cc, "c1", 10)
    assert rings[0].agent_id == "v"  # although a is idle longer


def test_blacklisted_number_is_rejected_before_queueing() -> None:
    cc = center(blacklist=frozenset({"+8613800138000"}))
    login(cc, "a")
    cmds = cc.handle(CallArrived("c1", "13800138000", "100", 10))
    assert of(cmds, Reject) == [Reject("c1", RejectReason.BLACKLISTED)]
    assert "c1" not in cc.calls and cc.queues["q"].offered == 0
    assert cc.agents["a"].state is S.IDLE


def test_blacklist_needs_a_team_leader_and_is_audited() -> None:
    cc = center()
    with pytest.raises(PermissionDenied) as exc:
        cc.handle(BlacklistChanged("u1", Role.AGENT, "13900000000", True, 1))
    assert exc.value.audit is not None and exc.value.audit.allowed is False
    cmds = cc.handle(BlacklistChanged("tl", Role.TEAM_LEADER, "13900000000", True, 2))
    assert cmds[0].allowed is True
    cmds = cc.handle(CallArrived("c1", "13900000000", "100", 3))
    assert of(cmds, Reject)[0].reason is RejectReason.BLACKLISTED


def test_unknown_number_is_rejected() -> None:
    cc = center()
    cmds = cc.handle(CallArrived("c1", "13800138000", "999", 1))
    assert of(cmds, Reject)[0].reason is RejectReason.NO_QUEUE


def test_queue_priority_then_caller_priority_then_arrival() -> None:
    cc = center(
        QueueConfig("low", numbers=("100",), priority=0),
        QueueConfig("high", numbers=("200",), priority=5),
    )
    login(cc, "a")
    cc.handle(StateRequested("a", S.BUSY, 1))
    cc.handle(CallArrived("l1", "13800138000", "100", 10))
    cc.handle(CallArrived("l2", "13800138001", "100", 11, priority=3))
    cc.handle(CallArrived("h1", "13800138002", "200", 12))
    order = []
    cmds = cc.handle(StateRequested("a", S.IDLE, 20))
    for i in range(3):
        call = of(cmds, RingAgent)[0].call_id
        order.append(call)
        cc.handle(AgentAnswered("a", call, 21 + i * 10))
        cc.handle(AgentHungUp("a", call, 22 + i * 10))
        cmds = cc.handle(StateRequested("a", S.IDLE, 23 + i * 10))
    assert order == ["h1", "l2", "l1"]


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        (OverflowKind.VOICEMAIL, SendToVoicemail),
        (OverflowKind.CALLBACK, OfferCallback),
        (OverflowKind.REJECT, Reject),
    ],
)
def test_max_wait_leaves_the_queue(kind: OverflowKind, command: type) -> None:
    cc = center(QueueConfig("q", numbers=("100",), max_wait=60, overflow=kind))
    cmds = cc.handle(CallArrived("c1", "13800138000", "100", 10))
    assert cc.next_deadline() == 70
    cmds = cc.handle_timer(70)
    assert len(of(cmds, command)) == 1
    assert of(cmds, CallRecord)[0].waited == 60
    assert "c1" not in cc.calls


def test_max_wait_overflows_to_another_queue() -> None:
    cc = center(
        QueueConfig(
            "q",
            numbers=("100",),
            max_wait=30,
            overflow=OverflowKind.QUEUE,
            overflow_queue="backup",
            skills={"q": 1},
        ),
        QueueConfig("backup", skills={"b": 1}),
    )
    login(cc, "b1", skills={"b": 1})
    cc.handle(StateRequested("b1", S.BUSY, 1))
    cc.handle(CallArrived("c1", "13800138000", "100", 10))
    cmds = cc.handle_timer(40)
    assert of(cmds, Overflow) == [Overflow("c1", "q", "backup")]
    assert of(cmds, CallRecord)[0].outcome is Outcome.OVERFLOWED
    cmds = cc.handle(StateRequested("b1", S.IDLE, 41))
    assert of(cmds, RingAgent)[0].call_id == "c1"


def test_max_wait_while_ringing_overflows_when_the_ring_ends() -> None:
    cc = center(
        QueueConfig(
            "q", numbers=("100",), max_wait=10, ring_timeout=30, overflow=OverflowKind.VOICEMAIL
        )
    )
    login(cc, "a")
    _ring(cc, "c1", 0)
    assert cc.handle_timer(10) == []  # still ringing: the agent may answer
    cmds = cc.handle_timer(30)
    assert len(of(cmds, SendToVoicemail)) == 1


def test_join_empty_false_overflows_at_once() -> None:
    cc = center(
        QueueConfig("q", numbers=("100",), join_empty=False, overflow=OverflowKind.VOICEMAIL)
    )
    cmds = cc.handle(CallArrived("c1", "13800138000", "100", 10))
    assert len(of(cmds, SendToVoicemail)) == 1


def test_announcement_position_and_estimated_wait() -> None:
    cc = center(QueueConfig("q", numbers=("100",), aht_hint=120, announce_interval=30))
    login(cc, "a", "b")
    _ring(cc, "x", 1)
    _ring(cc, "y", 2)
    cc.handle(AgentAnswered("a", "x", 3))
    cc.handle(AgentAnswered("b", "y", 3))
    ann = of(cc.handle(CallArrived("c1", "13800138000", "100", 10)), PlayAnnouncement)[0]
    assert ann.position == 1 and ann.estimated_wait == pytest.approx(60.0)  # 1 * 120 / 2
    ann = of(cc.handle(CallArrived("c2", "13800138001", "100", 11)), PlayAnnouncement)[0]
    assert ann.position == 2 and ann.estimated_wait == pytest.approx(120.0)
    cc.handle(CallerHungUp("c1", 20))
    periodic = of(cc.handle_timer(41), PlayAnnouncement)
    assert [(p.call_id, p.position) for p in periodic] == [("c2", 1)]


def test_estimated_wait_follows_recent_handle_times() -> None:
    cc = center(QueueConfig("q", numbers=("100",), aht_hint=300), acw_seconds=0)
    login(cc, "a")
    for i in range(60):
        t = 100.0 * i
        _ring(cc, f"c{i}", t)
        cc.handle(AgentAnswered("a", f"c{i}", t))
        cc.handle(AgentHungUp("a", f"c{i}", t + 60))
    assert cc.queues["q"].aht == pytest.approx(60, abs=20)


def test_abandoned_call_is_recorded_with_its_wait() -> None:
    cc = center()
    cc.handle(CallArrived("c1", "13800138000", "100", 10))
    cmds = cc.handle(CallerHungUp("c1", 47.5))
    rec = of(cmds, CallRecord)[0]
    assert rec.outcome is Outcome.ABANDONED and rec.waited == pytest.approx(37.5)
    assert cc.queues["q"].abandoned == 1


def test_caller_hanging_up_while_ringing_frees_the_agent() -> None:
    cc = center()
    login(cc, "a")
    _ring(cc, "c1", 10)
    cmds = cc.handle(CallerHungUp("c1", 12))
    assert of(cmds, StopRinging) == [StopRinging("c1", "a")]
    assert cc.agents["a"].state is S.IDLE and cc.agents["a"].missed_total == 0


def test_pickup_of_a_call_ringing_at_another_agent() -> None:
    cc = center()
    login(cc, "a", "b")
    cc.handle(StateRequested("b", S.BUSY, 5))
    _ring(cc, "c1", 10)
    cmds = cc.handle(PickupRequested("b", "c1", 12))
    assert of(cmds, StopRinging) == [StopRinging("c1", "a")]
    assert of(cmds, Bridge) == [Bridge("c1", "b")]
    assert cc.agents["a"].state is S.IDLE and cc.agents["a"].missed_total == 0
    assert cc.agents["b"].state is S.ON_CALL


def test_pickup_needs_membership_of_the_queue() -> None:
    cc = center(QueueConfig("q", numbers=("100",), skills={"s": 1}))
    login(cc, "a", skills={"s": 1})
    login(cc, "z", now=5, skills={"other": 1})
    _ring(cc, "c1", 10)
    with pytest.raises(PermissionDenied):
        cc.handle(PickupRequested("z", "c1", 12))
    assert cc.agents["a"].state is S.RINGING


def test_waiting_calls_view_lists_queued_and_ringing_calls() -> None:
    cc = center()
    login(cc, "a")
    _ring(cc, "c1", 10)
    cc.handle(CallArrived("c2", "13922223333", "100", 11, priority=1))
    cc.handle(CallArrived("c3", "13800138000", "100", 12))
    views = cc.waiting_calls(20)
    assert [v.call_id for v in views] == ["c1", "c2", "c3"]
    assert views[0].ringing == ("a",) and views[0].position == 0
    assert views[1].position == 1 and views[1].region == "广东省广州市"
    assert views[2].position == 2 and views[2].waited == pytest.approx(8)


def test_wallboard_counts() -> None:
    cc = center()
    login(cc, "a", "b")
    _ring(cc, "c1", 10)
    cc.handle(AgentAnswered("a", "c1", 11))
    _ring(cc, "c2", 12)
    cc.handle(CallArrived("c3", "13800138000", "100", 13))
    wb = cc.wallboard(20)
    q = wb.queues[0]
    assert (q.waiting, q.ringing, q.staffed, q.idle) == (1, 1, 2, 0)
    assert q.longest_wait == pytest.approx(7)
    assert wb.agents[S.ON_CALL] == 1 and wb.agents[S.RINGING] == 1
    assert wb.calls_connected == 1


def test_call_states_follow_the_call() -> None:
    cc = center()
    login(cc, "a")
    cc.handle(StateRequested("a", S.BUSY, 1))
    cc.handle(CallArrived("c1", "13800138000", "100", 10))
    assert cc.calls["c1"].state is CallState.QUEUED
    cc.handle(StateRequested("a", S.IDLE, 11))
    assert cc.calls["c1"].state is CallState.RINGING
    cc.handle(AgentAnswered("a", "c1", 12))
    assert cc.calls["c1"].state is CallState.CONNECTED


def test_a_call_from_the_ivr_keeps_its_queue_priority_variables_and_owner() -> None:
    from kefu.core.events import arrival_from_ivr

    cc = center(QueueConfig("q", numbers=("100",)), QueueConfig("vip", priority=3))
    login(cc, "a", "own")
    ev = arrival_from_ivr(
        "c1", "13800138000", "100", 10, "vip", 2, (("member", "gold"), ("owner_agent", "own"))
    )
    rings = of(cc.handle(ev), RingAgent)
    assert rings[0].agent_id == "own"  # the owner first, although a is idle longer
    call = cc.calls["c1"]
    assert call.queue is cc.queues["vip"] and call.priority == 2
    assert call.variables["member"] == "gold"
