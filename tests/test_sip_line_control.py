"""Call control on real SIP calls through the center: barge, intercept, force hang-up, mute,
a vanished agent phone (front of the queue or voicemail), voicemail, IVR outside transfer and
service nodes, extension calls showing busy, blacklisted callers refused (issue 5).

Peers on loopback: every party is an in-process softphone sending its own tone (customer
440 Hz, agent 1000 Hz, second agent or supervisor 2000 Hz), detected by FFT. The database is
a real SQLite file migrated like `kefu serve` does. The site helpers come from test_sip_line.
"""

from __future__ import annotations

import asyncio
import shutil
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from kefu.audio.tones import has_tone
from kefu.audio.wavfile import load_wav, read_stereo, save_wav
from kefu.core.agent import AgentState
from kefu.core.errors import PermissionDenied
from kefu.core.supervision import SupervisorAction
from kefu.security.password import sip_ha1
from kefu.services import recordings, users, voicemails, wallboard
from kefu.services.ivr_locks import DbPasswordLocks, account_key
from kefu.services.wallboard import Actor
from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AuditEntry,
    Call,
    CallLeg,
    Disposition,
    IvrPasswordFailure,
    Number,
    NumberTarget,
    OverflowKind,
    Party,
    Queue,
    Recording,
    Role,
    Voicemail,
)
from kefu.store.models.routing import IvrFlow, IvrFlowVersion
from kefu.telephony.prompts import BEEP_HZ, PROMPT_DIR
from kefu.telephony.sip.softphone import Softphone
from test_sip_line import Site, add_agent, close_site, listen, open_site, seed, until

pytestmark = [pytest.mark.timeout(90), pytest.mark.anyio]

CUSTOMER_HZ, AGENT_HZ, THIRD_HZ = 440.0, 1000.0, 2000.0

FLOW = """\
flow: extra
version: 1
start: menu
nodes:
  menu:
    type: menu
    prompts: [menu]
    choices:
      "1": message
      "2": outside
      "3": balance
      "4": password
  message:
    type: voicemail
    box: sales
  outside:
    type: transfer
    number: "13900001111"
  balance:
    type: lookup
    action: balance
    args: [caller]
    next: known
    on_failure: unknown
  known:
    type: voicemail
    box: lookup_ok
  unknown:
    type: voicemail
    box: lookup_failed
  password:
    type: password
    prompts: [menu]
    account_variable: caller
    wrong_prompts: [invalid_input]
    retries: 0
    zero_out: false
    next: password_ok
    locked: password_locked
    on_failure: password_failed
  password_ok:
    type: voicemail
    box: password_ok
  password_locked:
    type: voicemail
    box: password_locked
  password_failed:
    type: voicemail
    box: password_failed
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def seed_more(db: Database) -> int:
    """An IVR on 4005 (FLOW), a queue 'sales' on 4003 that overflows to voicemail, a
    supervisor with extension 8009; returns the supervisor's user id."""
    with db.session() as s:
        flow = IvrFlow(name="extra", active_version=1)
        sales = Queue(
            name="sales", ring_timeout_s=10, max_wait_s=2, overflow=OverflowKind.VOICEMAIL
        )
        s.add_all([flow, sales])
        s.flush()
        s.add(IvrFlowVersion(flow_id=flow.id, version=1, definition=FLOW))
        s.add(Number(number="4005", target=NumberTarget.IVR, ivr_flow_id=flow.id))
        s.add(Number(number="4003", target=NumberTarget.QUEUE, queue_id=sales.id))
    uid = users.create_user(
        db, "sup8009", "Kefu-test-8009!", Role.SUPERVISOR, agent_no="1009", extension="8009"
    )
    with db.session() as s:
        sup = s.scalars(select(Agent).where(Agent.user_id == uid)).one()
        sup.sip_ha1 = sip_ha1("8009", "kefu", "pw8009")
    return uid


def short_prompts(tmp: Path) -> Path:
    """The default prompts, with the voicemail prompt cut to 1.5 s (the tests wait less;
    the line plays it the same way)."""
    out = tmp / "prompts"
    out.mkdir()
    for wav in PROMPT_DIR.glob("*.wav"):
        shutil.copy(wav, out / wav.name)
    save_wav(out / "voicemail.wav", load_wav(PROMPT_DIR / "voicemail.wav")[:12000])
    return out


