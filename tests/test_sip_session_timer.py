"""Session timers (RFC 4028) on real SIP over loopback: 422 under Min-SE, the headers of our
2xx and INVITEs, refreshes by re-INVITE or UPDATE, and a BYE with a CDR reason when a refresh
goes unanswered or a refreshing peer falls silent.

Intervals are seconds, not the RFC's 90 s floor: SwitchConfig.min_se is ours to set, and the
tests set it to 2 so nothing waits minutes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiosipua import SipRequest

from kefu.telephony.port import HangupBy, LegRole
from kefu.telephony.router import Router
from kefu.telephony.sip.auth import MemoryCredentials
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.cdr import CallRecord
from kefu.telephony.sip.sdp import build_sdp
from kefu.telephony.sip.softphone import Softphone

pytestmark = [pytest.mark.timeout(40), pytest.mark.anyio]

ALLOW_UPDATE = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Rig:
    """A switch (Min-SE 2 s, our interval 3 s) with a router and an agent phone."""

    def __init__(self, tmp: Path) -> None:
        self.cdrs: list[CallRecord] = []
        creds = MemoryCredentials()
        for ext in ("8001", "9000"):
            creds.set_password(ext, "kefu", f"pw{ext}")
        self.config = SwitchConfig(port=free_port(), rtp_timeout=60.0, session_expires=3, min_se=2)
        self.switch = SipSwitch(self.config, cdr_sink=self.cdrs.append, credentials=creds)
        self.switch.sink = Router(self.switch, {"4001": ["8001"]}, recordings=tmp, welcome=None)
        self.addr = (self.config.host, self.config.port)
        self.phones: list[Softphone] = []

    async def phone(self, ext: str, **kw: Any) -> Softphone:
        p = Softphone(ext, f"pw{ext}", self.addr, **kw)
        await p.start()
        self.phones.append(p)
        return p

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.02)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path)
    await r.switch.start()
    await r.phone("8001")
    yield r
    for p in r.phones:
        await p.stop()
    await r.switch.stop()


def count_requests(phone: Softphone, method: str) -> list[SipRequest]:
    """Record every `method` request the phone receives (it still handles them)."""
    assert phone.uas is not None
    seen: list[SipRequest] = []
    handler = phone.uas._handlers[method]

    def spy(request: SipRequest, addr: tuple[str, int]) -> None:
        seen.append(request)
        handler(request, addr)

    phone.uas._handlers[method] = spy
    return seen


# ---- a raw SIP peer, for exact headers -------------------------------------------


class RawPeer(asyncio.DatagramProtocol):
    """A bare UDP SIP peer: sends text, queues what arrives, answers BYE with 200."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.byes: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode()
        if text.startswith("BYE "):
            self.byes.append(text)
            self.send(_reply_200(text), addr)
        self.inbox.put_nowait(text)

    def send(self, text: str, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(text.encode(), addr)

    async def final(self, timeout: float = 5.0) -> str:
        """The next final response (status >= 200)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.inbox.get()
                if msg.startswith("SIP/2.0 ") and int(msg.split()[1]) >= 200:
                    return msg


def header(msg: str, name: str) -> str:
    for line in msg.split("\r\n"):
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return ""


def _reply_200(req: str) -> str:
    lines = ["SIP/2.0 200 OK"]
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        lines.append(f"{name}: {header(req, name)}")
    return "\r\n".join([*lines, "Content-Length: 0", "", ""])


def invite(peer: RawPeer, switch: tuple[str, int], call_id: str, extra: dict[str, str]) -> str:
    sdp = build_sdp("127.0.0.1", peer.port + 2, (0,))
    hdrs = {
        "Via": f"SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bK{secrets.token_hex(6)};rport",
        "Max-Forwards": "70",
        "From": "<sip:9000@127.0.0.1>;tag=raw1",
        "To": "<sip:4001@127.0.0.1>",
        "Call-ID": call_id,
        "CSeq": "1 INVITE",
        "Contact": f"<sip:9000@127.0.0.1:{peer.port}>",
        **extra,
        "Content-Type": "application/sdp",
        "Content-Length": str(len(sdp)),
    }
    head = [f"INVITE sip:4001@{switch[0]}:{switch[1]} SIP/2.0"]
    head += [f"{k}: {v}" for k, v in hdrs.items()]
    return "\r\n".join(head) + "\r\n\r\n" + sdp


def ack(peer: RawPeer, ok: str, call_id: str) -> str:
    target = header(ok, "Contact").strip("<>")
    return "\r\n".join(
        [
            f"ACK {target} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bK{secrets.token_hex(6)}",
            "Max-Forwards: 70",
            "From: <sip:9000@127.0.0.1>;tag=raw1",
            f"To: {header(ok, 'To')}",
            f"Call-ID: {call_id}",
            "CSeq: 1 ACK",
            "Content-Length: 0",
            "",
            "",
        ]
    )


@pytest.fixture
async def raw() -> AsyncIterator[RawPeer]:
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(RawPeer, local_addr=("127.0.0.1", 0))
    yield peer
    transport.close()


# ---- negotiation -------------------------------------------------------------------


async def test_session_expires_below_min_se_gets_422_with_min_se(rig: Rig, raw: RawPeer) -> None:
    raw.send(
        invite(raw, rig.addr, "st-422", {"Session-Expires": "1", "Supported": "timer"}), rig.addr
    )
    resp = await raw.final()
    assert resp.startswith("SIP/2.0 422 ")
    assert header(resp, "Min-SE") == "2"
    assert not rig.switch.calls  # no call was created


async def test_silent_peer_refresher_is_hung_up_with_a_reason(rig: Rig, raw: RawPeer) -> None:
    extra = {"Session-Expires": "3;refresher=uac", "Supported": "timer", "Min-SE": "2"}
    raw.send(invite(raw, rig.addr, "st-silent", extra), rig.addr)
    ok = await raw.final()
    assert ok.startswith("SIP/2.0 200 ")
    # our 2xx names the interval and the refresher, and requires/supports timers
    assert header(ok, "Session-Expires").replace(" ", "") == "3;refresher=uac"
    assert "timer" in header(ok, "Require") and "timer" in header(ok, "Supported")
    raw.send(ack(raw, ok, "st-silent"), rig.addr)
    # the peer never refreshes: after 3 - min(32, 3/3) = 2 s the switch sends BYE
    t0 = asyncio.get_running_loop().time()
    await rig.wait_for(lambda: bool(raw.byes) and bool(rig.cdrs))
    assert asyncio.get_running_loop().time() - t0 >= 1.5
    cdr = rig.cdrs[0]
    cust = cdr.legs[0]
    assert cust.role is LegRole.CUSTOMER and cust.hangup_by is HangupBy.TIMEOUT
    assert "session expired" in cust.reason
    assert cdr.hangup_by is HangupBy.TIMEOUT


async def test_peer_refreshing_by_update_keeps_the_call(rig: Rig) -> None:
    customer = await rig.phone("9000")
    hdrs = {"Session-Expires": "3;refresher=uac", "Supported": "timer"}
    await customer.dial("4001", rig.addr, headers=hdrs)
    leg = next(iter(rig.switch.calls.values())).customer
    assert leg is not None and leg.session is not None and not leg.session.we_refresh
    assert customer.uac is not None and customer.outgoing is not None
    for _ in range(5):  # 5 s, well past the 2 s deadline, refreshed every second
        await asyncio.sleep(1.0)
        customer.uac.send_update(customer.outgoing.dialog, rig.addr)
    assert not leg.ended and leg.session.refreshes >= 4
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    assert rig.cdrs[0].hangup_by is HangupBy.REMOTE


# ---- the switch refreshes ----------------------------------------------------------


@pytest.mark.parametrize("method", ["INVITE", "UPDATE"])
async def test_switch_refreshes_at_half_the_interval(rig: Rig, method: str) -> None:
    customer = await rig.phone("9000")
    seen = count_requests(customer, method)
    hdrs = {"Session-Expires": "2", "Supported": "timer"}
    if method == "UPDATE":
        hdrs["Allow"] = ALLOW_UPDATE  # the peer can take UPDATE: refresh by UPDATE
    await customer.dial("4001", rig.addr, headers=hdrs)
    leg = next(iter(rig.switch.calls.values())).customer
    assert leg is not None and leg.session is not None and leg.session.we_refresh
    assert leg.session.interval == 2
    await asyncio.sleep(4.5)  # refreshes near 1, 2, 3, 4 s
    assert len(seen) >= 2
    assert all("refresher=uas" in (r.get_header("session-expires") or "") for r in seen)
    assert not leg.ended and leg.session.refreshes >= 2
    customer.hangup()
    await rig.wait_for(lambda: bool(rig.cdrs))
    assert rig.cdrs[0].hangup_by is HangupBy.REMOTE


async def test_unanswered_refresh_ends_the_call_with_bye_and_reason(rig: Rig) -> None:
    customer = await rig.phone("9000")
    assert customer.uas is not None
    hdrs = {"Session-Expires": "3", "Supported": "timer", "Allow": ALLOW_UPDATE}
    await customer.dial("4001", rig.addr, headers=hdrs)
    dropped: list[SipRequest] = []
    customer.uas._handlers["UPDATE"] = lambda r, _a: dropped.append(r)  # a phone gone deaf
    assert customer.outgoing is not None
    customer.outgoing._cancel_session_timer()  # and its own watchdog gone too: we act first
    # refresh at 1.5 s, unanswered for min(32, 3/3) = 1 s (retransmitted meanwhile): BYE
    await rig.wait_for(lambda: customer.bye_received and bool(rig.cdrs))
    assert len(dropped) >= 2  # the UPDATE and at least one retransmission
    cust = rig.cdrs[0].legs[0]
    assert cust.hangup_by is HangupBy.TIMEOUT
    assert cust.reason == "session refresh (UPDATE) not answered"
    assert rig.cdrs[0].legs[1].hangup_by is HangupBy.PEER_LEG  # the agent leg went with it


async def test_agent_leg_offers_timers_and_is_refreshed(rig: Rig) -> None:
    agent = rig.phones[0]
    invites = count_requests(agent, "INVITE")
    customer = await rig.phone("9000")
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    first = invites[0]
    assert "timer" in (first.get_header("supported") or "")
    assert first.get_header("session-expires") == "3"
    assert first.get_header("min-se") == "2"
    # the phone's 2xx has no timers, so the switch refreshes at its own 3 s: re-INVITE at 1.5 s
    await rig.wait_for(lambda: len(invites) >= 2, timeout=6)
    assert invites[1].get_header("session-expires") == "3;refresher=uac"
    agent_leg = next(lg for lg in rig.switch.legs.values() if lg.role is LegRole.AGENT)
    await rig.wait_for(lambda: agent_leg.session is not None and agent_leg.session.refreshes >= 1)
    assert not agent_leg.ended
