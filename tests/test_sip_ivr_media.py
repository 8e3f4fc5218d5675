"""IVR media on a live call: prompts, uploaded WAVs, barge-in by key press, announcements."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from kefu.audio.tones import has_tone, sine
from kefu.telephony.port import CallArrived, Dtmf, PlaybackDone, SwitchEvent
from kefu.telephony.prompts import position_names
from kefu.telephony.sip.b2bua import SipSwitch, SwitchConfig, free_port
from kefu.telephony.sip.softphone import Softphone

pytestmark = [pytest.mark.timeout(30), pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[SipSwitch, list[SwitchEvent], Softphone]]:
    """A switch with no router (the test is the core) and a customer already answered."""
    events: list[SwitchEvent] = []
    sw = SipSwitch(SwitchConfig(port=free_port()), sink=events.append)
    await sw.start()
    phone = Softphone("9000", "x", (sw.config.host, sw.config.port), send_audio=False)
    await phone.start(register=False)
    dial = asyncio.create_task(phone.dial("4001", (sw.config.host, sw.config.port)))
    async with asyncio.timeout(3):
        while not events:
            await asyncio.sleep(0.01)
    arrived = events[0]
    assert isinstance(arrived, CallArrived)
    sw.answer(arrived.call_id)
    await dial
    yield sw, events, phone
    await phone.stop()
    await sw.stop()


async def wait_event(events: list[SwitchEvent], kind: type, timeout: float = 8.0) -> SwitchEvent:
    async with asyncio.timeout(timeout):
        while True:
            for e in events:
                if isinstance(e, kind):
                    return e
            await asyncio.sleep(0.02)


async def test_key_press_skips_an_interruptible_prompt(
    live: tuple[SipSwitch, list[SwitchEvent], Softphone],
) -> None:
    sw, events, phone = live
    leg = next(iter(sw.legs))
    sw.play(leg, ["menu"], interruptible=True)
    await asyncio.sleep(0.6)
    phone.send_rfc4733("0")  # zero-out while the menu plays
    done = await wait_event(events, PlaybackDone)
    assert isinstance(done, PlaybackDone) and done.interrupted
    dtmf = await wait_event(events, Dtmf)
    assert isinstance(dtmf, Dtmf) and dtmf.digit == "0"
    loop = asyncio.get_running_loop()
    t = loop.time()
    await asyncio.sleep(0.5)
    assert len(phone.heard.between(t)) == 0  # the prompt stopped


async def test_uploaded_wav_of_any_rate_plays_to_the_caller(
    live: tuple[SipSwitch, list[SwitchEvent], Softphone], tmp_path: Path
) -> None:
    sw, events, phone = live
    upload = tmp_path / "ringback.wav"
    tone = sine(600.0, 1.0, rate=44100)
    with wave.open(str(upload), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.repeat(tone, 2).astype("<i2").tobytes())
    leg = next(iter(sw.legs))
    sw.play(leg, [str(upload)])
    done = await wait_event(events, PlaybackDone)
    assert isinstance(done, PlaybackDone) and not done.interrupted
    heard = phone.heard.between()
    assert 0.9 * 8000 < len(heard) < 1.2 * 8000 and has_tone(heard, 600.0)


async def test_queue_position_announcement_plays_in_full(
    live: tuple[SipSwitch, list[SwitchEvent], Softphone],
) -> None:
    from kefu.telephony.prompts import load_prompt

    sw, events, phone = live
    leg = next(iter(sw.legs))
    names = position_names(12)  # 您前面还有 十 二 位
    sw.play(leg, names)
    await wait_event(events, PlaybackDone)
    expected = sum(len(load_prompt(n)) for n in names)
    assert abs(len(phone.heard.between()) - expected) <= 3 * 160
