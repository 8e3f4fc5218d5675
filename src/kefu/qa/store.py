"""The `--store` hook: hand QA results to the database layer (kefu.store).

`store_results(results)` takes the output dicts of `Engine.check`. The database tables are
built on main in parallel; until kefu.store offers them here, storing reports a clear
one-line error instead of pretending to succeed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from kefu.qa.errors import QAError

Results = list[dict[str, Any]]


def store_results(results: Results) -> None:
    """Store QA results with kefu.store's QA repository; raises QAError when unavailable."""
    try:
        module = importlib.import_module("kefu.store.qa_results")
    except ImportError:
        raise QAError(
            "--store: this build has no QA tables yet (kefu.store.qa_results); "
            "results were printed but not stored"
        ) from None
    save: Callable[[Results], None] = module.save_results
    save(results)
