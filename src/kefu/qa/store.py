"""`kefu qa --store`: results go into the database next to their conversations.

The console's QA pages read them from there (kefu.services.qa_review), so the same
`store_result` is used here as for chats and demo calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kefu.store.db import Database


def store_results(db: Database, outcomes: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> int:
    """Store each (engine output, conversation) pair in one transaction; return how many."""
    from kefu.services.qa_review import store_result

    count = 0
    with db.session() as session:
        for result, record in outcomes:
            store_result(session, result, record)
            count += 1
    return count