class Ctl:
    """A site plus the supervisor's user id."""

    def __init__(self, site: Site, sup_uid: int) -> None:
        self.site = site
        self.sup_uid = sup_uid


async def open_ctl(tmp: Path, rtp_timeout: float = 8.0, db: Database | None = None) -> Ctl:
    if db is None:
        db = Database.from_url(f"sqlite:///{tmp / 'kefu.db'}")
        migrate.upgrade(db.engine)
    seed(db)
    sup_uid = seed_more(db)
    site = await open_site(tmp, db, rtp_timeout=rtp_timeout)
    site.switch.config.prompt_dir = short_prompts(tmp)
    return Ctl(site, sup_uid)


@pytest.fixture
async def ctl(tmp_path: Path) -> AsyncIterator[Ctl]:
    c = await open_ctl(tmp_path)
    yield c
    await close_site(c.site)


@pytest.fixture
async def ctl_db(db: Database, tmp_path: Path) -> AsyncIterator[Ctl]:
    """A site on each database kind (SQLite and PostgreSQL)."""
    c = await open_ctl(tmp_path, db=db)
    yield c
    await close_site(c.site)


async def phones(site: Site, *specs: tuple[str, float]) -> list[Softphone]:
    """Registered softphones for extensions (pw = 'pw' + extension), each with its tone."""
    out = []
    for ext, hz in specs:
        p = Softphone(ext, f"pw{ext}", site.addr, tone_hz=hz)
        await p.start()
        out.append(p)
    return out


async def caller(site: Site, number: str = "13900000000") -> Softphone:
    p = Softphone(number, "x", site.addr, tone_hz=CUSTOMER_HZ)
    await p.start(register=False)
    return p


async def connected(site: Site, customer: Softphone, dialed: str = "4002") -> str:
    """The customer dials `dialed` and is bridged to an agent; returns the call id."""
    await customer.dial(dialed, site.addr)
    await until(lambda: any(lc.agent for lc in site.line.calls.values()))
    await asyncio.sleep(0.5)  # the bridge follows the answer
    return next(iter(site.line.calls))


