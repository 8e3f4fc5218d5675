"""Media engine: G.711 tables, tones, WAV loading, prompt player, recorder and mixer."""

from __future__ import annotations

import warnings
import wave
from pathlib import Path

import numpy as np
import pytest

from kefu.audio import g711
from kefu.audio.frames import FRAME, RATE, split_frames
from kefu.audio.mixer import MixMode, Party, mix
from kefu.audio.player import PromptPlayer, concat
from kefu.audio.recorder import LEFT, RIGHT, StereoRecorder
from kefu.audio.tones import dominant_frequencies, has_tone, sine
from kefu.audio.wavfile import load_wav, read_stereo

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # stdlib reference implementation of G.711 (until 3.13)

ALL = np.arange(-32768, 32768).astype(np.int16)


def test_alaw_matches_stdlib_reference_for_every_sample() -> None:
    assert g711.alaw_encode(ALL) == audioop.lin2alaw(ALL.tobytes(), 2)
    assert np.array_equal(
        g711.alaw_decode(bytes(range(256))),
        np.frombuffer(audioop.alaw2lin(bytes(range(256)), 2), np.int16),
    )


def test_ulaw_matches_itu_reference_for_every_sample() -> None:
    from aiortp.codecs.g711 import _ulaw_encode_sample

    # audioop clips at ±32635 differently near full scale; aiortp follows the ITU rule
    ref = bytes(_ulaw_encode_sample(int(v)) for v in ALL[::7])
    assert g711.ulaw_encode(ALL[::7]) == ref
    assert np.array_equal(
        g711.ulaw_decode(bytes(range(256))),
        np.frombuffer(audioop.ulaw2lin(bytes(range(256)), 2), np.int16),
    )


def test_transcoding_tables_equal_decode_then_encode() -> None:
    u = bytes(range(256))
    assert g711.ulaw_to_alaw(u) == g711.alaw_encode(g711.ulaw_decode(u))
    assert g711.alaw_to_ulaw(u) == g711.ulaw_encode(g711.alaw_decode(u))


def test_g711_roundtrip_keeps_a_tone() -> None:
    tone = sine(440, 0.5)
    for enc, dec in ((g711.ulaw_encode, g711.ulaw_decode), (g711.alaw_encode, g711.alaw_decode)):
        back = dec(enc(tone))
        snr = 10 * np.log10(
            np.sum(tone.astype(float) ** 2) / np.sum((tone.astype(float) - back) ** 2)
        )
        assert snr > 30
        assert has_tone(back, 440)


def test_tone_detector_separates_two_parties() -> None:
    both = sine(440, 1.0) + sine(1000, 1.0)
    peaks = dominant_frequencies(both, count=2)
    assert sorted(round(p) for p in peaks) == [440, 1000]
    assert has_tone(both, 440) and has_tone(both, 1000)
    assert not has_tone(sine(440, 1.0), 1000)
    assert not has_tone(np.zeros(8000, np.int16), 440)


@pytest.mark.parametrize(
    ("rate", "width", "channels"), [(16000, 2, 1), (44100, 2, 2), (22050, 1, 1), (48000, 4, 2)]
)
def test_load_wav_converts_any_format_to_8k_mono(
    tmp_path: Path, rate: int, width: int, channels: int
) -> None:
    t = np.arange(rate) / rate
    x = 0.3 * np.sin(2 * np.pi * 600 * t)
    if width == 1:
        raw = (x * 127 + 128).astype(np.uint8)
    elif width == 2:
        raw = (x * 32767).astype("<i2")
    else:
        raw = (x * 2**31).astype("<i4")
    data = np.repeat(raw, channels) if channels > 1 else raw
    p = tmp_path / "in.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.tobytes())
    pcm = load_wav(p)
    assert pcm.dtype == np.int16
    assert abs(len(pcm) - RATE) <= 2
    assert has_tone(pcm, 600)


def test_player_concatenates_and_loops() -> None:
    a, b = sine(400, 0.05), sine(800, 0.03)
    assert len(concat([a, b], gap_ms=20)) == len(a) + len(b) + 160
    p = PromptPlayer([a, b])
    frames = []
    while (f := p.next_frame()) is not None:
        frames.append(f)
    assert len(frames) == 4 and all(len(f) == FRAME for f in frames)
    moh = PromptPlayer([sine(500, 0.1)], loop=True)
    assert all(moh.next_frame() is not None for _ in range(50))
    moh.stop()
    assert moh.next_frame() is None


def test_recorder_puts_parties_on_their_channels_in_time(tmp_path: Path) -> None:
    cust, agent = sine(440, 2.0), sine(1000, 1.0)
    rec = StereoRecorder(tmp_path / "r.wav", start=100.0)
    for i, f in enumerate(split_frames(cust)):
        now = 100.0 + i * 0.02
        rec.add(LEFT, g711.PCMU, g711.ulaw_encode(f), now)
        if i >= 50:  # the agent answers after one second, in A-law
            rec.add(RIGHT, g711.PCMA, g711.alaw_encode(agent[(i - 50) * 160 : (i - 49) * 160]), now)
    rec.close(102.0)
    left, right, rate = read_stereo(tmp_path / "r.wav")
    assert rate == RATE and abs(len(left) - 2 * RATE) <= FRAME
    assert has_tone(left, 440) and not has_tone(left, 1000)
    assert np.abs(right[: RATE - FRAME]).max() == 0  # silent before the agent answered
    assert has_tone(right[RATE:], 1000) and not has_tone(right, 440)


