"""Users and roles, teams, agents, skills and skill groups."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.store.models.base import Base, enum_column, utcnow


class Role(enum.Enum):
    """What a user may do; checked on every endpoint."""

    AGENT = "agent"
    TEAM_LEADER = "team_leader"
    QA = "qa"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class User(Base):
    """A person who logs in: agent, team leader, QA, supervisor or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[dt.datetime | None]

    agent: Mapped[Agent | None] = relationship(back_populates="user", uselist=False)


class Team(Base):
    """A team of agents; its leaders are its members with the team_leader role."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Agent(Base):
    """The telephony side of a user: 工号, extension, SIP credentials, permissions."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    agent_no: Mapped[str] = mapped_column(String(32), unique=True)
    extension: Mapped[str] = mapped_column(String(32), unique=True)
    sip_ha1: Mapped[str | None] = mapped_column(String(64))  # digest HA1, never the password
    may_transfer_outside: Mapped[bool] = mapped_column(default=False)
    max_missed_rings: Mapped[int] = mapped_column(default=3)

    user: Mapped[User] = relationship(back_populates="agent")
    skills: Mapped[list[AgentSkill]] = relationship(
        back_populates="agent", cascade="all, delete-orphan"
    )


class Skill(Base):
    """A skill such as a language, a product or a business line."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(256), default="")


class AgentSkill(Base):
    """An agent's level (1-10) in a skill."""

    __tablename__ = "agent_skills"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(default=1)

    agent: Mapped[Agent] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class SkillGroup(Base):
    """A group agents sign in to and out of (签入/签出)."""

    __tablename__ = "skill_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(256), default="")


class SkillGroupMember(Base):
    """Membership of an agent in a skill group, and whether they are signed in now."""

    __tablename__ = "skill_group_members"
    __table_args__ = (UniqueConstraint("group_id", "agent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("skill_groups.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    signed_in: Mapped[bool] = mapped_column(default=False)
