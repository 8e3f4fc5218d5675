"""Default system prompts (8 kHz mono WAVs generated from prompts.yaml) and announcements.

Announcements of queue position and estimated wait are concatenations of number prompts:
"您前面还有" + 二 十 三 + "位", "预计等待" + 五 + "分钟".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from kefu.audio.frames import Pcm
from kefu.audio.player import concat
from kefu.audio.wavfile import load_wav

PROMPT_DIR = Path(__file__).parent
MOH_NOTES = (523.25, 659.25, 783.99, 659.25)  # C5 E5 G5 E5
BEEP_HZ = 1400.0  # the voicemail beep (apart from the test parties' tones)


def prompt_texts() -> dict[str, str]:
    """The prompt names and their Mandarin text, from prompts.yaml."""
    data = yaml.safe_load((PROMPT_DIR / "prompts.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


@cache
def load_prompt(name: str, directory: Path = PROMPT_DIR) -> Pcm:
    """Load a prompt by name as 8 kHz mono int16 (cached)."""
    return load_wav(directory / f"{name}.wav")


def number_names(n: int) -> list[str]:
    """Prompt names reading 0..999 the Mandarin way (十二, 二十, 一百零五, 一百一十)."""
    if not 0 <= n <= 999:
        raise ValueError(f"number out of range for announcements: {n}")
    if n < 10:
        return [f"digit_{n}"]
    if n < 20:
        return ["ten"] + ([f"digit_{n % 10}"] if n % 10 else [])
    h, t, u = n // 100, n // 10 % 10, n % 10
    out: list[str] = []
    if h:
        out += [f"digit_{h}", "hundred"]
        if t == 0 and u:
            return [*out, "digit_0", f"digit_{u}"]
    if t:
        out += [f"digit_{t}", "ten"]
    if u:
        out.append(f"digit_{u}")
    return out


def position_names(ahead: int) -> list[str]:
    """您前面还有 N 位."""
    return ["queue_ahead", *number_names(min(ahead, 999)), "queue_unit"]


def wait_names(seconds: int) -> list[str]:
    """预计等待 M 分钟 (or S 秒 under a minute)."""
    if seconds < 60:
        return ["wait_estimate", *number_names(max(seconds, 0)), "seconds"]
    return ["wait_estimate", *number_names(min((seconds + 59) // 60, 999)), "minutes"]


def announcement(names: list[str], directory: Path = PROMPT_DIR) -> Pcm:
    """Concatenate prompts into one PCM buffer."""
    return concat([load_prompt(n, directory) for n in names], gap_ms=40)
