"""Stereo call recorder: customer on the left channel, agent on the right.

Packets arrive as encoded G.711 payloads with their arrival time. They are queued, not
decoded, and every `flush_every` seconds the queued payloads of both channels are decoded in
one numpy call per channel and placed on a common 20 ms grid by arrival time, so a silent
party leaves silence, not a shorter channel. Late packets that land in an already written
slot are dropped. The file is a plain 16-bit 8 kHz stereo WAV written with `wave`.

Decoding is cheap and stays with the caller (the switch's event loop); the file itself
(open, writes, close) can be handed to a `writer`, a function that runs jobs in order on
another thread, so a slow disk never stalls the 20 ms media path.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kefu.audio.frames import FRAME, RATE
from kefu.audio.g711 import DECODERS

Times = np.ndarray  # float64 arrival times (time.monotonic)
Types = np.ndarray  # uint8 RTP payload types
Rows = np.ndarray  # uint8 payloads, one per row
Slots = np.ndarray  # int64 20 ms slots since the start

LEFT = 0  # customer
RIGHT = 1  # agent

FileWriter = Callable[[Callable[[], None]], None]  # runs each job once, in order


class StereoRecorder:
    """Write two parties' audio to one stereo WAV, in batches."""

    def __init__(
        self,
        path: Path | str,
        start: float,
        flush_every: float = 1.0,
        lag_frames: int = 5,
        writer: FileWriter | None = None,
    ) -> None:
        self.path = Path(path)
        self.start = start
        self.flush_every = flush_every
        self.lag_frames = lag_frames  # slots kept open for jitter before writing
        self._queue: list[list[tuple[int, int, bytes]]] = [[], []]
        # batches from the native relay: (slots, payload types, payloads as rows of one length)
        self._batches: list[list[tuple[Slots, Types, Rows]]] = [[], []]
        self._written = 0  # frames written so far
        self._last_flush = start
        self._writer = writer
        self._wav: wave.Wave_write | None = None
        self.closed = False
        self._file(self._open)

    def _file(self, job: Callable[[], None]) -> None:
        if self._writer is None:
            job()
        else:
            self._writer(job)

    def _open(self) -> None:
        self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - open for the call
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(RATE)

    def _write(self, data: bytes) -> None:
        assert self._wav is not None
        self._wav.writeframes(data)

    def _close(self) -> None:
        if self._wav is not None:
            self._wav.close()

    def add(self, channel: int, payload_type: int, payload: bytes, now: float) -> None:
        """Queue one received payload for `channel` (LEFT customer / RIGHT agent)."""
        if self.closed or payload_type not in DECODERS:
            return
        slot = int((now - self.start) * RATE) // FRAME
        self._queue[channel].append((slot, payload_type, payload))
        if now - self._last_flush >= self.flush_every:
            self.flush(now)

    def add_many(self, channel: int, items: list[tuple[float, int, bytes]]) -> None:
        """Queue payloads `(arrival time, payload type, payload)` for `channel` without
        flushing: a batch from the native relay, both channels queued before `catch_up`."""
        if self.closed:
            return
        q = self._queue[channel]
        start = self.start
        for now, pt, payload in items:
            if pt in DECODERS:
                q.append((int((now - start) * RATE) // FRAME, pt, payload))

    def add_batch(self, channel: int, times: Times, types: Types, payloads: Rows) -> None:
        """Queue payloads of one length for `channel` as arrays: arrival times, payload
        types and one payload per row (the native relay's queue, without a Python object
        per packet). Placed after the single payloads of the same slots."""
        if self.closed or not len(times):
            return
        slots = ((times - self.start) * RATE).astype(np.int64) // FRAME
        self._batches[channel].append((slots, types, payloads))

    def catch_up(self, now: float) -> None:
        """Flush if a flush is due at `now`."""
        if not self.closed and now - self._last_flush >= self.flush_every:
            self.flush(now)

    def add_pcm(self, channel: int, pcm: np.ndarray, now: float) -> None:
        """Queue already decoded PCM (prompts or mixer output) for `channel`."""
        from kefu.audio.g711 import PCMU, ulaw_encode

        self.add(channel, PCMU, ulaw_encode(pcm), now)

    def flush(self, now: float, final: bool = False) -> None:
        """Decode and write every slot older than the jitter lag (all of them if final)."""
        self._last_flush = now
        upto = int((now - self.start) * RATE) // FRAME + (1 if final else -self.lag_frames)
        if upto <= self._written:
            return
        n = upto - self._written
        block = np.zeros((n, FRAME, 2), dtype=np.int16)  # slot, sample, channel
        flat = block.reshape(-1, 2)
        for ch in (LEFT, RIGHT):
            keep: list[tuple[int, int, bytes]] = []
            by_pt: dict[int, list[tuple[int, bytes]]] = {}
            for slot, pt, payload in self._queue[ch]:
                if slot >= upto:
                    keep.append((slot, pt, payload))
                elif slot >= self._written:
                    by_pt.setdefault(pt, []).append((slot, payload))
            self._queue[ch] = keep
            for pt, items in by_pt.items():
                pcm = DECODERS[pt](b"".join(p for _, p in items))
                pos = 0
                for slot, payload in items:
                    off = (slot - self._written) * FRAME
                    m = min(len(payload), FRAME)
                    flat[off : off + m, ch] = pcm[pos : pos + m]
                    pos += len(payload)
            self._batches[ch] = self._place_batches(block[:, :, ch], ch, upto)
        data = block.astype("<i2", copy=False).tobytes()
        self._file(lambda: self._write(data))
        self._written = upto

    def _place_batches(
        self, plane: np.ndarray, ch: int, upto: int
    ) -> list[tuple[Slots, Types, Rows]]:
        """Decode the batches' payloads of slots before `upto` into `plane` (a row per slot
        from the last written one), in the order they came; return what is for later."""
        keep: list[tuple[Slots, Types, Rows]] = []
        for slots, types, rows in _merged(self._batches[ch]):
            later = slots >= upto
            if later.any():
                keep.append((slots[later], types[later], rows[later]))
            due = ~later & (slots >= self._written)
            if not due.all():
                slots, types, rows = slots[due], types[due], rows[due]
            if not len(slots):
                continue
            width = rows.shape[1]
            first = int(types[0])
            kinds = [first] if bool((types == first).all()) else np.unique(types).tolist()
            for pt in kinds:
                decode = DECODERS.get(pt)
                if decode is None:
                    continue
                sel = slice(None) if len(kinds) == 1 else types == pt
                pcm = decode(rows[sel].tobytes()).reshape(-1, width)
                at = slots[sel] - self._written
                if width >= FRAME:
                    plane[at] = pcm[:, :FRAME]
                else:
                    plane[at, :width] = pcm
        return keep

    def close(self, now: float) -> Path:
        """Write what is left and close the file; return its path."""
        if not self.closed:
            self.flush(now, final=True)
            self._file(self._close)
            self.closed = True
        return self.path

    @property
    def seconds(self) -> float:
        """Duration written so far."""
        return self._written * FRAME / RATE


def _merged(batches: list[tuple[Slots, Types, Rows]]) -> list[tuple[Slots, Types, Rows]]:
    """Consecutive batches of one payload length joined into one, in order."""
    out: list[tuple[Slots, Types, Rows]] = []
    run: list[tuple[Slots, Types, Rows]] = []
    for b in batches:
        if run and b[2].shape[1] != run[0][2].shape[1]:
            out.append(_join(run))
            run = []
        run.append(b)
    if run:
        out.append(_join(run))
    return out


def _join(run: list[tuple[Slots, Types, Rows]]) -> tuple[Slots, Types, Rows]:
    if len(run) == 1:
        return run[0]
    return (
        np.concatenate([b[0] for b in run]),
        np.concatenate([b[1] for b in run]),
        np.concatenate([b[2] for b in run]),
    )
