"""`kefu recordings list|purge` (CC-04) on SQLite and PostgreSQL: output, exit codes, one-line
errors naming the option, the retention setting, the audit row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kefu.cli import app
from kefu.store.db import Database
from kefu.store.models import AuditEntry, Recording, Voicemail
from recordings_seed import Seeded, seed, shift_to_now
from voicemails_seed import seed_voicemails

runner = CliRunner()


@pytest.fixture
def seeded(db: Database, tmp_path: Path) -> Seeded:
    """The seed, moved in time so that its NOW is the real now (the CLI uses the clock)."""
    with db.session() as s:
        out = seed(s, tmp_path / "data")
        shift_to_now(s)
    return out


def _run(db: Database, seeded: Seeded, *args: str, env: dict[str, str] | None = None):
    base = {"KEFU_CONFIG": str(seeded.data_dir / "none.toml")}
    return runner.invoke(
        app,
        [
            "recordings",
            *args,
            "--data-dir",
            str(seeded.data_dir),
            "--database-url",
            db.engine.url.render_as_string(hide_password=False),
        ],
        env={**base, **(env or {})},
    )


def _one_error_line(result, option: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert option in lines[0] and "Traceback" not in result.output


def test_list_masks_by_default_and_filters(db: Database, seeded: Seeded) -> None:
    r = _run(db, seeded, "list", "--limit", "3")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert [ln.split("\t")[-1] for ln in lines[:3]] == ["r-in-1", "r-in-2", "r-out-3"]
    assert "138****8001" in lines[0] and "13800138001" not in r.stdout
    assert lines[-1] == "3 of 10 recordings"
    full = _run(db, seeded, "list", "--number", "9002", "--full-numbers")
    assert full.exit_code == 0 and "13900139002" in full.stdout
    assert full.stdout.splitlines()[-1] == "1 of 1 recordings"
    agent = _run(db, seeded, "list", "--agent", "3002", "--since", "2026-01-01", "--limit", "50")
    assert agent.stdout.splitlines()[-1] == "4 of 4 recordings"


def test_list_bad_input_is_one_line(db: Database, seeded: Seeded) -> None:
    _one_error_line(_run(db, seeded, "list", "--since", "last week"), "--since")
    _one_error_line(_run(db, seeded, "list", "--number", "12ab"), "--number")
    _one_error_line(
        _run(db, seeded, "list", "--since", "2026-10-09", "--until", "2026-10-01"), "--until"
    )


def test_purge_dry_run_then_for_real(db: Database, seeded: Seeded) -> None:
    wavs = seeded.data_dir / "recordings"
    before = sorted(p.name for p in wavs.iterdir())
    dry = _run(db, seeded, "purge", "--older-than", "90", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would purge recording" in dry.stdout and "r-old-4.wav" in dry.stdout
    assert "would purge 3 recordings older than 90 days" in dry.stdout
    assert "kept 3 on hold" in dry.stdout and "dry run: nothing changed" in dry.stdout
    assert sorted(p.name for p in wavs.iterdir()) == before

    real = _run(db, seeded, "purge", "--older-than", "90")
    assert real.exit_code == 0, real.output
    assert "purged 3 recordings older than 90 days" in real.stdout
    left = {p.name for p in wavs.iterdir()}
    assert "r-old-4.wav" not in left and "r-old-9.wav" not in left
    assert {"r-old-5.wav", "r-old-6.wav", "r-old-7.wav", "r-old-8.wav"} <= left
    with db.session() as s:
        purged = s.scalars(select(Recording.call_id).where(Recording.purged_at.is_not(None)))
        assert set(purged) == {"r-old-4", "r-old-9", "r-old-10"}
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "recording.purge"))
        assert entry is not None and entry.target == "via:cli" and entry.detail["purged"] == 2
    listed = _run(db, seeded, "list", "--purged", "--limit", "50")
    assert listed.stdout.splitlines()[-1] == "3 of 3 recordings"


def test_purge_uses_the_retention_setting(db: Database, seeded: Seeded) -> None:
    keep = _run(db, seeded, "purge")
    assert keep.exit_code == 0 and "keep forever" in keep.stdout
    with db.session() as s:
        assert s.scalar(select(Recording).where(Recording.purged_at.is_not(None))) is None
    by_setting = _run(db, seeded, "purge", env={"KEFU_RECORDING_RETENTION_DAYS": "90"})
    assert by_setting.exit_code == 0, by_setting.output
    assert "purged 3 recordings older than 90 days" in by_setting.stdout


def test_purge_bad_input_is_one_line(db: Database, seeded: Seeded) -> None:
    for value in ("abc", "0", "-5", "1.5"):
        _one_error_line(_run(db, seeded, "purge", "--older-than", value), "--older-than")
    bad_env = _run(db, seeded, "purge", env={"KEFU_RECORDING_RETENTION_DAYS": "-1"})
    _one_error_line(bad_env, "KEFU_RECORDING_RETENTION_DAYS")


def test_purge_takes_old_voicemails_too(db: Database, seeded: Seeded) -> None:
    """CC-03/CC-04: voicemail files follow the recordings' retention (rows stay)."""
    with db.session() as s:
        seed_voicemails(s, seeded.data_dir, now=dt.datetime.now(dt.UTC))
    old = seeded.data_dir / "recordings" / "voicemail" / "vm-old.wav"
    dry = _run(db, seeded, "purge", "--older-than", "90", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would purge voicemail" in dry.stdout and "vm-old.wav" in dry.stdout and old.exists()
    real = _run(db, seeded, "purge", "--older-than", "90")
    assert real.exit_code == 0, real.output
    assert "purged 1 voicemails, kept 0 with an open callback, 0 failed" in real.stdout
    assert not old.exists() and (old.parent / "vm-1.wav").exists()
    with db.session() as s:
        gone = s.scalars(select(Voicemail.call_id).where(Voicemail.purged_at.is_not(None)))
        assert list(gone) == ["vm-old"]
