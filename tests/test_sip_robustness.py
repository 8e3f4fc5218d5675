"""Malformed SIP, digest checks on trunks and phones, and unexpected RTP sources."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator

import pytest
from aiosipua import SipRequest, parse_auth

from kefu.telephony.port import CallArrived, RegistrationChanged, SwitchEvent
from kefu.telephony.sip.auth import DigestAuthenticator, MemoryCredentials, ha1
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.rtp import RtpEndpoint
from kefu.telephony.sip.softphone import Softphone

pytestmark = [pytest.mark.timeout(60), pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def creds() -> MemoryCredentials:
    c = MemoryCredentials()
    c.set_password("8001", "kefu", "pw8001")
    return c


@pytest.fixture
async def switch() -> AsyncIterator[tuple[SipSwitch, list[SwitchEvent]]]:
    events: list[SwitchEvent] = []
    sw = SipSwitch(
        SwitchConfig(port=free_port(), trunk_allow=()), sink=events.append, credentials=creds()
    )
    await sw.start()
    yield sw, events
    await sw.stop()


def options(port: int, n: int) -> bytes:
    return (
        f"OPTIONS sip:kefu@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port + 1};branch=z9hG4bK-opt{n}\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=p{n}\r\nTo: <sip:kefu@127.0.0.1>\r\n"
        f"Call-ID: probe-{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


SEEDS = [
    (
        b"INVITE sip:4001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:4001@127.0.0.1>\r\nCall-ID: fz\r\nCSeq: 1 INVITE\r\n"
        b"Contact: <sip:a@127.0.0.1:5999>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n"
        b"Content-Length: 120\r\n\r\nv=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
        b"c=IN IP4 127.0.0.1\r\n"
        b"t=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    ),
    (
        b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKr\r\n"
        b"From: <sip:8001@127.0.0.1>;tag=2\r\nTo: <sip:8001@127.0.0.1>\r\nCall-ID: fr\r\n"
        b"CSeq: 1 REGISTER\r\nContact: <sip:8001@127.0.0.1:5999>;expires=60\r\n"
        b'Authorization: Digest username="8001", realm="kefu", nonce="1.abc", uri="sip:x", '
        b'response="00"\r\nContent-Length: 0\r\n\r\n'
    ),
    (
        b"BYE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKb\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>;tag=9\r\nCall-ID: fb\r\nCSeq: 2 BYE\r\n"
        b"Content-Length: 0\r\n\r\n"
    ),
    (
        b"INFO sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKi\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>;tag=9\r\nCall-ID: fi\r\nCSeq: 3 INFO\r\n"
        b"Content-Type: application/dtmf-relay\r\nContent-Length: 10\r\n\r\nSignal=5\r\n"
    ),
    (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKq\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>;tag=9\r\nCall-ID: unknown\r\nCSeq: 1 INVITE\r\n"
        b"Content-Length: 0\r\n\r\n"
    ),
]


def mutate(rng: random.Random, msg: bytes) -> bytes:
    b = bytearray(msg)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        if op == 0 and b:  # flip bytes
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1:  # truncate
            del b[rng.randrange(len(b) + 1) :]
        elif op == 2:  # duplicate a slice
            i = rng.randrange(len(b) + 1)
            b[i:i] = b[i : i + rng.randint(1, 80)]
        elif op == 3:  # absurd numbers
            b = bytearray(
                bytes(b)
                .replace(b"Content-Length: 0", b"Content-Length: 99999999")
                .replace(b"CSeq: 1", b"CSeq: -4294967297")
            )
        elif op == 4:  # delete a line
            lines = bytes(b).split(b"\r\n")
            if len(lines) > 1:
                del lines[rng.randrange(len(lines))]
            b = bytearray(b"\r\n".join(lines))
        elif op == 5:  # random garbage or NULs inserted
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        else:  # header injection and odd separators
            b = bytearray(bytes(b).replace(b": ", rng.choice([b":", b" : ", b":\r\n ", b"::"]), 1))
    return bytes(b[:65000])


async def ask_options(port: int, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    try:
        msg = options(port, n).replace(
            f"127.0.0.1:{port + 1}".encode(), f"127.0.0.1:{s.getsockname()[1]}".encode()
        )
        s.sendto(msg, ("127.0.0.1", port))
        return await asyncio.wait_for(loop.sock_recv(s, 65535), 2)
    finally:
        s.close()


async def test_fuzzed_sip_never_kills_the_switch(
    switch: tuple[SipSwitch, list[SwitchEvent]],
) -> None:
    sw, events = switch
    port = sw.config.port
    rng = random.Random(20261122)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sent = 0
    for i in range(3000):
        sock.sendto(mutate(rng, rng.choice(SEEDS)), ("127.0.0.1", port))
        sent += 1
        if i % 50 == 0:
            await asyncio.sleep(0.005)
    sock.close()
    await asyncio.sleep(0.3)
    reply = await ask_options(port, 1)
    assert reply.startswith(b"SIP/2.0 200")
    assert sent == 3000 and all(not t.done() for t in sw._tasks)
    # untrusted sources are challenged: no fuzzed INVITE became a call
    assert not [e for e in events if isinstance(e, CallArrived)]


async def test_trunk_not_on_allow_list_must_authenticate(
    switch: tuple[SipSwitch, list[SwitchEvent]],
) -> None:
    sw, events = switch
    addr = (sw.config.host, sw.config.port)
    good = Softphone("8001", "pw8001", addr)
    await good.start(register=False)
    bad = Softphone("8001", "nope", addr)
    await bad.start(register=False)
    try:
        with pytest.raises(RuntimeError, match="407"):
            await bad.dial("4001", addr, timeout=3)
        task = asyncio.create_task(good.dial("4001", addr, timeout=3))
        async with asyncio.timeout(3):
            while not [e for e in events if isinstance(e, CallArrived)]:
                await asyncio.sleep(0.02)
        arrived = next(e for e in events if isinstance(e, CallArrived))
        assert (arrived.caller, arrived.dialed) == ("8001", "4001")
        sw.answer(arrived.call_id)
        await task
    finally:
        await good.stop()
        await bad.stop()


async def test_registration_events_and_binding(switch: tuple[SipSwitch, list[SwitchEvent]]) -> None:
    sw, events = switch
    phone = Softphone("8001", "pw8001", (sw.config.host, sw.config.port))
    await phone.start()
    b = sw.registrar.lookup("8001")
    assert b is not None and b.addr == ("127.0.0.1", phone.port)
    await phone.stop()
    await asyncio.sleep(0.1)
    assert sw.registrar.lookup("8001") is None
    ups = [(e.extension, e.up) for e in events if isinstance(e, RegistrationChanged)]
    assert ups == [("8001", True), ("8001", False)]


def test_digest_verification_stores_ha1_only() -> None:
    from aiosipua import SipDigestAuth, build_credentials, stringify_auth

    store = creds()
    assert store.entries[("8001", "kefu")] == ha1("8001", "kefu", "pw8001")
    assert "pw8001" not in repr(store.entries)
    auth = DigestAuthenticator("kefu", store)
    req = SipRequest(method="REGISTER", uri="sip:127.0.0.1")
    challenge = parse_auth(auth.challenge())
    for user, pw, ok in (("8001", "pw8001", True), ("8001", "bad", False), ("9", "x", False)):
        cred = build_credentials(SipDigestAuth(user, pw), challenge, "REGISTER", "sip:127.0.0.1")
        assert cred is not None
        req.headers.set_single("Authorization", stringify_auth(cred))
        assert (auth.verify(req) == user) is ok
    # a nonce we did not issue, or one that has expired, is refused
    assert not auth.nonce_valid("123.deadbeef")
    assert not auth.nonce_valid(auth.nonce(now=1.0))


async def test_rtp_from_an_unexpected_source_is_ignored() -> None:
    got: list[bytes] = []
    ep = await RtpEndpoint.open("127.0.0.1", lambda *a: got.append(a[5]))
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    intruder.bind(("127.0.0.1", 0))
    ep.remote = peer.getsockname()
    pkt = bytes([0x80, 0, 0, 1]) + bytes(8) + b"\xff" * 160
    try:
        intruder.sendto(pkt, ep.local)
        intruder.sendto(b"\x00garbage", ep.local)
        peer.sendto(pkt, ep.local)
        peer.sendto(b"\x80", ep.local)  # too short
        await asyncio.sleep(0.1)
    finally:
        ep.close()
        peer.close()
        intruder.close()
    assert got == [b"\xff" * 160] and ep.ignored == 3


async def test_request_missing_headers_gets_400(
    switch: tuple[SipSwitch, list[SwitchEvent]],
) -> None:
    sw, _ = switch
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    me = s.getsockname()[1]
    msg = (
        f"OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKm"
        "\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:kefu@127.0.0.1>\r\nCSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()  # no Call-ID
    try:
        s.sendto(msg, ("127.0.0.1", sw.config.port))
        reply = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(s, 65535), 2)
    finally:
        s.close()
    assert reply.startswith(b"SIP/2.0 400")


def invite(port: int, me: int, branch: str = "z9hG4bKdup") -> bytes:
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\n"
    )
    return (
        f"INVITE sip:4001@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch={branch}\r\n"
        "From: <sip:13800138000@127.0.0.1>;tag=dup\r\nTo: <sip:4001@127.0.0.1>\r\n"
        "Call-ID: dup-call\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:c@127.0.0.1:{me}>\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


async def test_invite_retransmission_is_one_call() -> None:
    events: list[SwitchEvent] = []
    sw = SipSwitch(SwitchConfig(port=free_port()), sink=events.append)
    await sw.start()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        msg = invite(sw.config.port, s.getsockname()[1])
        for _ in range(3):
            s.sendto(msg, ("127.0.0.1", sw.config.port))
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        assert len([e for e in events if isinstance(e, CallArrived)]) == 1
    finally:
        s.close()
        await sw.stop()


async def test_switch_retransmits_invite_to_a_silent_phone() -> None:
    import time

    from kefu.telephony.sip.registrar import Binding

    events: list[SwitchEvent] = []
    sw = SipSwitch(SwitchConfig(port=free_port()), sink=events.append)
    await sw.start()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.setblocking(False)
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    sw.registrar.bindings["8001"] = Binding(
        "8001", f"sip:8001@127.0.0.1:{port}", ("127.0.0.1", port), time.time() + 60
    )
    loop = asyncio.get_running_loop()
    try:
        caller.sendto(
            invite(sw.config.port, caller.getsockname()[1]), ("127.0.0.1", sw.config.port)
        )
        async with asyncio.timeout(2):
            while not events:
                await asyncio.sleep(0.01)
        arrived = events[0]
        assert isinstance(arrived, CallArrived)
        sw.ring(arrived.call_id, "8001")
        got: list[bytes] = []
        end = loop.time() + 2.0
        while loop.time() < end:
            with contextlib.suppress(TimeoutError):
                got.append(await asyncio.wait_for(loop.sock_recv(silent, 65535), 0.2))
        invites = [g for g in got if g.startswith(b"INVITE ")]
        assert len(invites) >= 3 and len(set(invites)) == 1  # same request, timer A
    finally:
        silent.close()
        caller.close()
        await sw.stop()


def test_registrar_expires_bindings_and_reports_them() -> None:
    import time

    from kefu.telephony.sip.registrar import Binding, Registrar

    changes: list[tuple[str, bool, str]] = []
    reg = Registrar(
        DigestAuthenticator("kefu", creds()), on_change=lambda e, up, c: changes.append((e, up, c))
    )
    now = time.time()
    reg.bindings["8001"] = Binding("8001", "sip:8001@127.0.0.1:5070", ("127.0.0.1", 5070), now - 1)
    reg.bindings["8002"] = Binding("8002", "sip:8002@127.0.0.1:5071", ("127.0.0.1", 5071), now + 60)
    assert reg.lookup("8001") is None and reg.lookup("8002") is not None
    assert reg.expire(now) == ["8001"]
    assert changes == [("8001", False, "sip:8001@127.0.0.1:5070")]


def reply_to(request: bytes, code: int, reason: str) -> bytes:
    """A response copying Via/From/To/Call-ID/CSeq (To tagged), as a minimal phone sends."""
    head = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    keep = [
        ln for ln in head[1:] if ln.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")
    ]
    to = next(ln for ln in head[1:] if ln.lower().startswith("to:"))
    to = to if ";tag=" in to else to + ";tag=phone1"
    return (
        "\r\n".join([f"SIP/2.0 {code} {reason}", *keep, to, "Content-Length: 0"]) + "\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("ending", ["busy", "cancel"])
async def test_switch_acks_final_errors_from_a_phone(ending: str) -> None:
    """aiosipua 0.7.1 sends no ACK for non-2xx finals (nor after its CANCEL): the switch does."""
    import time

    from kefu.telephony.sip.registrar import Binding

    events: list[SwitchEvent] = []
    sw = SipSwitch(SwitchConfig(port=free_port()), sink=events.append)
    await sw.start()
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    phone.setblocking(False)
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", 0))
    port = phone.getsockname()[1]
    sw.registrar.bindings["8001"] = Binding(
        "8001", f"sip:8001@127.0.0.1:{port}", ("127.0.0.1", port), time.time() + 60
    )
    loop = asyncio.get_running_loop()
    to_switch = ("127.0.0.1", sw.config.port)

    async def recv(prefix: bytes) -> bytes:
        async with asyncio.timeout(3):
            while True:
                data = await loop.sock_recv(phone, 65535)
                if data.startswith(prefix):
                    return data

    try:
        caller.sendto(invite(sw.config.port, caller.getsockname()[1]), to_switch)
        async with asyncio.timeout(2):
            while not events:
                await asyncio.sleep(0.01)
        arrived = events[0]
        assert isinstance(arrived, CallArrived)
        leg = sw.ring(arrived.call_id, "8001")
        inv = await recv(b"INVITE ")
        phone.sendto(reply_to(inv, 180, "Ringing"), to_switch)
        if ending == "busy":
            phone.sendto(reply_to(inv, 486, "Busy Here"), to_switch)
        else:
            await asyncio.sleep(0.1)
            sw.cancel_ring(leg)
            cancel = await recv(b"CANCEL ")
            phone.sendto(reply_to(cancel, 200, "OK"), to_switch)
            phone.sendto(reply_to(inv, 487, "Request Terminated"), to_switch)
        ack = await recv(b"ACK ")
        branch = inv.split(b"branch=")[1].split(b";")[0].split(b"\r")[0]
        assert branch in ack and b"CSeq: 1 ACK" in ack and b"tag=phone1" in ack
    finally:
        phone.close()
        caller.close()
        await sw.stop()