def audit_actions(db: Database) -> list[str]:
    with db.session() as s:
        return [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# ---- supervisor: barge, intercept, force hang-up --------------------------------------


async def test_barge_then_intercept_through_the_center(ctl: Ctl) -> None:
    """强插: all three hear each other. 拦截: the agent's phone is hung up and the supervisor
    talks with the customer; the customer hangs up; audited; the CDR says so."""
    site = ctl.site
    agent, sup = await phones(site, ("8001", AGENT_HZ), ("8009", THIRD_HZ))
    customer = await caller(site)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        call_id = await connected(site, customer)
        site.center.supervise(ctl.sup_uid, Role.SUPERVISOR, SupervisorAction.BARGE, site.agent_id)
        await until(lambda: sup.answered.is_set())
        await asyncio.sleep(0.5)
        c_hears, a_hears, s_hears = await asyncio.gather(
            listen(customer), listen(agent), listen(sup)
        )
        assert has_tone(c_hears, AGENT_HZ) and has_tone(c_hears, THIRD_HZ)
        assert has_tone(a_hears, CUSTOMER_HZ) and has_tone(a_hears, THIRD_HZ)
        assert has_tone(s_hears, CUSTOMER_HZ) and has_tone(s_hears, AGENT_HZ)

        site.center.supervise(
            ctl.sup_uid, Role.SUPERVISOR, SupervisorAction.INTERCEPT, site.agent_id
        )
        await until(lambda: agent.bye_received)  # the agent's leg is dropped
        await asyncio.sleep(0.3)
        c_hears, s_hears = await asyncio.gather(listen(customer), listen(sup))
        assert has_tone(c_hears, THIRD_HZ) and not has_tone(c_hears, AGENT_HZ)
        assert has_tone(s_hears, CUSTOMER_HZ) and not has_tone(s_hears, AGENT_HZ)
        assert site.center.agent_view(site.agent_id).state is not AgentState.ON_CALL
        customer.hangup()
        await until(lambda: sup.bye_received and not site.line.calls)
    finally:
        for p in (customer, agent, sup):
            await p.stop()
    actions = audit_actions(site.db)
    assert "supervisor.barge" in actions and "supervisor.intercept" in actions
    with site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.hangup_by is Party.CUSTOMER
        assert call.disposition is Disposition.ANSWERED and call.agent_id == site.agent_id


async def test_intercept_without_listening_first_rings_the_supervisor(ctl: Ctl) -> None:
    """拦截 straight away: the supervisor's phone rings; when it answers the agent is dropped.
    The supervisor hangs up last: the CDR says the supervisor hung up."""
    site = ctl.site
    agent, sup = await phones(site, ("8001", AGENT_HZ), ("8009", THIRD_HZ))
    customer = await caller(site)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        call_id = await connected(site, customer)
        site.center.supervise(
            ctl.sup_uid, Role.SUPERVISOR, SupervisorAction.INTERCEPT, site.agent_id
        )
        await until(lambda: sup.answered.is_set() and agent.bye_received)
        await asyncio.sleep(0.3)
        c_hears = await listen(customer)
        assert has_tone(c_hears, THIRD_HZ) and not has_tone(c_hears, AGENT_HZ)
        sup.hangup()
        await until(lambda: customer.bye_received and not site.line.calls)
    finally:
        for p in (customer, agent, sup):
            await p.stop()
    with site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.hangup_by is Party.SUPERVISOR
    assert "supervisor.intercept" in audit_actions(site.db)


async def test_force_hangup_ends_the_call_and_the_cdr_names_the_supervisor(ctl: Ctl) -> None:
    """强制挂机 from the wallboard service: a team leader may not (refused, audited, the call
    goes on); the supervisor may: both phones get a BYE; the CDR and its legs say so."""
    site = ctl.site
    tl_uid = users.create_user(site.db, "tl01", "Kefu-test-tl01!", Role.TEAM_LEADER)
    (agent,) = await phones(site, ("8001", AGENT_HZ))
    customer = await caller(site)
    site.center.agent_login(site.agent_id, ready=True)
    force = SupervisorAction.FORCE_HANGUP
    try:
        call_id = await connected(site, customer)
        assert has_tone(await listen(customer), AGENT_HZ)
        with pytest.raises(PermissionDenied):
            wallboard.act(
                site.center, site.db, Actor(tl_uid, Role.TEAM_LEADER), force, site.agent_id
            )
        assert has_tone(await listen(customer), AGENT_HZ)  # refused: still talking
        wallboard.act(
            site.center, site.db, Actor(ctl.sup_uid, Role.SUPERVISOR), force, site.agent_id, "测试"
        )
        await until(lambda: customer.bye_received and agent.bye_received)
        await until(lambda: not site.line.calls)
    finally:
        for p in (customer, agent):
            await p.stop()
    with site.db.session() as s:
        call = s.get(Call, call_id)
        assert call is not None and call.hangup_by is Party.SUPERVISOR
        assert call.disposition is Disposition.ANSWERED and call.ended_at is not None
        legs = s.scalars(select(CallLeg).where(CallLeg.call_id == call_id)).all()
        assert {leg.party for leg in legs} == {Party.CUSTOMER, Party.AGENT}
        assert all(leg.ended_at and leg.hangup_by is Party.SUPERVISOR for leg in legs)
    with site.db.session() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "supervisor.force_hangup")
        ).all()
        assert [r.detail["allowed"] for r in rows][-1] is True
        assert any(r.detail["allowed"] is False for r in rows)  # the team leader's try


# ---- mute ------------------------------------------------------------------------------


async def test_mute_silences_the_agent_to_the_customer_and_unmute_restores(ctl: Ctl) -> None:
    site = ctl.site
    (agent,) = await phones(site, ("8001", AGENT_HZ))
    customer = await caller(site)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        await connected(site, customer)
        assert has_tone(await listen(customer), AGENT_HZ)
        site.center.mute(site.agent_id, True)
        c_hears, a_hears = await asyncio.gather(listen(customer), listen(agent))
        assert not has_tone(c_hears, AGENT_HZ)  # the customer does not hear the agent
        assert has_tone(a_hears, CUSTOMER_HZ)  # the agent still hears the customer
        site.center.mute(site.agent_id, False)
        assert has_tone(await listen(customer), AGENT_HZ)
        customer.hangup()
        await until(lambda: not site.line.calls)
    finally:
        for p in (customer, agent):
            await p.stop()


