"""Sine tones and their detection (Goertzel and FFT), for tests and call-progress checks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kefu.audio.frames import RATE, Pcm


def sine(freq: float, seconds: float, amplitude: float = 8000.0, rate: int = RATE) -> Pcm:
    """Return a sine tone of `freq` Hz as int16 PCM."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def goertzel_power(
    pcm: npt.NDArray[np.int16] | npt.NDArray[np.float64], freq: float, rate: int = RATE
) -> float:
    """Normalised power of `freq` in the block (Goertzel, vectorised as one DFT bin)."""
    x = np.asarray(pcm, dtype=np.float64)
    if len(x) == 0:
        return 0.0
    n = np.arange(len(x))
    bin_ = np.dot(x, np.exp(-2j * np.pi * freq * n / rate))
    return float(abs(bin_) ** 2 / len(x) ** 2)


def tone_ratio(pcm: npt.NDArray[np.int16], freq: float, rate: int = RATE) -> float:
    """Share of the block's energy that lies at `freq` (0..1)."""
    x = np.asarray(pcm, dtype=np.float64)
    total = float(np.dot(x, x)) / max(len(x), 1)
    if total <= 0.0:
        return 0.0
    # a pure sine of amplitude A has bin power A²/4 and mean power A²/2
    return min(1.0, 2.0 * goertzel_power(x, freq, rate) / total)


def dominant_frequencies(
    pcm: npt.NDArray[np.int16], count: int = 2, rate: int = RATE, min_separation: float = 50.0
) -> list[float]:
    """The `count` strongest spectral peaks (Hz) by FFT with a Hann window."""
    x = np.asarray(pcm, dtype=np.float64)
    if len(x) < 16:
        return []
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    order = np.argsort(spec)[::-1]
    found: list[float] = []
    for i in order:
        if spec[i] <= 0:
            break
        f = float(freqs[i])
        if all(abs(f - g) >= min_separation for g in found):
            found.append(f)
        if len(found) == count:
            break
    return found


def has_tone(
    pcm: npt.NDArray[np.int16],
    freq: float,
    rate: int = RATE,
    tolerance: float = 15.0,
    min_ratio: float = 0.05,
) -> bool:
    """Whether `freq` is present: among the FFT peaks and holding `min_ratio` of the energy."""
    x = np.asarray(pcm, dtype=np.float64)
    if float(np.abs(x).max(initial=0.0)) < 50.0:
        return False
    peaks = dominant_frequencies(pcm, count=4, rate=rate)
    near = any(abs(p - freq) <= tolerance for p in peaks)
    return near and tone_ratio(pcm, freq, rate) >= min_ratio
