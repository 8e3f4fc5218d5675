"""Rulebooks (versioned) and QA results, findings, reviews (复核) and appeals (申诉)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.store.models.base import Base, enum_column, utcnow


class Rulebook(Base):
    """One saved version of a rulebook or profile (YAML); old versions are kept."""

    __tablename__ = "rulebooks"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    content: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class QaResult(Base):
    """The QA of one conversation: its score and the transcript it was computed from."""

    __tablename__ = "qa_results"
    __table_args__ = (
        Index("ix_qa_results_agent_checked", "agent_ref", "checked_at"),
        Index("ix_qa_results_conversation", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    agent_ref: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    profile: Mapped[str] = mapped_column(String(64))
    rulebook_id: Mapped[int | None] = mapped_column(ForeignKey("rulebooks.id", ondelete="SET NULL"))
    score: Mapped[int]
    original_score: Mapped[int]
    passed: Mapped[bool]
    not_applicable: Mapped[list[Any]] = mapped_column(default=list)
    conversation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime | None]
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    findings: Mapped[list[QaFinding]] = relationship(
        back_populates="result", cascade="all, delete-orphan", order_by="QaFinding.id"
    )


class FindingStatus(enum.Enum):
    """Whether a finding still counts."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    OVERTURNED = "overturned"


class QaFinding(Base):
    """One finding with its evidence: utterance, span, time, points."""

    __tablename__ = "qa_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("qa_results.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    utterance: Mapped[int | None]
    start: Mapped[float | None]
    span_start: Mapped[int | None]
    span_end: Mapped[int | None]
    evidence: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[FindingStatus] = mapped_column(
        enum_column(FindingStatus), default=FindingStatus.OPEN
    )

    result: Mapped[QaResult] = relationship(back_populates="findings")


class ReviewDecision(enum.Enum):
    """A reviewer's decision on a finding."""

    CONFIRM = "confirm"
    OVERTURN = "overturn"


class QaReview(Base):
    """A review (复核) of a finding; the score before and after is kept."""

    __tablename__ = "qa_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("qa_findings.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[ReviewDecision] = mapped_column(enum_column(ReviewDecision))
    comment: Mapped[str] = mapped_column(Text, default="")
    score_before: Mapped[int]
    score_after: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppealStatus(enum.Enum):
    """The life of an appeal."""

    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class QaAppeal(Base):
    """An agent's appeal (申诉) of a finding; a leader decides."""

    __tablename__ = "qa_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("qa_findings.id", ondelete="CASCADE"))
    appellant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(
        enum_column(AppealStatus), default=AppealStatus.PENDING
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]
    decision_comment: Mapped[str] = mapped_column(Text, default="")
