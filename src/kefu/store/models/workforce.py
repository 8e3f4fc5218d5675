"""Agent working time (CC-10): every state an agent was in, with its interval."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.store.models.base import Base


class AgentStateLog(Base):
    """One interval an agent spent in one state (示闲, 示忙, 小休, 通话, 保持, 文书处理 ...).

    A row opens when the agent enters the state and closes (`ended_at`) when they leave it;
    logged-out time has no row. `call_id` names the call of on-call, on-hold and after-call
    work intervals, so handling time can be attributed to the call's queue.
    """

    __tablename__ = "agent_state_log"
    __table_args__ = (Index("ix_agent_state_log_agent_id_started_at", "agent_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(32))  # kefu.core.agent.AgentState value
    reason: Mapped[str] = mapped_column(String(64), default="")
    call_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(index=True)
    ended_at: Mapped[dt.datetime | None]


class HolidayDay(Base):
    """One day of an admin-entered official holiday schedule (SV-04): a day off of a festival,
    or a make-up workday (调休, `festival` None). A year with rows replaces the library's
    calendar and the lunar estimate for that year."""

    __tablename__ = "holiday_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    day: Mapped[dt.date] = mapped_column(unique=True)
    festival: Mapped[str | None] = mapped_column(String(32))  # kefu.core.calendar.Festival
