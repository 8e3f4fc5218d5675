"""Shared builders for the core tests (not a test module)."""

from __future__ import annotations

import random
from typing import Any

from kefu.core.acd import CenterConfig, ContactCenter
from kefu.core.commands import Command
from kefu.core.events import AgentLoggedIn
from kefu.core.queue import QueueConfig


def center(*queues: QueueConfig, **kw: Any) -> ContactCenter:
    """A center with the given queues (default: one queue 'q' on number 100)."""
    qs = queues or (QueueConfig("q", numbers=("100",)),)
    return ContactCenter(CenterConfig(queues=tuple(qs), **kw), rng=random.Random(7))


def login(cc: ContactCenter, *ids: str, now: float = 0.0, **kw: Any) -> None:
    """Log agents in (each one second apart so idle order is defined)."""
    for i, a in enumerate(ids):
        cc.handle(AgentLoggedIn(a, now + i, extension="8" + a, **kw))


def of(cmds: list[Command], kind: type) -> list[Any]:
    """Commands of one type."""
    return [c for c in cmds if type(c) is kind]
