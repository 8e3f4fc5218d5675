"""Recordings service (CC-04) on SQLite and PostgreSQL: search filters, who sees what,
playback audit, legal hold, retention purge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from kefu.services import recordings
from kefu.services.recordings import (
    RecordingFilter,
    RecordingsError,
    ScopeKind,
    Viewer,
    next_purge_at,
    parse_number,
    parse_time,
)
from kefu.store.db import Database
from kefu.store.models import (
    AuditEntry,
    CallLeg,
    Direction,
    Disposition,
    Party,
    Recording,
    Role,
    User,
)
from recordings_seed import NOW, Seeded, seed

ALL = recordings.system_viewer()


@pytest.fixture
def seeded(db: Database, tmp_path: Path) -> Seeded:
    with db.session() as s:
        return seed(s, tmp_path / "data")


def _ids(db: Database, flt: RecordingFilter, viewer: Viewer = ALL, **kw: int) -> list[str]:
    with db.session() as s:
        rows, _ = recordings.search(s, flt, viewer, **kw)
        return [r.call_id for r in rows]


def test_search_newest_first_with_total_and_pages(db: Database, seeded: Seeded) -> None:
    everything = _ids(db, RecordingFilter())
    assert everything[:3] == ["r-in-1", "r-in-2", "r-out-3"]
    assert everything[-1] == "r-old-10" and len(everything) == 10
    with db.session() as s:
        rows, total = recordings.search(s, RecordingFilter(), ALL, limit=3, offset=3)
    assert total == 10
    assert [r.call_id for r in rows] == ["r-old-4", "r-old-5", "r-old-6"]
    first = _row(db, "r-in-1")
    assert first.agent_no == "3001" and first.queue == "录音售前"
    assert first.channels == 2 and first.duration_s == 30.0 and first.caller == "13800138001"
    assert first.qa_result_id is not None and first.findings == 0  # a credit is no finding


def _row(db: Database, call_id: str) -> recordings.RecordingRow:
    with db.session() as s:
        rows, _ = recordings.search(s, RecordingFilter(), ALL, limit=500)
    return next(r for r in rows if r.call_id == call_id)


def test_each_filter(db: Database, seeded: Seeded) -> None:
    day = dt.timedelta(days=1)
    assert _ids(db, RecordingFilter(start=NOW - 2.5 * day)) == ["r-in-1", "r-in-2"]
    assert _ids(db, RecordingFilter(start=NOW - 2.5 * day, end=NOW - 1.5 * day)) == ["r-in-2"]
    assert _ids(db, RecordingFilter(agent_id=seeded.agent2, end=NOW - 50 * day)) == [
        "r-old-4",
        "r-old-7",
        "r-old-8",
    ]
    assert _ids(db, RecordingFilter(agent_no="3002", start=NOW - 5 * day)) == ["r-in-2"]
    assert _ids(db, RecordingFilter(queue_id=seeded.q_post)) == ["r-in-2", "r-old-7", "r-old-8"]
    assert _ids(db, RecordingFilter(number="13700137003")) == ["r-out-3"]  # callee, full
    assert _ids(db, RecordingFilter(number="9002")) == ["r-in-2"]  # caller, last digits
    assert _ids(db, RecordingFilter(direction=Direction.OUTBOUND)) == ["r-out-3"]
    assert _ids(db, RecordingFilter(disposition=Disposition.ABANDONED)) == ["r-old-10"]
    assert _ids(db, RecordingFilter(min_duration=13, max_duration=15)) == [
        "r-old-7",
        "r-old-8",
        "r-old-9",
    ]
    assert _ids(db, RecordingFilter(has_findings=True)) == ["r-in-2", "r-old-7"]
    assert "r-in-2" not in _ids(db, RecordingFilter(has_findings=False))
    assert _ids(db, RecordingFilter(held=True)) == ["r-old-6"]
    assert _ids(db, RecordingFilter(purged=True)) == []


def test_who_sees_what(db: Database, seeded: Seeded) -> None:
    mine = Viewer(user_id=1, role=Role.AGENT, agent_id=seeded.agent1)
    assert mine.scope is ScopeKind.OWN
    own = _ids(db, RecordingFilter(), mine)
    assert own == ["r-in-1", "r-out-3", "r-old-5", "r-old-6", "r-old-9", "r-old-10"]
    # an agent asking for another agent's calls gets none, not theirs
    assert _ids(db, RecordingFilter(agent_id=seeded.agent2), mine) == []
    no_seat = Viewer(user_id=1, role=Role.AGENT, agent_id=None)
    assert _ids(db, RecordingFilter(), no_seat) == []
    leader_b = Viewer(user_id=1, role=Role.TEAM_LEADER, agent_id=None, team_id=seeded.team_b)
    assert leader_b.scope is ScopeKind.TEAM
    assert _ids(db, RecordingFilter(), leader_b) == [
        "r-in-2",
        "r-old-4",
        "r-old-7",
        "r-old-8",
    ]
    for role in (Role.QA, Role.SUPERVISOR, Role.ADMIN):
        assert len(_ids(db, RecordingFilter(), Viewer(user_id=1, role=role))) == 10
    with db.session() as s:
        rec_b = seeded.rec["r-in-2"]
        assert recordings.get(s, rec_b, leader_b).call_id == "r-in-2"
        with pytest.raises(RecordingsError) as err:
            recordings.get(s, rec_b, mine)
        assert err.value.kind == "forbidden"
        with pytest.raises(RecordingsError) as err:
            recordings.get(s, 99999, mine)
        assert err.value.kind == "not-found"


def test_viewer_of_reads_the_team(db: Database, seeded: Seeded) -> None:
    with db.session() as s:
        user = User(username="tl", role=Role.TEAM_LEADER, password_hash="x", team_id=seeded.team_a)
        s.add(user)
        s.flush()
        v = recordings.viewer_of(s, user.id, Role.TEAM_LEADER, None)
    assert v.team_id == seeded.team_a
    assert _ids(db, RecordingFilter(start=NOW - dt.timedelta(days=5)), v) == ["r-in-1", "r-out-3"]
    # a leader of no team sees only their own calls: with no seat, none
    lone = Viewer(user_id=1, role=Role.TEAM_LEADER, agent_id=None, team_id=None)
    assert lone.scope is ScopeKind.OWN and _ids(db, RecordingFilter(), lone) == []


def test_bad_values_name_the_parameter() -> None:
    for call, param in (
        (lambda: parse_time("yesterday", "start"), "start"),
        (lambda: parse_time("2026-13-01", "end", end=True), "end"),
        (lambda: parse_number("13a8", "number"), "number"),
        (lambda: parse_number("12", "number"), "number"),
        (lambda: RecordingFilter(start=NOW, end=NOW).check(), "end"),
        (lambda: RecordingFilter(min_duration=5, max_duration=1).check(), "max_duration"),
    ):
        with pytest.raises(RecordingsError) as err:
            call()
        assert err.value.param == param and str(err.value).startswith(param)
    assert parse_number("+86 138-0013-8000") == "8613800138000"
    assert parse_time("2026-10-01", "start") == dt.datetime(2026, 10, 1, tzinfo=NOW.tzinfo)
    assert parse_time("2026-10-01", "end", end=True) == dt.datetime(2026, 10, 2, tzinfo=NOW.tzinfo)
    assert parse_time("2026-10-01T08:00:00Z", "start") == dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)


def test_playback_audit_once_per_window_downloads_always(db: Database, seeded: Seeded) -> None:
    with db.session() as s:
        user = User(username="qa9", role=Role.QA, password_hash="x")
        s.add(user)
        s.flush()
        uid = user.id
    rid = seeded.rec["r-in-1"]
    with db.session() as s:
        rec = s.get(Recording, rid)
        assert rec is not None
        t = NOW.astimezone(dt.UTC)
        assert recordings.audit_access(s, rec, uid, download=False, via="t", now=t)
        assert not recordings.audit_access(
            s, rec, uid, download=False, via="t", byte_range="bytes=100-", now=t
        )
        assert recordings.audit_access(s, rec, uid, download=True, via="t", now=t)
        later = t + recordings.PLAY_AUDIT_WINDOW + dt.timedelta(seconds=1)
        assert recordings.audit_access(s, rec, uid, download=False, via="t", now=later)
    with db.session() as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.target == f"recording:{rid}")
            .order_by(AuditEntry.id)
        ).all()
        assert [r.action for r in rows] == [
            "recording.play",
            "recording.download",
            "recording.play",
        ]
        assert rows[0].actor_name == "qa9" and rows[0].detail["call_id"] == "r-in-1"


def test_purge_keeps_held_recordings_and_the_rows(db: Database, seeded: Seeded) -> None:
    data = seeded.data_dir
    wavs_before = sorted(p.name for p in (data / "recordings").iterdir())
    with db.session() as s:
        dry = recordings.purge(s, data, 90, dry_run=True, now=NOW)
    assert sorted(i for i, _, _ in dry.purged) == sorted(
        [seeded.rec["r-old-4"], seeded.rec["r-old-9"]]
    )
    assert dry.missing == [seeded.rec["r-old-10"]]
    assert dry.kept_on_hold == 3  # legal hold, open complaint, pending appeal
    assert sorted(p.name for p in (data / "recordings").iterdir()) == wavs_before
    with db.session() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "recording.purge")) is None
        assert all(r.purged_at is None for r in s.scalars(select(Recording)))

    with db.session() as s:
        report = recordings.purge(s, data, 90, now=NOW, via="test")
    assert report.bytes_freed > 0 and not report.failed
    left = sorted(p.name for p in (data / "recordings").iterdir())
    assert "r-old-4.wav" not in left and "r-old-9.wav" not in left
    for kept in ("r-old-5", "r-old-6", "r-old-7", "r-old-8", "r-in-1", "r-in-2", "r-out-3"):
        assert f"{kept}.wav" in left
    with db.session() as s:
        purged = {
            r.call_id for r in s.scalars(select(Recording).where(Recording.purged_at.is_not(None)))
        }
        assert purged == {"r-old-4", "r-old-9", "r-old-10"}
        assert s.scalar(select(Recording).where(Recording.call_id == "r-old-4")) is not None
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "recording.purge"))
        assert entry is not None and entry.target == "via:test"
        assert entry.detail["purged"] == 2 and entry.detail["missing"] == 1
        assert entry.detail["kept_on_hold"] == 3
    # searchable still, marked purged; the file is gone for good
    assert _ids(db, RecordingFilter(purged=True)) == ["r-old-4", "r-old-9", "r-old-10"]
    with db.session() as s:
        rec = s.get(Recording, seeded.rec["r-old-4"])
        assert rec is not None
        with pytest.raises(RecordingsError) as err:
            recordings.file_of(rec, data)
        assert err.value.kind == "gone"
    # a second run finds nothing new; lifting the hold lets the next purge take it
    with db.session() as s:
        again = recordings.purge(s, data, 90, now=NOW)
        assert again.purged == [] and again.missing == []
        recordings.set_hold(s, seeded.rec["r-old-6"], False, "", None)
    with db.session() as s:
        third = recordings.purge(s, data, 90, now=NOW)
    assert [i for i, _, _ in third.purged] == [seeded.rec["r-old-6"]]
    # retain_until passed: r-old-8 goes too
    with db.session() as s:
        fourth = recordings.purge(s, data, 90, now=NOW + dt.timedelta(days=31))
    assert [i for i, _, _ in fourth.purged] == [seeded.rec["r-old-8"]]


def test_purge_refuses_zero_days_and_hold_needs_a_reason(db: Database, seeded: Seeded) -> None:
    with db.session() as s:
        with pytest.raises(RecordingsError) as err:
            recordings.purge(s, seeded.data_dir, 0)
        assert err.value.param == "older_than_days"
        with pytest.raises(RecordingsError) as err:
            recordings.set_hold(s, seeded.rec["r-in-1"], True, "  ", None)
        assert err.value.param == "reason"
    assert recordings.scheduled_purge(db, seeded.data_dir, 0) is None


def test_next_purge_time_is_local() -> None:
    at = dt.time(3, 0)
    before = dt.datetime(2026, 10, 10, 2, 0, tzinfo=NOW.tzinfo)
    assert next_purge_at(before, at) == dt.datetime(2026, 10, 10, 3, 0, tzinfo=NOW.tzinfo)
    after = dt.datetime(2026, 10, 10, 3, 0, tzinfo=NOW.tzinfo)
    assert next_purge_at(after, at) == dt.datetime(2026, 10, 11, 3, 0, tzinfo=NOW.tzinfo)
    utc = dt.datetime(2026, 10, 9, 20, 0, tzinfo=dt.UTC)  # 04:00 in Shanghai
    assert next_purge_at(utc, at) == dt.datetime(2026, 10, 11, 3, 0, tzinfo=NOW.tzinfo)


def test_an_agent_leg_counts_as_handling_the_call(db: Database, seeded: Seeded) -> None:
    """After a transfer to agent1, agent1 (and team A's leader) may hear agent2's call."""
    mine = Viewer(user_id=1, role=Role.AGENT, agent_id=seeded.agent1)
    leader_a = Viewer(user_id=1, role=Role.TEAM_LEADER, team_id=seeded.team_a)
    recent = RecordingFilter(start=NOW - dt.timedelta(days=5))
    assert _ids(db, recent, mine) == ["r-in-1", "r-out-3"]
    with db.session() as s:
        s.add(
            CallLeg(
                call_id="r-in-2",
                party=Party.AGENT,
                address="sip:71001@kefu",
                agent_id=seeded.agent1,
                started_at=NOW - dt.timedelta(days=2),
            )
        )
    assert _ids(db, recent, mine) == ["r-in-1", "r-in-2", "r-out-3"]
    assert _ids(db, recent, leader_a) == ["r-in-1", "r-in-2", "r-out-3"]
    with db.session() as s:
        assert recordings.get(s, seeded.rec["r-in-2"], mine).call_id == "r-in-2"
