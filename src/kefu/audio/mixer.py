"""Conference mixing for supervisor listen, whisper, barge and intercept.

A pure function of one 20 ms frame per party: it returns what each party hears. Each
party hears the sum of the parties the mode lets it hear, never itself.

| mode      | customer hears      | agent hears             | supervisor hears   |
|-----------|---------------------|-------------------------|--------------------|
| NORMAL    | agent               | customer                | -                  |
| LISTEN    | agent               | customer                | customer + agent   |
| WHISPER   | agent               | customer + supervisor   | customer + agent   |
| BARGE     | agent + supervisor  | customer + supervisor   | customer + agent   |
| INTERCEPT | supervisor          | (dropped)               | customer           |
"""

from __future__ import annotations

import enum

import numpy as np

from kefu.audio.frames import Pcm, clip16


class Party(enum.Enum):
    """A party in a supervised call."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class MixMode(enum.Enum):
    """What the supervisor is doing to the call."""

    NORMAL = "normal"
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"
    INTERCEPT = "intercept"


C, A, S = Party.CUSTOMER, Party.AGENT, Party.SUPERVISOR

# listener -> the talkers it hears
HEARS: dict[MixMode, dict[Party, frozenset[Party]]] = {
    MixMode.NORMAL: {C: frozenset({A}), A: frozenset({C}), S: frozenset()},
    MixMode.LISTEN: {C: frozenset({A}), A: frozenset({C}), S: frozenset({C, A})},
    MixMode.WHISPER: {C: frozenset({A}), A: frozenset({C, S}), S: frozenset({C, A})},
    MixMode.BARGE: {C: frozenset({A, S}), A: frozenset({C, S}), S: frozenset({C, A})},
    MixMode.INTERCEPT: {C: frozenset({S}), A: frozenset(), S: frozenset({C})},
}


def mix(mode: MixMode, frames: dict[Party, Pcm]) -> dict[Party, Pcm]:
    """Return, for every party present, the frame it hears under `mode`."""
    n = max((len(f) for f in frames.values()), default=0)
    wide = {p: f.astype(np.int32) for p, f in frames.items()}
    out: dict[Party, Pcm] = {}
    for listener in frames:
        acc = np.zeros(n, dtype=np.int32)
        for talker in HEARS[mode][listener]:
            f = wide.get(talker)
            if f is not None:
                acc[: len(f)] += f
        out[listener] = clip16(acc)
    return out
