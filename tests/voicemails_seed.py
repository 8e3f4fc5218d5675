"""Seed data for the voicemail tests (CC-03 留言): calls with real mono WAVs.

`NOW` is the reference time. The table (newest first):
  vm-1  13800138001 dialled 4001 box 售后    1 day before NOW, unheard
  vm-2  13900139002 dialled 4002 box sales   2 days before, heard
  vm-3  13700137003 dialled 4001 box 售后    3 days before, unheard
  vm-old 13600136004 dialled 4002 box sales 200 days before, unheard (past retention)
"""

from __future__ import annotations

import datetime as dt
import wave
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from kefu.store.models import Call, Direction, Disposition, Voicemail

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 10, 10, 10, 0, tzinfo=SH)
TABLE = (
    ("vm-1", "13800138001", "4001", "售后", 1, False),
    ("vm-2", "13900139002", "4002", "sales", 2, True),
    ("vm-3", "13700137003", "4001", "售后", 3, False),
    ("vm-old", "13600136004", "4002", "sales", 200, False),
)


@dataclass(frozen=True)
class SeededVm:
    """call id -> voicemail id, and where the WAVs are."""

    ids: dict[str, int]
    data_dir: Path


def write_mono(path: Path, seconds: float = 0.5, hz: float = 440.0) -> None:
    """A real mono 8 kHz 16-bit WAV holding a tone, as the SIP line writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 8000)) / 8000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((8000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes())


def seed_voicemails(session: Session, data_dir: Path, now: dt.datetime = NOW) -> SeededVm:
    """The table above, the WAVs under data_dir/recordings/voicemail (relative paths)."""
    ids: dict[str, int] = {}
    for call_id, caller, dialled, box, days, heard in TABLE:
        at = now - dt.timedelta(days=days)
        session.add(
            Call(
                id=call_id,
                direction=Direction.INBOUND,
                caller=caller,
                callee=dialled,
                caller_region=None,
                offered_at=at - dt.timedelta(minutes=1),
                ended_at=at + dt.timedelta(seconds=20),
                disposition=Disposition.VOICEMAIL,
            )
        )
        rel = Path("recordings") / "voicemail" / f"{call_id}.wav"
        write_mono(data_dir / rel)
        vm = Voicemail(
            call_id=call_id,
            box=box,
            caller=caller,
            path=str(rel),
            duration_s=0.5,
            ended_by="key",
            created_at=at,
            heard_at=at + dt.timedelta(hours=1) if heard else None,
        )
        session.add(vm)
        session.flush()
        ids[call_id] = vm.id
    return SeededVm(ids, data_dir)
