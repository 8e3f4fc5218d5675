"""CC-05: outbound campaigns (外呼任务) and their task lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.store.models.base import Base, utcnow


class Campaign(Base):
    """A task list dialled for one queue in one mode (preview, progressive, predictive)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    queue: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # kefu.core.dialer.Mode values
    state: Mapped[str] = mapped_column(String(16), default="draft")  # CampaignState values
    max_attempts: Mapped[int] = mapped_column(default=3)
    retry_delays: Mapped[dict[str, Any]] = mapped_column(default=dict)  # outcome -> seconds
    abandon_cap: Mapped[float] = mapped_column(Float, default=0.03)
    source: Mapped[str] = mapped_column(String(256), default="")  # the imported file's name
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignTask(Base):
    """One number of a campaign, with its owner agent (工号) and customer, and its progress."""

    __tablename__ = "campaign_tasks"
    __table_args__ = (
        UniqueConstraint("campaign_id", "task_key", name="uq_campaign_tasks_campaign_key"),
        Index("ix_campaign_tasks_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    task_key: Mapped[str] = mapped_column(String(64))  # the dialer's task id
    number: Mapped[str] = mapped_column(String(32))
    owner_agent: Mapped[str | None] = mapped_column(String(32))  # agent_no
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    source_line: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # core TaskStatus values
    attempts: Mapped[int] = mapped_column(default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    next_at: Mapped[dt.datetime | None]
    last_call_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
