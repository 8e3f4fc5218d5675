"""The media engine's unit: 20 ms frames of 8 kHz mono int16 samples."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 8000
FRAME_MS = 20
FRAME = RATE * FRAME_MS // 1000  # 160 samples

Pcm = npt.NDArray[np.int16]


def silence(samples: int = FRAME) -> Pcm:
    """Return `samples` zero samples."""
    return np.zeros(samples, dtype=np.int16)


def split_frames(pcm: Pcm) -> list[Pcm]:
    """Cut PCM into whole 20 ms frames, padding the last one with silence."""
    pad = (-len(pcm)) % FRAME
    if pad:
        pcm = np.concatenate([pcm, silence(pad)])
    return [pcm[i : i + FRAME] for i in range(0, len(pcm), FRAME)]


def clip16(x: npt.NDArray[np.int32] | npt.NDArray[np.float64]) -> Pcm:
    """Saturate a wider array to int16."""
    return np.clip(x, -32768, 32767).astype(np.int16)