def test_recorder_batches_write_the_same_file_as_single_payloads(tmp_path: Path) -> None:
    """The native relay's arrays (add_batch) and single payloads (add/add_many) give the
    same samples: batches across flushes, jitter, a late packet, both codecs."""
    rng = np.random.default_rng(7)
    cust, agent = sine(440, 3.0), sine(1000, 3.0)
    items: dict[int, list[tuple[float, int, bytes]]] = {LEFT: [], RIGHT: []}
    for i in range(150):
        t = 100.0 + i * 0.02 + float(rng.uniform(0, 0.015))  # jitter inside the slot
        items[LEFT].append((t, g711.PCMU, g711.ulaw_encode(cust[i * 160 : (i + 1) * 160])))
        pt = g711.PCMA if i % 40 < 20 else g711.PCMU  # the agent's codec changes
        enc = g711.ENCODERS[pt]
        items[RIGHT].append((t + 0.003, pt, enc(agent[i * 160 : (i + 1) * 160])))
    items[LEFT].append((100.5, 99, b"\x00" * 160))  # not G.711: dropped by both
    files = []
    for kind in ("single", "batch"):
        rec = StereoRecorder(tmp_path / f"{kind}.wav", start=100.0, flush_every=0.5)
        for lo in range(0, 151, 25):  # drained every half second, flushed in between
            for ch in (LEFT, RIGHT):
                part = items[ch][lo : lo + 25]
                if kind == "single":
                    rec.add_many(ch, part)
                elif part:
                    rec.add_batch(
                        ch,
                        np.array([t for t, _, _ in part]),
                        np.array([pt for _, pt, _ in part], dtype=np.uint8),
                        np.array([list(p) for _, _, p in part], dtype=np.uint8),
                    )
            rec.catch_up(100.0 + (lo + 25) * 0.02)
        late = (100.02, g711.PCMU, g711.ulaw_encode(sine(2000, 0.02)))  # slot already written
        if kind == "single":
            rec.add_many(LEFT, [late])
        else:
            rec.add_batch(
                LEFT, np.array([late[0]]), np.array([late[1]], np.uint8),
                np.frombuffer(late[2], np.uint8).reshape(1, -1),
            )  # fmt: skip
        rec.close(103.1)
        files.append(read_stereo(tmp_path / f"{kind}.wav"))
    (l1, r1, _), (l2, r2, _) = files
    assert len(l1) >= 3 * RATE - FRAME and np.array_equal(l1, l2) and np.array_equal(r1, r2)
    assert has_tone(l2, 440) and has_tone(r2, 1000) and not has_tone(l2, 2000)


TONES = {Party.CUSTOMER: 440.0, Party.AGENT: 1000.0, Party.SUPERVISOR: 1600.0}
EXPECT = {
    MixMode.LISTEN: {Party.CUSTOMER: {1000}, Party.AGENT: {440}, Party.SUPERVISOR: {440, 1000}},
    MixMode.WHISPER: {
        Party.CUSTOMER: {1000},
        Party.AGENT: {440, 1600},
        Party.SUPERVISOR: {440, 1000},
    },
    MixMode.BARGE: {
        Party.CUSTOMER: {1000, 1600},
        Party.AGENT: {440, 1600},
        Party.SUPERVISOR: {440, 1000},
    },
    MixMode.INTERCEPT: {Party.CUSTOMER: {1600}, Party.AGENT: set(), Party.SUPERVISOR: {440}},
}


@pytest.mark.parametrize("mode", list(EXPECT))
def test_mixer_modes_by_tone(mode: MixMode) -> None:
    frames = {p: sine(f, 0.5) for p, f in TONES.items()}
    heard = mix(mode, frames)
    for party, expected in EXPECT[mode].items():
        present = {int(f) for f in TONES.values() if has_tone(heard[party], f)}
        assert present == expected, (mode, party)


def test_number_prompts_read_the_mandarin_way() -> None:
    from kefu.telephony.prompts import number_names, position_names, wait_names

    def say(n: int) -> str:
        m = {f"digit_{i}": "零一二三四五六七八九"[i] for i in range(10)}
        m |= {"ten": "十", "hundred": "百"}
        return "".join(m[x] for x in number_names(n))

    assert [say(n) for n in (0, 7, 10, 12, 20, 23, 100, 105, 110, 999)] == [
        "零",
        "七",
        "十",
        "十二",
        "二十",
        "二十三",
        "一百",
        "一百零五",
        "一百一十",
        "九百九十九",
    ]
    assert position_names(3) == ["queue_ahead", "digit_3", "queue_unit"]
    assert wait_names(45) == ["wait_estimate", "digit_4", "ten", "digit_5", "seconds"]
    assert wait_names(125) == ["wait_estimate", "digit_3", "minutes"]


def test_every_default_prompt_exists_and_speaks() -> None:
    from kefu.telephony.prompts import PROMPT_DIR, announcement, load_prompt, prompt_texts

    for name in prompt_texts():
        with wave.open(str(PROMPT_DIR / f"{name}.wav")) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        pcm = load_prompt(name)
        assert len(pcm) > 0.15 * RATE and np.abs(pcm).max() > 1000, name
    parts = ["queue_ahead", "digit_3", "queue_unit"]
    total = sum(len(load_prompt(n)) for n in parts) + 2 * 320
    assert len(announcement(parts)) == total


def test_hold_music_is_the_known_notes() -> None:
    from kefu.telephony.prompts import MOH_NOTES, load_prompt

    moh = load_prompt("hold_music")
    assert any(
        has_tone(moh[i : i + 3200], MOH_NOTES[0], min_ratio=0.3) for i in range(0, 6400, 800)
    )
