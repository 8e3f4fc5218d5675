"""G.722 (wideband ADPCM, 16 kHz audio, 64 kbit/s) on the 8 kHz media path.

The codec itself is the `g722` package's C extension (module `G722`, also what aiortp's
optional G.722 codec wraps). G.722 is stateful (ADPCM predictors), so every RTP stream gets its
own encoder and decoder: one `G722Stream` per leg.

How the switch stays at 8 kHz. G.722 splits 16 kHz audio into two 8 kHz sub-bands with a QMF
filter bank and codes each with ADPCM. The lower band is the 0-4 kHz signal sampled at 8 kHz,
which is exactly what the 8 kHz path carries. The codec's 8 kHz mode decodes only that band
(the QMF synthesis is the 16k->8k resampler) and encodes 8 kHz audio as the lower band with an
empty upper band (the peer's QMF synthesis is the 8k->16k resampler). So a G.711 customer and
a G.722 phone talk through one codec call per frame each way, with no extra filter.

`WidebandG722` is the 16 kHz side, as a real G.722 phone has it (the test softphone uses it),
and `Decimator`/`Interpolator` are plain 2:1 FIR resamplers for 16 kHz PCM.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kefu.audio.errors import AudioError
from kefu.audio.frames import FRAME, Pcm

try:
    from G722 import G722 as _Engine

    AVAILABLE = True
except ImportError:  # pragma: no cover - the package is a dependency; kept for clear errors
    _Engine = None
    AVAILABLE = False

G722 = 9  # RTP static payload type (RFC 3551); its RTP clock says 8000 although audio is 16 kHz
WIDE_RATE = 16000
WIDE_FRAME = 2 * FRAME  # 320 samples = 20 ms at 16 kHz; 160 bytes on the wire either way
_BITRATE = 64000


def _engine(rate: int) -> Any:
    if _Engine is None:
        raise AudioError("G.722 needs the `g722` package (pip install g722)")
    return _Engine(rate, _BITRATE)


class G722Stream:
    """One RTP stream's G.722 state, seen from the 8 kHz path: 160 samples <-> 160 bytes."""

    __slots__ = ("_dec", "_enc")

    def __init__(self) -> None:
        self._enc = _engine(8000)
        self._dec = _engine(8000)

    def encode(self, pcm: Pcm) -> bytes:
        """Encode 8 kHz int16 PCM (as the lower sub-band) to G.722 bytes."""
        out: bytes = self._enc.encode(np.ascontiguousarray(pcm, dtype=np.int16))
        return out

    def decode(self, payload: bytes) -> Pcm:
        """Decode G.722 bytes to 8 kHz int16 PCM (the lower sub-band)."""
        return np.frombuffer(self._dec.decode(payload), dtype=np.int16)


class WidebandG722:
    """One stream's G.722 state at 16 kHz: 320 samples <-> 160 bytes, as phones use it."""

    __slots__ = ("_dec", "_enc")

    def __init__(self) -> None:
        self._enc = _engine(WIDE_RATE)
        self._dec = _engine(WIDE_RATE)

    def encode(self, pcm16k: Pcm) -> bytes:
        """Encode 16 kHz int16 PCM to G.722 bytes."""
        out: bytes = self._enc.encode(np.ascontiguousarray(pcm16k, dtype=np.int16))
        return out

    def decode(self, payload: bytes) -> Pcm:
        """Decode G.722 bytes to 16 kHz int16 PCM."""
        return np.frombuffer(self._dec.decode(payload), dtype=np.int16)


def _lowpass(taps: int = 47, cutoff: float = 0.45) -> npt.NDArray[np.float64]:
    """Windowed-sinc low-pass; cutoff as a fraction of the 8 kHz Nyquist (16 kHz input)."""
    n = np.arange(taps) - (taps - 1) / 2
    h: npt.NDArray[np.float64] = cutoff * np.sinc(cutoff * n) * np.hamming(taps)
    return h / float(h.sum())


_LP = _lowpass()


class Decimator:
    """16 kHz -> 8 kHz, frame by frame (low-pass FIR, keep every other sample)."""

    def __init__(self) -> None:
        self._hist = np.zeros(len(_LP) - 1)

    def __call__(self, pcm16k: Pcm) -> Pcm:
        x = np.concatenate([self._hist, pcm16k.astype(np.float64)])
        self._hist = x[-(len(_LP) - 1) :]
        y = np.convolve(x, _LP, mode="valid")[::2]
        return np.clip(np.rint(y), -32768, 32767).astype(np.int16)


class Interpolator:
    """8 kHz -> 16 kHz, frame by frame (zero stuffing, low-pass FIR with gain 2)."""

    def __init__(self) -> None:
        self._hist = np.zeros(len(_LP) - 1)

    def __call__(self, pcm8k: Pcm) -> Pcm:
        up = np.zeros(2 * len(pcm8k))
        up[::2] = pcm8k
        x = np.concatenate([self._hist, up])
        self._hist = x[-(len(_LP) - 1) :]
        y = 2.0 * np.convolve(x, _LP, mode="valid")
        return np.clip(np.rint(y), -32768, 32767).astype(np.int16)
