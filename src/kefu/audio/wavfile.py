"""WAV in and out: any PCM WAV is converted at load to 8 kHz mono int16."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kefu.audio.errors import AudioError
from kefu.audio.frames import RATE, Pcm, clip16


def _to_float(raw: bytes, width: int) -> npt.NDArray[np.float64]:
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float64) / 256.0
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    raise AudioError(f"unsupported sample width {width}")


def resample(x: npt.NDArray[np.float64], src: int, dst: int = RATE) -> npt.NDArray[np.float64]:
    """Resample by windowed-sinc low-pass (when shrinking) then linear interpolation."""
    if src == dst or len(x) == 0:
        return x
    if dst < src:
        cutoff = 0.5 * dst / src * 0.9  # of the source rate
        taps = 63
        n = np.arange(taps) - taps // 2
        h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
        h /= h.sum()
        x = np.convolve(x, h, mode="same")
    out_len = int(len(x) * dst / src)
    t = np.arange(out_len) * (src / dst)
    out: npt.NDArray[np.float64] = np.interp(t, np.arange(len(x)), x)
    return out


def load_wav(path: Path | str) -> Pcm:
    """Load a PCM WAV of any rate, width and channel count as 8 kHz mono int16."""
    p = Path(path)
    try:
        with wave.open(str(p), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"{p}: not a readable PCM WAV ({exc})") from exc
    x = _to_float(raw, width)
    if channels > 1:
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
    return clip16(np.round(resample(x, rate)))


def save_wav(path: Path | str, pcm: Pcm, rate: int = RATE) -> None:
    """Write mono int16 PCM as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


def read_stereo(path: Path | str) -> tuple[Pcm, Pcm, int]:
    """Read a 16-bit stereo WAV as (left, right, rate)."""
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 2 or w.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16-bit stereo")
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return data[:, 0].copy(), data[:, 1].copy(), rate
