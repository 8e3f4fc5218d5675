"""Transfers and three-way calls over real SIP, proven by who hears which tone (AG-08).

Every party is a softphone on loopback sending its own tone: the customer 440 Hz, agent A
(8001) 1000 Hz, agent B (8002) 2000 Hz, the trunk's far end 3000 Hz. The switch and the
line are driven through `Center` (the console's service functions) and through REFER from
agent A's phone. FFT tone detection (`kefu.audio.tones.has_tone`) says who hears whom.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kefu.audio.tones import has_tone
from kefu.audio.wavfile import read_stereo
from kefu.core.agent import AgentState
from kefu.core.events import TransferKind
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import Agent, AuditEntry, Call, CallLeg, Party, Recording
from kefu.telephony.prompts import MOH_NOTES
from kefu.telephony.sip.softphone import Softphone
from test_sip_line import Site, add_agent, close_site, listen, open_site, seed, until

pytestmark = [pytest.mark.timeout(90), pytest.mark.anyio]

CUSTOMER, A_HZ, B_HZ, PSTN_HZ = 440.0, 1000.0, 2000.0, 3000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Parties:
    site: Site
    customer: Softphone
    a: Softphone
    b: Softphone
    b_id: int

    @property
    def a_id(self) -> int:
        return self.site.agent_id


@pytest.fixture
async def parties(tmp_path: Path) -> AsyncIterator[Parties]:
    """The customer talking to agent A (8001) through queue number 4002; B (8002) idle."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrate.upgrade(db.engine)
    seed(db)
    b_id = add_agent(db, "8002")
    site = await open_site(tmp_path, db, rtp_timeout=20.0)
    a = Softphone("8001", "pw8001", site.addr, tone_hz=A_HZ)
    b = Softphone("8002", "pw8002", site.addr, tone_hz=B_HZ)
    customer = Softphone("13900000000", "x", site.addr, tone_hz=CUSTOMER)
    for p in (a, b):
        await p.start()
    await customer.start(register=False)
    site.center.agent_login(site.agent_id, ready=True)
    site.center.agent_login(b_id, ready=False)  # busy: the queue call goes to A
    try:
        await customer.dial("4002", site.addr)
        await until(lambda: a.answered.is_set())
        await until(lambda: any(lc.agent for lc in site.line.calls.values()))
        site.center.set_state(b_id, AgentState.IDLE)
        await asyncio.sleep(0.5)  # the bridge follows the answer
        yield Parties(site, customer, a, b, b_id)
    finally:
        for p in (customer, a, b):
            await p.stop()
        await close_site(site)


async def hear(*phones: Softphone) -> list[Any]:
    """What each phone hears over the same 1.2 s."""
    return list(await asyncio.gather(*(listen(p) for p in phones)))


def only(pcm: Any, present: set[float], absent: set[float]) -> bool:
    return all(has_tone(pcm, f) for f in present) and not any(has_tone(pcm, f) for f in absent)


async def end_call(p: Parties) -> str:
    call_id = next(iter(p.site.line.calls))
    p.customer.hangup()
    await until(lambda: not p.site.line.calls)
    return call_id


def legs_of(db: Database, call_id: str) -> list[CallLeg]:
    with db.session() as s:
        return list(
            s.scalars(select(CallLeg).where(CallLeg.call_id == call_id).order_by(CallLeg.id))
        )


