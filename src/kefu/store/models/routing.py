"""Queues, the numbers (DIDs) that reach them, and versioned IVR flows."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.store.models.base import Base, enum_column, utcnow


class Strategy(enum.Enum):
    """How a queue picks among available agents."""

    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    RANDOM = "random"
    RING_ALL = "ring_all"


class OverflowKind(enum.Enum):
    """Where a call goes when it has waited the queue's maximum."""

    NONE = "none"
    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"


class Queue(Base):
    """A call queue with its routing strategy, timeouts and overflow target."""

    __tablename__ = "queues"
    __table_args__ = (
        CheckConstraint("ring_timeout_s > 0", name="ring_timeout_positive"),
        CheckConstraint("max_wait_s > 0", name="max_wait_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    priority: Mapped[int] = mapped_column(default=0)
    strategy: Mapped[Strategy] = mapped_column(enum_column(Strategy), default=Strategy.LONGEST_IDLE)
    ring_timeout_s: Mapped[int] = mapped_column(default=15)
    max_wait_s: Mapped[int] = mapped_column(default=300)
    wrap_up_s: Mapped[int] = mapped_column(default=30)
    owner_wait_s: Mapped[int] = mapped_column(default=10)
    overflow: Mapped[OverflowKind] = mapped_column(
        enum_column(OverflowKind), default=OverflowKind.NONE
    )
    overflow_queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL")
    )
    skill_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("skill_groups.id", ondelete="SET NULL")
    )
    service_level_s: Mapped[int] = mapped_column(default=20)


class QueueSkill(Base):
    """A skill a queue requires, with the minimum level."""

    __tablename__ = "queue_skills"

    queue_id: Mapped[int] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    min_level: Mapped[int] = mapped_column(default=1)


class IvrFlow(Base):
    """A named IVR flow; its definitions are versioned in IvrFlowVersion."""

    __tablename__ = "ivr_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    active_version: Mapped[int | None]


class IvrFlowVersion(Base):
    """One saved version of a flow's YAML; old versions are kept."""

    __tablename__ = "ivr_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flows.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class NumberTarget(enum.Enum):
    """What a dialled number leads to."""

    IVR = "ivr"
    QUEUE = "queue"


class Number(Base):
    """A called number (400 number, local DID) mapped to an IVR flow or a queue."""

    __tablename__ = "numbers"
    __table_args__ = (
        CheckConstraint(
            "(target = 'ivr' AND ivr_flow_id IS NOT NULL) OR "
            "(target = 'queue' AND queue_id IS NOT NULL)",
            name="target_set",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    target: Mapped[NumberTarget] = mapped_column(enum_column(NumberTarget))
    ivr_flow_id: Mapped[int | None] = mapped_column(ForeignKey("ivr_flows.id", ondelete="RESTRICT"))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(String(256), default="")
