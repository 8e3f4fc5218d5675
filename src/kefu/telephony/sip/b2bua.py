"""The SIP B2BUA: kefu's switch, built on aiosipua (signalling) and our own RTP endpoints.

How it works. One UDP SIP socket serves three roles: registrar for agents' phones, UAS for
inbound calls (trunks allowed by IP or digest; agents' phones by digest), and UAC for the
legs we place to agents. A `Call` is the customer's leg plus the legs added to it. Each leg
has its own RTP socket (`RtpEndpoint`). When two legs are bridged, each received packet is
forwarded to the other leg as it is (μ-law↔A-law by a 256-byte table when the codecs differ)
and queued, still encoded, for the recorder, which decodes in batches. Prompts, music on hold
and supervisor mixing are produced by one 20 ms ticker for all legs.

The switch decides nothing about routing: it reports `kefu.telephony.port` events to one
sink and obeys the `Switch` methods. One rule is built in: when the customer leg ends,
every other leg of the call ends with it (hangup_by PEER_LEG).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from aiortp import DtmfEvent
from aiosipua import (
    IncomingCall,
    OutgoingCall,
    SipRequest,
    SipResponse,
    SipTransport,
    SipUAC,
    TcpSipTransport,
    parse_sdp,
)
from aiosipua.dialog import Dialog, DialogState
from aiosipua.headers import parse_address, stringify_uri
from aiosipua.refer import notify_refer

from kefu.audio.frames import FRAME, Pcm, clip16, silence
from kefu.audio.g711 import DECODERS, ENCODERS, PCMA, PCMU, TRANSCODERS, ulaw_encode
from kefu.audio.g722 import G722, G722Stream
from kefu.audio.mixer import MixMode, Party, mix
from kefu.audio.player import PromptPlayer
from kefu.audio.recorder import LEFT, RIGHT, FileWriter, StereoRecorder
from kefu.audio.tones import sine
from kefu.errors import KefuError
from kefu.telephony.port import (
    CallArrived,
    CallEnded,
    Dtmf,
    EventSink,
    HangupBy,
    HoldChanged,
    LegAnswered,
    LegEnded,
    LegRinging,
    LegRole,
    PlaybackDone,
    ReferRequested,
    RegistrationChanged,
    SupervisionChanged,
    Switch,
    SwitchEvent,
)
from kefu.telephony.prompts import PROMPT_DIR, load_prompt
from kefu.telephony.sip import relay
from kefu.telephony.sip.auth import CredentialStore, DigestAuthenticator, MemoryCredentials
from kefu.telephony.sip.cdr import CallRecord, CdrSink, Disposition, LegRecord
from kefu.telephony.sip.registrar import Binding, Registrar
from kefu.telephony.sip.relay import Drained, RelayedPair
from kefu.telephony.sip.rtp import RtpEndpoint
from kefu.telephony.sip.sdp import (
    ANSWER_DIRECTION,
    CODEC_NAMES,
    MediaOffer,
    build_sdp,
    choose_codec,
    read_sdp,
)
from kefu.telephony.sip.session_timer import (
    LegSession,
    negotiate_inbound,
    parse_session_expires,
    refresh_deadline,
    too_small,
    watchdog_delay,
)
from kefu.telephony.sip.transactions import paced
from kefu.telephony.sip.transport import UdpTransport
from kefu.telephony.sip.uas import RetransmitSafeUas

log = logging.getLogger(__name__)

PARTY_OF = {
    LegRole.CUSTOMER: Party.CUSTOMER,
    LegRole.AGENT: Party.AGENT,
    LegRole.OUTSIDE: Party.AGENT,
    LegRole.SUPERVISOR: Party.SUPERVISOR,
}


class SwitchError(KefuError):
    """A switch command named an unknown call or leg, or cannot be done in its state."""


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_DGRAM) -> int:
    """A port that was free a moment ago (aiosipua needs the real port before binding)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class SwitchConfig:
    """Settings of one switch instance."""

    host: str = "127.0.0.1"
    port: int = 5060
    media_host: str | None = None
    realm: str = "kefu"
    trunk_allow: tuple[str, ...] = ("127.0.0.1",)  # source IPs accepted without digest
    # what we accept, in our order of preference: PCMU, PCMA, G.722 (transcoded to 8 kHz)
    codecs: tuple[int, ...] = (0, 8, 9)
    dtmf_pt: int = 101
    rtp_timeout: float = 30.0
    # session timers (RFC 4028): our interval, and the smallest we accept (422 below it).
    # RFC 4028 puts Min-SE at 90 s or more; tests set a few seconds, which we allow locally.
    session_expires: int = 1800
    min_se: int = 90
    ring_timeout: float = 30.0
    tcp: bool = False  # also listen on TCP at the same port
    trunks: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> gateway
    prompt_dir: Path = PROMPT_DIR
    moh: str = "hold_music"
    user_agent: str = "kefu"
    id_prefix: str = ""  # before call and leg ids: unique across restarts when CDRs persist
    # plainly bridged calls' RTP relayed by the native thread (relay.py) when it was built
    native_relay: bool = True


@dataclass(eq=False)
class Leg:
    """One SIP dialog of a call and its RTP endpoint."""

    leg_id: str
    call: Call
    role: LegRole
    ep: RtpEndpoint
    record: LegRecord
    sip_call_id: str = ""
    incoming: IncomingCall | None = None
    outgoing: OutgoingCall | None = None
    offer: MediaOffer | None = None
    codec: int = 0
    g722: G722Stream | None = None  # the leg's G.722 state while codec is G.722
    dtmf_pt: int | None = None
    answered: bool = False
    ended: bool = False
    held_by_phone: bool = False
    player: PromptPlayer | None = None
    player_interruptible: bool = True
    mix_in: list[bytes] = field(default_factory=list)
    last_dtmf_ts: int | None = None
    tap: Callable[[int, bytes], None] | None = None  # (pt, payload) of what the leg says
    ring_timer: asyncio.TimerHandle | None = None
    got_response: bool = False
    sdp_version: int = 1
    session: LegSession | None = None  # RFC 4028 timer, once negotiated


# The native relay's queues of a call are drained every RELAY_STEP_TICKS media ticks (200 ms),
# a different share of the calls at each tick: all calls at once was a burst that delayed the
# tick's prompt and music frames under load.
RELAY_STEP_TICKS = 10
_PHASES = itertools.count()


@dataclass(eq=False)
class Call:
    """A customer's call and every leg attached to it."""

    call_id: str
    record: CallRecord
    legs: dict[str, Leg] = field(default_factory=dict)
    customer: Leg | None = None
    bridged: Leg | None = None  # the agent leg connected to the customer
    held: bool = False
    recorder: StereoRecorder | None = None
    mode: MixMode = MixMode.NORMAL
    supervisor: Leg | None = None
    muted: bool = False  # 静音: the agent's audio reaches no one (not the recording either)
    ended: bool = False
    consult: Leg | None = None  # attended transfer: talks with the bridged agent only
    extra: list[Leg] = field(default_factory=list)  # three-way parties: everyone hears all
    # the far leg is the customer (an agent's 9 + number call): it goes on the left channel
    swap_channels: bool = False
    relayed: RelayedPair | None = None  # customer<->bridged RTP in the native relay
    no_relay: bool = False  # the native relay refused this call's media (e.g. IPv6)
    relay_phase: int = field(default_factory=lambda: next(_PHASES) % RELAY_STEP_TICKS)