def audit(db: Database) -> list[str]:
    with db.session() as s:
        return [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


async def test_blind_transfer_to_an_agent(parties: Parties) -> None:
    p = parties
    cust, a_hears = await hear(p.customer, p.a)
    assert only(cust, {A_HZ}, {B_HZ}) and has_tone(a_hears, CUSTOMER)
    p.site.center.transfer(p.a_id, TransferKind.AGENT, str(p.b_id))
    await until(lambda: p.a.bye_received)  # A's leg ends at once (blind)
    await until(lambda: p.b.answered.is_set())
    await asyncio.sleep(0.5)
    cust, b_hears = await hear(p.customer, p.b)
    assert only(cust, {B_HZ}, {A_HZ})  # the customer now talks to B
    assert only(b_hears, {CUSTOMER}, {A_HZ})
    assert p.site.center.agent_view(p.a_id).state is AgentState.AFTER_CALL_WORK
    call_id = await end_call(p)
    legs = legs_of(p.site.db, call_id)
    assert [(leg.party, leg.agent_id) for leg in legs] == [
        (Party.CUSTOMER, None),
        (Party.AGENT, p.a_id),
        (Party.AGENT, p.b_id),
    ]
    a_leg, b_leg = legs[1], legs[2]
    assert a_leg.answered_at and a_leg.ended_at and b_leg.answered_at and b_leg.ended_at
    assert a_leg.ended_at <= b_leg.answered_at  # A left before B took the caller
    with p.site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.agent_id == p.b_id and call.hangup_by is Party.CUSTOMER
    assert "supervisor.transfer_agent" in audit(p.site.db)


async def test_attended_transfer_consult_then_complete(parties: Parties) -> None:
    p = parties
    center = p.site.center
    center.consult(p.a_id, TransferKind.AGENT, str(p.b_id))
    await until(lambda: p.b.answered.is_set())
    await asyncio.sleep(0.5)
    cust, a_hears, b_hears = await hear(p.customer, p.a, p.b)
    # the customer hears hold music, not the consultation; A and B hear each other only
    assert any(has_tone(cust, f) for f in MOH_NOTES)
    assert not has_tone(cust, A_HZ) and not has_tone(cust, B_HZ)
    assert only(a_hears, {B_HZ}, {CUSTOMER}) and only(b_hears, {A_HZ}, {CUSTOMER})
    assert center.agent_view(p.a_id).state is AgentState.ON_HOLD
    assert center.agent_view(p.b_id).state is AgentState.ON_CALL
    center.complete_transfer(p.a_id)
    await until(lambda: p.a.bye_received)
    await asyncio.sleep(0.3)
    cust, b_hears = await hear(p.customer, p.b)
    assert only(cust, {B_HZ}, {A_HZ}) and only(b_hears, {CUSTOMER}, {A_HZ})
    assert center.agent_view(p.a_id).state is AgentState.AFTER_CALL_WORK
    call_id = await end_call(p)
    legs = legs_of(p.site.db, call_id)
    assert [leg.agent_id for leg in legs] == [None, p.a_id, p.b_id]
    assert all(leg.answered_at and leg.ended_at for leg in legs)
    with p.site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.agent_id == p.b_id and call.held_seconds > 0.5
    actions = audit(p.site.db)
    assert "supervisor.consult_agent" in actions and "supervisor.transfer_attended" in actions


async def test_consult_declined_then_cancelled_gives_the_customer_back(
    parties: Parties,
) -> None:
    p = parties
    center = p.site.center
    # a target whose phone answers busy: the consult fails, the customer is resumed
    c_id = add_agent(p.site.db, "8003")
    busy = Softphone("8003", "pw8003", p.site.addr, busy=True)
    await busy.start()
    try:
        center.agent_login(c_id, ready=True)
        center.consult(p.a_id, TransferKind.AGENT, str(c_id))
        await until(lambda: center.agent_view(p.a_id).state is AgentState.ON_CALL)
    finally:
        await busy.stop()
    await asyncio.sleep(0.3)
    assert only((await hear(p.customer))[0], {A_HZ}, set())
    # B answers the consult, then A cancels: B is dropped, the customer talks to A again
    center.consult(p.a_id, TransferKind.AGENT, str(p.b_id))
    await until(lambda: p.b.answered.is_set())
    await asyncio.sleep(0.5)
    assert only((await hear(p.a))[0], {B_HZ}, {CUSTOMER})
    center.cancel_consult(p.a_id)
    await until(lambda: p.b.bye_received)
    await asyncio.sleep(0.3)
    cust, a_hears = await hear(p.customer, p.a)
    assert only(cust, {A_HZ}, {B_HZ}) and only(a_hears, {CUSTOMER}, {B_HZ})
    assert center.agent_view(p.a_id).state is AgentState.ON_CALL
    assert center.agent_view(p.b_id).state is AgentState.AFTER_CALL_WORK
    call_id = await end_call(p)
    with p.site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.agent_id == p.a_id
    legs = legs_of(p.site.db, call_id)
    assert [leg.agent_id for leg in legs] == [None, p.a_id, c_id, p.b_id]
    assert legs[2].answered_at is None and legs[3].answered_at is not None
    assert "supervisor.consult_cancel" in audit(p.site.db)


async def test_three_way_call_everyone_hears_the_other_two(parties: Parties) -> None:
    p = parties
    p.site.center.conference(p.a_id, str(p.b_id))
    await until(lambda: p.b.answered.is_set())
    await asyncio.sleep(0.6)
    cust, a_hears, b_hears = await hear(p.customer, p.a, p.b)
    assert only(cust, {A_HZ, B_HZ}, {CUSTOMER})
    assert only(a_hears, {CUSTOMER, B_HZ}, {A_HZ})
    assert only(b_hears, {CUSTOMER, A_HZ}, {B_HZ})
    p.b.hangup()  # the third party leaves: back to a two-party call
    await until(lambda: not p.site.line.calls[next(iter(p.site.line.calls))].parties)
    await asyncio.sleep(0.3)
    assert only((await hear(p.customer))[0], {A_HZ}, {B_HZ})
    call_id = await end_call(p)
    with p.site.db.session() as s:
        rec = s.scalars(select(Recording).where(Recording.call_id == call_id)).one()
        path = rec.path
    left, right, rate = read_stereo(Path(path))
    assert has_tone(left, CUSTOMER) and not has_tone(left, A_HZ)  # customer left
    assert not has_tone(right, CUSTOMER)
    seconds = [right[i : i + rate] for i in range(0, len(right) - rate, rate)]
    # the three-way part: agent and third party mixed on the right
    assert any(has_tone(x, A_HZ) and has_tone(x, B_HZ) for x in seconds)


async def test_refer_from_the_agents_phone_is_a_blind_transfer(parties: Parties) -> None:
    p = parties
    progress: list[int] = []
    responses: list[tuple[str, int]] = []
    assert p.a.uas is not None and p.a.uac is not None
    p.a.uas.on_transfer_progress = lambda _cid, status, _reason: progress.append(status)
    plain = p.a.uac.handle_response

    def seen(resp: Any, addr: tuple[str, int]) -> None:
        if resp.cseq is not None:
            responses.append((resp.cseq.method.upper(), resp.status_code))
        plain(resp, addr)

    p.a.uac.handle_response = seen  # type: ignore[method-assign]
    host, port = p.site.addr

    def refer(target: str) -> None:
        dialog = p.a._dialog()
        assert dialog is not None and p.a.uac is not None and p.a.remote_sip is not None
        p.a.uac.send_refer(dialog, f"sip:{target}@{host}:{port}", p.a.remote_sip)

    # attended transfer by REFER/Replaces is refused with a clear SIP error
    refer("8002?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2")
    await until(lambda: ("REFER", 501) in responses)
    # an outside number without the permission: accepted, then NOTIFY 403; the call goes on
    refer("913900001111")
    await until(lambda: 403 in progress)
    assert p.site.center.agent_view(p.a_id).state is AgentState.ON_CALL
    # an unknown target: 404
    refer("7777")
    await until(lambda: 404 in progress)
    # the extension of agent B: 202, NOTIFY 200, A's leg ends, the customer talks to B
    refer("8002")
    await until(lambda: 200 in progress)
    assert ("REFER", 202) in responses
    await until(lambda: p.a.bye_received)
    await until(lambda: p.b.answered.is_set())
    await asyncio.sleep(0.5)
    cust, b_hears = await hear(p.customer, p.b)
    assert only(cust, {B_HZ}, {A_HZ}) and has_tone(b_hears, CUSTOMER)
    call_id = await end_call(p)
    assert [leg.agent_id for leg in legs_of(p.site.db, call_id)] == [None, p.a_id, p.b_id]
    actions = audit(p.site.db)
    assert "supervisor.transfer_outside" in actions  # the refused attempt is audited
    assert "supervisor.transfer_agent" in actions


async def test_refer_to_a_queue_number(parties: Parties) -> None:
    p = parties
    progress: list[int] = []
    assert p.a.uas is not None and p.a.uac is not None
    p.a.uas.on_transfer_progress = lambda _cid, status, _reason: progress.append(status)
    dialog = p.a._dialog()
    assert dialog is not None and p.a.remote_sip is not None
    host, port = p.site.addr
    p.a.uac.send_refer(dialog, f"sip:4002@{host}:{port}", p.a.remote_sip)
    await until(lambda: 200 in progress)
    await until(lambda: p.b.answered.is_set())  # the queue offered the call to B
    await asyncio.sleep(0.5)
    assert only((await hear(p.customer))[0], {B_HZ}, {A_HZ})
    await end_call(p)


async def test_consult_an_outside_number_through_the_trunk_then_complete(
    parties: Parties,
) -> None:
    p = parties
    pstn = Softphone("gw", "", p.site.addr, tone_hz=PSTN_HZ)  # the trunk's far end (UAS)
    await pstn.start(register=False)
    p.site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    p.site.line.trunk = "pstn"
    center = p.site.center
    try:
        with pytest.raises(Exception, match="may not transfer"):  # no permission yet
            center.consult(p.a_id, TransferKind.OUTSIDE, "13900001111")
        center.engine.agents[str(p.a_id)].may_transfer_outside = True
        with p.site.db.session() as s:
            agent = s.get(Agent, p.a_id)
            assert agent is not None
            agent.may_transfer_outside = True
        center.consult(p.a_id, TransferKind.OUTSIDE, "13900001111")
        await until(lambda: pstn.answered.is_set())
        assert pstn.last_invite_uri.startswith("sip:13900001111@")
        await asyncio.sleep(0.5)
        cust, a_hears, far = await hear(p.customer, p.a, pstn)
        assert not has_tone(cust, PSTN_HZ) and not has_tone(cust, A_HZ)
        assert only(a_hears, {PSTN_HZ}, {CUSTOMER}) and only(far, {A_HZ}, {CUSTOMER})
        center.complete_transfer(p.a_id)
        await until(lambda: p.a.bye_received)
        await asyncio.sleep(0.3)
        cust, far = await hear(p.customer, pstn)
        assert only(cust, {PSTN_HZ}, {A_HZ}) and only(far, {CUSTOMER}, {A_HZ})
        call_id = await end_call(p)
    finally:
        await pstn.stop()
    legs = legs_of(p.site.db, call_id)
    assert [leg.party for leg in legs] == [Party.CUSTOMER, Party.AGENT, Party.OUTSIDE]
    assert legs[2].address == "13900001111" and legs[2].answered_at and legs[2].ended_at
    assert "supervisor.consult_outside" in audit(p.site.db)
