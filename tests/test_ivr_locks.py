"""Phone-password lockout across calls (CC-03): the database lock store and two IVR sessions."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from kefu.core.ivr_events import PasswordChecked, PasswordLocked
from kefu.core.ivr_password import is_locked
from kefu.services.ivr_locks import DbPasswordLocks, account_key
from kefu.store.db import Database
from kefu.store.models import IvrPasswordFailure

DAY = dt.date(2026, 12, 4)


def test_counts_add_up_per_account_and_day(db: Database) -> None:
    store = DbPasswordLocks(db)
    assert store.failures("6222000011112222", DAY) == 0
    assert [store.record_failure("6222000011112222", DAY) for _ in range(3)] == [1, 2, 3]
    assert store.record_failure("6222000099998888", DAY) == 1  # another account
    assert store.failures("6222000011112222", DAY) == 3
    assert store.failures("6222000011112222", DAY + dt.timedelta(days=1)) == 0  # next day
    with db.session() as s:  # the number itself is not stored
        keys = set(s.scalars(select(IvrPasswordFailure.account)))
    assert keys == {account_key("6222000011112222"), account_key("6222000099998888")}
    assert store.forget_before(DAY + dt.timedelta(days=1)) == 2
    assert store.failures("6222000011112222", DAY) == 0


def test_a_second_store_on_the_same_database_sees_the_count(db: Database) -> None:
    DbPasswordLocks(db).record_failure("42", DAY)
    other = DbPasswordLocks(Database.from_url(db.engine.url.render_as_string(hide_password=False)))
    try:
        assert other.record_failure("42", DAY) == 2
    finally:
        other.db.dispose()


def test_concurrent_failures_all_count(db: Database) -> None:
    store = DbPasswordLocks(db)
    errors: list[BaseException] = []

    def fail() -> None:
        try:
            for _ in range(5):
                store.record_failure("777", DAY)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fail) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert store.failures("777", DAY) == 20
    assert is_locked(store, "777", DAY)


def test_five_wrong_tries_over_two_calls_lock_until_the_next_day(db: Database) -> None:
    """Each call gets its own store object, as on the SIP line: the count is the database's."""
    from test_ivr_session import BANK, Driver, SessionState

    monday = dt.datetime(2026, 3, 2, 10, 0)

    def call(now: dt.datetime, answers: list[bool]) -> Driver:
        d = Driver(BANK, now=now, variables={"account": "6222001"})
        d.session.locks = DbPasswordLocks(db)
        d.start()
        for ok in answers:
            if d.session.ended or d.session.state is not SessionState.COLLECTING:
                break
            d.press("123456")
            d.send(PasswordChecked(ok))
        return d

    first = call(monday, [False, False, False])  # 3 wrong: to an agent, not locked
    assert not any(isinstance(c, PasswordLocked) for c in first.log)
    second = call(monday + dt.timedelta(hours=2), [False, False])
    assert PasswordLocked("6222001", monday.date()) in second.log
    assert second.session.node_id == "locked"
    third = call(monday + dt.timedelta(hours=5), [True])  # locked before any try
    assert third.log[0] == PasswordLocked("6222001", monday.date())
    tomorrow = call(dt.datetime(2026, 3, 3, 0, 5), [True])
    assert tomorrow.session.node_id == "menu"
    assert not any(isinstance(c, PasswordLocked) for c in tomorrow.log)
