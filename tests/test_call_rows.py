"""The CDR row statements of the core thread's hot path, on SQLite and PostgreSQL: the same
values the ORM wrote (enums by value, aware UTC times), kept columns kept, legs ended."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kefu.store import call_rows
from kefu.store.db import Database
from kefu.store.models import Call, CallLeg, Direction, Disposition, Party

T0 = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)


def _at(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def test_a_call_written_by_statements_reads_back_through_the_orm(db: Database) -> None:
    with db.session() as s:
        conn = s.connection()
        assert call_rows.set_call(conn, "c1", caller_region="北京") == 0  # no row yet
        call_rows.add_call(
            conn,
            id="c1",
            direction=Direction.INBOUND,
            caller="13800000000",
            callee="4001",
            offered_at=_at(0),
        )
        assert call_rows.call_exists(conn, "c1") and not call_rows.call_exists(conn, "c2")
        assert call_rows.set_call(conn, "c1", caller_region="北京") == 1
        call_rows.add_leg(
            conn, call_id="c1", party=Party.CUSTOMER, address="13800000000", started_at=_at(0)
        )
        call_rows.add_leg(conn, call_id="c1", party=Party.AGENT, address="7001", started_at=_at(1))
        call_rows.add_leg(conn, call_id="c1", party=Party.AGENT, address="7002", started_at=_at(2))
        # ringing twice: the first time stays
        call_rows.set_call(conn, "c1", keep=("ringing_at",), ringing_at=_at(1))
        call_rows.set_call(conn, "c1", keep=("ringing_at",), ringing_at=_at(2))
        leg = call_rows.latest_open_leg(conn, "c1", address="7002")
        assert leg is not None
        call_rows.set_leg(conn, leg, answered_at=_at(3))
        call_rows.set_call(conn, "c1", keep=("answered_at",), answered_at=_at(3))
        call_rows.set_call(conn, "c1", keep=("answered_at",), answered_at=_at(9))
        call_rows.add_to_call(conn, "c1", "held_seconds", 2.5)
        call_rows.add_to_call(conn, "c1", "held_seconds", 1.5)
        call_rows.end_open_legs(conn, "c1", _at(2.5), Party.AGENT, address="7001")
        assert call_rows.finish_call(conn, "c1", _at(10), Party.CUSTOMER)
        assert not call_rows.finish_call(conn, "c1", _at(11), Party.AGENT)  # ended once
        call_rows.end_open_legs(conn, "c1", _at(10), Party.CUSTOMER)
    with db.session() as s:
        call = s.get(Call, "c1")
        assert call is not None
        assert call.caller_region == "北京"
        assert call.ringing_at == _at(1) and call.answered_at == _at(3)
        assert call.ended_at == _at(10) and call.hangup_by is Party.CUSTOMER
        assert call.disposition is Disposition.ANSWERED  # it was answered
        assert call.held_seconds == 4.0 and call.acw_seconds == 0.0  # column default
        legs = {
            leg.address: leg for leg in s.scalars(select(CallLeg).where(CallLeg.call_id == "c1"))
        }
        assert legs["7001"].ended_at == _at(2.5) and legs["7001"].hangup_by is Party.AGENT
        assert legs["7002"].answered_at == _at(3) and legs["7002"].ended_at == _at(10)
        assert legs["13800000000"].hangup_by is Party.CUSTOMER


def test_an_unanswered_call_finishes_abandoned_and_a_set_disposition_stays(db: Database) -> None:
    with db.session() as s:
        conn = s.connection()
        for cid in ("a", "b"):
            call_rows.add_call(
                conn,
                id=cid,
                direction=Direction.INBOUND,
                caller="1",
                callee="2",
                offered_at=_at(0),
            )
        call_rows.set_call(conn, "b", disposition=Disposition.VOICEMAIL)
        call_rows.finish_call(conn, "a", _at(5), Party.CUSTOMER)
        call_rows.finish_call(conn, "b", _at(5), Party.CUSTOMER)
        fields = call_rows.call_fields(conn, "a", "disposition", "ended_at")
        assert fields is not None and fields.disposition is Disposition.ABANDONED
        assert fields.ended_at == _at(5)
        assert call_rows.call_fields(conn, "zzz", "ended_at") is None
    with db.session() as s:
        b = s.get(Call, "b")
        assert b is not None and b.disposition is Disposition.VOICEMAIL
