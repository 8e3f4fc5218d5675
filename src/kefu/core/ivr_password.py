"""Phone-password lockout (CC-03, seed 000 电话银行): 5 wrong tries in a day lock the account.

The count is per account and per calendar day, and it adds up across calls (当天累计).
A right password does not reset it. The next day starts from zero, so the lock lifts by
itself. The core is pure, so the store is an object handed in: `MemoryPasswordLocks` here,
and the service layer can implement `PasswordLockStore` over its database.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

DEFAULT_MAX_FAILURES = 5


class PasswordLockStore(Protocol):
    """Where wrong-password counts live, per account and day."""

    def failures(self, account: str, day: dt.date) -> int:
        """Wrong tries recorded for `account` on `day`."""
        ...

    def record_failure(self, account: str, day: dt.date) -> int:
        """Count one more wrong try and return the day's total."""
        ...


class MemoryPasswordLocks:
    """An in-memory `PasswordLockStore`; it forgets earlier days as it goes."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[dt.date, int]] = {}

    def failures(self, account: str, day: dt.date) -> int:
        """Wrong tries recorded for `account` on `day`."""
        seen = self._counts.get(account)
        return seen[1] if seen is not None and seen[0] == day else 0

    def record_failure(self, account: str, day: dt.date) -> int:
        """Count one more wrong try and return the day's total."""
        total = self.failures(account, day) + 1
        self._counts[account] = (day, total)
        return total


def is_locked(
    store: PasswordLockStore, account: str, day: dt.date, limit: int = DEFAULT_MAX_FAILURES
) -> bool:
    """True when `account` has used up its wrong tries for `day`."""
    return store.failures(account, day) >= limit
