"""Roles, supervisor actions and who may do what (AG-15..AG-22).

The permission table is data: `PERMISSIONS[role]` is the set of actions the role may take.
The ACD engine checks it before any supervisor action, and every attempt, allowed or not,
produces an `AuditEvent` command (AG-22: every supervisor action goes to an audit log).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Role(enum.Enum):
    """A user's role in the center."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    AGENT = "agent"
    TEAM_LEADER = "team_leader"
    QA = "qa"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class SupervisorAction(enum.Enum):
    """What a supervisor can do to an agent or the agent's call."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    LISTEN = "listen"  # 监听
    WHISPER = "whisper"  # coach the agent; the customer does not hear
    BARGE = "barge"  # 强插: join as a third party
    STOP_MONITOR = "stop_monitor"
    INTERCEPT = "intercept"  # 拦截: take the customer over, drop the agent
    FORCE_HANGUP = "force_hangup"  # 强制挂机
    FORCE_LOGOUT = "force_logout"
    FORCE_BUSY = "force_busy"
    FORCE_IDLE = "force_idle"
    BLACKLIST = "blacklist"  # approve or lift a blacklist entry (AG-14)


class MonitorMode(enum.Enum):
    """How a supervisor is joined to a call."""

    __hash__ = object.__hash__  # C-level identity hash: table lookups are hot

    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


_ALL = frozenset(SupervisorAction)

PERMISSIONS: Mapping[Role, frozenset[SupervisorAction]] = {
    Role.AGENT: frozenset(),
    Role.QA: frozenset({SupervisorAction.LISTEN, SupervisorAction.STOP_MONITOR}),
    Role.TEAM_LEADER: frozenset(
        {
            SupervisorAction.LISTEN,
            SupervisorAction.WHISPER,
            SupervisorAction.STOP_MONITOR,
            SupervisorAction.FORCE_BUSY,
            SupervisorAction.FORCE_IDLE,
            SupervisorAction.BLACKLIST,
        }
    ),
    Role.SUPERVISOR: _ALL,
    Role.ADMIN: _ALL,
}

MONITOR_MODE_OF: Mapping[SupervisorAction, MonitorMode] = {
    SupervisorAction.LISTEN: MonitorMode.LISTEN,
    SupervisorAction.WHISPER: MonitorMode.WHISPER,
    SupervisorAction.BARGE: MonitorMode.BARGE,
}


def allowed(role: Role, action: SupervisorAction) -> bool:
    """Whether `role` may take `action`."""
    return action in PERMISSIONS[role]
