"""The audio package's base error."""

from __future__ import annotations

from kefu.errors import KefuError


class AudioError(KefuError):
    """An audio file or stream is unusable: the message says which and why."""
