"""Errors of the agent-assist package."""

from __future__ import annotations

from kefu.errors import KefuError


class AssistError(KefuError):
    """Base of every error the assist package raises on purpose: `file: problem`."""
