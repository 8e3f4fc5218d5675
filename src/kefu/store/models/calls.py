"""Call detail records: calls, legs, holds, recordings and satisfaction surveys."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.store.models.base import Base, enum_column


class Direction(enum.Enum):
    """Who started the call."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Disposition(enum.Enum):
    """How a call ended."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    VOICEMAIL = "voicemail"
    REJECTED = "rejected"
    # outbound calls (click-to-dial): the customer's line was busy, nobody answered it, or
    # the agent's own phone was not answered (then the customer was never dialled)
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    AGENT_NO_ANSWER = "agent_no_answer"


class Party(enum.Enum):
    """Who hung up, or who a leg connects."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    OUTSIDE = "outside"
    SYSTEM = "system"


class Call(Base):
    """One customer call, end to end (the CDR)."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_offered_at", "offered_at"),
        Index("ix_calls_caller", "caller"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    caller: Mapped[str] = mapped_column(String(32))
    callee: Mapped[str] = mapped_column(String(32))
    caller_region: Mapped[str | None] = mapped_column(String(64))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    offered_at: Mapped[dt.datetime]
    queued_at: Mapped[dt.datetime | None]
    ringing_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    held_seconds: Mapped[float] = mapped_column(default=0.0)
    acw_seconds: Mapped[float] = mapped_column(default=0.0)  # after-call work (文书处理)
    wait_seconds: Mapped[float | None]
    disposition: Mapped[Disposition | None] = mapped_column(enum_column(Disposition))
    hangup_by: Mapped[Party | None] = mapped_column(enum_column(Party, "hangup_by"))

    legs: Mapped[list[CallLeg]] = relationship(back_populates="call", cascade="all, delete-orphan")
    holds: Mapped[list[CallHold]] = relationship(cascade="all, delete-orphan")


class CallLeg(Base):
    """One party's leg of a call: customer, agent, supervisor or outside number."""

    __tablename__ = "call_legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    party: Mapped[Party] = mapped_column(enum_column(Party))
    address: Mapped[str] = mapped_column(String(128))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    codec: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    hangup_by: Mapped[Party | None] = mapped_column(enum_column(Party, "hangup_by"))

    call: Mapped[Call] = relationship(back_populates="legs")


class CallHold(Base):
    """One hold period of a call."""

    __tablename__ = "call_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class Recording(Base):
    """A call recording file: stereo, customer left, agent right.

    Retention (CC-04): the purge deletes the file and sets `purged_at`, keeping the row so
    CDRs and QA results still point at it. `retain_until` keeps it at least that long;
    `legal_hold` keeps it until the hold is lifted.
    """

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(512))
    channels: Mapped[int] = mapped_column(default=2)
    sample_rate: Mapped[int] = mapped_column(default=8000)
    duration_s: Mapped[float]
    created_at: Mapped[dt.datetime]
    retain_until: Mapped[dt.datetime | None] = mapped_column(index=True)
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    hold_reason: Mapped[str] = mapped_column(String(256), default="", server_default="")
    purged_at: Mapped[dt.datetime | None]


class Voicemail(Base):
    """A caller's message (CC-03 voicemail): mono 8 kHz WAV, recorded after the prompt.

    `heard_at`/`heard_by`: who first marked it heard in the console. `ticket_id`: the
    callback ticket made from it. Retention follows the recordings' (CC-04): the purge
    deletes the file and sets `purged_at`, keeping the row.
    """

    __tablename__ = "voicemails"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    box: Mapped[str] = mapped_column(String(64))  # the IVR's box or the queue's name
    caller: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(512))
    duration_s: Mapped[float]
    ended_by: Mapped[str] = mapped_column(String(16))  # key (#), hangup, max_length
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    heard_at: Mapped[dt.datetime | None]
    heard_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    purged_at: Mapped[dt.datetime | None]


class IvrPasswordFailure(Base):
    """Wrong phone-password tries per account and local day (CC-03 lockout across calls).

    `account` is a SHA-256 of the account number: the count needs no readable number.
    """

    __tablename__ = "ivr_password_failures"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime]


class SurveyResponse(Base):
    """A post-call satisfaction rating by keypress (CC-11) or in chat."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16), default="voice")
    score: Mapped[int]
    answered_at: Mapped[dt.datetime]


class SurveyTemplate(Base):
    """A survey an agent fills in during a call (AG-07); questions are JSON."""

    __tablename__ = "survey_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    questions: Mapped[list[Any]] = mapped_column(default=list)
