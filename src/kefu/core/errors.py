"""Errors of the pure core. Each says what was refused and why; the state is left unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kefu.errors import KefuError

if TYPE_CHECKING:
    from kefu.core.commands import AuditEvent


class CoreError(KefuError):
    """Base of every error raised by kefu.core."""


class IllegalTransition(CoreError):
    """An event asked for a state change that the transition table does not allow."""

    def __init__(self, what: str, state: object, trigger: object) -> None:
        self.what = what
        self.state = state
        self.trigger = trigger
        super().__init__(f"{what}: {trigger!s} is not allowed in state {state!s}")


class UnknownAgent(CoreError):
    """The event names an agent who is not logged in."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        super().__init__(f"agent {agent_id!r} is not logged in")


class UnknownCall(CoreError):
    """The event names a call the core does not hold."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        super().__init__(f"call {call_id!r} is not active")


class UnknownQueue(CoreError):
    """A queue name that is not configured."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(f"queue {queue!r} is not configured")


class PermissionDenied(CoreError):
    """The actor's role or permissions do not allow the action; `audit` must be logged."""

    def __init__(self, message: str, audit: AuditEvent | None = None) -> None:
        self.audit = audit
        super().__init__(message)


class ConfigInvalid(CoreError):
    """The center configuration is inconsistent (e.g. an overflow names a missing queue)."""
