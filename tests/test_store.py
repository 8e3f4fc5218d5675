"""Storage on SQLite and PostgreSQL: migrations, every table, constraints, rollback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from kefu.store import migrate
from kefu.store.db import Database
from kefu.store.models import (
    Agent,
    AgentSkill,
    ArticleKind,
    AuditEntry,
    Base,
    BlacklistEntry,
    BlacklistRequest,
    Call,
    CallHold,
    CallLeg,
    ContactHistory,
    ContactKind,
    Customer,
    Direction,
    Disposition,
    IvrFlow,
    IvrFlowVersion,
    KbArticle,
    Number,
    NumberTarget,
    OutboundTask,
    Party,
    QaAppeal,
    QaFinding,
    QaResult,
    QaReview,
    Queue,
    QueueSkill,
    Recording,
    ReviewDecision,
    Role,
    Rulebook,
    Skill,
    SkillGroup,
    SkillGroupMember,
    Strategy,
    SurveyResponse,
    Team,
    Ticket,
    TicketType,
    User,
)
from kefu.store.repositories import BlacklistRepository, CallRepository, QaRepository

T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)


def test_migrations_build_the_models_schema(db: Database) -> None:
    """The migrated schema is exactly what the models declare: no drift."""
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_upgrade_is_idempotent(db: Database) -> None:
    migrate.upgrade(db.engine)
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_every_table_round_trips(db: Database) -> None:
    with db.session() as s:
        team = Team(name="一组")
        s.add(team)
        s.flush()
        leader = User(username="tl", role=Role.TEAM_LEADER, password_hash="x", team_id=team.id)
        user = User(username="li", display_name="李娜", role=Role.AGENT, password_hash="x")
        user.team_id = team.id
        user.agent = Agent(agent_no="1024", extension="8001", sip_ha1="0" * 32)
        skill = Skill(name="粤语")
        group = SkillGroup(name="售后")
        s.add_all([leader, user, skill, group])
        s.flush()
        assert user.agent is not None
        agent = user.agent
        s.add(AgentSkill(agent_id=agent.id, skill_id=skill.id, level=5))
        s.add(SkillGroupMember(group_id=group.id, agent_id=agent.id, signed_in=True))
        queue = Queue(name="默认", priority=5, strategy=Strategy.RING_ALL, skill_group_id=group.id)
        s.add(queue)
        s.flush()
        s.add(QueueSkill(queue_id=queue.id, skill_id=skill.id, min_level=3))
        flow = IvrFlow(name="main", active_version=1)
        s.add(flow)
        s.flush()
        s.add(IvrFlowVersion(flow_id=flow.id, version=1, definition="start: hello"))
        s.add(Number(number="4008001234", target=NumberTarget.IVR, ivr_flow_id=flow.id))
        s.add(Number(number="02088888888", target=NumberTarget.QUEUE, queue_id=queue.id))
        customer = Customer(
            name="王先生",
            phone="13800138000",
            is_member=True,
            owner_agent_id=agent.id,
            custom_fields={"等级": "金卡"},
        )
        s.add(customer)
        s.flush()
        call = Call(
            id="c-1",
            direction=Direction.INBOUND,
            caller="13800138000",
            callee="4008001234",
            caller_region="广东省广州市",
            queue_id=queue.id,
            agent_id=agent.id,
            customer_id=customer.id,
            offered_at=T0,
            queued_at=T0,
            ringing_at=T0,
            answered_at=T0 + dt.timedelta(seconds=6),
            ended_at=T0 + dt.timedelta(minutes=5),
            held_seconds=25.0,
            wait_seconds=6.0,
            disposition=Disposition.ANSWERED,
            hangup_by=Party.CUSTOMER,
        )
        call.legs.append(
            CallLeg(
                party=Party.CUSTOMER,
                address="sip:13800138000@trunk",
                started_at=T0,
                codec="PCMU",
                hangup_by=Party.CUSTOMER,
            )
        )
        call.holds.append(CallHold(started_at=T0, ended_at=T0 + dt.timedelta(seconds=25)))
        CallRepository(s).save(call)
        s.add(
            Recording(
                call_id="c-1",
                path="rec/c-1.wav",
                duration_s=300.0,
                created_at=T0,
                retain_until=T0 + dt.timedelta(days=180),
            )
        )
        s.add(SurveyResponse(call_id="c-1", agent_id=agent.id, score=5, answered_at=T0))
        s.add(
            ContactHistory(
                customer_id=customer.id, kind=ContactKind.CALL, ref="c-1", occurred_at=T0
            )
        )
        req = BlacklistRequest(number="13900000000", reason="骚扰", requested_by=user.id)
        s.add(req)
        s.flush()
        s.add(BlacklistEntry(number="13900000000", request_id=req.id))
        ttype = TicketType(
            code="complaint",
            name="投诉",
            reply_within_hours=24,
            follow_up_required=True,
            fields=[{"name": "内容"}],
        )
        s.add(ttype)
        s.flush()
        s.add(
            Ticket(
                type_id=ttype.id,
                title="信号差",
                customer_id=customer.id,
                call_id="c-1",
                owner_id=user.id,
                first_contact_by=user.id,
                due_at=T0,
            )
        )
        s.add(
            OutboundTask(
                number="13800138000",
                assigned_agent_id=agent.id,
                scheduled_at=T0,
                talking_points="回访",
            )
        )
        s.add(KbArticle(kind=ArticleKind.SCRIPT, title="开头语", body="您好，请问有什么可以帮您？"))
        book = Rulebook(name="default", version=1, content="version: 1", active=True)
        s.add(book)
        s.flush()
        result = QaResult(
            conversation_id="c-1",
            call_id="c-1",
            channel="voice",
            agent_ref="1024",
            agent_id=agent.id,
            profile="default",
            rulebook_id=book.id,
            score=90,
            original_score=90,
            passed=True,
            not_applicable=["LISTEN-RATE"],
            conversation={"id": "c-1", "utterances": []},
        )
        result.findings.append(
            QaFinding(
                rule="CLOSE-ASK-MORE",
                severity="major",
                points=-10,
                utterance=3,
                start=12.5,
                span_start=0,
                span_end=4,
                evidence="再见",
                message="未询问",
            )
        )
        QaRepository(s).add(result)
        finding = result.findings[0]
        s.add(
            QaReview(
                finding_id=finding.id,
                reviewer_id=leader.id,
                decision=ReviewDecision.OVERTURN,
                score_before=90,
                score_after=100,
            )
        )
        s.add(QaAppeal(finding_id=finding.id, appellant_id=user.id, reason="客户先挂机"))
        s.add(AuditEntry(action="supervisor.listen", actor_id=leader.id, target="c-1"))

    with db.session() as s:
        call = CallRepository(s).get("c-1")
        assert call is not None
        assert call.answered_at == T0 + dt.timedelta(seconds=6)
        assert call.answered_at.tzinfo is not None
        assert call.disposition is Disposition.ANSWERED and call.hangup_by is Party.CUSTOMER
        assert [leg.codec for leg in call.legs] == ["PCMU"]
        assert call.holds[0].ended_at == T0 + dt.timedelta(seconds=25)
        cust = s.scalar(select(Customer))
        assert cust is not None and cust.custom_fields == {"等级": "金卡"}
        assert BlacklistRepository(s).is_blacklisted("13900000000", T0)
        assert not BlacklistRepository(s).is_blacklisted("13800138000", T0)
        stored = s.scalar(select(QaResult))
        assert stored is not None
        assert stored.not_applicable == ["LISTEN-RATE"]
        assert [f.rule for f in stored.findings] == ["CLOSE-ASK-MORE"]


def test_foreign_keys_and_uniques_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(CallLeg(call_id="missing", party=Party.AGENT, address="x", started_at=T0))
    with db.session() as s:
        s.add(User(username="dup", role=Role.QA, password_hash="x"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(User(username="dup", role=Role.QA, password_hash="x"))
    # A number must point at the target its kind names.
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Number(number="400", target=NumberTarget.QUEUE))


def test_failed_migration_leaves_database_unchanged(database_url: str, tmp_path: Path) -> None:
    """A revision that fails after the good ones rolls all of them back."""
    bad = tmp_path / "bad_versions"
    bad.mkdir()
    head = migrate.head_revision()
    (bad / "9999_broken.py").write_text(
        "from alembic import op\n"
        "revision = '9999'\n"
        f"down_revision = {head!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n"
        "def upgrade():\n"
        "    op.execute('CREATE TABLE half_done (id INTEGER)')\n"
        "    op.execute('THIS IS NOT SQL')\n"
        "def downgrade():\n"
        "    pass\n"
    )
    database = Database.from_url(database_url)
    try:
        with pytest.raises(migrate.MigrationError, match="left unchanged"):
            migrate.upgrade(database.engine, extra_locations=[bad])
        assert inspect(database.engine).get_table_names() == []
        assert migrate.current_revision(database.engine) is None
        migrate.upgrade(database.engine)  # the real head still applies afterwards
        assert migrate.current_revision(database.engine) == head
    finally:
        database.dispose()


def test_a_second_session_in_the_same_thread_can_write_while_the_first_has_read(
    db: Database,
) -> None:
    # The web request's session reads, the center writes in its own session in the same
    # thread, then the request writes: none of them may wait on the others' lock.
    with db.session() as request:
        assert request.scalars(select(AuditEntry)).all() == []
        with db.session() as center:
            center.add(AuditEntry(action="supervisor.listen", target="a"))
        request.add(AuditEntry(action="ticket.create", target="b"))
    with db.session() as s:
        assert sorted(e.target for e in s.scalars(select(AuditEntry))) == ["a", "b"]


def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    # The write lock is taken at the first write; everything after it is still one unit.
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(AuditEntry(action="x", target="1"))
        s.flush()
        s.add(AuditEntry(action="x", target="2"))
        s.flush()
        raise RuntimeError("abort")
    with db.session() as s:
        assert s.scalars(select(AuditEntry)).all() == []


def test_sessions_inside_a_unit_are_one_transaction(db: Database) -> None:
    """`Database.unit()`: every `session()` of the thread in it joins one transaction, seen by
    others only at the end, and undone together when anything in it fails."""
    import threading

    def others_see() -> list[str]:  # another thread: its own connection
        seen: list[str] = []

        def read() -> None:
            with db.session() as s:
                seen.extend(sorted(e.target for e in s.scalars(select(AuditEntry))))

        t = threading.Thread(target=read)
        t.start()
        t.join()
        return seen

    with db.unit():
        with db.session() as first:
            first.add(AuditEntry(action="x", target="a"))
        with db.session() as second:
            assert second is first  # joined
            second.add(AuditEntry(action="x", target="b"))
            assert sorted(e.target for e in second.scalars(select(AuditEntry))) == ["a", "b"]
        assert others_see() == []  # not committed yet
    assert others_see() == ["a", "b"]
    with pytest.raises(RuntimeError), db.unit():
        with db.session() as s:
            s.add(AuditEntry(action="x", target="c"))
        with db.session() as s:
            s.add(AuditEntry(action="x", target="d"))
        raise RuntimeError("abort")
    assert others_see() == ["a", "b"]
