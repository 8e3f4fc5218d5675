"""Calls in progress on the real line, for the wallboard (CC-06).

The SIP line knows every call it carries, including those the core never sees (a caller
still in the IVR, extension-to-extension, 9 + number and click-to-dial calls). After each
switch event or core command it files a `CallProgress` for the call here; the wallboard
snapshot reads them from a web worker thread. In memory only, under a lock: no database
read on the SIP event loop, and the board never touches the line's mutable state.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

# The states a call shows on the board, in the order the board lists them.
STATES = ("ivr", "queued", "ringing", "talking", "on_hold", "voicemail", "survey", "ending")


@dataclass(frozen=True, slots=True)
class CallProgress:
    """One call in progress as the board shows it. Numbers are unmasked here."""

    call_id: str
    state: str  # one of STATES
    direction: str  # inbound | internal | outbound | click_to_dial
    caller: str
    callee: str
    started: float  # when the call arrived (epoch seconds)
    since: float = 0.0  # when it entered `state` (filled in by the registry)
    agent_id: str = ""  # the agent on (or being rung for) the call
    peer_agent_id: str = ""  # the called agent of an extension-to-extension call
    ringing: tuple[str, ...] = ()  # agents whose phones ring for the call
    queue: str = ""
    ivr_flow: str = ""
    ivr_node: str = ""
    supervisor_id: str = ""
    supervisor_mode: str = ""  # listen | whisper | barge | intercept


class CallsInProgress:
    """The registry the line writes and the wallboard reads (thread-safe)."""

    def __init__(self) -> None:
        self._calls: dict[str, CallProgress] = {}
        self._lock = threading.Lock()

    def put(self, view: CallProgress, now: float) -> CallProgress | None:
        """File `view`; returns the stored view if anything changed, else None."""
        with self._lock:
            old = self._calls.get(view.call_id)
            since = old.since if old is not None and old.state == view.state else now
            new = dataclasses.replace(view, since=since)
            if new == old:
                return None
            self._calls[view.call_id] = new
            return new

    def drop(self, call_id: str) -> bool:
        """Forget a call that ended; True if it was on the board."""
        with self._lock:
            return self._calls.pop(call_id, None) is not None

    def get(self, call_id: str) -> CallProgress | None:
        """The call's current view, if in progress."""
        with self._lock:
            return self._calls.get(call_id)

    def views(self) -> list[CallProgress]:
        """Every call in progress, oldest first."""
        with self._lock:
            calls = list(self._calls.values())
        return sorted(calls, key=lambda v: (v.started, v.call_id))

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)