# ---- an agent's phone vanishing mid-call -------------------------------------------------


async def test_a_requeued_caller_goes_before_callers_already_waiting(tmp_path: Path) -> None:
    """The first agent's phone goes silent (no BYE): its caller is offered to the next free
    agent before a caller who was already waiting in the same queue."""
    c = await open_ctl(tmp_path, rtp_timeout=1.5)
    site = c.site
    second_id = add_agent(site.db, "8002")
    first, other = await phones(site, ("8001", AGENT_HZ), ("8002", THIRD_HZ))
    early = await caller(site, "13900000001")
    late = await caller(site, "13900000002")
    site.center.agent_login(site.agent_id, ready=True)
    site.center.agent_login(second_id, ready=False)
    try:
        early_id = await connected(site, early)
        await late.dial("4002", site.addr)
        await until(lambda: len(site.center.waiting_calls()) == 1)  # the late caller waits
        late_id = next(i for i in site.line.calls if i != early_id)
        first._stop_media()  # the phone is gone: no BYE, no RTP
        await until(lambda: len(site.center.waiting_calls()) == 2, timeout=20)
        place = {w.call_id: w.position for w in site.center.waiting_calls()}
        assert place == {early_id: 1, late_id: 2}  # back at the front of the line
        site.center.set_state(second_id, AgentState.IDLE)
        await until(lambda: other.answered.is_set(), timeout=20)
        await asyncio.sleep(0.5)
        assert has_tone(await listen(early), THIRD_HZ)  # the requeued caller got the agent
        assert [w.call_id for w in site.center.waiting_calls()] == [late_id]
        view = site.center.agent_view(site.agent_id)
        assert view.state is AgentState.BUSY and view.reason == "phone_lost"
        early.hangup()
        late.hangup()
        await until(lambda: not site.line.calls)
    finally:
        for p in (early, late, first, other):
            await p.stop()
        await close_site(site)
    with site.db.session() as s:
        call = s.get(Call, early_id)
        assert call is not None and call.agent_id == second_id
        assert call.disposition is Disposition.ANSWERED


async def test_a_vanished_agent_phone_sends_the_caller_to_voicemail_when_configured(
    tmp_path: Path,
) -> None:
    """sip_lost_agent = voicemail: prompt, beep, the caller's message into a WAV with a row."""
    c = await open_ctl(tmp_path, rtp_timeout=1.5)
    site = c.site
    site.line.lost_agent = "voicemail"
    (agent,) = await phones(site, ("8001", AGENT_HZ))
    customer = await caller(site)
    site.center.agent_login(site.agent_id, ready=True)
    try:
        call_id = await connected(site, customer)
        agent._stop_media()
        lc = site.line.calls[call_id]
        await until(lambda: lc.voicemail is not None and lc.voicemail.wav is not None, 30)
        await asyncio.sleep(2.0)  # the caller speaks (its tone)
        customer.hangup()
        await until(lambda: not site.line.calls)
    finally:
        for p in (customer, agent):
            await p.stop()
        await close_site(site)
    assert beeped(customer.heard.between())
    view = site.center.agent_view(site.agent_id)
    assert view.state is AgentState.BUSY and view.reason == "phone_lost"
    with site.db.session() as s:
        vm = s.scalars(select(Voicemail)).one()
        assert (vm.call_id, vm.box, vm.ended_by) == (call_id, "service", "hangup")
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is Disposition.ANSWERED
        assert call.hangup_by is Party.CUSTOMER and call.ended_at is not None
        assert call.ended_at >= vm.created_at.replace(microsecond=0)
    assert_message(Path(vm.path), vm.duration_s, 1.2)


def beeped(pcm: np.ndarray, hz: float = BEEP_HZ) -> bool:
    """Whether the beep is in some 0.25 s window of what a phone heard."""
    step = 2000
    return any(has_tone(pcm[i : i + step], hz) for i in range(0, max(len(pcm) - step, 1), 400))


