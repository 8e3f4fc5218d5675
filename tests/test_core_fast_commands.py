"""The engine's hot-path command constructors build the same objects as the dataclasses."""

from __future__ import annotations

import dataclasses

import pytest

from kefu.core.call import Outcome
from kefu.core.commands import (
    CallHandled,
    CallRecord,
    RingAgent,
    call_handled,
    call_record,
    ring_agent,
)


def test_fast_constructors_equal_the_dataclasses() -> None:
    pairs = [
        (
            ring_agent("c1", "a1", "8001", "13800138000", "广东省深圳市", 20.0),
            RingAgent("c1", "a1", "8001", "13800138000", "广东省深圳市", 20.0),
        ),
        (
            call_record("c1", "sales", Outcome.ANSWERED, 1.5, 3.25, "a1"),
            CallRecord("c1", "sales", Outcome.ANSWERED, 1.5, 3.25, "a1"),
        ),
        (
            call_handled("c1", "a1", "sales", 180.0, 10.0),
            CallHandled("c1", "a1", "sales", 180.0, 10.0),
        ),
    ]
    for fast, slow in pairs:
        assert type(fast) is type(slow)
        assert fast == slow
        assert hash(fast) == hash(slow)
        assert repr(fast) == repr(slow)
        assert dataclasses.astuple(fast) == dataclasses.astuple(slow)


def test_fast_built_commands_stay_frozen() -> None:
    r = ring_agent("c1", "a1", "8001", "13800138000", "", 20.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.agent_id = "a2"  # type: ignore[misc]
