"""A bridged call's RTP handed to the native relay thread, and taken back.

While a call is plainly bridged (customer and agent hear each other and nothing else happens
to its media), both directions are relayed by `kefu.telephony.sip._relay`, a C thread that
never takes the interpreter lock: the switch's event loop then spends nothing per packet.
The thread behaves as `RtpEndpoint.datagram_received` followed by `RtpEndpoint.forward`, and
queues what Python still needs: the payloads for the recorder and the DTMF packets. Before
Python sends on, or closes, either socket, the pair is released (`RtpEndpoint.reclaim`): the
sending state (sequence, timestamp offset) comes back to the endpoints, so the far ends see
one continuous stream whichever side sends.
"""

from __future__ import annotations

import functools
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from kefu.audio.g711 import PCMA, PCMU, TRANSCODERS
from kefu.audio.recorder import StereoRecorder
from kefu.telephony.sip.rtp import RtpEndpoint

log = logging.getLogger(__name__)

_native: ModuleType | None
try:
    from kefu.telephony.sip import _relay as _native
except ImportError:  # built without a C compiler: RTP stays on the event loop
    _native = None

Recorded = list[tuple[float, int, bytes]]  # (monotonic arrival time, payload type, payload)
_HEAD = 11  # a queued record: float64 time, uint8 payload type, uint16 length (native order)


def available() -> bool:
    """Whether the native relay was built."""
    return _native is not None


def forwarded() -> int:
    """Packets the native relay has forwarded since the process started."""
    return 0 if _native is None else int(_native.stats()[1])


@dataclass
class Drained:
    """What one direction queued since the last drain: recorder payloads and DTMF packets.

    `raw` is the native queue as it was: records of arrival time, payload type, length and
    payload. `record_into` hands them to a recorder as arrays when all payloads have one
    length (always, for a phone's steady G.711 stream): no Python object per packet."""

    raw: bytes = b""
    dtmf: list[bytes] = field(default_factory=list)

    @property
    def recorded(self) -> Recorded:
        """The records one by one."""
        out: Recorded = []
        buf, o = self.raw, 0
        while o + _HEAD <= len(buf):
            (t,) = struct.unpack_from("=d", buf, o)
            (n,) = struct.unpack_from("=H", buf, o + 9)
            out.append((t, buf[o + 8], buf[o + _HEAD : o + _HEAD + n]))
            o += _HEAD + n
        return out

    def record_into(self, rec: StereoRecorder, channel: int) -> None:
        """Queue the payloads on the recorder's `channel`."""
        if not self.raw:
            return
        (n,) = struct.unpack_from("=H", self.raw, 9)
        if len(self.raw) % (_HEAD + n) == 0:
            rows = np.frombuffer(self.raw, dtype=_record_dtype(n))
            if bool((rows["n"] == n).all()):
                rec.add_batch(channel, rows["t"], rows["pt"], rows["p"])
                return
        rec.add_many(channel, self.recorded)


@dataclass
class RelayedPair:
    """Both directions of one bridged call in the native relay."""

    a: RtpEndpoint
    b: RtpEndpoint
    key_ab: int  # packets from a's peer, out to b's peer
    key_ba: int

    def drain(self) -> tuple[Drained, Drained]:
        """Recorder payloads and DTMF each side sent; endpoint counters brought up to date."""
        assert _native is not None
        return _take(self.a, self.b, _native.drain(self.key_ab)), _take(
            self.b, self.a, _native.drain(self.key_ba)
        )

    def release(self) -> tuple[Drained, Drained]:
        """Stop relaying: Python receives and sends on both endpoints again."""
        assert _native is not None
        rest_ab, state_b = _native.remove(self.key_ab)
        rest_ba, state_a = _native.remove(self.key_ba)
        _restore(self.b, state_b)
        _restore(self.a, state_a)
        for ep in (self.a, self.b):
            ep.reclaim = None
            ep.resume_reading()
        return _take(self.a, self.b, rest_ab), _take(self.b, self.a, rest_ba)


def offload(
    a: RtpEndpoint,
    b: RtpEndpoint,
    *,
    pt_a: int,
    pt_b: int,
    dtmf_a: int | None,
    dtmf_b: int | None,
    record: bool,
    reclaim: Callable[[], None],
    notify_fd: int = -1,
) -> RelayedPair | None:
    """Relay a<->b natively; None when it cannot (no native relay, not IPv4, busy socket).

    `pt_a`/`pt_b`: each endpoint's codec (PCMU or PCMA); `dtmf_*`: the telephone-event
    payload type each peer sends; `reclaim` is called before Python touches either socket;
    a byte is written to `notify_fd` (a non-blocking pipe) whenever DTMF is queued.
    """
    if _native is None or pt_a not in (PCMU, PCMA) or pt_b not in (PCMU, PCMA):
        return None
    if a.sock is None or b.sock is None or a.remote is None or b.remote is None:
        return None
    a.pause_reading()
    b.pause_reading()
    try:
        key_ab = _native.add(
            a.sock.fileno(), a.remote[0], a.remote[1], b.sock.fileno(), b.remote[0], b.remote[1],
            pt_b, -1 if dtmf_a is None else dtmf_a, record, *_state(b), notify_fd,
        )  # fmt: skip
        try:
            key_ba = _native.add(
                b.sock.fileno(), b.remote[0], b.remote[1], a.sock.fileno(), a.remote[0],
                a.remote[1], pt_a, -1 if dtmf_b is None else dtmf_b, record, *_state(a),
                notify_fd,
            )  # fmt: skip
        except (ValueError, OSError, OverflowError):
            _native.remove(key_ab)
            raise
    except (ValueError, OSError, OverflowError) as exc:
        log.debug("native relay not used: %s", exc)
        a.resume_reading()
        b.resume_reading()
        return None
    a.reclaim = b.reclaim = reclaim
    return RelayedPair(a, b, key_ab, key_ba)


def _state(ep: RtpEndpoint) -> tuple[int, int, int, int, int, bool]:
    """The sending state of `ep` that the native side continues."""
    fresh = ep._fresh or ep._src_ssrc is None
    return (ep.ssrc, ep.seq, ep.ts, ep._offset, ep._src_ssrc or 0, fresh)


def _restore(ep: RtpEndpoint, state: tuple[int, int, int, int, int]) -> None:
    ep.seq, ep.ts, ep._offset, src_ssrc, fresh = state
    ep._src_ssrc, ep._fresh = src_ssrc, bool(fresh)


_Queued = tuple[bytes, list[bytes], float, int, int, int, int, int]


@functools.cache
def _record_dtype(n: int) -> np.dtype[Any]:
    return np.dtype([("t", "=f8"), ("pt", "u1"), ("n", "=u2"), ("p", "u1", (n,))])


def _take(rx: RtpEndpoint, tx: RtpEndpoint, out: _Queued) -> Drained:
    recorded, dtmf, last_rx, n_rx, n_tx, ignored, rtcp, _dropped = out
    if last_rx > rx.last_rx:
        rx.last_rx = last_rx
    rx.rx_packets += n_rx
    rx.ignored += ignored
    rx.rtcp += rtcp
    tx.tx_packets += n_tx
    return Drained(recorded, dtmf)


# μ-law <-> A-law maps for the native side (the same tables Python transcodes with)
if _native is not None:
    _all = bytes(range(256))
    _native.set_tables(TRANSCODERS[(PCMU, PCMA)](_all), TRANSCODERS[(PCMA, PCMU)](_all))