class _Uas(RetransmitSafeUas):
    """SipUAS plus REGISTER, INFO, auth on new INVITEs, and ACK for non-2xx (see report)."""

    def __init__(self, switch: SipSwitch, transport: SipTransport, uac: SipUAC) -> None:
        super().__init__(transport, user_agent=switch.config.user_agent, uac=uac)
        self.switch = switch
        self._handlers["REGISTER"] = lambda r, a: switch._on_register(r, a, self)
        self._handlers["INFO"] = lambda r, a: switch._on_info(r, a, self)
        plain_invite = self._handlers["INVITE"]

        def guarded_invite(request: SipRequest, addr: tuple[str, int]) -> None:
            call_id = request.call_id or ""
            is_new = call_id not in self._calls and call_id not in uac._calls
            if is_new and not switch._admit(request, addr, self):
                return
            if is_new and too_small(request, switch.config.min_se):
                self.send_error(
                    request,
                    422,
                    "Session Interval Too Small",
                    {"Min-SE": str(switch.config.min_se), "Supported": "timer"},
                )
                return
            plain_invite(request, addr)

        self._handlers["INVITE"] = guarded_invite

        def guarded_refer(request: SipRequest, addr: tuple[str, int]) -> None:
            refer_to = request.get_header("refer-to") or ""
            if "replaces" in refer_to.lower():
                # attended transfer from the phone (REFER with Replaces) is not carried:
                # the console's consult/complete does it; say so instead of half doing it
                self._send_error(
                    request,
                    501,
                    "Not Implemented",
                    extra_headers={
                        "Warning": '399 kefu "REFER with Replaces not supported; '
                        'use blind transfer or the console consult"'
                    },
                )
                return
            self._refer(request, addr, refer_to)

        self._handlers["REFER"] = guarded_refer

    def _refer(self, request: SipRequest, addr: tuple[str, int], refer_to: str) -> None:
        """RFC 3515 like aiosipua's handler, but NOTIFYs go on the call's own dialog.

        aiosipua wraps a REFER on an outbound dialog (ours to the agent's phone) in a fresh
        dialog whose CSeq starts again at 1: the phone refuses those NOTIFYs, and our BYE
        after them, as out of order. Here the wrapper shares the real dialog."""
        call, dialog = self._find_dialog(request.call_id or "")
        if dialog is None:
            self._send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        if not self._validate_in_dialog(dialog, request):
            return
        if not refer_to:
            self._send_error(request, 400, "Missing Refer-To")
            return
        if call is None:
            call = self._wrap_uac_dialog(request, addr)
            call.dialog = dialog
        resp = dialog.create_response(request, 202, "Accepted")
        self.transport.send_reply(resp)
        notify_refer(call, 100, "Trying")
        self.switch._on_refer(call, stringify_uri(parse_address(refer_to).uri))

    def _on_message(self, msg: SipRequest | SipResponse, addr: tuple[str, int]) -> None:
        try:
            if isinstance(msg, SipResponse):
                if self.switch._on_refresh_response(msg):
                    return
                self.switch._on_response(msg, addr)
            elif msg.method.upper() in ("UPDATE", "INVITE"):
                self.switch._on_peer_refresh(msg)
            super()._on_message(msg, addr)
        except Exception:
            # a malformed message must never take the switch down: answer 400 if we can
            log.warning("bad SIP message from %s", addr, exc_info=True)
            if isinstance(msg, SipRequest) and msg.method.upper() != "ACK":
                with contextlib.suppress(Exception):
                    self._send_error(msg, 400, "Bad Request")

    def _start_session_timer(self, call: IncomingCall) -> None:
        # called by aiosipua on the ACK of our 2xx: run the switch's timers, not aiosipua's
        self.switch._arm_session_by_sip(call.call_id)

    def send_error(
        self, request: SipRequest, code: int, reason: str, headers: dict[str, str] | None = None
    ) -> None:
        """Answer a request outside any dialog."""
        self._send_error(request, code, reason, extra_headers=headers)