def assert_message(path: Path, duration_s: float, at_least: float) -> None:
    """A mono 8 kHz WAV holding the caller's tone and not the beep or the agent."""
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 8000)
        assert abs(w.getnframes() / 8000 - duration_s) < 0.05
    pcm = load_wav(path)
    assert len(pcm) / 8000 >= at_least
    assert has_tone(pcm, CUSTOMER_HZ)
    assert not has_tone(pcm, BEEP_HZ) and not has_tone(pcm, AGENT_HZ)


# ---- voicemail -------------------------------------------------------------------------


async def test_ivr_voicemail_records_until_the_hash_key(ctl_db: Ctl) -> None:
    """IVR key 1 -> voicemail box 'sales': prompt, beep, message, # ends it, goodbye, BYE."""
    site = ctl_db.site
    customer = await caller(site)
    try:
        await customer.dial("4005", site.addr)
        await until(lambda: site.line.calls)
        call_id = next(iter(site.line.calls))
        lc = site.line.calls[call_id]
        await asyncio.sleep(0.5)
        customer.send_rfc4733("1")
        await until(lambda: lc.voicemail is not None and lc.voicemail.wav is not None)
        await asyncio.sleep(2.0)
        customer.send_rfc4733("#")
        await until(lambda: customer.bye_received, timeout=20)  # after goodbye
        await until(lambda: not site.line.calls)
    finally:
        await customer.stop()
    assert beeped(customer.heard.between())
    with site.db.session() as s:
        vm = s.scalars(select(Voicemail)).one()
        assert (vm.call_id, vm.box, vm.caller, vm.ended_by) == (
            call_id,
            "sales",
            "13900000000",
            "key",
        )
        call = s.get(Call, call_id)
        assert call is not None and call.disposition is Disposition.VOICEMAIL
        assert call.hangup_by is Party.SYSTEM and call.answered_at is None
    assert_message(Path(vm.path), vm.duration_s, 1.5)
    # the console lists it (unheard, dialled 4005) and plays the same file
    with site.db.session() as s:
        rows, total = voicemails.search(
            s, voicemails.VoicemailFilter(heard=False, dialled="4005"), recordings.system_viewer()
        )
        assert total == 1 and rows[0].call_id == call_id and rows[0].box == "sales"
        found = voicemails.get(s, rows[0].id, recordings.system_viewer())
        assert recordings.file_of(found, site.line.recordings, "voicemail") == Path(vm.path)


async def test_queue_overflow_to_voicemail_and_a_maximum_length(ctl: Ctl) -> None:
    """The core's SendToVoicemail (queue 'sales' overflows after 2 s with nobody to answer):
    the message is cut at the maximum length, then goodbye."""
    site = ctl.site
    site.line.voicemail_max = 2.0
    customer = await caller(site)
    try:
        await customer.dial("4003", site.addr)
        await until(lambda: customer.bye_received, timeout=30)
        await until(lambda: not site.line.calls)
    finally:
        await customer.stop()
    with site.db.session() as s:
        vm = s.scalars(select(Voicemail)).one()
        assert (vm.box, vm.ended_by) == ("sales", "max_length")
        assert 1.5 < vm.duration_s < 2.6
        call = s.get(Call, vm.call_id)
        assert call is not None and call.disposition is Disposition.VOICEMAIL
        assert call.ended_at is not None and call.queued_at is not None
        assert (call.ended_at - call.queued_at).total_seconds() > 4.0  # ended after the message
    assert_message(Path(vm.path), vm.duration_s, 1.5)


# ---- the IVR's outside transfer and service nodes ---------------------------------------


async def test_ivr_transfer_dials_the_outside_number_through_the_trunk(ctl: Ctl) -> None:
    site = ctl.site
    pstn = Softphone("gw", "", site.addr, tone_hz=THIRD_HZ)  # the trunk's gateway
    await pstn.start(register=False)
    site.switch.config.trunks["pstn"] = ("127.0.0.1", pstn.port)
    site.line.trunk = "pstn"
    customer = await caller(site)
    try:
        await customer.dial("4005", site.addr)
        await asyncio.sleep(0.5)
        customer.send_rfc4733("2")
        await until(lambda: pstn.answered.is_set())
        assert pstn.last_invite_uri.startswith("sip:13900001111@")
        await asyncio.sleep(0.5)
        c_hears, p_hears = await asyncio.gather(listen(customer), listen(pstn))
        assert has_tone(c_hears, THIRD_HZ) and has_tone(p_hears, CUSTOMER_HZ)
        pstn.hangup()
        await until(lambda: customer.bye_received and not site.line.calls)
    finally:
        for p in (customer, pstn):
            await p.stop()
    with site.db.session() as s:
        call = s.scalars(select(Call)).one()
        assert call.callee == "4005" and call.answered_at is not None
        assert call.disposition is Disposition.ANSWERED
        rec = s.scalars(select(Recording)).one()
    left, right, _ = read_stereo(Path(rec.path))  # the caller left, the outside party right
    assert has_tone(left, CUSTOMER_HZ) and not has_tone(left, THIRD_HZ)
    assert has_tone(right, THIRD_HZ) and not has_tone(right, CUSTOMER_HZ)


