"""Session timers (RFC 4028) for the switch's legs: negotiation and per-leg state.

Why our own and not aiosipua's: aiosipua 0.7.1 runs timers only on the UAS side with UPDATE
(it hands the refresher role to the peer when the peer lacks UPDATE, instead of refreshing by
re-INVITE), and a refresher whose refresh goes unanswered never notices (its docstring says
so). The switch needs both: refresh by UPDATE when the peer allows it, by re-INVITE otherwise,
and a BYE when a refresh is not answered or when a peer that refreshes stops doing so.

The switch holds one `LegSession` per leg. Timing (asyncio handles) lives in the switch; this
module only decides numbers and roles.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiosipua import SipRequest
from aiosipua.session_timer import parse_session_expires, watchdog_delay

__all__ = [
    "LegSession",
    "negotiate_inbound",
    "parse_session_expires",
    "refresh_deadline",
    "too_small",
    "watchdog_delay",
]


@dataclass(eq=False)
class LegSession:
    """One leg's negotiated session timer and the refresh in flight."""

    interval: int
    we_refresh: bool
    use_update: bool  # refresh by UPDATE (peer's Allow lists it), else by re-INVITE
    handle: asyncio.TimerHandle | None = None
    pending: SipRequest | None = None  # our refresh awaiting its final response
    pending_task: asyncio.Task[None] | None = None
    refreshes: int = 0  # refreshes done (by us, answered) or seen (from the peer)
    headers: dict[str, str] = field(default_factory=dict)

    def cancel(self) -> None:
        """Stop every timer of this leg."""
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        if self.pending_task is not None:
            self.pending_task.cancel()
            self.pending_task = None


def _tokens(request: SipRequest, name: str) -> set[str]:
    return {t.strip().lower() for v in request.headers.get(name.lower()) for t in v.split(",") if t}


def allows_update(request: SipRequest) -> bool:
    """Whether the peer lists UPDATE in Allow (absent Allow: assume not; re-INVITE is safe)."""
    return "update" in _tokens(request, "allow")


def too_small(request: SipRequest, min_se: int) -> bool:
    """A new INVITE whose Session-Expires is below our Min-SE (answer 422)."""
    raw = request.get_header("session-expires")
    if not raw:
        return False
    interval, _ = parse_session_expires(raw)
    return 0 < interval < min_se


def negotiate_inbound(request: SipRequest, default: int, min_se: int) -> LegSession:
    """Our answer to an INVITE (RFC 4028 9): interval and who refreshes.

    The interval is the one asked for (or ours when none), raised to both sides' Min-SE. The
    peer refreshes only when it said `refresher=uac` and supports timers; otherwise we do.
    """
    raw = request.get_header("session-expires") or ""
    asked, refresher = parse_session_expires(raw) if raw else (0, None)
    peer_min = 0
    with_min = request.get_header("min-se")
    if with_min:
        peer_min, _ = parse_session_expires(with_min)
    interval = max(asked or default, peer_min, min_se)
    supports = "timer" in _tokens(request, "supported") | _tokens(request, "require")
    we_refresh = not (refresher == "uac" and supports)
    return LegSession(interval, we_refresh, allows_update(request))


def refresh_deadline(interval: int) -> float:
    """How long a refresh may go unanswered before the session is dead (RFC 4028 10)."""
    return min(32.0, interval / 3.0)
