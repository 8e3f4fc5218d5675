"""Voicemails service (CC-03 留言) on SQLite and PostgreSQL: listing and filters, who sees
which, heard marks, callback tickets, the retention purge of their files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from kefu.services import recordings, tickets, voicemails
from kefu.services.recordings import RecordingsError, Viewer, parse_number
from kefu.services.voicemails import VoicemailFilter
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AuditEntry,
    Role,
    Ticket,
    TicketStatus,
    TicketType,
    User,
    Voicemail,
)
from voicemails_seed import NOW, SeededVm, seed_voicemails


@pytest.fixture
def seeded(db: Database, tmp_path: Path) -> SeededVm:
    with db.session() as s:
        tickets.seed_types(s)
        return seed_voicemails(s, tmp_path / "data")


@pytest.fixture
def people(db: Database) -> dict[str, Viewer]:
    """A viewer per role; the two agents have agent records."""
    out: dict[str, Viewer] = {}
    with db.session() as s:
        for name, role in (
            ("vm-agent", Role.AGENT),
            ("vm-agent2", Role.AGENT),
            ("vm-leader", Role.TEAM_LEADER),
            ("vm-qa", Role.QA),
            ("vm-super", Role.SUPERVISOR),
        ):
            user = User(username=name, display_name=name, role=role, password_hash="x")
            if role is Role.AGENT:
                user.agent = Agent(agent_no=name[-1] + "701", extension=name[-1] + "801")
            s.add(user)
            s.flush()
            out[name] = Viewer(user.id, role, user.agent.id if user.agent else None)
    return out


def _ids(db: Database, flt: VoicemailFilter, viewer: Viewer | None = None) -> list[str]:
    with db.session() as s:
        rows, _ = voicemails.search(s, flt, viewer or recordings.system_viewer())
        return [r.call_id for r in rows]


def test_newest_first_and_every_filter(db: Database, seeded: SeededVm) -> None:
    assert _ids(db, VoicemailFilter()) == ["vm-1", "vm-2", "vm-3", "vm-old"]
    with db.session() as s:
        rows, total = voicemails.search(s, VoicemailFilter(), recordings.system_viewer(), limit=1)
    assert total == 4 and rows[0].dialled == "4001" and rows[0].box == "售后"
    assert rows[0].caller == "13800138001" and not rows[0].as_dict()["heard"]
    day = dt.timedelta(days=1)
    assert _ids(db, VoicemailFilter(start=NOW - 2.5 * day)) == ["vm-1", "vm-2"]
    assert _ids(db, VoicemailFilter(end=NOW - 2.5 * day)) == ["vm-3", "vm-old"]
    assert _ids(db, VoicemailFilter(box="sales")) == ["vm-2", "vm-old"]
    assert _ids(db, VoicemailFilter(dialled="4001")) == ["vm-1", "vm-3"]
    assert _ids(db, VoicemailFilter(number=parse_number("7003"))) == ["vm-3"]
    assert _ids(db, VoicemailFilter(number=parse_number("138 0013 8001"))) == ["vm-1"]
    assert _ids(db, VoicemailFilter(heard=True)) == ["vm-2"]
    assert _ids(db, VoicemailFilter(heard=False)) == ["vm-1", "vm-3", "vm-old"]
    assert _ids(db, VoicemailFilter(purged=True)) == []
    with pytest.raises(RecordingsError) as err:
        _ids(db, VoicemailFilter(start=NOW, end=NOW - day))
    assert err.value.param == "end" and err.value.kind == "invalid"


def test_agents_see_only_the_callbacks_given_to_them(
    db: Database, seeded: SeededVm, people: dict[str, Viewer]
) -> None:
    agent, agent2 = people["vm-agent"], people["vm-agent2"]
    assert _ids(db, VoicemailFilter(), agent) == []
    assert _ids(db, VoicemailFilter(), people["vm-qa"]) == ["vm-1", "vm-2", "vm-3", "vm-old"]
    with db.session() as s:
        with pytest.raises(RecordingsError) as err:
            voicemails.get(s, seeded.ids["vm-3"], agent)
        assert err.value.kind == "forbidden"
        ticket = voicemails.create_callback(
            s,
            seeded.ids["vm-3"],
            people["vm-leader"],
            agent_id=agent.agent_id,
            note="请下午回电",
            now=NOW,
        )
        tt = s.get(TicketType, ticket.type_id)
        assert tt is not None and tt.code == "voicemail_callback"
        assert ticket.owner_id == agent.user_id and ticket.call_id == "vm-3"
        assert ticket.form_data["phone"] == "13700137003" and ticket.title.endswith("13700137003")
        assert ticket.due_at == NOW + dt.timedelta(hours=4)
    assert _ids(db, VoicemailFilter(), agent) == ["vm-3"]
    assert _ids(db, VoicemailFilter(), agent2) == []
    with db.session() as s:  # the agent may mark it heard; audited with who
        vm = voicemails.mark_heard(s, seeded.ids["vm-3"], agent, now=NOW)
        assert vm.heard_by == agent.user_id and vm.heard_at == NOW
        row = s.scalars(select(AuditEntry).where(AuditEntry.action == "voicemail.callback")).one()
        assert row.target == f"voicemail:{seeded.ids['vm-3']}"
    with db.session() as s:
        rows, _ = voicemails.search(s, VoicemailFilter(), agent)
        assert rows[0].ticket_owner == "vm-agent" and rows[0].ticket_status == "open"
        assert rows[0].heard_by == "vm-agent"


def test_callback_refusals(db: Database, seeded: SeededVm, people: dict[str, Viewer]) -> None:
    vid = seeded.ids["vm-1"]
    with db.session() as s:
        for who in ("vm-agent", "vm-qa"):
            with pytest.raises(RecordingsError) as err:
                voicemails.create_callback(s, vid, people[who])
            assert err.value.kind == "forbidden"
        with pytest.raises(RecordingsError) as err:
            voicemails.create_callback(s, vid, people["vm-super"], agent_id=999_999)
        assert err.value.kind == "invalid" and err.value.param == "agent_id"
        first = voicemails.create_callback(s, vid, people["vm-super"])
        assert first.owner_id == people["vm-super"].user_id  # nobody named: the creator's
    with db.session() as s:
        with pytest.raises(RecordingsError) as err:
            voicemails.create_callback(s, vid, people["vm-leader"])
        assert err.value.kind == "conflict"
        with pytest.raises(RecordingsError) as err:
            voicemails.create_callback(s, 999_999, people["vm-leader"])
        assert err.value.kind == "not-found"


def test_heard_is_kept_once_and_audited_and_qa_may_not_mark(
    db: Database, seeded: SeededVm, people: dict[str, Viewer]
) -> None:
    vid = seeded.ids["vm-1"]
    with db.session() as s:
        with pytest.raises(RecordingsError) as err:
            voicemails.mark_heard(s, vid, people["vm-qa"])
        assert err.value.kind == "forbidden"
        voicemails.mark_heard(s, vid, people["vm-leader"], now=NOW, source_ip="10.0.0.9")
    with db.session() as s:  # a second marking keeps the first
        voicemails.mark_heard(s, vid, people["vm-super"], now=NOW + dt.timedelta(hours=1))
    with db.session() as s:
        vm = s.get(Voicemail, vid)
        assert vm is not None and vm.heard_at == NOW and vm.heard_by == people["vm-leader"].user_id
        audit = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "voicemail.heard")))
    assert len(audit) == 1 and audit[0].actor_id == people["vm-leader"].user_id
    assert audit[0].source_ip == "10.0.0.9"
    assert _ids(db, VoicemailFilter(heard=False)) == ["vm-3", "vm-old"]


def test_the_retention_purge_deletes_old_voicemail_files_and_keeps_the_rows(
    db: Database, seeded: SeededVm, people: dict[str, Viewer]
) -> None:
    data = seeded.data_dir
    old = data / "recordings" / "voicemail" / "vm-old.wav"
    with db.session() as s:  # an open callback keeps an old voicemail
        ticket = voicemails.create_callback(s, seeded.ids["vm-old"], people["vm-super"])
        tid = ticket.id
    with db.session() as s:
        report = recordings.purge(s, data, 90, now=NOW)
    assert report.voicemails == [] and report.voicemails_kept == 1 and old.is_file()
    with db.session() as s:
        found = s.get(Ticket, tid)
        assert found is not None
        found.status = TicketStatus.RESOLVED
    with db.session() as s:
        dry = recordings.purge(s, data, 90, now=NOW, dry_run=True)
    assert [v for v, _, _ in dry.voicemails] == [seeded.ids["vm-old"]] and old.is_file()
    size = old.stat().st_size
    with db.session() as s:
        report = recordings.purge(s, data, 90, now=NOW)
    assert report.voicemails == [(seeded.ids["vm-old"], str(old), size)]
    assert not old.exists() and report.bytes_freed > 0
    assert (data / "recordings" / "voicemail" / "vm-1.wav").is_file()  # recent ones stay
    with db.session() as s:
        vm = s.get(Voicemail, seeded.ids["vm-old"])
        assert vm is not None and vm.purged_at == NOW
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "recording.purge")).all()
        assert audit[-1].detail["voicemails"]["purged"] == 1
        with pytest.raises(RecordingsError) as err:
            recordings.file_of(vm, data, "voicemail")
        assert err.value.kind == "gone" and err.value.noun == "voicemail"
    assert _ids(db, VoicemailFilter(purged=True)) == ["vm-old"]
