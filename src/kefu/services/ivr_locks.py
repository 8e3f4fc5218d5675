"""Phone-password lockout across calls (CC-03): the core's `PasswordLockStore` over the database.

The core counts wrong tries per account and local day through a store it is handed
(kefu.core.ivr_password). In memory the count would restart with every call on the SIP
line; this store keeps it in `ivr_password_failures`, so 5 wrong tries spread over several
calls in one day lock the account, on every line process sharing the database. A new day
has no row yet, so the lock lifts by itself. Old days' rows are dropped by `forget_before`.

Each method opens its own short transaction: this is blocking database I/O, so an asyncio
caller should run it off the event loop (as the SIP line does with its other DB calls).
Accounts are stored as a SHA-256, not as the number the caller keyed.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kefu.store.db import Database
from kefu.store.models import IvrPasswordFailure


def account_key(account: str) -> str:
    """What the table keeps of an account number."""
    return hashlib.sha256(account.encode("utf-8")).hexdigest()


class DbPasswordLocks:
    """A `PasswordLockStore` kept in the database (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def failures(self, account: str, day: dt.date) -> int:
        """Wrong tries recorded for `account` on `day`."""
        with self.db.session() as s:
            found = s.scalar(
                select(IvrPasswordFailure.failures).where(
                    IvrPasswordFailure.account == account_key(account),
                    IvrPasswordFailure.day == day,
                )
            )
        return int(found or 0)

    def record_failure(self, account: str, day: dt.date) -> int:
        """Count one more wrong try and return the day's total.

        One atomic upsert, so two calls failing at once both count.
        """
        now = dt.datetime.now(dt.UTC)
        row = IvrPasswordFailure
        with self.db.session() as s:
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            stmt = (
                insert(row)
                .values(account=account_key(account), day=day, failures=1, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[row.account, row.day],
                    set_={"failures": row.failures + 1, "updated_at": now},
                )
                .returning(row.failures)
            )
            total = s.execute(stmt).scalar_one()
        return int(total)

    def forget_before(self, day: dt.date) -> int:
        """Drop the counts of days before `day` (they lock nothing any more)."""
        with self.db.session() as s:
            result = s.execute(delete(IvrPasswordFailure).where(IvrPasswordFailure.day < day))
            return int(getattr(result, "rowcount", 0) or 0)
