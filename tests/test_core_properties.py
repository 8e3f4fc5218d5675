"""Property tests over random event sequences: no call lost or duplicated, an agent never
on two calls, ring-all never connects two agents, and every state change is in the table.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kefu.core.acd import CenterConfig, ContactCenter
from kefu.core.agent import AGENT_TRANSITIONS, AgentState
from kefu.core.call import CALL_TRANSITIONS, CallState
from kefu.core.commands import (
    Bridge,
    CallRecord,
    DialOutside,
    Hangup,
    OfferCallback,
    Overflow,
    Reject,
    SendToVoicemail,
)
from kefu.core.errors import CoreError
from kefu.core.events import (
    AgentAnswered,
    AgentHungUp,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentRejected,
    CallArrived,
    CallerHungUp,
    HoldRequested,
    PickupRequested,
    ResumeRequested,
    SkillGroupSignedIn,
    SkillGroupSignedOut,
    StateRequested,
    SupervisorRequested,
    TransferKind,
    TransferRequested,
)
from kefu.core.queue import OverflowKind, QueueConfig, Strategy
from kefu.core.routing import RoutingRule
from kefu.core.supervision import Role, SupervisorAction

AGENTS = ["a", "b", "c", "d"]
QUEUES = ["all", "li", "vm"]
S = AgentState
C = CallState

arrive = st.tuples(
    st.just("arrive"),
    st.sampled_from(["1", "2", "2", "3", "9"]),
    st.integers(0, 2),
    st.sampled_from([None, None, "a", "c"]),
)
ops = st.one_of(
    arrive,
    arrive,
    arrive,
    st.tuples(st.just("answer_any"), st.integers(0, 3)),
    st.tuples(st.just("answer_any"), st.integers(0, 3)),
    st.tuples(st.just("hangup_any"), st.integers(0, 3)),
    st.tuples(st.just("transfer"), st.sampled_from(AGENTS), st.sampled_from(["q:li", "a:b"])),
    st.tuples(st.just("answer"), st.sampled_from(AGENTS)),
    st.tuples(st.just("answer_any"), st.integers(0, 3)),
    st.tuples(st.just("hangup_any"), st.integers(0, 3)),
    st.tuples(st.just("reject"), st.sampled_from(AGENTS)),
    st.tuples(st.just("agent_hangup"), st.sampled_from(AGENTS)),
    st.tuples(st.just("caller_hangup"), st.integers(0, 30)),
    st.tuples(
        st.just("state"),
        st.sampled_from(AGENTS),
        st.sampled_from([S.IDLE, S.BUSY, S.BREAK, S.LOGGED_OUT]),
    ),
    st.tuples(st.just("login"), st.sampled_from(AGENTS)),
    st.tuples(st.just("logout"), st.sampled_from(AGENTS)),
    st.tuples(
        st.just("skill"), st.sampled_from(AGENTS), st.sampled_from(["x", "y"]), st.booleans()
    ),
    st.tuples(st.just("hold"), st.sampled_from(AGENTS), st.booleans()),
    st.tuples(
        st.just("transfer"),
        st.sampled_from(AGENTS),
        st.sampled_from(["q:li", "q:all", "a:a", "a:b", "a:c", "o:123"]),
    ),
    st.tuples(st.just("pickup"), st.sampled_from(AGENTS), st.integers(0, 30)),
    st.tuples(st.just("super"), st.sampled_from(list(SupervisorAction)), st.sampled_from(AGENTS)),
    st.tuples(st.just("wait"), st.floats(0.5, 90.0)),
)


def _build(observed: list[tuple[str, str, Any, Any, Any]]) -> ContactCenter:
    cfg = CenterConfig(
        queues=(
            QueueConfig(
                "all",
                numbers=("1",),
                strategy=Strategy.RING_ALL,
                skills={"x": 1},
                ring_timeout=15,
                max_wait=60,
                overflow=OverflowKind.QUEUE,
                overflow_queue="li",
                announce_interval=20,
            ),
            QueueConfig(
                "li",
                numbers=("2",),
                ring_timeout=10,
                max_wait=120,
                overflow=OverflowKind.QUEUE,
                overflow_queue="vm",
                owner_wait=15,
            ),
            QueueConfig(
                "vm",
                numbers=("3",),
                skills={"y": 1},
                max_wait=30,
                overflow=OverflowKind.VOICEMAIL,
                join_empty=False,
                strategy=Strategy.RANDOM,
            ),
        ),
        rules=(RoutingRule("vip", numbers=frozenset({"13900000009"}), to_agents=("d",)),),
        blacklist=frozenset({"13900000000"}),
        acw_seconds=5,
        max_missed_rings=2,
    )
    return ContactCenter(cfg, rng=random.Random(3), observer=lambda *t: observed.append(t))


def _snapshot(cc: ContactCenter) -> tuple[Any, ...]:
    return (
        tuple((a.id, a.state, a.epoch, a.pending) for a in cc.agents.values()),
        tuple(
            (c.id, c.state, c.queue.name if c.queue else "", len(c.ringing))
            for c in cc.calls.values()
        ),
    )


@settings(
    max_examples=int(os.environ.get("KEFU_PROPERTY_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(ops, min_size=20, max_size=100), st.integers(0, 3))
def test_random_event_sequences_keep_the_invariants(seq: list[tuple[Any, ...]], n0: int) -> None:
    observed: list[tuple[str, str, Any, Any, Any]] = []
    cc = _build(observed)
    now = 0.0
    arrived: list[str] = []
    ended: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    records: Counter[str] = Counter()
    bridges: Counter[str] = Counter()
    transfers: Counter[str] = Counter()
    for aid in AGENTS[: n0 + 1]:
        cc.handle(AgentLoggedIn(aid, now, skills={"x": 1, "y": 1}))

    def run(event: Any) -> bool:
        before = _snapshot(cc)
        try:
            cmds = cc.handle(event)
        except CoreError:
            assert _snapshot(cc) == before, "a refused event changed state"
            return False
        account(cmds)
        return True

    def account(cmds: list[Any]) -> None:
        for cmd in cmds:
            t = type(cmd)
            if t is CallRecord:
                records[cmd.call_id] += 1
            elif t is Overflow:
                entries[cmd.call_id] += 1
            elif t is Bridge:
                bridges[cmd.call_id] += 1
            if t in (Reject, SendToVoicemail, OfferCallback, Hangup, DialOutside) or (
                t is CallRecord and cmd.outcome.value == "abandoned"
            ):
                ended[cmd.call_id] += 1

    for op in seq:
        kind = op[0]
        agent = cc.agents.get(op[1]) if isinstance(op[1], str) else None
        if kind in ("answer_any", "hangup_any"):
            want = (S.RINGING,) if kind == "answer_any" else (S.ON_CALL, S.ON_HOLD)
            busy = [a for a in cc.agents.values() if a.state in want and a.call is not None]
            if busy:
                agent = busy[op[1] % len(busy)]
                assert agent.call is not None
                now += 0.25
                ev = AgentAnswered if kind == "answer_any" else AgentHungUp
                run(ev(agent.id, agent.call.id, now))
                _check(cc, arrived, ended, entries, records, bridges, transfers, observed)
            continue
        if kind == "wait":
            now += op[1]
            account(cc.handle_timer(now))
            continue
        now += 0.25
        if kind == "arrive":
            cid = f"k{len(arrived)}"
            caller = "13900000000" if op[2] == 2 else f"1390000000{op[2] + 8}"
            arrived.append(cid)
            entries[cid] += 1
            run(CallArrived(cid, caller, op[1], now, priority=op[2], owner_agent=op[3]))
        elif kind == "answer":
            call = agent.call.id if agent and agent.call else (arrived[-1] if arrived else "x")
            run(AgentAnswered(op[1], call, now))
        elif kind == "reject":
            call = agent.call.id if agent and agent.call else "x"
            run(AgentRejected(op[1], call, now))
        elif kind == "agent_hangup":
            call = agent.call.id if agent and agent.call else "x"
            run(AgentHungUp(op[1], call, now))
        elif kind == "caller_hangup":
            if arrived:
                run(CallerHungUp(arrived[op[1] % len(arrived)], now))
        elif kind == "state":
            run(StateRequested(op[1], op[2], now))
        elif kind == "login":
            run(AgentLoggedIn(op[1], now, skills={"x": 1, "y": 2}))
        elif kind == "logout":
            run(AgentLoggedOut(op[1], now))
        elif kind == "skill":
            ev = SkillGroupSignedIn if op[3] else SkillGroupSignedOut
            run(ev(op[1], op[2], now))
        elif kind == "hold":
            run(HoldRequested(op[1], now) if op[2] else ResumeRequested(op[1], now))
        elif kind == "transfer":
            tk, target = op[2].split(":")
            kinds = {"q": TransferKind.QUEUE, "a": TransferKind.AGENT, "o": TransferKind.OUTSIDE}
            call = agent.call.id if agent and agent.call else None
            ok = run(TransferRequested(op[1], kinds[tk], target, now))
            if ok and call is not None and tk != "o":
                entries[call] += 1
                transfers[call] += 1
        elif kind == "pickup":
            if arrived:
                run(PickupRequested(op[1], arrived[op[2] % len(arrived)], now))
        elif kind == "super":
            run(SupervisorRequested("boss", Role.SUPERVISOR, op[1], op[2], now))
        _check(cc, arrived, ended, entries, records, bridges, transfers, observed)
    account(cc.handle_timer(now + 10_000))
    event(f"calls bridged: {min(sum(bridges.values()), 5)}")
    event(f"transfers: {min(sum(transfers.values()), 2)}")
    _check(cc, arrived, ended, entries, records, bridges, transfers, observed)


def _check(
    cc: ContactCenter,
    arrived: list[str],
    ended: Counter[str],
    entries: Counter[str],
    records: Counter[str],
    bridges: Counter[str],
    transfers: Counter[str],
    observed: list[tuple[str, str, Any, Any, Any]],
) -> None:
    active = set(cc.calls)
    # No call lost or duplicated: each arrived call is active or ended exactly once.
    assert all(n == 1 for n in ended.values()), ended
    assert active.isdisjoint(ended)
    assert active | set(ended) == set(arrived)
    # Per queue visit: offered = answered + abandoned + overflowed + rejected + still waiting.
    for cid in arrived:
        c = cc.calls.get(cid)
        waiting = 1 if c is not None and c.state in (C.QUEUED, C.RINGING) else 0
        assert entries[cid] == records[cid] + waiting, (cid, entries[cid], records[cid])
        # Ring-all never connects two agents: one bridge per answer of a (re)queued call.
        assert bridges[cid] <= 1 + transfers[cid]
    # An agent is never on two calls, and agent <-> call links agree.
    seen: set[str] = set()
    for c in cc.calls.values():
        linked = [a.id for a in c.ringing] + ([c.agent.id] if c.agent else [])
        assert not seen.intersection(linked)
        seen.update(linked)
        if c.state in (C.CONNECTED, C.HELD):
            assert not c.ringing and (c.agent is not None or c.supervisor is not None)
        if c.state is C.RINGING:
            assert c.ringing and c.agent is None
    for a in cc.agents.values():
        if a.state is S.RINGING:
            assert a.call is not None and a in a.call.ringing
        elif a.state in (S.ON_CALL, S.ON_HOLD):
            assert a.call is not None and a.call.agent is a
        else:
            assert a.call is None
    # The tables are never bypassed: every observed change is in the table, and each
    # object's observed changes chain up to its current state.
    last: dict[tuple[str, str], Any] = {}
    for kind, oid, old, trig, new in observed:
        table = AGENT_TRANSITIONS if kind == "agent" else CALL_TRANSITIONS
        assert table.get((old, trig)) is new, (kind, oid, old, trig, new)
        prev = last.get((kind, oid))
        if prev is not None and not (kind == "agent" and old is S.LOGGED_OUT):
            assert prev is old, (kind, oid, prev, old)
        last[(kind, oid)] = new
    for a in cc.agents.values():
        assert last.get(("agent", a.id), S.LOGGED_OUT) is a.state
    for c in cc.calls.values():
        assert last[("call", c.id)] is c.state
    # Idle agents are findable: nobody idle while a call of theirs waits in line.
    for c in cc.calls.values():
        if c.state is C.QUEUED and not c.preferred and c.queue is not None:
            assert not any(a.state is S.IDLE and c.queue in a.queues for a in cc.agents.values()), c
