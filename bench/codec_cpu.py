"""Benchmark: CPU per 20 ms frame of the codec work the switch does per leg and direction.

Prints microseconds of process CPU per frame (one way = one received and one sent frame
handled) for:
1. G.711: μ-law decode + encode (numpy tables), and μ-law->A-law by byte table;
2. G.722 as the switch runs it: decode + encode in the codec's 8 kHz mode (lower band);
3. G.722 through 16 kHz with our FIR resamplers (decode 16k + decimate; interpolate + encode
   16k), the alternative the switch does not use;
4. the switch's G.722 receive path: decode + μ-law encode onto the 8 kHz path.

Usage: python bench/codec_cpu.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from kefu.audio.frames import FRAME
from kefu.audio.g711 import alaw_decode, ulaw_decode, ulaw_encode, ulaw_to_alaw
from kefu.audio.g722 import Decimator, G722Stream, Interpolator, WidebandG722
from kefu.audio.tones import sine


def per_frame(fn: Callable[[int], object], frames: int) -> float:
    """Process-CPU microseconds per call of fn(i)."""
    t0 = time.process_time()
    for i in range(frames):
        fn(i)
    return (time.process_time() - t0) / frames * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50_000)
    n = ap.parse_args().frames
    pcm = [sine(440 + 10 * k, 0.02) for k in range(50)]
    ulaw = [ulaw_encode(p) for p in pcm]
    narrow, wide_side = G722Stream(), WidebandG722()
    g722 = [wide_side.encode(sine(440 + 10 * k, 0.02, rate=16000)) for k in range(50)]
    dec, inter = Decimator(), Interpolator()
    wide = WidebandG722()

    rows = {
        "G.711 mu-law decode+encode": lambda i: ulaw_encode(ulaw_decode(ulaw[i % 50])),
        "G.711 mu-law -> A-law (table)": lambda i: alaw_decode(ulaw_to_alaw(ulaw[i % 50])),
        "G.722 8 kHz mode decode+encode (switch)": lambda i: narrow.encode(
            narrow.decode(g722[i % 50])
        ),
        "G.722 16 kHz + FIR resampling decode+encode": lambda i: wide.encode(
            inter(dec(wide.decode(g722[i % 50])))
        ),
        "switch G.722 rx: decode + mu-law encode": lambda i: ulaw_encode(
            narrow.decode(g722[i % 50])
        ),
    }
    load = os.getloadavg()[0]
    print(f"frames={n} ({FRAME} samples at 8 kHz, 20 ms), load average {load:.2f}")
    for name, fn in rows.items():
        us = per_frame(fn, n)
        # 50 frames/s per direction: share of one core per call leg (both directions)
        print(f"{name:48s} {us:7.1f} us/frame  {2 * 50 * us / 1e4:6.3f} % core/leg")


if __name__ == "__main__":
    main()
