"""Prompt player: hands out 20 ms frames from a queue of prompts, looping for music on hold."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from kefu.audio.frames import FRAME, Pcm, silence


def concat(prompts: Sequence[Pcm], gap_ms: int = 0) -> Pcm:
    """Join prompts into one, with `gap_ms` of silence between them (number announcements)."""
    parts: list[Pcm] = []
    for i, p in enumerate(prompts):
        if i and gap_ms:
            parts.append(silence(8 * gap_ms))
        parts.append(p)
    return np.concatenate(parts) if parts else silence(0)


class PromptPlayer:
    """A queue of PCM prompts read frame by frame; `loop` replays the queue (MOH)."""

    def __init__(self, prompts: Sequence[Pcm] = (), loop: bool = False) -> None:
        self._items: deque[Pcm] = deque(prompts)
        self._all = list(prompts)
        self.loop = loop
        self._pos = 0

    def enqueue(self, pcm: Pcm) -> None:
        """Add a prompt after the ones queued."""
        self._items.append(pcm)
        self._all.append(pcm)

    def stop(self) -> None:
        """Drop everything queued (barge-in: a key press skips the prompt)."""
        self._items.clear()
        self._all.clear()
        self.loop = False
        self._pos = 0

    @property
    def done(self) -> bool:
        """True when nothing is left to play."""
        return not self._items

    def next_frame(self) -> Pcm | None:
        """The next 20 ms frame, or None once finished."""
        out = np.zeros(FRAME, dtype=np.int16)
        filled = 0
        while filled < FRAME and self._items:
            cur = self._items[0]
            take = min(FRAME - filled, len(cur) - self._pos)
            out[filled : filled + take] = cur[self._pos : self._pos + take]
            filled += take
            self._pos += take
            if self._pos >= len(cur):
                self._items.popleft()
                self._pos = 0
                if not self._items and self.loop and self._all:
                    self._items.extend(self._all)
        return out if filled else None
