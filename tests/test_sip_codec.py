"""G.722 where offered: the codec on the 8 kHz path, SDP negotiation, and a real call where the
agent's phone speaks G.722 (16 kHz) and the customer G.711, each hearing the other's tone."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiortp.packet import (
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)

from kefu.audio.frames import FRAME
from kefu.audio.g722 import (
    G722,
    WIDE_FRAME,
    WIDE_RATE,
    Decimator,
    G722Stream,
    Interpolator,
    WidebandG722,
)
from kefu.audio.tones import dominant_frequencies, has_tone, sine
from kefu.audio.wavfile import read_stereo
from kefu.config import Settings
from kefu.telephony.port import HangupBy
from kefu.telephony.prompts import MOH_NOTES
from kefu.telephony.router import Router
from kefu.telephony.sip.auth import MemoryCredentials
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.cdr import CallRecord
from kefu.telephony.sip.rtp import RtpEndpoint
from kefu.telephony.sip.sdp import build_sdp, choose_codec, parse_codecs, read_sdp
from kefu.telephony.sip.softphone import Softphone

CUSTOMER_HZ, AGENT_HZ = 440.0, 1000.0


def _frames(x: np.ndarray, n: int) -> list[np.ndarray]:
    return [x[i : i + n] for i in range(0, len(x) - n + 1, n)]


@pytest.mark.parametrize("hz", [440.0, 1000.0, 3000.0])
def test_wideband_phone_to_8k_path_keeps_the_tone(hz: float) -> None:
    phone, switch = WidebandG722(), G722Stream()
    out = [switch.decode(phone.encode(f)) for f in _frames(sine(hz, 1.0, rate=WIDE_RATE), 320)]
    assert all(len(o) == FRAME for o in out)
    pcm = np.concatenate(out)[800:]  # after the ADPCM settles
    assert has_tone(pcm, hz)
    assert abs(dominant_frequencies(pcm, 1)[0] - hz) < 10
    assert 6000 < np.abs(pcm).max() < 9500  # level kept (tone amplitude 8000)


@pytest.mark.parametrize("hz", [440.0, 1000.0, 3000.0])
def test_8k_path_to_wideband_phone_keeps_the_tone(hz: float) -> None:
    switch, phone = G722Stream(), WidebandG722()
    out = [phone.decode(switch.encode(f)) for f in _frames(sine(hz, 1.0), FRAME)]
    assert all(len(o) == WIDE_FRAME for o in out)
    pcm = np.concatenate(out)[1600:]
    assert has_tone(pcm, hz, rate=WIDE_RATE)
    assert abs(dominant_frequencies(pcm, 1, rate=WIDE_RATE)[0] - hz) < 10
    assert 6000 < np.abs(pcm).max() < 9500


def test_resamplers_keep_a_tone_and_the_rate() -> None:
    dec, inter = Decimator(), Interpolator()
    down = np.concatenate([dec(f) for f in _frames(sine(1000, 1.0, rate=WIDE_RATE), 320)])
    up = np.concatenate([inter(f) for f in _frames(sine(1000, 1.0), FRAME)])
    assert len(down) == 8000 and len(up) == 16000
    assert has_tone(down[200:], 1000) and has_tone(up[200:], 1000, rate=WIDE_RATE)
    # 5 kHz at 16 kHz must not fold back to 3 kHz at 8 kHz
    alias = np.concatenate([dec(f) for f in _frames(sine(5000, 1.0, rate=WIDE_RATE), 320)])
    assert np.abs(alias[200:]).max() < 800


def test_each_stream_has_its_own_state() -> None:
    a, b = G722Stream(), G722Stream()
    tone = sine(1000, 0.2)
    first = [a.encode(f) for f in _frames(tone, FRAME)]
    assert [b.encode(f) for f in _frames(tone, FRAME)] == first  # same input, same output
    assert a.encode(tone[:FRAME]) != first[0]  # a's predictor has moved on


# ---- SDP negotiation ---------------------------------------------------------------


def _offer(*codecs: int) -> tuple[int, ...]:
    sdp = read_sdp(build_sdp("127.0.0.1", 4000, codecs))
    assert sdp is not None
    return sdp.codecs


def test_sdp_carries_g722_with_its_8000_clock() -> None:
    text = build_sdp("127.0.0.1", 4000, (G722, 0))
    assert "m=audio 4000 RTP/AVP 9 0 101" in text
    assert "a=rtpmap:9 G722/8000" in text
    assert _offer(G722, 0) == (G722, 0)


def test_negotiation_prefers_g711_by_default_and_g722_when_configured() -> None:
    default = SwitchConfig().codecs
    assert default[0] == 0 and G722 in default
    assert choose_codec(default, _offer(G722, 0, 8)) == 0  # G.711 stays the first choice
    assert choose_codec(default, _offer(G722)) == G722  # a G.722-only phone is accepted
    configured = parse_codecs(["g722", "PCMU", "PCMA"], "test")
    assert choose_codec(configured, _offer(G722, 0, 8)) == G722
    assert choose_codec(configured, _offer(8)) == 8
    assert choose_codec((0, 8), _offer(G722)) is None  # not configured: 488


def test_codec_setting_is_checked() -> None:
    assert Settings(sip_codecs=["G722", "PCMA"]).sip_codec_types == (G722, 8)
    with pytest.raises(ValueError, match="sip_codecs: unknown codec 'OPUS'"):
        Settings(sip_codecs=["OPUS"])


# ---- a real call -------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Rig:
    def __init__(self, tmp: Path, codecs: tuple[int, ...]) -> None:
        self.cdrs: list[CallRecord] = []
        creds = MemoryCredentials()
        for ext in ("8001", "9000"):
            creds.set_password(ext, "kefu", f"pw{ext}")
        self.config = SwitchConfig(port=free_port(), codecs=codecs)
        self.switch = SipSwitch(self.config, cdr_sink=self.cdrs.append, credentials=creds)
        self.switch.sink = Router(self.switch, {"4001": ["8001"]}, recordings=tmp, welcome=None)
        self.addr = (self.config.host, self.config.port)
        self.phones: list[Softphone] = []

    async def phone(self, ext: str, **kw: object) -> Softphone:
        p = Softphone(ext, f"pw{ext}", self.addr, **kw)  # type: ignore[arg-type]
        await p.start()
        self.phones.append(p)
        return p


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path, (0, 8, G722))
    await r.switch.start()
    yield r
    for p in r.phones:
        await p.stop()
    await r.switch.stop()


@pytest.mark.anyio
@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("customer_codec", "names"),
    [(0, ["PCMU", "G722"]), (8, ["PCMA", "G722"]), (G722, ["G722", "G722"])],
)
async def test_g722_agent_talks_with_g711_customer_and_both_are_recorded(
    rig: Rig, customer_codec: int, names: list[str]
) -> None:
    """G.711 customers are transcoded; a G.722 customer is passed through to the G.722 agent."""
    agent = await rig.phone("8001", tone_hz=AGENT_HZ, codecs=(G722, 0))
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ, codecs=(customer_codec,))
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    assert agent.codec == G722 and customer.codec == customer_codec
    await asyncio.sleep(2.0)
    customer.hangup()
    async with asyncio.timeout(5):
        while not rig.cdrs or not agent.bye_received:
            await asyncio.sleep(0.02)
    # the agent's phone decoded G.722 at 16 kHz and hears the customer's tone, not its own
    heard_by_agent = agent.heard.between()
    assert len(heard_by_agent) > 8000
    assert has_tone(heard_by_agent, CUSTOMER_HZ) and not has_tone(heard_by_agent, AGENT_HZ)
    heard_by_customer = customer.heard.between()
    assert has_tone(heard_by_customer, AGENT_HZ) and not has_tone(heard_by_customer, CUSTOMER_HZ)
    cdr = rig.cdrs[0]
    assert [lg.codec for lg in cdr.legs] == names
    assert cdr.recording is not None
    left, right, rate = read_stereo(cdr.recording)
    assert rate == 8000 and len(left) / rate > 1.5
    assert has_tone(left, CUSTOMER_HZ) and not has_tone(left, AGENT_HZ)
    assert has_tone(right, AGENT_HZ) and not has_tone(right, CUSTOMER_HZ)


# ---- RTCP -------------------------------------------------------------------------


def _rtcp_packets(ssrc: int) -> list[bytes]:
    """A compound SR+SDES, an RR, a NACK-like RTPFB, an XR header and junk with an RTCP type."""
    sr = RtcpSrPacket(
        ssrc=ssrc,
        sender_info=RtcpSenderInfo(
            ntp_timestamp=1 << 40, rtp_timestamp=1234, packet_count=50, octet_count=8000
        ),
        reports=[
            RtcpReceiverInfo(
                ssrc=7,
                fraction_lost=0,
                packets_lost=0,
                highest_sequence=100,
                jitter=3,
                lsr=0,
                dlsr=0,
            )
        ],
    )
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=ssrc, items=[(1, b"phone@kefu")])])
    rr = RtcpRrPacket(ssrc=ssrc)
    nack = RtcpRtpfbPacket(fmt=1, ssrc=ssrc, media_ssrc=7, lost=[5, 6])
    xr = bytes([0x80, 207, 0, 1]) + ssrc.to_bytes(4, "big")
    return [bytes(sr) + bytes(sdes), bytes(rr), bytes(nack), xr, bytes([0x81, 200, 0xFF, 0xFF])]


@pytest.mark.anyio
@pytest.mark.timeout(30)
async def test_rtcp_to_the_rtp_port_or_the_next_does_not_disturb_audio(rig: Rig) -> None:
    agent = await rig.phone("8001", tone_hz=AGENT_HZ, codecs=(0,))
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ, codecs=(0,))
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    assert customer.ep is not None and agent.ep is not None
    seen: list[int] = []
    agent_on_packet = agent.ep.on_packet
    assert agent_on_packet is not None

    def spy(ep: RtpEndpoint, pt: int, *rest: Any) -> None:
        seen.append(pt)
        agent_on_packet(ep, pt, *rest)

    agent.ep.on_packet = spy
    legs = list(rig.switch.legs.values())
    cust_leg = next(lg for lg in legs if lg.ep.remote == customer.ep.local)
    port = cust_leg.ep.local[1]
    # the customer's RTCP port (its RTP port + 1) when free, as a phone would send from
    rtcp_sock = _udp_socket(customer.ep.local[1] + 1)
    for _ in range(20):  # for a second: RTCP muxed from the peer's RTP port, and to port+1
        for pkt in _rtcp_packets(customer.ep.ssrc):
            assert customer.ep.sock is not None
            customer.ep.sock.sendto(pkt, ("127.0.0.1", port))
            customer.ep.sock.sendto(pkt, ("127.0.0.1", port + 1))
            if rtcp_sock is not None:
                rtcp_sock.sendto(pkt, ("127.0.0.1", port + 1))
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    if rtcp_sock is not None:
        rtcp_sock.close()
    assert cust_leg.ep.rtcp >= 20 * 5  # recognised as RTCP, not taken for media
    assert not cust_leg.ended
    assert seen and set(seen) == {0}  # nothing but PCMU reached the agent
    since = time.monotonic() - 1.5
    assert has_tone(agent.heard.between(since), CUSTOMER_HZ)
    assert has_tone(customer.heard.between(since), AGENT_HZ)
    customer.hangup()
    async with asyncio.timeout(5):
        while not rig.cdrs:
            await asyncio.sleep(0.02)
    assert rig.cdrs[0].hangup_by is HangupBy.REMOTE  # ended by the BYE, not by RTCP


def _udp_socket(port: int) -> socket.socket | None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s


@pytest.mark.anyio
@pytest.mark.timeout(30)
async def test_g722_customer_on_hold_hears_music_then_the_agent(rig: Rig) -> None:
    """The switch's own audio (music on hold) is encoded into the G.722 leg's stream."""
    agent = await rig.phone("8001", tone_hz=AGENT_HZ, codecs=(0,))
    customer = await rig.phone("9000", tone_hz=CUSTOMER_HZ, codecs=(G722,))
    await customer.dial("4001", rig.addr)
    await asyncio.wait_for(agent.answered.wait(), 5)
    call_id = next(iter(rig.switch.calls))
    await asyncio.sleep(0.5)
    t_hold = time.monotonic()
    rig.switch.hold(call_id)
    await asyncio.sleep(1.5)
    t_resume = time.monotonic()
    rig.switch.resume(call_id)
    await asyncio.sleep(1.0)
    held = customer.heard.between(t_hold + 0.3, t_resume)
    after = customer.heard.between(t_resume + 0.3)
    assert any(has_tone(held, f) for f in MOH_NOTES) and not has_tone(held, AGENT_HZ)
    assert has_tone(after, AGENT_HZ)
