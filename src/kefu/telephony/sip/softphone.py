"""A small SIP phone on aiosipua + our RTP endpoint: registers, auto-answers or dials, sends a
tone (or any PCM) and keeps what it hears with arrival times.

With G.722 it behaves like a wideband phone: it sends a 16 kHz tone encoded at 16 kHz and
decodes what it hears at 16 kHz, then decimates it to 8 kHz so `heard` has one rate.

It is the agent's phone in tests and in the load benchmark, and a hand tool
(`kefu switch phone`). It handles one call at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
from aiortp import DtmfEvent
from aiosipua import (
    IncomingCall,
    OutgoingCall,
    Registration,
    SipDigestAuth,
    SipUAC,
    SipUAS,
    parse_sdp,
)
from aiosipua.dialog import Dialog, DialogState

from kefu.audio.frames import FRAME, RATE, Pcm
from kefu.audio.g711 import DECODERS, ENCODERS
from kefu.audio.g722 import G722, WIDE_FRAME, WIDE_RATE, Decimator, WidebandG722
from kefu.audio.tones import sine
from kefu.telephony.sip.b2bua import free_port
from kefu.telephony.sip.rtp import RtpEndpoint
from kefu.telephony.sip.sdp import build_sdp as make_sdp
from kefu.telephony.sip.sdp import choose_codec, read_sdp
from kefu.telephony.sip.transactions import paced
from kefu.telephony.sip.transport import UdpTransport
from kefu.telephony.sip.uas import RetransmitSafeUas


@dataclass
class Heard:
    """Audio received, as (arrival time, PCM frame) pairs, and the digits sent to us."""

    frames: list[tuple[float, Pcm]] = field(default_factory=list)

    def between(self, t0: float = 0.0, t1: float = float("inf")) -> Pcm:
        """PCM of the frames that arrived in [t0, t1)."""
        parts = [f for t, f in self.frames if t0 <= t < t1]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)


class Softphone:
    """Register `extension` at `registrar` and answer (or place) calls with a tone."""

    def __init__(
        self,
        extension: str,
        password: str,
        registrar: tuple[str, int],
        host: str = "127.0.0.1",
        tone_hz: float = 1000.0,
        codecs: tuple[int, ...] = (0, 8),
        auto_answer: bool = True,
        answer_delay: float = 0.0,
        send_audio: bool = True,
        realm: str = "kefu",
        busy: bool = False,
    ) -> None:
        self.extension = extension
        self.password = password
        self.registrar = registrar
        self.host = host
        self.realm = realm
        self.tone = sine(tone_hz, 1.0)  # 1 s is a whole number of periods for integer Hz
        self.tone_wide = sine(tone_hz, 1.0, rate=WIDE_RATE)
        self.codecs = codecs
        self.auto_answer = auto_answer
        self.answer_delay = answer_delay
        self.send_audio = send_audio
        self.busy = busy  # answer every call with 486
        self.port = 0
        self.transport: UdpTransport | None = None
        self.uac: SipUAC | None = None
        self.uas: SipUAS | None = None
        self.registration: Registration | None = None
        self.registered = asyncio.Event()
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.heard = Heard()
        self.incoming: IncomingCall | None = None
        self.outgoing: OutgoingCall | None = None
        self.remote_sip: tuple[str, int] | None = None
        self.ep: RtpEndpoint | None = None
        self.codec = 0
        self.wide: WidebandG722 | None = None  # G.722 state while the call uses it
        self._decimate = Decimator()
        self.dtmf_pt: int | None = None
        self.bye_received = False
        self.last_invite_uri = ""
        self.invites: list[tuple[float, str, str]] = []  # (when, From, request URI) received
        self.calls_answered = 0
        self._sender: asyncio.Task[None] | None = None
        self._pos = 0

    async def start(self, register: bool = True) -> None:
        """Bind, and register with digest auth (waits for the 200)."""
        self.port = free_port(self.host)
        self.transport = UdpTransport(local_addr=(self.host, self.port))
        self.uac = paced(SipUAC(self.transport))
        self.uas = RetransmitSafeUas(self.transport, uac=self.uac, user_agent="kefu-softphone")
        self.uas.on_invite = self._on_invite
        self.uas.on_bye = lambda _c, _r: self._on_bye()
        self.uas.on_reinvite = self._on_reinvite
        self.uas.on_cancel = lambda _r, _a: self._stop_media()
        await self.uas.start()
        if register:
            aor = f"sip:{self.extension}@{self.registrar[0]}"
            self.registration = Registration(
                self.uac,
                aor,
                self.registrar,
                expires=300,
                auth=SipDigestAuth(self.extension, self.password),
                contact_uri=f"sip:{self.extension}@{self.host}:{self.port}",
            )
            self.registration.on_registered = lambda _r: self.registered.set()
            self.registration.register()
            await asyncio.wait_for(self.registered.wait(), 5)

    async def stop(self) -> None:
        """Hang up, unregister and close."""
        self.hangup()
        if self.registration is not None:
            with contextlib.suppress(Exception):
                self.registration.unregister()
            await asyncio.sleep(0.02)
        self._stop_media()
        if self.uas is not None:
            await self.uas.stop()

    # ---- calls ---------------------------------------------------------------------

    async def _open_media(self) -> RtpEndpoint:
        self.ep = await RtpEndpoint.open(self.host, self._on_rtp)
        return self.ep

    def _on_invite(self, inc: IncomingCall) -> None:
        self.invites.append((time.monotonic(), inc.invite.get_header("from") or "", inc.invite.uri))
        if self.busy or self.incoming is not None or self.outgoing is not None:
            inc.reject(486)
            return
        self.incoming = inc
        self.last_invite_uri = inc.invite.uri
        self.remote_sip = inc.source_addr
        self.answered.clear()
        self.ended.clear()
        asyncio.get_running_loop().create_task(self._answer(inc))

    async def _answer(self, inc: IncomingCall) -> None:
        offer = read_sdp(inc.invite.text)
        codec = choose_codec(self.codecs, offer.codecs) if offer else None
        if offer is None or codec is None:
            inc.reject(488)
            self.incoming = None
            return
        inc.ringing()
        if not self.auto_answer:
            return
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        if inc.dialog.state == DialogState.TERMINATED:
            self.incoming = None
            return
        ep = await self._open_media()
        ep.remote = offer.addr
        self._set_codec(codec)
        self.dtmf_pt = offer.dtmf_pt
        inc.accept(parse_sdp(make_sdp(self.host, ep.local[1], (codec,), offer.dtmf_pt)))
        self.calls_answered += 1
        self._media_up()

    async def dial(
        self,
        number: str,
        switch: tuple[str, int],
        timeout: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Call `number` at the switch and wait for the answer (`headers`: extra INVITE headers,
        e.g. Session-Expires)."""
        assert self.uac is not None
        ep = await self._open_media()
        self.answered.clear()
        self.ended.clear()
        sdp = make_sdp(self.host, ep.local[1], self.codecs, 101)
        out = self.uac.send_invite(
            f"sip:{self.extension}@{self.host}:{self.port}",
            f"sip:{number}@{switch[0]}:{switch[1]}",
            switch,
            parse_sdp(sdp),
            auth=SipDigestAuth(self.extension, self.password),
            extra_headers=headers,
        )
        self.outgoing, self.remote_sip = out, switch
        await out.wait_answered(timeout)
        ans = read_sdp(out.sdp_answer) if out.sdp_answer is not None else None
        if ans is None or not ans.codecs:
            raise RuntimeError("answer without usable SDP")
        ep.remote = ans.addr
        self._set_codec(ans.codecs[0])
        self.dtmf_pt = ans.dtmf_pt
        self._media_up()

    def _set_codec(self, codec: int) -> None:
        self.codec = codec
        self.wide = WidebandG722() if codec == G722 else None
        self._decimate = Decimator()

    def _media_up(self) -> None:
        self.answered.set()
        if self.send_audio:
            self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        nxt = loop.time()
        wide = self.wide
        enc = wide.encode if wide is not None else ENCODERS[self.codec]
        tone, step = (self.tone_wide, WIDE_FRAME) if wide is not None else (self.tone, FRAME)
        while self.ep is not None and self.ep.is_open:
            i = self._pos % len(tone)
            frame = tone[i : i + step]
            self._pos += step
            self.ep.send(self.codec, enc(frame))  # G.722's RTP clock is 8 kHz: 160 per frame
            nxt += FRAME / RATE
            await asyncio.sleep(max(0.0, nxt - loop.time()))

    def _on_rtp(
        self, _ep: RtpEndpoint, pt: int, _ts: int, _ssrc: int, _m: bool, payload: bytes, now: float
    ) -> None:
        if pt in DECODERS:
            self.heard.frames.append((now, DECODERS[pt](payload)))
        elif pt == G722 and self.wide is not None:
            self.heard.frames.append((now, self._decimate(self.wide.decode(payload))))

    def _dialog(self) -> Dialog | None:
        if self.incoming is not None:
            return self.incoming.dialog
        if self.outgoing is not None:
            return self.outgoing.dialog
        return None

    def hangup(self) -> None:
        """Send BYE (or CANCEL while dialling)."""
        assert self.uac is not None or self.incoming is None
        if self.incoming is not None:
            self.incoming.hangup()
        elif self.outgoing is not None and self.uac is not None:
            if self.outgoing.dialog.state == DialogState.CONFIRMED:
                self.outgoing.hangup(self.uac)
            else:
                self.outgoing.cancel(self.uac)
        self._stop_media()

    def send_info_dtmf(self, digit: str) -> None:
        """Send a key as SIP INFO (application/dtmf-relay)."""
        dialog = self._dialog()
        assert dialog is not None and self.uac is not None and self.remote_sip is not None
        self.uac.send_info(
            dialog, f"Signal={digit}\r\nDuration=160\r\n", "application/dtmf-relay", self.remote_sip
        )

    def send_rfc4733(self, digit: str) -> None:
        """Send a key as RFC 4733 telephone-event packets (start, then three end packets)."""
        assert self.ep is not None and self.dtmf_pt is not None
        code = "0123456789*#ABCD".index(digit)
        ts = self.ep.ts
        steps = [(False, 160), (False, 320), (True, 800), (True, 800), (True, 800)]
        for i, (end, dur) in enumerate(steps):
            payload = DtmfEvent(event=code, end=end, volume=10, duration=dur).serialize()
            self.ep._emit(self.dtmf_pt, ts, i == 0, payload)

    def reinvite(self, direction: str) -> None:
        """Send a re-INVITE: `sendonly` puts the call on hold, `sendrecv` resumes."""
        dialog = self._dialog()
        assert dialog is not None and self.uac is not None and self.ep is not None
        assert self.remote_sip is not None
        sdp = make_sdp(
            self.host,
            self.ep.local[1],
            (self.codec,),
            self.dtmf_pt,
            direction,
            session_version=int(time.time() * 1000) % 1_000_000,
        )
        self.uac.send_reinvite(dialog, parse_sdp(sdp), self.remote_sip)

    def _on_reinvite(self, inc: IncomingCall) -> None:
        assert self.ep is not None
        out = self.outgoing
        if out is not None and out._session_timer is not None:
            # aiosipua 0.7.1 re-arms a UAC's session watchdog on UPDATE but not on re-INVITE
            out._session_timer.refreshed()
        offer = read_sdp(inc.invite.text) if inc.invite.body else None
        direction = {"sendonly": "recvonly", "recvonly": "sendonly"}.get(
            offer.direction if offer else "sendrecv", "sendrecv"
        )
        inc.accept(
            parse_sdp(make_sdp(self.host, self.ep.local[1], (self.codec,), self.dtmf_pt, direction))
        )

    def _on_bye(self) -> None:
        self.bye_received = True
        self._stop_media()

    def _stop_media(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        if self.ep is not None:
            self.ep.close()
            self.ep = None
        self.incoming = None
        self.outgoing = None
        self.ended.set()
