"""Customers and their history, blacklist, tickets and outbound tasks."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.store.models.base import Base, enum_column, utcnow


class Customer(Base):
    """A customer record: the screen pop shows it (CC-08)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str] = mapped_column(String(32), index=True)
    id_card_no: Mapped[str | None] = mapped_column(String(18))
    address: Mapped[str] = mapped_column(String(256), default="")
    is_member: Mapped[bool] = mapped_column(default=False)
    owner_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactKind(enum.Enum):
    """What kind of contact a history entry records."""

    CALL = "call"
    CHAT = "chat"
    SMS = "sms"
    ORDER = "order"
    TICKET = "ticket"
    NOTE = "note"


class ContactHistory(Base):
    """One entry of a customer's contact history (calls, SMS, orders, tickets)."""

    __tablename__ = "contact_history"
    __table_args__ = (Index("ix_contact_history_customer_at", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[ContactKind] = mapped_column(enum_column(ContactKind))
    ref: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[dt.datetime]


class RequestStatus(enum.Enum):
    """The state of a request awaiting a decision."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class BlacklistRequest(Base):
    """An agent's request to blacklist a number; a team leader decides (AG-14)."""

    __tablename__ = "blacklist_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus), default=RequestStatus.PENDING
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")


class BlacklistEntry(Base):
    """A number whose calls are rejected before they are queued."""

    __tablename__ = "blacklist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("blacklist_requests.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]


class TicketType(Base):
    """A configurable ticket or form type (BF-01) with its field schema (JSON)."""

    __tablename__ = "ticket_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list[Any]] = mapped_column(default=list)
    reply_within_hours: Mapped[int] = mapped_column(default=24)
    follow_up_required: Mapped[bool] = mapped_column(default=False)


class TicketStatus(enum.Enum):
    """The life of a ticket."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Ticket(Base):
    """A ticket (工单): its owner is whoever took the first contact (首问负责制)."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("ticket_types.id", ondelete="RESTRICT"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text, default="")
    form_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[TicketStatus] = mapped_column(
        enum_column(TicketStatus), default=TicketStatus.OPEN
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    first_contact_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    due_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    escalated_at: Mapped[dt.datetime | None]
    follow_up_done_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]


class TaskStatus(enum.Enum):
    """The life of an outbound task."""

    PENDING = "pending"
    DIALING = "dialing"
    DONE = "done"
    FAILED = "failed"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"


class OutboundTask(Base):
    """A call to make: from an agent, a supervisor's request, or a web registration (AG-07)."""

    __tablename__ = "outbound_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    assigned_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(16), default="agent")
    campaign: Mapped[str | None] = mapped_column(String(64))
    talking_points: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    deadline_at: Mapped[dt.datetime | None]
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), default=TaskStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # SLA-05: when the reminder fired in the agent's workspace, and when the task was done
    reminded_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
