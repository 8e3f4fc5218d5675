"""Regenerate the default prompt WAVs: `python -m kefu.telephony.prompts.generate`.

Each prompt's text lives in prompts.yaml beside this file. espeak-ng (voice `cmn`) speaks it,
sox converts it to 8 kHz mono 16-bit, and the hold music is synthesised with numpy (a soft
arpeggio, royalty-free by construction), as is the beep before a voicemail message.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kefu.audio.frames import RATE
from kefu.audio.wavfile import save_wav
from kefu.telephony.prompts import BEEP_HZ, MOH_NOTES, PROMPT_DIR, prompt_texts


def hold_music(seconds_per_note: float = 0.4, repeats: int = 3) -> np.ndarray:
    """A looping arpeggio on MOH_NOTES with soft attack and decay."""
    n = int(seconds_per_note * RATE)
    t = np.arange(n) / RATE
    env = np.minimum(1.0, t / 0.03) * np.exp(-t * 2.5)
    notes = [3000.0 * env * np.sin(2 * np.pi * f * t) for f in MOH_NOTES]
    return np.round(np.tile(np.concatenate(notes), repeats)).astype(np.int16)


def beep(hz: float = BEEP_HZ, seconds: float = 0.35) -> np.ndarray:
    """The tone after the voicemail prompt: the message starts after it."""
    t = np.arange(int(seconds * RATE)) / RATE
    env = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)
    return np.round(6000.0 * env * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def speak(text: str, out: Path) -> None:
    """Speak `text` with espeak-ng and convert it with sox to 8 kHz mono 16-bit."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", "cmn", "-s", "150", "-w", str(raw), text], check=True)
        subprocess.run(
            ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out), "vol", "0.8"],
            check=True,
        )


def main() -> int:
    """Write every prompt of prompts.yaml and the hold music into the package directory."""
    for name, text in prompt_texts().items():
        speak(text, PROMPT_DIR / f"{name}.wav")
        print(f"{name}.wav  {text}")
    save_wav(PROMPT_DIR / "hold_music.wav", hold_music())
    print("hold_music.wav")
    save_wav(PROMPT_DIR / "beep.wav", beep())
    print("beep.wav")
    return 0


if __name__ == "__main__":
    sys.exit(main())
