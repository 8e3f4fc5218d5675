"""The native RTP relay (`kefu.telephony.sip._relay` through `relay.py`).

First on bare endpoints with plain UDP sockets as the far ends, byte for byte: what the relay
sends must be what `RtpEndpoint.forward` would send, and when Python takes the media back the
far end must see one continuous stream. Then through the switch with real softphones: a
bridged call is relayed natively, hold takes it back (music), resume relays it again, and the
stereo recording has both parties all along; with the relay off the same call works in Python.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from tests.test_sip_b2bua import AGENT_HZ, CUSTOMER_HZ, Rig

from kefu.audio.g711 import PCMA, PCMU, ulaw_to_alaw
from kefu.audio.tones import has_tone
from kefu.audio.wavfile import read_stereo
from kefu.telephony.port import CallEnded, Dtmf, HoldChanged
from kefu.telephony.prompts import MOH_NOTES
from kefu.telephony.sip import relay
from kefu.telephony.sip.rtp import RtpEndpoint

pytestmark = [pytest.mark.timeout(60), pytest.mark.anyio]


@pytest.fixture(params=[False, True], ids=["asyncio", "uvloop"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    # `kefu serve` runs on uvloop (uvicorn's default when installed); tests mostly on asyncio
    return ("asyncio", {"use_uvloop": request.param})


HDR = struct.Struct("!BBHII")


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return HDR.pack(0x80, pt | (0x80 if marker else 0), seq, ts, ssrc) + payload


def recv_all(sock: socket.socket, wait: float = 0.5) -> list[bytes]:
    """Every datagram that arrives within `wait` seconds of the last one."""
    got: list[bytes] = []
    while select.select([sock], [], [], wait)[0]:
        got.append(sock.recv(2048))
        wait = 0.2
    return got


def udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def test_the_native_relay_was_built() -> None:
    # the build hook compiles it; without it every bridged call's RTP runs in Python
    assert relay.available()


async def test_relay_forwards_like_python_and_hands_the_stream_back() -> None:
    peer_a, peer_b, stranger = udp(), udp(), udp()  # customer's phone, agent's phone
    heard_by_python: list[tuple[int, bytes]] = []
    ep_a = await RtpEndpoint.open(
        "127.0.0.1", lambda ep, pt, ts, ssrc, m, payload, now: heard_by_python.append((pt, payload))
    )
    ep_b = await RtpEndpoint.open("127.0.0.1")
    ep_a.remote, ep_b.remote = peer_a.getsockname(), peer_b.getsockname()
    pipe_r, pipe_w = os.pipe2(os.O_NONBLOCK)
    try:
        # Python has been sending to the agent's phone (a prompt, say): its stream goes on
        ep_b.send(PCMA, b"\xd5" * 160)
        (first,) = recv_all(peer_b)
        _, _, seq0, ts0, ssrc_b = HDR.unpack_from(first)
        pairs: list[relay.RelayedPair] = []

        def give_back() -> None:  # what the switch's reclaim does
            pairs[0].release()

        pair = relay.offload(
            ep_a, ep_b, pt_a=PCMU, pt_b=PCMA, dtmf_a=101, dtmf_b=None, record=True,
            reclaim=give_back, notify_fd=pipe_w,
        )  # fmt: skip
        pairs.append(pair)  # type: ignore[arg-type]
        assert pair is not None and ep_a.reclaim is not None
        payload = bytes(range(160))
        src_ssrc = 0x1234ABCD
        for i in range(5):
            peer_a.sendto(rtp(PCMU, 100 + i, 8000 + 160 * i, src_ssrc, payload), ep_a.local)
        got = recv_all(peer_b)
        assert len(got) == 5
        for i, pkt in enumerate(got):
            b0, b1, seq, ts, ssrc = HDR.unpack_from(pkt)
            assert b0 == 0x80 and ssrc == ssrc_b  # our SSRC towards the agent, not the caller's
            assert b1 & 0x7F == PCMA and bool(b1 & 0x80) == (i == 0)  # marker on the new source
            assert seq == (seq0 + 1 + i) & 0xFFFF
            assert ts == (ts0 + 160 + 160 * i) & 0xFFFFFFFF  # re-based onto our own timeline
            assert pkt[12:] == ulaw_to_alaw(payload)  # transcoded μ-law -> A-law
        # not from the negotiated address: dropped; RTCP: counted and dropped
        stranger.sendto(rtp(PCMU, 1, 1, 1, payload), ep_a.local)
        peer_a.sendto(bytes([0x80, 200]) + b"\x00" * 26, ep_a.local)
        # a DTMF key: not forwarded, queued for Python, and the pipe wakes the switch
        key = rtp(101, 105, 8800, src_ssrc, bytes([5, 0x80 | 10, 0, 160]))
        peer_a.sendto(key, ep_a.local)
        assert select.select([pipe_r], [], [], 2.0)[0] and os.read(pipe_r, 64)
        assert recv_all(peer_b, 0.3) == []
        ab, ba = pair.drain()
        assert ab.dtmf == [key] and ba.dtmf == [] and ba.recorded == []
        assert [(pt, p) for _, pt, p in ab.recorded] == [(PCMU, payload)] * 5
        times = [t for t, _, _ in ab.recorded]
        assert times == sorted(times) and abs(times[-1] - ep_a.last_rx) < 1.0
        assert ep_a.ignored == 1 and ep_a.rtcp == 1 and ep_a.rx_packets == 6
        assert ep_b.tx_packets == 1 + 5
        # Python sends again (hold music, say): the relay gives the socket back first, and the
        # agent's phone sees the same stream go on
        ep_b.send(PCMA, b"\xd5" * 160)
        assert ep_a.reclaim is None and ep_b.reclaim is None
        (after,) = recv_all(peer_b)
        _, b1, seq, ts, ssrc = HDR.unpack_from(after)
        assert ssrc == ssrc_b and seq == (seq0 + 6) & 0xFFFF
        assert ts == (ts0 + 6 * 160) & 0xFFFFFFFF
        # and Python receives on the caller's socket again
        peer_a.sendto(rtp(PCMU, 106, 8960, src_ssrc, payload), ep_a.local)
        for _ in range(50):
            if heard_by_python:
                break
            await asyncio.sleep(0.02)
        assert heard_by_python == [(PCMU, payload)]
    finally:
        for ep in (ep_a, ep_b):
            ep.close()
        for s in (peer_a, peer_b, stranger):
            s.close()
        os.close(pipe_r)
        os.close(pipe_w)


@pytest.fixture(params=[True, False], ids=["native", "python"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path)
    r.switch.native_relay = request.param
    await r.switch.start()
    yield r
    for p in r.phones:
        await p.stop()
    await r.switch.stop()


def events(rig: Rig) -> list[object]:
    return list(rig.router.events)


def windows_with_tone(pcm: np.ndarray, hz: float, seconds: float = 0.5) -> list[bool]:
    n = int(8000 * seconds)
    return [has_tone(pcm[i : i + n], hz) for i in range(0, len(pcm) - n + 1, n)]


async def test_bridged_call_is_relayed_hold_takes_it_back_and_the_recording_is_whole(
    rig: Rig,
) -> None:
    native = rig.switch.native_relay
    before = relay.forwarded()
    agent = await rig.phone("8001", tone_hz=AGENT_HZ)
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ)
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    (call,) = rig.switch.calls.values()
    if native:
        await rig.wait_for(lambda: call.relayed is not None)
    await asyncio.sleep(1.0)
    assert (call.relayed is not None) is native
    assert has_tone(agent.heard.between(), CUSTOMER_HZ)
    assert has_tone(customer.heard.between(), AGENT_HZ)
    # a key pressed while relayed still reaches the router
    customer.send_rfc4733("5")
    await rig.wait_for(
        lambda: any(isinstance(e, Dtmf) and e.digit == "5" for e in rig.router.events)
    )
    loop = asyncio.get_running_loop()
    agent.reinvite("sendonly")
    await rig.wait_for(
        lambda: any(isinstance(e, HoldChanged) and e.held for e in rig.router.events)
    )
    assert call.relayed is None  # the music is Python's: the call came back at once
    t_hold = loop.time()
    await asyncio.sleep(2.0)
    for _ in range(40):
        if any(has_tone(customer.heard.between(t_hold + 0.2), f) for f in MOH_NOTES):
            break
        await asyncio.sleep(0.2)
    agent.reinvite("sendrecv")
    await rig.wait_for(
        lambda: any(isinstance(e, HoldChanged) and not e.held for e in rig.router.events)
    )
    t_resume = loop.time()
    if native:
        await rig.wait_for(lambda: call.relayed is not None)
    await asyncio.sleep(1.0)
    # every half second of the hold: a note of the music, never the agent
    held = customer.heard.between(t_hold + 0.5, t_hold + 2.0)
    halves = [held[i : i + 4000] for i in range(0, len(held) - 3999, 4000)]
    assert len(halves) == 3
    assert all(any(has_tone(h, f) for f in MOH_NOTES) for h in halves)
    assert not any(has_tone(h, AGENT_HZ) for h in halves)
    assert has_tone(customer.heard.between(t_resume + 0.3), AGENT_HZ)
    assert has_tone(agent.heard.between(t_resume + 0.3), CUSTOMER_HZ)
    customer.hangup()
    await rig.wait_for(lambda: any(isinstance(e, CallEnded) for e in rig.router.events))
    assert (relay.forwarded() > before) is native
    assert call.relayed is None
    # the recording: the customer's tone on the left in every half second of the call (the
    # relay's payloads and Python's own land on one timeline), the agent right
    cdr = rig.cdrs[0]
    assert cdr.recording is not None
    left, right, _ = read_stereo(cdr.recording)
    assert all(windows_with_tone(left[: len(left) - 4000], CUSTOMER_HZ))
    assert has_tone(right, AGENT_HZ) and not has_tone(left, AGENT_HZ)