class Bank:
    """A stand-in back office (the product ships none): it knows one caller's balance."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, str]]] = []

    def verify_password(self, account: str, password: str) -> bool:
        return password == "123456"

    def lookup(self, action: str, args: dict[str, str]) -> dict[str, str] | None:
        self.asked.append((action, args))
        return {"balance": "100"} if args.get("caller") == "13900000000" else None

    def charge(self, appointment_id: str, amount: str) -> bool:
        return False


async def ivr_box(site: Site, number: str, keys: str = "3") -> str:
    """Dial the IVR, press `keys`; the flow's branch ends in a voicemail box: which one."""
    customer = await caller(site, number)
    try:
        await customer.dial("4005", site.addr)
        await until(lambda: site.line.calls)
        lc = next(iter(site.line.calls.values()))
        await asyncio.sleep(0.5)
        for key in keys:
            customer.send_rfc4733(key)
            await asyncio.sleep(0.15)
        await until(lambda: lc.voicemail is not None, timeout=20)
        assert lc.voicemail is not None
        box = lc.voicemail.box
        customer.hangup()
        await until(lambda: not site.line.calls)
        return box
    finally:
        await customer.stop()


async def test_ivr_lookup_goes_to_the_service_and_takes_the_failure_branch(ctl: Ctl) -> None:
    """No back office: the failure branch plays (no hang-up). With one: its answer counts."""
    site = ctl.site
    assert await ivr_box(site, "13900000000") == "lookup_failed"
    bank = Bank()
    site.line.ivr_services = bank
    assert await ivr_box(site, "13900000000") == "lookup_ok"
    assert await ivr_box(site, "13900000099") == "lookup_failed"
    assert bank.asked[0] == ("balance", {"caller": "13900000000"})


async def test_ivr_password_goes_to_the_service_and_takes_the_failure_branch(ctl: Ctl) -> None:
    """No back office: the password is not verified and on_failure plays. With one: `next`."""
    site = ctl.site
    assert await ivr_box(site, "13900000000", "4123456") == "password_failed"
    site.line.ivr_services = Bank()
    assert await ivr_box(site, "13900000000", "4123456") == "password_ok"
    assert await ivr_box(site, "13900000000", "4654321") == "password_failed"


async def test_five_wrong_passwords_over_five_calls_lock_the_account_for_the_day(
    ctl: Ctl,
) -> None:
    """CC-03 当天累计: one wrong try per call (retries 0); the line's lock store is the
    database's, so the fifth call's wrong try locks, and a sixth with the right password
    is still locked. The count is in ivr_password_failures, keyed by a hash."""
    site = ctl.site
    assert isinstance(site.line.password_locks, DbPasswordLocks)
    site.line.ivr_services = Bank()
    boxes = [await ivr_box(site, "13900000000", "4654321") for _ in range(5)]
    assert boxes == ["password_failed"] * 4 + ["password_locked"]
    assert await ivr_box(site, "13900000000", "4123456") == "password_locked"
    with site.db.session() as s:
        row = s.scalars(select(IvrPasswordFailure)).one()
    assert row.account == account_key("13900000000") and row.failures == 5
    other = await ivr_box(site, "13900000001", "4123456")  # another account is not locked
    assert other == "password_ok"


# ---- extension calls show busy --------------------------------------------------------


