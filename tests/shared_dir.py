"""Where the shared material (spec, seeds, STC-3 data) lives: `../shared` beside the checkout.

A worktree under /work/wt/<name> finds it one level further up, and KEFU_SHARED_DIR names
it anywhere else. When it cannot be found the test run stops with an error saying so; no
test skips for want of it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _find() -> Path:
    env = os.environ.get("KEFU_SHARED_DIR")
    candidates = [Path(env)] if env else [REPO.parent / "shared", REPO.parents[1] / "shared"]
    for path in candidates:
        if (path / "spec").is_dir() and (path / "seeds").is_dir():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise RuntimeError(
        f"the shared material (spec/, seeds/, data/) is not at {tried}: "
        "clone the project beside ../shared or set KEFU_SHARED_DIR"
    )


SHARED = _find()
SEEDS = SHARED / "seeds"
SPEC = SHARED / "spec"
STC3 = SHARED / "data" / "stc3"
