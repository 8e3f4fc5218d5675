"""Migration 0005: the CDR's disposition takes the outbound outcomes of click-to-dial on
both databases (the CHECK constraint of the old values is replaced), and refuses others."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kefu.store.db import Database
from kefu.store.models import Call, Direction, Disposition

T0 = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)


def test_outbound_dispositions_are_stored(db: Database) -> None:
    outcomes = (Disposition.BUSY, Disposition.NO_ANSWER, Disposition.AGENT_NO_ANSWER)
    with db.session() as s:
        for i, d in enumerate(outcomes):
            s.add(
                Call(
                    id=f"out{i}",
                    direction=Direction.OUTBOUND,
                    caller="8001",
                    callee="13900001111",
                    offered_at=T0,
                    disposition=d,
                )
            )
    with db.session() as s:
        assert [s.get(Call, f"out{i}").disposition for i in range(3)] == list(outcomes)  # type: ignore[union-attr]
    with pytest.raises(IntegrityError), db.engine.begin() as conn:  # the CHECK still holds
        conn.execute(
            text(
                "INSERT INTO calls (id, direction, caller, callee, offered_at, held_seconds,"
                " disposition) VALUES ('bad', 'outbound', '1', '2', :t, 0, 'maybe')"
            ),
            {"t": T0},
        )
