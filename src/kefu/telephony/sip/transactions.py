"""aiosipua's transaction table, pruned at most once a second.

aiosipua 0.7.1 prunes expired transactions on every new one, scanning every transaction of
the last 32 s (Timer H): at 50 calls/s that is thousands of entries per new INVITE, BYE or
re-INVITE, and the scan was about a tenth of the switch's interpreter time. Pruning once a
second keeps each entry at most a second longer than its linger and costs one scan.
"""

from __future__ import annotations

import time
from typing import TypeVar

from aiosipua.transaction import TransactionLayer

T = TypeVar("T")


class PacedTransactionLayer(TransactionLayer):
    """TransactionLayer whose lazy expiry runs at most every `every` seconds."""

    def __init__(self, *, every: float = 1.0) -> None:
        super().__init__()
        self.every = every
        self._next_prune = 0.0

    def _prune_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self.every
        super()._prune_expired()


def paced(agent: T) -> T:
    """Give a SipUAC (or SipUAS) a paced transaction table; returns it."""
    agent.transactions = PacedTransactionLayer()  # type: ignore[attr-defined]
    return agent
