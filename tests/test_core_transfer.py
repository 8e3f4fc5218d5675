"""Blind and attended (consult) transfer in the pure core (AG-08).

Attended transfer: the agent's caller goes on hold, the agent talks to the consulted party
(another agent, or an outside number with the permission), then completes (the caller is
joined to the target, the agent goes to after-call work) or cancels (the target is dropped,
the caller resumed); a target that declines, does not answer or hangs up gives the caller
back too. A queue is never consulted: transfer to a queue is blind only.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core_helpers import center, login, of
from kefu.core.acd import ContactCenter
from kefu.core.agent import AgentState as S
from kefu.core.call import CONSULT_TRANSITIONS, CallState, ConsultState
from kefu.core.commands import (
    AuditEvent,
    CallHandled,
    Conference,
    ConsultConnected,
    ConsultEnded,
    ConsultTarget,
    Hangup,
    Hold,
    Resume,
    RingAgent,
    StopRinging,
    TransferCompleted,
    Transferred,
)
from kefu.core.errors import CoreError, IllegalTransition, PermissionDenied
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentRejected,
    CallArrived,
    CallerHungUp,
    ConferenceRequested,
    ConsultAnswered,
    ConsultCancelRequested,
    ConsultCompleteRequested,
    ConsultFailed,
    ConsultRequested,
    StateRequested,
    TransferKind,
    TransferRequested,
)

AGENT, QUEUE, OUTSIDE = TransferKind.AGENT, TransferKind.QUEUE, TransferKind.OUTSIDE


def talking(**kw: Any) -> ContactCenter:
    """Agent a talks to call c1; b and c are idle (a answered first: logged in first)."""
    cc = center(acw_seconds=10, **kw)
    login(cc, "a")
    login(cc, "b", "c", now=0.5)
    cc.handle(CallArrived("c1", "13800000001", "100", 5))
    cc.handle(AgentAnswered("a", "c1", 6))
    assert cc.agents["a"].state is S.ON_CALL
    return cc


def test_consult_an_agent_then_complete() -> None:
    cc = talking()
    out = cc.handle(ConsultRequested("a", AGENT, "b", 10))
    assert of(out, Hold) == [Hold("c1")]
    assert of(out, ConsultTarget) == [ConsultTarget("c1", "a", AGENT, "b", "8b")]
    assert of(out, AuditEvent)[0].action == "consult_agent"
    assert cc.calls["c1"].state is CallState.HELD
    assert (cc.agents["a"].state, cc.agents["b"].state) == (S.ON_HOLD, S.RINGING)
    with pytest.raises(IllegalTransition):  # nobody to join yet: b has not answered
        cc.handle(ConsultCompleteRequested("a", 11))
    out = cc.handle(ConsultAnswered("a", 12))
    assert of(out, ConsultConnected) == [ConsultConnected("c1", "a", "b")]
    assert cc.agents["b"].state is S.ON_CALL
    out = cc.handle(ConsultCompleteRequested("a", 20))
    assert of(out, Resume) == [Resume("c1")]
    assert of(out, TransferCompleted) == [TransferCompleted("c1", "a", AGENT, "b")]
    audit = of(out, AuditEvent)
    assert [(x.action, x.target, x.allowed) for x in audit] == [("transfer_attended", "b", True)]
    c = cc.calls["c1"]
    assert c.agent is cc.agents["b"] and c.state is CallState.CONNECTED and c.consult is None
    assert cc.agents["a"].state is S.AFTER_CALL_WORK and cc.agents["a"].call is None
    # the caller now ends the call with b; b wraps up, a's talk ended at the transfer
    out = cc.handle(CallerHungUp("c1", 50))
    assert of(out, Hangup) and cc.agents["b"].state is S.AFTER_CALL_WORK
    handled = of(cc.handle_timer(100), CallHandled)
    talk = {h.agent_id: h.talk for h in handled}
    assert talk == {"a": 14.0, "b": 30.0}


def test_consult_cancel_gives_the_caller_back() -> None:
    cc = talking()
    cc.handle(ConsultRequested("a", AGENT, "b", 10))
    cc.handle(AgentAnswered("b", "c1", 11))  # the phone's answer is the consult's answer
    assert cc.calls["c1"].consult.state is ConsultState.TALKING  # type: ignore[union-attr]
    out = cc.handle(ConsultCancelRequested("a", 15))
    assert of(out, ConsultEnded) == [ConsultEnded("c1", "a", "b", "cancelled")]
    assert of(out, Resume) == [Resume("c1")]
    assert of(out, AuditEvent)[0].action == "consult_cancel"
    assert cc.agents["a"].state is S.ON_CALL and cc.calls["c1"].state is CallState.CONNECTED
    assert cc.agents["b"].state is S.AFTER_CALL_WORK  # b talked: b wraps up
    assert cc.calls["c1"].agent is cc.agents["a"]


@pytest.mark.parametrize(
    "fail",
    [
        lambda cc: cc.handle(AgentRejected("b", "c1", 12, "sip_486")),
        lambda cc: cc.handle(ConsultFailed("a", 12, "no_answer")),
        lambda cc: cc.handle(StateRequested("b", S.BUSY, 12, "lunch")),
    ],
    ids=["declined", "no-answer", "target-goes-busy"],
)
def test_target_declines_or_does_not_answer(fail: Any) -> None:
    cc = talking()
    cc.handle(ConsultRequested("a", AGENT, "b", 10))
    out = fail(cc)
    ended = of(out, ConsultEnded)
    assert len(ended) == 1 and ended[0].agent_id == "a"  # the agent is told
    assert of(out, StopRinging) == [StopRinging("c1", "b")]
    assert of(out, Resume) == [Resume("c1")]  # the caller is resumed
    assert cc.agents["a"].state is S.ON_CALL
    assert cc.agents["b"].state in (S.IDLE, S.BUSY) and cc.agents["b"].call is None
    assert cc.agents["b"].missed_in_row == 0  # a consult is not a missed queue call


def test_consulted_agent_hanging_up_resumes_the_caller() -> None:
    cc = talking()
    cc.handle(ConsultRequested("a", AGENT, "b", 10))
    cc.handle(ConsultAnswered("a", 11))
    out = cc.handle(AgentHungUp("b", "c1", 14))
    assert of(out, ConsultEnded)[0].reason == "hung_up"
    assert "c1" in cc.calls and cc.agents["a"].state is S.ON_CALL


def test_caller_hanging_up_during_consult_releases_both_agents() -> None:
    cc = talking()
    cc.handle(ConsultRequested("a", AGENT, "b", 10))
    cc.handle(ConsultAnswered("a", 11))
    out = cc.handle(CallerHungUp("c1", 13))
    assert of(out, ConsultEnded)[0].reason == "caller_hung_up"
    assert "c1" not in cc.calls
    assert cc.agents["a"].state is S.AFTER_CALL_WORK
    assert cc.agents["b"].state is S.AFTER_CALL_WORK


def test_consult_outside_needs_the_permission_and_is_audited() -> None:
    cc = talking()
    with pytest.raises(PermissionDenied) as exc:
        cc.handle(ConsultRequested("a", OUTSIDE, "02088886666", 10))
    assert exc.value.audit is not None and not exc.value.audit.allowed
    assert cc.calls["c1"].state is CallState.CONNECTED  # nothing changed
    cc2 = center(acw_seconds=10)
    login(cc2, "a", may_transfer_outside=True)
    cc2.handle(CallArrived("c1", "13800000001", "100", 5))
    cc2.handle(AgentAnswered("a", "c1", 6))
    out = cc2.handle(ConsultRequested("a", OUTSIDE, "02088886666", 10))
    assert of(out, ConsultTarget)[0].extension == "02088886666"
    assert of(out, AuditEvent)[0].allowed
    cc2.handle(ConsultAnswered("a", 12))
    out = cc2.handle(ConsultCompleteRequested("a", 20))
    assert of(out, TransferCompleted) == [TransferCompleted("c1", "a", OUTSIDE, "02088886666")]
    assert "c1" not in cc2.calls and cc2.agents["a"].state is S.AFTER_CALL_WORK


def test_a_queue_is_not_consulted_and_refusals_change_nothing() -> None:
    cc = talking()
    for ev in (
        ConsultRequested("a", QUEUE, "q", 10),
        ConsultRequested("a", AGENT, "a", 10),  # self
        ConsultRequested("a", AGENT, "zz", 10),  # unknown
        ConsultCancelRequested("a", 10),  # nothing to cancel
        ConsultCompleteRequested("a", 10),
        ConsultAnswered("a", 10),
    ):
        with pytest.raises(CoreError):
            cc.handle(ev)
        assert cc.calls["c1"].state is CallState.CONNECTED and cc.calls["c1"].consult is None
    cc.handle(StateRequested("c", S.BUSY, 10))
    with pytest.raises(IllegalTransition):  # a busy agent cannot be consulted
        cc.handle(ConsultRequested("a", AGENT, "c", 10))
    cc.handle(ConsultRequested("a", AGENT, "b", 11))
    with pytest.raises(IllegalTransition):  # one consultation at a time
        cc.handle(ConsultRequested("a", AGENT, "b", 12))
    with pytest.raises(IllegalTransition):  # no blind transfer in the middle of one
        cc.handle(TransferRequested("a", QUEUE, "q", 12))
    with pytest.raises(IllegalTransition):  # the consulted agent cannot act on the call
        cc.handle(TransferRequested("b", QUEUE, "q", 12))


def test_blind_transfer_releases_the_agent_leg_and_is_audited() -> None:
    cc = talking()
    out = cc.handle(TransferRequested("a", AGENT, "b", 10))
    assert of(out, Transferred) == [Transferred("c1", "a", AGENT, "b")]
    assert [x.action for x in of(out, AuditEvent)] == ["transfer_agent"]
    ring = of(out, RingAgent)
    assert [r.agent_id for r in ring] == ["b"]
    # the Transferred (drop a's leg) comes before the new ring
    assert out.index(of(out, Transferred)[0]) < out.index(ring[0])
    cc.handle(AgentAnswered("b", "c1", 12))
    out = cc.handle(TransferRequested("b", QUEUE, "q", 13))
    assert of(out, Transferred) == [Transferred("c1", "b", QUEUE, "q")]


def test_three_way_call_rules() -> None:
    cc = talking()
    with pytest.raises(PermissionDenied) as exc:  # an outside party needs the permission
        cc.handle(ConferenceRequested("a", "02088886666", 10))
    assert exc.value.audit is not None and exc.value.audit.action == "conference_outside"
    with pytest.raises(IllegalTransition):
        cc.handle(ConferenceRequested("a", "a", 10))
    cc.handle(ConsultRequested("a", AGENT, "b", 11))
    with pytest.raises(IllegalTransition):  # finish or cancel the consultation first
        cc.handle(ConferenceRequested("a", "c", 12))
    cc.handle(ConsultCancelRequested("a", 13))
    assert of(cc.handle(ConferenceRequested("a", "c", 14)), Conference) == [Conference("c1", "c")]
    assert cc.calls["c1"].parties == ["c"]


# -- property: any mix of consult events keeps agents and calls consistent ------------------

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "consult_b",
                "consult_o",
                "answer",
                "fail",
                "cancel",
                "complete",
                "b_hangup",
                "a_hangup",
                "caller_hangup",
                "b_busy",
                "b_answer_phone",
                "timer",
            ]
        ),
        st.floats(0.1, 5.0),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=int(os.environ.get("KEFU_PROPERTY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(OPS)
def test_random_consult_sequences_keep_the_invariants(ops: list[tuple[str, float]]) -> None:
    cc = center(acw_seconds=3)
    login(cc, "a", may_transfer_outside=True)
    login(cc, "b", now=0.5)
    cc.handle(CallArrived("c1", "13800000001", "100", 5))
    cc.handle(AgentAnswered("a", "c1", 6))
    now = 6.0
    for op, dt in ops:
        now += dt
        c = cc.calls.get("c1")
        owner = c.agent.id if c is not None and c.agent is not None else "a"
        events: dict[str, Any] = {
            "consult_b": ConsultRequested(owner, AGENT, "b" if owner == "a" else "a", now),
            "consult_o": ConsultRequested(owner, OUTSIDE, "02088886666", now),
            "answer": ConsultAnswered(owner, now),
            "fail": ConsultFailed(owner, now),
            "cancel": ConsultCancelRequested(owner, now),
            "complete": ConsultCompleteRequested(owner, now),
            "b_hangup": AgentHungUp("b", "c1", now),
            "a_hangup": AgentHungUp("a", "c1", now),
            "caller_hangup": CallerHungUp("c1", now),
            "b_busy": StateRequested("b", S.BUSY, now),
            "b_answer_phone": AgentAnswered("b", "c1", now),
        }
        before = _snap(cc)
        try:
            if op == "timer":
                cc.handle_timer(now)
            else:
                cc.handle(events[op])
        except CoreError:
            assert _snap(cc) == before, f"refused {op} changed state"
        _invariants(cc)
    cc.handle_timer(now + 1000)
    _invariants(cc)


def _snap(cc: ContactCenter) -> tuple[Any, ...]:
    c = cc.calls.get("c1")
    return (
        tuple((a.id, a.state, a.call.id if a.call else None) for a in cc.agents.values()),
        None if c is None else (c.state, c.agent.id if c.agent else None, repr(c.consult)),
    )


def _invariants(cc: ContactCenter) -> None:
    c = cc.calls.get("c1")
    for a in cc.agents.values():
        if a.state in (S.ON_CALL, S.ON_HOLD, S.RINGING):
            assert a.call is not None and a.call is c
        else:
            assert a.call is None
    if c is None:
        return
    k = c.consult
    assert c.agent is not None and c.agent.call is c
    if k is None:
        assert all(a.call is None or a is c.agent or a in c.ringing for a in cc.agents.values())
        return
    assert c.state is CallState.HELD and c.agent.state is S.ON_HOLD  # the caller hears music
    assert k.agent_id == c.agent.id and k.state is not ConsultState.ENDED
    assert any(old is k.state for (old, _t) in CONSULT_TRANSITIONS)
    if k.kind is AGENT:
        b = cc.agents[k.target]
        want = S.RINGING if k.state is ConsultState.RINGING else S.ON_CALL
        assert b.state is want and b.call is c