async def test_agents_on_an_extension_call_are_busy_and_not_rung(ctl: Ctl) -> None:
    """CC-14: 8001 calls 8002; both show busy and a queue caller waits; after the call they
    are idle again and the waiting caller is answered."""
    site = ctl.site
    second_id = add_agent(site.db, "8002")
    a, b = await phones(site, ("8001", AGENT_HZ), ("8002", THIRD_HZ))
    customer = await caller(site)
    site.center.agent_login(site.agent_id, ready=True)
    site.center.agent_login(second_id, ready=True)
    try:
        await a.dial("8002", site.addr)
        await until(lambda: b.answered.is_set())
        # the line marks them on its core thread: it may finish just after the phone answers
        await until(
            lambda: all(
                site.center.agent_view(aid).state is AgentState.BUSY
                for aid in (site.agent_id, second_id)
            )
        )
        for aid in (site.agent_id, second_id):
            view = site.center.agent_view(aid)
            assert view.state is AgentState.BUSY and view.reason == "extension_call"
        await customer.dial("4002", site.addr)
        await until(lambda: site.center.waiting_calls())
        await asyncio.sleep(1.0)
        assert all(not lc.rings for lc in site.line.calls.values())  # nobody is rung
        a.hangup()
        await until(lambda: customer.answered.is_set() and not site.center.waiting_calls())
        await until(lambda: any(lc.agent for lc in site.line.calls.values()))
        states = {site.center.agent_view(i).state for i in (site.agent_id, second_id)}
        assert AgentState.IDLE in states  # the one not on the queue call is idle again
        customer.hangup()
        await until(lambda: not site.line.calls)
    finally:
        for p in (customer, a, b):
            await p.stop()


# ---- blacklist ---------------------------------------------------------------------------


async def test_a_blacklisted_caller_is_refused_with_403_before_answer(ctl: Ctl) -> None:
    """AG-14: to a queue number (through the core) and to an IVR number (before the menus)."""
    site = ctl.site
    site.center.blacklist(ctl.sup_uid, Role.SUPERVISOR, "13900000666", True)
    customer = await caller(site, "13900000666")
    try:
        for number in ("4002", "4005"):
            with pytest.raises(RuntimeError, match="403"):
                await customer.dial(number, site.addr)
            await until(lambda: not site.line.calls)
        assert not np.any(customer.heard.between())  # never answered, nothing heard
    finally:
        await customer.stop()
    with site.db.session() as s:
        calls = list(s.scalars(select(Call).order_by(Call.offered_at)))
        assert [c.callee for c in calls] == ["4002", "4005"]
        for call in calls:
            assert call.disposition is Disposition.REJECTED and call.answered_at is None
            assert call.hangup_by is Party.SYSTEM and call.ended_at is not None
            legs = s.scalars(select(CallLeg).where(CallLeg.call_id == call.id)).all()
            assert [leg.answered_at for leg in legs] == [None]


# ---- a phone that goes away and comes back -----------------------------------------------


async def test_a_phone_that_unregisters_makes_its_agent_busy_and_registering_again_idle(
    ctl: Ctl,
) -> None:
    """The registration feeds the agent state (issue 5, registrar): no ringing a phone that is
    gone; once it registers again the agent is idle, but only if it was the phone that made
    them busy (an agent's own 示忙 stays)."""
    site = ctl.site
    (phone,) = await phones(site, ("8001", AGENT_HZ))
    site.center.agent_login(site.agent_id, ready=True)
    assert phone.registration is not None

    def state() -> tuple[AgentState, str]:
        v = site.center.agent_view(site.agent_id)
        return v.state, v.reason

    assert state() == (AgentState.IDLE, "")
    phone.registration.unregister()
    await until(lambda: state() == (AgentState.BUSY, "phone_offline"))
    phone.registered.clear()
    phone.registration.register()
    await asyncio.wait_for(phone.registered.wait(), 5)
    await until(lambda: state() == (AgentState.IDLE, ""))
    # the agent's own busy is theirs: a phone coming and going does not change it
    site.center.set_state(site.agent_id, AgentState.BUSY, "培训")
    phone.registration.unregister()
    await until(lambda: site.switch.registrar.lookup("8001") is None)
    phone.registered.clear()
    phone.registration.register()
    await asyncio.wait_for(phone.registered.wait(), 5)
    await asyncio.sleep(0.3)  # the line's core thread has had its turn
    assert state() == (AgentState.BUSY, "培训")