class SipSwitch:
    """The B2BUA. Implements `kefu.telephony.port.Switch`; reports to `sink`."""

    def __init__(
        self,
        config: SwitchConfig,
        sink: EventSink | None = None,
        cdr_sink: CdrSink | None = None,
        credentials: CredentialStore | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.cdr_sink = cdr_sink
        self.credentials = credentials if credentials is not None else MemoryCredentials()
        self.auth = DigestAuthenticator(config.realm, self.credentials)
        self.registrar = Registrar(self.auth, on_change=self._registration_changed)
        self.calls: dict[str, Call] = {}
        self.legs: dict[str, Leg] = {}
        self._by_sip: dict[str, Leg] = {}
        self._cancelled: dict[str, OutgoingCall] = {}  # Call-ID -> INVITE awaiting its 487
        self._refers: dict[str, IncomingCall] = {}  # leg id -> dialog that sent a REFER
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self.transport: UdpTransport | None = None
        self.uac: SipUAC | None = None
        self.uas: _Uas | None = None
        self.tcp_uas: _Uas | None = None
        self.ticks_late = 0
        self._ticks = 0
        self._dtmf_pipe: tuple[int, int] | None = None  # the native relay wakes us on DTMF
        self.native_relay = config.native_relay and relay.available()
        # where recordings' file writes run (the SIP line's core thread); None: inline
        self.file_writer: FileWriter | None = None
        self._answer_headers: dict[str, dict[str, str]] = {}  # Call-ID -> 2xx timer headers

    # ---- lifecycle ------------------------------------------------------------------

    @property
    def media_host(self) -> str:
        """The IP put in our SDP."""
        return self.config.media_host or self.config.host

    async def start(self) -> None:
        """Bind the SIP socket and start the media ticker and the watchdog."""
        self.transport = UdpTransport(local_addr=(self.config.host, self.config.port))
        self.uac = paced(SipUAC(self.transport))
        self.uas = self._wire(_Uas(self, self.transport, self.uac))
        await self.uas.start()
        if self.config.tcp:
            # inbound calls and REGISTERs over TCP too; legs to agents are placed over UDP
            tcp = TcpSipTransport(local_addr=(self.config.host, self.config.port))
            self.tcp_uas = self._wire(_Uas(self, tcp, paced(SipUAC(tcp))))
            await self.tcp_uas.start()
        self._tasks = [asyncio.create_task(self._ticker()), asyncio.create_task(self._watchdog())]
        if self.native_relay:
            self._dtmf_pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            asyncio.get_running_loop().add_reader(self._dtmf_pipe[0], self._on_relay_dtmf)

    def _wire(self, uas: _Uas) -> _Uas:
        uas.on_invite = self._on_invite
        uas.on_bye = self._on_bye
        uas.on_cancel = self._on_cancel
        uas.on_reinvite = self._on_reinvite
        uas.on_ack_timeout = self._on_ack_timeout
        uas.on_refer = self._on_refer
        return uas

    async def stop(self) -> None:
        """Hang up every call, stop the tasks and close the socket."""
        for call in list(self.calls.values()):
            self.hangup_call(call.call_id)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await asyncio.sleep(0.05)  # let the BYEs leave
        if self._dtmf_pipe is not None:
            asyncio.get_running_loop().remove_reader(self._dtmf_pipe[0])
            for fd in self._dtmf_pipe:
                os.close(fd)
            self._dtmf_pipe = None
        for uas in (self.uas, self.tcp_uas):
            if uas is not None:
                await uas.stop()

    def _emit(self, event: SwitchEvent) -> None:
        if self.sink is not None:
            try:
                self.sink(event)
            except Exception:
                log.exception("event sink failed on %r", event)

    def _new_id(self, prefix: str) -> str:
        return f"{self.config.id_prefix}{prefix}{next(self._ids)}"

    async def _new_leg(self, call: Call, role: LegRole, peer: str) -> Leg:
        ep = await RtpEndpoint.open(self.media_host, self._on_rtp)
        leg = Leg(
            self._new_id("leg"),
            call,
            role,
            ep,
            LegRecord(leg_id="", role=role, peer=peer, offered_at=time.time()),
        )
        leg.record.leg_id = leg.leg_id
        ep.owner = leg
        call.legs[leg.leg_id] = leg
        call.record.legs.append(leg.record)
        self.legs[leg.leg_id] = leg
        return leg

    # ---- admission and registration --------------------------------------------------

    def _admit(self, request: SipRequest, addr: tuple[str, int], uas: _Uas) -> bool:
        """Trunk by IP allow-list, otherwise digest (Proxy-Authorization)."""
        if addr[0] in self.config.trunk_allow:
            return True
        if self.auth.verify(request, "proxy-authorization") is not None:
            return True
        uas.send_error(
            request,
            407,
            "Proxy Authentication Required",
            {"Proxy-Authenticate": self.auth.challenge()},
        )
        return False

    def _on_register(self, request: SipRequest, addr: tuple[str, int], uas: _Uas) -> None:
        uas.transport.send_reply(self.registrar.handle(request, addr))

    def _registration_changed(self, ext: str, up: bool, contact: str) -> None:
        self._emit(RegistrationChanged(ext, up, contact, time.time()))

    # ---- inbound calls ---------------------------------------------------------------

    def _on_invite(self, inc: IncomingCall) -> None:
        offer = read_sdp(inc.invite.text) if inc.invite.body else None
        codec = choose_codec(self.config.codecs, offer.codecs) if offer else None
        if offer is None or codec is None:
            inc.reject(488, "Not Acceptable Here")
            return
        asyncio.get_running_loop().create_task(self._admit_call(inc, offer, codec))

    async def _admit_call(self, inc: IncomingCall, offer: MediaOffer, codec: int) -> None:
        caller = _user(inc.invite.get_header("from") or "")
        dialed = _user(inc.invite.uri)
        call_id = self._new_id("call")
        call = Call(call_id, CallRecord(call_id, caller, dialed, time.time()))
        self.calls[call_id] = call
        leg = await self._new_leg(call, LegRole.CUSTOMER, caller)
        leg.incoming, leg.sip_call_id, leg.offer = inc, inc.call_id, offer
        leg.session = negotiate_inbound(inc.invite, self.config.session_expires, self.config.min_se)
        # aiosipua's accept() puts Session-Expires (and Require: timer) in our 2xx from these
        inc.session_interval = leg.session.interval
        inc.session_refresher_us = leg.session.we_refresh
        _add_response_headers(inc, {"Supported": "timer"})
        leg.dtmf_pt = offer.dtmf_pt
        _set_codec(leg, codec)
        leg.ep.remote = offer.addr
        call.customer = leg
        self._by_sip[inc.call_id] = leg
        if inc.dialog.state == DialogState.TERMINATED:  # CANCEL raced the socket bind
            self._end_leg(leg, HangupBy.REMOTE, 487)
            return
        self._emit(CallArrived(call_id, leg.leg_id, caller, dialed, time.time()))

    def answer(self, call_id: str) -> None:
        """Answer the customer leg."""
        leg = self._customer(call_id)
        if leg.answered or leg.ended or leg.incoming is None:
            return
        leg.incoming.accept(parse_sdp(self._sdp_for(leg, "sendrecv")))
        self._answered(leg)

    def ringback(self, call_id: str) -> None:
        """Send 180 Ringing to the customer (before answering)."""
        leg = self._customer(call_id)
        if leg.incoming is not None and not leg.answered:
            leg.incoming.ringing()

    def reject(self, call_id: str, status: int = 486) -> None:
        """Refuse an unanswered inbound call."""
        leg = self._customer(call_id)
        if leg.answered:
            raise SwitchError(f"{call_id}: already answered; hang up instead")
        self._end_leg(leg, HangupBy.SWITCH, status)

    def _sdp_for(self, leg: Leg, direction: str) -> str:
        leg.sdp_version += 1
        return build_sdp(
            self.media_host,
            leg.ep.local[1],
            (leg.codec,),
            self.config.dtmf_pt if leg.dtmf_pt is not None else None,
            direction,
            leg.sdp_version,
        )

    def _answered(self, leg: Leg) -> None:
        now = time.time()
        leg.answered = True
        leg.ep.last_rx = time.monotonic()
        leg.record.answered_at = now
        rec = leg.call.record
        if rec.answered_at is None and leg.role is LegRole.CUSTOMER:
            rec.answered_at = now
        self._emit(LegAnswered(leg.call.call_id, leg.leg_id, now))

    # ---- outbound legs (ringing agents) ----------------------------------------------

    def ring(
        self,
        call_id: str,
        extension: str,
        role: LegRole = LegRole.AGENT,
        timeout: float | None = None,
    ) -> str:
        """Ring a registered extension for this call; returns the leg id at once."""
        call = self._call(call_id)
        binding = self.registrar.lookup(extension)
        if binding is None:
            raise SwitchError(f"{extension}: no phone registered")
        leg_id = self._new_id("leg")
        asyncio.get_running_loop().create_task(
            self._place(call, leg_id, extension, role, timeout or self.config.ring_timeout)
        )
        return leg_id

    def dial_out(
        self,
        call_id: str,
        number: str,
        trunk: str,
        timeout: float | None = None,
        caller: str | None = None,
    ) -> str:
        """Call an outside number through a configured trunk; returns the leg id at once.

        `caller`: the number shown to the called party (default: the call's caller)."""
        call = self._call(call_id)
        addr = self.config.trunks.get(trunk)
        if addr is None:
            raise SwitchError(f"{trunk}: no such trunk in the switch settings")
        if not re.fullmatch(r"\+?[0-9]{2,20}", number):
            raise SwitchError(f"{number!r}: not a phone number")
        binding = Binding(number, f"sip:{number}@{addr[0]}:{addr[1]}", addr, float("inf"))
        leg_id = self._new_id("leg")
        asyncio.get_running_loop().create_task(
            self._place(
                call,
                leg_id,
                number,
                LegRole.OUTSIDE,
                timeout or self.config.ring_timeout,
                binding,
                caller=caller,
            )
        )
        return leg_id

    def originate(
        self, extension: str, display: str, timeout: float | None = None
    ) -> tuple[str, str]:
        """Click-to-dial, step 1: a new call whose first leg rings a registered extension.

        The phone shows `display` (the customer's number) as the caller. The ringing leg is
        the call's A-leg (`customer`, as on an agent's own 9 + number call): when it ends, the
        whole call ends; the party dialled next is bridged to it. Returns (call id, leg id).
        """
        if self.registrar.lookup(extension) is None:
            raise SwitchError(f"{extension}: no phone registered")
        call_id = self._new_id("call")
        call = Call(call_id, CallRecord(call_id, display, extension, time.time()))
        self.calls[call_id] = call
        leg_id = self._new_id("leg")
        asyncio.get_running_loop().create_task(
            self._place(
                call,
                leg_id,
                extension,
                LegRole.CUSTOMER,
                timeout or self.config.ring_timeout,
                caller=display,
            )
        )
        return call_id, leg_id

    def ringback_tone(self, leg_id: str) -> None:
        """Play the ringback tone (450 Hz, 1 s on, 4 s off, as Chinese exchanges do) on an
        answered leg until something else plays or the leg is bridged."""
        leg = self._leg(leg_id)
        leg.player = PromptPlayer([_RINGBACK], loop=True)
        leg.player_interruptible = False

    async def _place(
        self,
        call: Call,
        leg_id: str,
        ext: str,
        role: LegRole,
        timeout: float,
        fixed: Binding | None = None,
        caller: str | None = None,
    ) -> None:
        assert self.uac is not None
        binding = fixed or self.registrar.lookup(ext)
        if binding is None or call.ended:
            if role is LegRole.CUSTOMER and not call.legs:  # an originate that cannot start
                self.calls.pop(call.call_id, None)
                call.ended = True
                self._emit(LegEnded(call.call_id, leg_id, HangupBy.ERROR, time.time(), 480))
                self._emit(CallEnded(call.call_id, time.time()))
            return
        leg = await self._new_leg(call, role, ext)
        # keep the id promised by ring()
        del call.legs[leg.leg_id], self.legs[leg.leg_id]
        leg.leg_id = leg.record.leg_id = leg_id
        call.legs[leg_id] = leg
        self.legs[leg_id] = leg
        if role is LegRole.CUSTOMER and call.customer is None:  # originate(): the A-leg
            call.customer = leg
        cust = call.customer if call.customer is not leg else None
        first = cust.codec if cust is not None else self.config.codecs[0]
        codecs = (first, *[c for c in self.config.codecs if c != first])
        sdp = build_sdp(self.media_host, leg.ep.local[1], codecs, self.config.dtmf_pt)
        host = f"{self.config.host}:{self.config.port}"
        out = self.uac.send_invite(
            f"sip:{caller or call.record.caller or 'kefu'}@{host}",
            binding.contact,
            binding.addr,
            parse_sdp(sdp),
            user_agent=self.config.user_agent,
            extra_headers={
                "Supported": "timer",
                "Session-Expires": str(self.config.session_expires),
                "Min-SE": str(self.config.min_se),
            },
        )
        leg.outgoing, leg.sip_call_id = out, out.call_id
        self._by_sip[out.call_id] = leg
        out.on_ringing = lambda _c: self._emit(LegRinging(call.call_id, leg_id, ext, time.time()))
        out.on_answer = lambda c: self._agent_answered(leg, c)
        out.on_rejected = lambda _c, status, _r: self._end_leg(leg, HangupBy.REJECTED, status)
        leg.ring_timer = asyncio.get_running_loop().call_later(
            timeout, lambda: self._end_leg(leg, HangupBy.TIMEOUT, 408) if not leg.answered else None
        )
        asyncio.get_running_loop().create_task(self._retransmit_invite(leg, binding.addr))

    async def _retransmit_invite(self, leg: Leg, addr: tuple[str, int]) -> None:
        """RFC 3261 timer A over UDP (aiosipua 0.7.1 sends the INVITE once): 0.5, 1, 2, 4 s."""
        delay = 0.5
        while delay <= 4.0:
            await asyncio.sleep(delay)
            if leg.got_response or leg.ended or leg.outgoing is None or self.transport is None:
                return
            self.transport.send(leg.outgoing.invite, addr)
            delay *= 2

    def _agent_answered(self, leg: Leg, out: OutgoingCall) -> None:
        timer_headers = self._answer_headers.pop(out.call_id, {})
        if leg.ring_timer is not None:
            leg.ring_timer.cancel()
        if leg.ended:  # answered after we gave up: hang it up
            with contextlib.suppress(ValueError):
                out.hangup(self.uac)  # type: ignore[arg-type]
            return
        ans = read_sdp(out.sdp_answer) if out.sdp_answer is not None else None
        if ans is None or not ans.codecs or ans.codecs[0] not in self.config.codecs:
            self._end_leg(leg, HangupBy.ERROR, 488)
            return
        leg.offer, leg.dtmf_pt = ans, ans.dtmf_pt
        _set_codec(leg, ans.codecs[0])
        leg.ep.remote = ans.addr
        leg.session = self._negotiate_outbound(timer_headers)
        self._arm_session(leg)
        self._answered(leg)

    def pickup(self, call_id: str, picker_call_id: str) -> str:
        """抢接: answer the phone that dialled a pick-up code and make it the agent leg of the
        ringing call `call_id`; the legs still ringing there stop. Returns the moved leg id."""
        target, picker = self._call(call_id), self._call(picker_call_id)
        leg = picker.customer
        if leg is None or leg.answered or leg.incoming is None or target.customer is None:
            raise SwitchError(f"{picker_call_id}: not a waiting pick-up call")
        if any(lg.answered for lg in target.legs.values() if lg.role is LegRole.AGENT):
            raise SwitchError(f"{call_id}: already answered by an agent")
        # the picker's own inbound call disappears into the target call (no CDR of its own)
        picker.legs.pop(leg.leg_id)
        picker.customer, picker.ended = None, True
        self.calls.pop(picker_call_id, None)
        leg.call, leg.role = target, LegRole.AGENT
        leg.record.role = LegRole.AGENT
        target.legs[leg.leg_id] = leg
        target.record.legs.append(leg.record)
        for other in list(target.legs.values()):
            if other.role is LegRole.AGENT and other is not leg and not other.answered:
                self._end_leg(other, HangupBy.SWITCH, 487)
        leg.incoming.accept(parse_sdp(self._sdp_for(leg, "sendrecv")))
        self._answered(leg)
        return leg.leg_id

    def cancel_ring(self, leg_id: str) -> None:
        """Stop ringing a leg that has not answered."""
        leg = self._leg(leg_id)
        if not leg.answered:
            self._end_leg(leg, HangupBy.SWITCH, 487)

    # ---- bridging, hold, playback, recording, supervision ---------------------------

    def bridge(self, call_id: str, leg_id: str) -> None:
        """Connect the customer to `leg_id`."""
        call = self._call(call_id)
        leg = self._leg(leg_id)
        if not leg.answered or leg.ended:
            raise SwitchError(f"{leg_id}: not answered")
        self._own(call)
        call.bridged = leg
        for side in (call.customer, leg):
            if side is not None:
                side.player = None
        # to the relay now: packets that Python forwards until the next loop iteration are
        # the ones a stall (a GC pass) would hold back; a recording started next takes the
        # call back once and hands it over again
        if self.native_relay:
            self._offload(call)

    def unbridge(self, call_id: str) -> None:
        """Disconnect the customer from the agent; both legs stay up."""
        call = self._call(call_id)
        self._own(call)
        call.bridged = None

    def hold(self, call_id: str) -> None:
        """Music on hold to the customer; the agent is not heard."""
        call = self._call(call_id)
        if call.held:
            return
        self._own(call)
        call.held = True
        cust = call.customer
        if cust is not None and not cust.ended:
            cust.player = PromptPlayer(
                [load_prompt(self.config.moh, self.config.prompt_dir)], loop=True
            )
            cust.player_interruptible = False
        self._emit(HoldChanged(call_id, cust.leg_id if cust else "", True, time.time()))

    def resume(self, call_id: str) -> None:
        """Back from hold."""
        call = self._call(call_id)
        if not call.held:
            return
        call.held = False
        if call.customer is not None:
            call.customer.player = None
        self._emit(
            HoldChanged(call_id, call.customer.leg_id if call.customer else "", False, time.time())
        )
        self._relay_soon(call)

    def play(self, leg_id: str, prompts: Sequence[str], *, interruptible: bool = True) -> None:
        """Queue prompts (names in the prompt dir, or paths to WAV files) on a leg."""
        leg = self._leg(leg_id)
        self._own(leg.call)
        pcm = [
            load_prompt(p, self.config.prompt_dir)
            if "/" not in p
            else load_prompt(Path(p).stem, Path(p).parent)
            for p in prompts
        ]
        if leg.player is None or leg.player.loop:
            leg.player = PromptPlayer(pcm)
        else:
            for p in pcm:
                leg.player.enqueue(p)
        leg.player_interruptible = interruptible

    def stop_playback(self, leg_id: str) -> None:
        """Stop prompts on a leg (emits PlaybackDone interrupted)."""
        leg = self._leg(leg_id)
        if leg.player is not None:
            leg.player = None
            self._emit(PlaybackDone(leg.call.call_id, leg_id, time.time(), interrupted=True))
            self._relay_soon(leg.call)

    def record(self, call_id: str, path: Path, *, swap: bool = False) -> None:
        """Record customer (left) and agent (right) to a stereo WAV.

        `swap`: the calling leg is the agent and the bridged leg the customer (outbound).
        """
        call = self._call(call_id)
        if call.recorder is None:
            self._own(call)
            call.swap_channels = swap
            call.recorder = StereoRecorder(path, time.monotonic(), writer=self.file_writer)
            call.record.recording = Path(path)

    def stop_recording(self, call_id: str) -> None:
        """Close the call's recording."""
        call = self._call(call_id)
        self._own(call)  # its queued payloads go into the file first
        if call.recorder is not None:
            call.recorder.close(time.monotonic())

    def supervise(self, call_id: str, leg_id: str, mode: MixMode) -> None:
        """Mix a supervisor leg into the call (listen, whisper, barge, intercept, normal)."""
        call = self._call(call_id)
        leg = self._leg(leg_id)
        if leg.role is not LegRole.SUPERVISOR or not leg.answered or leg.call is not call:
            raise SwitchError(f"{leg_id}: not an answered supervisor leg of {call_id}")
        self._own(call)
        call.supervisor = leg if mode is not MixMode.NORMAL else None
        call.mode = mode
        for lg in (call.customer, call.bridged, leg):
            if lg is not None:
                lg.mix_in.clear()
        self._emit(SupervisionChanged(call_id, leg_id, mode, time.time()))
        if mode is MixMode.INTERCEPT and call.bridged is not None:
            agent = call.bridged
            call.bridged = None
            self._end_leg(agent, HangupBy.SWITCH)

    def mute(self, call_id: str, muted: bool) -> None:
        """静音: stop (or restart) carrying the agent's audio to the call."""
        call = self._call(call_id)
        self._own(call)
        call.muted = muted
        if call.bridged is not None:
            call.bridged.mix_in.clear()

    def tap(self, leg_id: str, sink: Callable[[int, bytes], None] | None) -> None:
        """Hand every audio payload the leg sends to `sink` (voicemail); None stops."""
        leg = self._leg(leg_id)
        self._own(leg.call)
        leg.tap = sink

    # ---- transfer and three-way calls -------------------------------------------------

    def consult(self, call_id: str, leg_id: str) -> None:
        """Attended transfer: the bridged agent and `leg_id` hear each other; the customer
        (on hold: music) hears neither and is heard by neither."""
        call = self._call(call_id)
        leg = self._leg(leg_id)
        if not leg.answered or leg.call is not call:
            raise SwitchError(f"{leg_id}: not an answered leg of {call_id}")
        self._own(call)
        call.consult = leg
        leg.player = None

    def end_consult(self, call_id: str) -> None:
        """Stop pairing the agent with the consulted leg (the leg stays up)."""
        self._call(call_id).consult = None

    def transfer_bridge(self, call_id: str, leg_id: str) -> None:
        """Complete a transfer: the customer is connected to `leg_id` (off hold); the agent
        leg that was bridged is hung up."""
        call = self._call(call_id)
        leg = self._leg(leg_id)
        if not leg.answered or leg.call is not call:
            raise SwitchError(f"{leg_id}: not an answered leg of {call_id}")
        old = call.bridged
        call.consult = None
        self.resume(call_id)
        self.bridge(call_id, leg_id)
        if old is not None and old is not leg:
            self._end_leg(old, HangupBy.SWITCH)

    def conference(self, call_id: str, leg_id: str) -> None:
        """Three-way call: add an answered leg; customer, agent and every added party hear
        each other. The recording keeps the customer left and the others mixed right."""
        call = self._call(call_id)
        leg = self._leg(leg_id)
        if not leg.answered or leg.call is not call:
            raise SwitchError(f"{leg_id}: not an answered leg of {call_id}")
        self._own(call)
        if call.consult is leg:
            call.consult = None
        if leg not in call.extra:
            call.extra.append(leg)
        for lg in (call.customer, call.bridged, *call.extra):
            if lg is not None:
                lg.mix_in.clear()
                if lg is not call.customer:
                    lg.player = None

    def notify_refer(self, leg_id: str, status: int, reason: str = "") -> None:
        """Report a REFER's outcome to the phone that sent it (NOTIFY message/sipfrag)."""
        inc = self._refers.pop(leg_id, None)
        if inc is None:
            return
        try:
            notify_refer(inc, status, reason)
        except (ValueError, RuntimeError, OSError):
            log.warning("could not NOTIFY the REFER of %s", leg_id, exc_info=True)

    def _on_refer(self, inc: IncomingCall, refer_to: str) -> None:
        leg = self._by_sip.get(inc.call_id)
        if leg is None or leg.ended:
            notify_refer(inc, 481, "Call Does Not Exist")
            return
        self._refers[leg.leg_id] = inc
        self._emit(ReferRequested(leg.call.call_id, leg.leg_id, _user(refer_to), time.time()))

    # ---- hang-up ---------------------------------------------------------------------

    def hangup(self, leg_id: str) -> None:
        """Hang up one leg."""
        leg = self.legs.get(leg_id)
        if leg is not None:
            self._end_leg(leg, HangupBy.SWITCH)

    def hangup_call(self, call_id: str) -> None:
        """Hang up every leg of a call."""
        call = self.calls.get(call_id)
        if call is None:
            return
        if call.customer is not None and not call.customer.ended:
            self._end_leg(call.customer, HangupBy.SWITCH)
        for leg in list(call.legs.values()):
            if not leg.ended:
                self._end_leg(leg, HangupBy.SWITCH)

    def _end_leg(self, leg: Leg, by: HangupBy, status: int = 0) -> None:
        if leg.ended:
            return
        call = leg.call
        self._own(call)
        leg.ended = True
        if leg.ring_timer is not None:
            leg.ring_timer.cancel()
        if leg.session is not None:
            leg.session.cancel()
        if by is not HangupBy.REMOTE:
            self._send_end(leg, status)
        leg.ep.close()
        leg.player = None
        now = time.time()
        rec = leg.record
        rec.ended_at, rec.hangup_by, rec.sip_status = now, by, status
        rec.disposition = _disposition(leg.answered, status, by)
        if call.bridged is leg:
            call.bridged = None
        if call.supervisor is leg:
            call.supervisor, call.mode = None, MixMode.NORMAL
        if call.consult is leg:
            call.consult = None
        if leg in call.extra:
            call.extra.remove(leg)
        self._refers.pop(leg.leg_id, None)
        self._by_sip.pop(leg.sip_call_id, None)
        self.legs.pop(leg.leg_id, None)
        if call.record.hangup_by is None and (leg.answered or leg.role is LegRole.CUSTOMER):
            call.record.hangup_by, call.record.hangup_role = by, leg.role
        self._emit(LegEnded(call.call_id, leg.leg_id, by, now, status))
        if leg.role is LegRole.CUSTOMER:
            for other in list(call.legs.values()):
                if not other.ended:
                    self._end_leg(other, HangupBy.PEER_LEG)
        if all(lg.ended for lg in call.legs.values()):
            self._finish(call)

    def _send_end(self, leg: Leg, status: int) -> None:
        assert self.uac is not None
        try:
            if leg.incoming is not None:
                if leg.answered:
                    leg.incoming.hangup()
                elif leg.incoming.dialog.state != DialogState.TERMINATED:
                    leg.incoming.reject(status or 480)
            elif leg.outgoing is not None:
                if leg.answered:
                    leg.outgoing.hangup(self.uac)
                else:
                    leg.outgoing.cancel(self.uac)
                    # aiosipua forgets the call on CANCEL; we still owe the 487 an ACK
                    self._cancelled[leg.outgoing.call_id] = leg.outgoing
                    asyncio.get_running_loop().call_later(
                        32.0, self._cancelled.pop, leg.outgoing.call_id, None
                    )
        except (ValueError, RuntimeError, OSError):
            log.warning("could not end SIP dialog of %s", leg.leg_id, exc_info=True)

    def _finish(self, call: Call) -> None:
        if call.ended:
            return
        self._own(call)
        call.ended = True
        now = time.time()
        if call.recorder is not None:
            call.recorder.close(time.monotonic())
        rec = call.record
        rec.ended_at = now
        agent_answered = any(
            lg.answered_at is not None
            for lg in rec.legs
            if lg.role in (LegRole.AGENT, LegRole.OUTSIDE)
        )
        cust = rec.legs[0] if rec.legs else None
        if agent_answered:
            rec.disposition = Disposition.ANSWERED
        elif cust is not None and cust.disposition is Disposition.ANSWERED:
            caller_left = cust.hangup_by is HangupBy.REMOTE
            rec.disposition = Disposition.ABANDONED if caller_left else Disposition.NO_ANSWER
        elif cust is not None:
            rec.disposition = cust.disposition
        self.calls.pop(call.call_id, None)
        if self.cdr_sink is not None:
            try:
                self.cdr_sink(rec)
            except Exception:
                log.exception("CDR sink failed for %s", call.call_id)
        self._emit(CallEnded(call.call_id, now))

    # ---- SIP callbacks on existing dialogs -------------------------------------------

    def _on_bye(self, _call: IncomingCall, request: SipRequest) -> None:
        leg = self._by_sip.get(request.call_id or "")
        if leg is not None:
            self._end_leg(leg, HangupBy.REMOTE)

    def _on_cancel(self, request: SipRequest, _addr: tuple[str, int]) -> None:
        leg = self._by_sip.get(request.call_id or "")
        if leg is not None:
            self._end_leg(leg, HangupBy.REMOTE, 487)

    def _on_ack_timeout(self, inc: IncomingCall) -> None:
        leg = self._by_sip.get(inc.call_id)
        if leg is not None:
            self._end_leg(leg, HangupBy.ERROR, 408)

    def _on_info(self, request: SipRequest, addr: tuple[str, int], uas: _Uas) -> None:
        leg = self._by_sip.get(request.call_id or "")
        if leg is None:
            uas.send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        uas.send_error(request, 200, "OK")
        body = request.text.strip()
        ctype = (request.content_type or "").lower()
        digit = None
        if ctype.startswith("application/dtmf-relay"):
            m = re.search(r"Signal\s*=\s*([0-9A-Da-d*#])", body)
            digit = m.group(1).upper() if m else None
        elif ctype.startswith("application/dtmf") and body[:1] in "0123456789*#ABCD":
            digit = body[:1]
        if digit:
            self._dtmf(leg, digit, "info")

    def _on_reinvite(self, inc: IncomingCall) -> None:
        leg = self._by_sip.get(inc.call_id)
        if leg is None:
            inc.reject(481)
            return
        offer = read_sdp(inc.invite.text) if inc.invite.body else None
        if offer is None:  # no SDP: a refresh; answer with what we have
            inc.accept(parse_sdp(self._sdp_for(leg, "sendrecv")))
            return
        # keep the codec in use when still offered (G.722 state, no mid-call switch)
        codec: int | None = leg.codec
        if codec not in offer.codecs:
            codec = choose_codec(self.config.codecs, offer.codecs)
        if codec is None:
            inc.reject(488)
            return
        self._own(leg.call)  # the far end may move, change codec or hold
        leg.offer, leg.dtmf_pt = offer, offer.dtmf_pt
        _set_codec(leg, codec)
        if offer.addr[0] != "0.0.0.0":
            leg.ep.remote = offer.addr
        inc.accept(parse_sdp(self._sdp_for(leg, ANSWER_DIRECTION[offer.direction])))
        held = offer.direction in ("sendonly", "inactive")
        if held == leg.held_by_phone:
            return
        leg.held_by_phone = held
        call = leg.call
        if leg.role is LegRole.AGENT and call.bridged is leg:
            (self.hold if held else self.resume)(call.call_id)
        else:
            self._emit(HoldChanged(call.call_id, leg.leg_id, held, time.time()))

    def _on_response(self, resp: SipResponse, addr: tuple[str, int]) -> None:
        """ACK final non-2xx answers to our INVITEs: aiosipua 0.7.1 does not (RFC 3261 17.1.1.3)."""
        cseq = resp.cseq
        if cseq is None or cseq.method.upper() != "INVITE":
            return
        leg = self._by_sip.get(resp.call_id or "")
        if leg is not None:
            leg.got_response = True  # stops our INVITE retransmissions
            if 200 <= resp.status_code < 300 and not leg.answered:
                # the 2xx's session-timer headers, for when aiosipua reports the answer
                self._answer_headers[resp.call_id or ""] = {
                    "session-expires": resp.get_header("session-expires") or "",
                    "allow": ", ".join(resp.headers.get("allow")),
                }
        if resp.status_code < 300:
            return
        out = leg.outgoing if leg is not None else self._cancelled.get(resp.call_id or "")
        if out is None or self.transport is None:
            return
        inv = out.invite
        ack = SipRequest(method="ACK", uri=inv.uri)
        top = inv.headers.get_first("via")
        if top:
            ack.headers.append("Via", top)
        for name in ("From", "Call-ID"):
            v = inv.headers.get_first(name.lower())
            if v:
                ack.headers.set_single(name, v)
        ack.headers.set_single("To", resp.headers.get_first("to") or "")
        ack.headers.set_single("CSeq", f"{cseq.seq} ACK")
        ack.headers.set_single("Max-Forwards", "70")
        self.transport.send(ack, out.remote_addr)

    # ---- session timers (RFC 4028) ---------------------------------------------------

    def _negotiate_outbound(self, raw: dict[str, str]) -> LegSession:
        """From the 2xx to our INVITE: its Session-Expires, else ours with us refreshing."""
        se = raw.get("session-expires", "")
        interval, refresher = parse_session_expires(se) if se else (0, None)
        use_update = "update" in raw.get("allow", "").lower()
        if interval <= 0:  # the peer has no timers: we refresh at our own interval
            return LegSession(self.config.session_expires, True, use_update)
        return LegSession(interval, refresher != "uas", use_update)

    def _arm_session_by_sip(self, sip_call_id: str) -> None:
        leg = self._by_sip.get(sip_call_id)
        if leg is not None and leg.session is not None and leg.session.handle is None:
            self._arm_session(leg)

    def _arm_session(self, leg: Leg) -> None:
        """(Re)start the leg's timer: our next refresh, or the deadline for the peer's."""
        st = leg.session
        if st is None or leg.ended:
            return
        if st.handle is not None:
            st.handle.cancel()
        loop = asyncio.get_running_loop()
        if st.we_refresh:
            st.handle = loop.call_later(st.interval / 2, self._send_refresh, leg)
        else:
            st.handle = loop.call_later(
                watchdog_delay(st.interval),
                self._session_dead,
                leg,
                f"session expired: no refresh within {st.interval} s",
            )

    def _session_dead(self, leg: Leg, reason: str) -> None:
        if leg.ended:
            return
        log.info("%s: %s; sending BYE", leg.leg_id, reason)
        leg.record.reason = reason
        self._end_leg(leg, HangupBy.TIMEOUT)

    def _leg_uac(self, leg: Leg) -> tuple[SipUAC, Dialog, tuple[str, int], str]:
        """The UAC to send in-dialog requests on this leg, its dialog, address and our role."""
        assert self.uac is not None
        if leg.incoming is not None:
            inc = leg.incoming
            uac = self.uac
            if self.tcp_uas is not None and inc.transport is self.tcp_uas.transport:
                uac = self.tcp_uas.uac or uac
            return uac, inc.dialog, inc.source_addr, "uas"
        assert leg.outgoing is not None
        return self.uac, leg.outgoing.dialog, leg.outgoing.remote_addr, "uac"

    def _send_refresh(self, leg: Leg) -> None:
        """Refresh the session: UPDATE when the peer allows it, else a re-INVITE with the same
        SDP (same version: nothing changes). Unanswered in time: BYE."""
        st = leg.session
        if st is None or leg.ended or not leg.answered:
            return
        st.handle = None
        try:
            uac, dialog, addr, role = self._leg_uac(leg)
            hdrs = {"Session-Expires": f"{st.interval};refresher={role}", "Supported": "timer"}
            if st.use_update:
                req = uac._send_in_dialog(dialog, "UPDATE", addr, extra_headers=hdrs)
            else:
                # the direction the phone last asked for, mirrored; same SDP version as the
                # last we sent, so nothing changes (RFC 4028 7.4)
                direction = ANSWER_DIRECTION[leg.offer.direction] if leg.offer else "sendrecv"
                sdp = build_sdp(
                    self.media_host,
                    leg.ep.local[1],
                    (leg.codec,),
                    self.config.dtmf_pt if leg.dtmf_pt is not None else None,
                    direction,
                    leg.sdp_version,
                )
                req = uac._send_in_dialog(
                    dialog,
                    "INVITE",
                    addr,
                    body=sdp,
                    content_type="application/sdp",
                    extra_headers=hdrs,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            self._session_dead(leg, f"session refresh could not be sent: {exc}")
            return
        st.pending = req
        st.pending_task = asyncio.get_running_loop().create_task(
            self._await_refresh(leg, uac, req, addr)
        )

    async def _await_refresh(
        self, leg: Leg, uac: SipUAC, req: SipRequest, addr: tuple[str, int]
    ) -> None:
        """Retransmit the refresh over UDP (timer E: 0.5 s doubling) until answered or dead."""
        st = leg.session
        assert st is not None
        loop = asyncio.get_running_loop()
        end = loop.time() + refresh_deadline(st.interval)
        delay = 0.5
        while st.pending is req and not leg.ended:
            left = end - loop.time()
            if left <= 0:
                self._session_dead(leg, f"session refresh ({req.method}) not answered")
                return
            await asyncio.sleep(min(delay, left))
            if st.pending is req and not getattr(uac.transport, "reliable", False):
                uac.transport.send(req, addr)
            delay = min(delay * 2, 4.0)

    def _on_refresh_response(self, resp: SipResponse) -> bool:
        """A response to our session refresh: True when it was one (handled here)."""
        leg = self._by_sip.get(resp.call_id or "")
        st = leg.session if leg is not None else None
        req = st.pending if st is not None else None
        cseq, rcseq = resp.cseq, req.cseq if req is not None else None
        if leg is None or st is None or req is None or cseq is None or rcseq is None:
            return False
        if cseq.seq != rcseq.seq or cseq.method.upper() != rcseq.method.upper():
            return False
        if resp.status_code < 200:
            return True
        st.pending = None
        if cseq.method.upper() == "INVITE":
            self._ack_refresh(leg, req, resp)
        if resp.status_code < 300:
            st.refreshes += 1
            se = resp.get_header("session-expires")
            interval = parse_session_expires(se)[0] if se else 0
            if interval >= self.config.min_se:
                st.interval = interval
            self._arm_session(leg)
        elif resp.status_code in (408, 481):  # RFC 4028 10: the session is gone
            self._session_dead(leg, f"session refresh answered {resp.status_code}")
        else:  # e.g. 491 glare: try again soon, the deadline still holds at expiry
            st.handle = asyncio.get_running_loop().call_later(
                min(2.0, st.interval / 4), self._send_refresh, leg
            )
        return True

    def _ack_refresh(self, leg: Leg, req: SipRequest, resp: SipResponse) -> None:
        """ACK our refresh re-INVITE's final response (aiosipua does not for our UAS dialogs)."""
        uac, _dialog, addr, _role = self._leg_uac(leg)
        if leg.outgoing is not None and resp.status_code < 300:
            return  # aiosipua's UAC ACKs 2xx to re-INVITEs on its own dialogs
        ack = SipRequest(method="ACK", uri=req.uri)
        via = req.headers.get_first("via")
        if via:
            ack.headers.append("Via", via)
        for name in ("From", "Call-ID", "Route"):
            v = req.headers.get_first(name.lower())
            if v:
                ack.headers.set_single(name, v)
        ack.headers.set_single("To", resp.headers.get_first("to") or "")
        seq = req.cseq.seq if req.cseq is not None else 0
        ack.headers.set_single("CSeq", f"{seq} ACK")
        ack.headers.set_single("Max-Forwards", "70")
        uac.transport.send(ack, addr)

    def _on_peer_refresh(self, request: SipRequest) -> None:
        """An UPDATE or re-INVITE from the peer on a leg whose timer the peer refreshes."""
        leg = self._by_sip.get(request.call_id or "")
        st = leg.session if leg is not None else None
        if leg is None or st is None or not leg.answered or leg.ended:
            return
        se = request.get_header("session-expires")
        interval = parse_session_expires(se)[0] if se else 0
        if interval >= self.config.min_se:
            st.interval = interval
        if not st.we_refresh:
            st.refreshes += 1
            self._arm_session(leg)

    # ---- media -----------------------------------------------------------------------

    def _on_rtp(
        self, ep: RtpEndpoint, pt: int, ts: int, ssrc: int, marker: bool, payload: bytes, now: float
    ) -> None:
        leg: Leg = ep.owner
        if leg.ended:
            return
        call = leg.call
        if pt == leg.dtmf_pt:
            if len(payload) >= 4 and ts != leg.last_dtmf_ts:
                ev = DtmfEvent.parse(payload)
                if ev.end and ev.event < 16:  # one event per RTP timestamp (RFC 4733 2.5)
                    leg.last_dtmf_ts = ts
                    self._dtmf(leg, ev.digit, "rfc4733")
            return
        wide: bytes | None = None
        if pt == G722:
            if leg.g722 is None or not leg.answered:
                return
            # onto the 8 kHz path: decoded once, then handled like μ-law from here on
            wide, payload, pt = payload, ulaw_encode(leg.g722.decode(payload)), PCMU
        elif pt not in DECODERS or not leg.answered:
            return
        if leg.tap is not None:
            leg.tap(pt, payload)
        if call.muted and leg is call.bridged:
            return
        rec = call.recorder
        conf = bool(call.extra) and call.supervisor is None and not call.held
        if rec is not None and not rec.closed:
            if leg is call.customer:
                rec.add(RIGHT if call.swap_channels else LEFT, pt, payload, now)
            elif conf:
                pass  # the mixer writes the right channel (agent + third parties)
            elif leg is call.bridged or (leg is call.supervisor and call.mode is MixMode.INTERCEPT):
                rec.add(LEFT if call.swap_channels else RIGHT, pt, payload, now)
        consult = call.consult
        if consult is not None and (leg is consult or leg is call.bridged):
            other = call.bridged if leg is consult else consult
            if other is not None and not other.ended and other.player is None:
                other.ep.forward(other.codec, ssrc, ts, marker, _for(other, pt, payload, wide))
            return
        if call.supervisor is not None or conf:
            if len(leg.mix_in) < 5:
                own = _narrow(leg.codec)
                leg.mix_in.append(payload if pt == own else TRANSCODERS[(pt, own)](payload))
            return
        if call.held:
            return
        peer = (
            call.bridged
            if leg is call.customer
            else (call.customer if leg is call.bridged else None)
        )
        if peer is None or peer.ended or peer.player is not None:
            return
        peer.ep.forward(peer.codec, ssrc, ts, marker, _for(peer, pt, payload, wide))

    def _dtmf(self, leg: Leg, digit: str, via: str) -> None:
        leg.call.record.dtmf.append(digit)
        if leg.player is not None and leg.player_interruptible:
            self.stop_playback(leg.leg_id)  # 快速输入: a key skips the prompt
        self._emit(Dtmf(leg.call.call_id, leg.leg_id, digit, time.time(), via))

    async def _ticker(self) -> None:
        loop = asyncio.get_running_loop()
        nxt = loop.time()
        while True:
            nxt += 0.02
            delay = nxt - loop.time()
            if delay < -0.1:  # fell far behind: skip ahead rather than burst
                self.ticks_late += 1
                nxt = loop.time()
            elif delay > 0:
                await asyncio.sleep(delay)
            try:
                self._tick()
            except Exception:
                log.exception("media tick failed")

    def _tick(self) -> None:
        self._ticks += 1
        if self.native_relay:
            self._relay_step(self._ticks % RELAY_STEP_TICKS)
        done: list[Leg] = []
        for leg in list(self.legs.values()):
            if leg.player is None or leg.ended or not leg.answered:
                continue
            frame = leg.player.next_frame()
            if frame is None:
                done.append(leg)
                continue
            leg.ep.send(leg.codec, _encode(leg, frame))
        for leg in done:
            leg.player = None
            self._emit(PlaybackDone(leg.call.call_id, leg.leg_id, time.time()))
            self._relay_soon(leg.call)
        for call in list(self.calls.values()):
            if call.supervisor is not None:
                self._mix(call)
            elif call.extra and not call.held:
                self._mix_all(call)

    # ---- native relay -----------------------------------------------------------------

    def _relayable(self, call: Call) -> bool:
        """Plainly bridged: customer and agent hear only each other, in G.711."""
        c, b = call.customer, call.bridged
        return (
            c is not None
            and b is not None
            and not call.no_relay
            and not call.ended
            and c.answered
            and b.answered
            and not (c.ended or b.ended)
            and c.player is None
            and b.player is None
            and c.tap is None
            and b.tap is None
            and not (c.held_by_phone or b.held_by_phone)
            and call.supervisor is None
            and call.consult is None
            and not call.extra
            and not call.held
            and not call.muted
            and c.codec in (PCMU, PCMA)
            and b.codec in (PCMU, PCMA)
        )

    def _relay_step(self, phase: int) -> None:
        """For the calls of this tick's phase (each call every 200 ms): hand a plainly
        bridged call to the native relay, or bring what it queued (recorder payloads, DTMF)
        back into Python."""
        for call in list(self.calls.values()):
            if call.relay_phase != phase:
                continue
            pair = call.relayed
            if pair is not None:
                self._absorb(call, *pair.drain())
            else:
                self._offload(call)

    def _relay_soon(self, call: Call) -> None:
        """Offload the call once the current callback is done changing it (not at its next
        relay step, up to 200 ms later: until then every packet goes through Python)."""
        if self.native_relay:
            with contextlib.suppress(RuntimeError):  # no running loop: the step does it
                asyncio.get_running_loop().call_soon(self._offload, call)

    def _offload(self, call: Call) -> None:
        if call.relayed is not None or not self._relayable(call):
            return
        c, b = call.customer, call.bridged
        assert c is not None and b is not None
        rec = call.recorder
        pair = relay.offload(
            c.ep,
            b.ep,
            pt_a=c.codec,
            pt_b=b.codec,
            dtmf_a=c.dtmf_pt,
            dtmf_b=b.dtmf_pt,
            record=rec is not None and not rec.closed,
            reclaim=functools.partial(self._own, call),
            notify_fd=-1 if self._dtmf_pipe is None else self._dtmf_pipe[1],
        )
        if pair is None:
            call.no_relay = True
        else:
            call.relayed = pair

    def _on_relay_dtmf(self) -> None:
        assert self._dtmf_pipe is not None
        with contextlib.suppress(BlockingIOError):
            while os.read(self._dtmf_pipe[0], 4096):
                pass
        for call in list(self.calls.values()):
            pair = call.relayed
            if pair is not None:
                self._absorb(call, *pair.drain())

    def _own(self, call: Call) -> None:
        """Take the call's media back from the native relay before Python changes it."""
        pair = call.relayed
        if pair is None:
            return
        call.relayed = None
        self._absorb(call, *pair.release())
        self._relay_soon(call)  # back to the relay when the change leaves it plainly bridged

    def _absorb(self, call: Call, from_customer: Drained, from_agent: Drained) -> None:
        rec = call.recorder
        if rec is not None and not rec.closed:
            cust, agent = (RIGHT, LEFT) if call.swap_channels else (LEFT, RIGHT)
            from_customer.record_into(rec, cust)
            from_agent.record_into(rec, agent)
            rec.catch_up(time.monotonic())
        # DTMF last: what it triggers may take the call back from the relay
        for leg, got in ((call.customer, from_customer), (call.bridged, from_agent)):
            if leg is not None and leg.ep.remote is not None:
                for packet in got.dtmf:
                    leg.ep.datagram_received(packet, leg.ep.remote)

    def _mix_all(self, call: Call) -> None:
        """Three-way (N-way) call: each party hears the sum of all the others."""
        legs = [
            lg
            for lg in (call.customer, call.bridged, *call.extra)
            if lg is not None and not lg.ended and lg.answered
        ]
        frames = [
            DECODERS[_narrow(lg.codec)](lg.mix_in.pop(0)).astype(np.int32)
            if lg.mix_in
            else silence(FRAME).astype(np.int32)
            for lg in legs
        ]
        if not frames:
            return
        total = np.sum(frames, axis=0)
        for lg, own in zip(legs, frames, strict=True):
            if lg.player is None:
                lg.ep.send(lg.codec, _encode(lg, clip16(total - own)))
        rec = call.recorder
        if rec is not None and not rec.closed:
            others = total - frames[0] if legs[0] is call.customer else total
            rec.add_pcm(RIGHT, clip16(others), time.monotonic())

    def _mix(self, call: Call) -> None:
        parties: dict[Party, Leg] = {}
        for leg in (call.customer, call.bridged, call.supervisor):
            if leg is not None and not leg.ended and leg.answered:
                parties[PARTY_OF[leg.role]] = leg
        frames = {}
        for party, leg in parties.items():
            frames[party] = (
                DECODERS[_narrow(leg.codec)](leg.mix_in.pop(0)) if leg.mix_in else silence(FRAME)
            )
        heard = mix(call.mode, frames)
        for party, leg in parties.items():
            if leg.player is None and not (call.held and party is Party.CUSTOMER):
                leg.ep.send(leg.codec, _encode(leg, heard[party]))

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.config.rtp_timeout / 4))
            try:
                self.registrar.expire()
                now = time.monotonic()
                for leg in list(self.legs.values()):
                    if (
                        leg.answered
                        and not leg.ended
                        and not leg.held_by_phone
                        and now - leg.ep.last_rx > self.config.rtp_timeout
                    ):
                        log.info(
                            "no RTP on %s for %.0fs: ending", leg.leg_id, self.config.rtp_timeout
                        )
                        leg.record.reason = f"no RTP for {self.config.rtp_timeout:g} s"
                        self._end_leg(leg, HangupBy.TIMEOUT)
            except Exception:
                log.exception("watchdog failed")

    # ---- lookups ---------------------------------------------------------------------

    def _call(self, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise SwitchError(f"{call_id}: no such call")
        return call

    def _customer(self, call_id: str) -> Leg:
        leg = self._call(call_id).customer
        if leg is None:
            raise SwitchError(f"{call_id}: no customer leg")
        return leg

    def _leg(self, leg_id: str) -> Leg:
        leg = self.legs.get(leg_id)
        if leg is None:
            raise SwitchError(f"{leg_id}: no such leg")
        return leg


def _add_response_headers(inc: IncomingCall, headers: dict[str, str]) -> None:
    """Add headers to every response aiosipua sends for this INVITE (it has no parameter)."""
    send = inc._send_response

    def with_headers(
        status_code: int,
        reason: str,
        *,
        body: str = "",
        content_type: str = "",
        extra_headers: dict[str, str] | None = None,
    ) -> SipResponse | None:
        return send(
            status_code,
            reason,
            body=body,
            content_type=content_type,
            extra_headers={**headers, **(extra_headers or {})},
        )

    inc._send_response = with_headers  # type: ignore[method-assign]


def _set_codec(leg: Leg, codec: int) -> None:
    """Use `codec` on the leg; a G.722 leg gets its own codec state (ADPCM is stateful)."""
    leg.codec = codec
    leg.record.codec = CODEC_NAMES[codec]
    if codec == G722:
        if leg.g722 is None:
            leg.g722 = G722Stream()
    else:
        leg.g722 = None


def _narrow(codec: int) -> int:
    """The G.711 law a leg's audio takes inside the switch: G.722 legs are decoded to μ-law."""
    return PCMU if codec == G722 else codec


def _for(peer: Leg, pt: int, payload: bytes, wide: bytes | None) -> bytes:
    """A received payload (G.711 `pt`; `wide`: the G.722 original) in `peer`'s codec."""
    if peer.codec == G722 and peer.g722 is not None:
        # G.722 to G.722 passes through; 8 kHz audio becomes G.722's lower band
        return wide if wide is not None else peer.g722.encode(DECODERS[pt](payload))
    if pt != peer.codec:
        return TRANSCODERS[(pt, peer.codec)](payload)
    return payload


def _encode(leg: Leg, pcm: Pcm) -> bytes:
    """Our own 8 kHz audio (prompts, MOH, mix) in the leg's codec."""
    if leg.g722 is not None:
        return leg.g722.encode(pcm)
    return ENCODERS[leg.codec](pcm)


def _user(uri_or_header: str) -> str:
    m = re.search(r"sips?:([^@;>]+)@", uri_or_header)
    if m:
        return m.group(1)
    m = re.search(r"sips?:([^;>]+)", uri_or_header)
    return m.group(1) if m else ""


# the ringback tone of Chinese exchanges: 450 Hz, 1 s on, 4 s off
_RINGBACK = np.concatenate([sine(450.0, 1.0, amplitude=6000.0), silence(4 * 8000)])


def _disposition(answered: bool, status: int, by: HangupBy) -> Disposition:
    if answered:
        return Disposition.ANSWERED
    if status == 486 or status == 600:
        return Disposition.BUSY
    if status in (408, 480) or by is HangupBy.TIMEOUT:
        return Disposition.NO_ANSWER
    if status == 487 or by in (HangupBy.REMOTE, HangupBy.PEER_LEG):
        return Disposition.CANCELLED
    return Disposition.FAILED


def as_switch(switch: SipSwitch) -> Switch:
    """The SIP switch seen through the port (mypy checks that it implements it)."""
    return switch
