"""The chat channel (SV-05): customer sessions, agents, automatic replies, the guard, QA.

Sessions live in memory (one web process). A customer starts a chat with no login and
gets a token; agents accept chats in the workspace. When no agent is free, or outside
service hours (configurable in chat.yaml, holidays from kefu.core.calendar), the customer
gets an automatic reply (texts in chat.yaml). Every agent message passes the forbidden-
phrase guard (SV-03) before it is sent: a blocked draft comes back with the phrase and a
standard replacement. A closed chat is checked by the QA engine and stored in qa_results.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from kefu.core.calendar import HolidayCalendar
from kefu.errors import KefuError
from kefu.services.live import LiveHub
from kefu.store.db import Database
from kefu.store.models import QaFinding, QaResult

CONFIG_FILE = Path(__file__).with_name("chat.yaml")


class ChatError(KefuError):
    """A chat operation was refused."""


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """Service hours, automatic replies and limits."""

    timezone: str
    hours: tuple[tuple[dt.time, dt.time], ...]
    open_on_holidays: bool
    max_chats_per_agent: int
    profile: str
    replies: dict[str, str]

    @classmethod
    def load(cls, path: Path = CONFIG_FILE) -> ChatConfig:
        """Read chat.yaml."""
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        hours = tuple((dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in raw["hours"])
        return cls(
            timezone=raw.get("timezone", "Asia/Shanghai"),
            hours=hours,
            open_on_holidays=bool(raw.get("open_on_holidays", False)),
            max_chats_per_agent=int(raw.get("max_chats_per_agent", 3)),
            profile=str(raw.get("profile", "default")),
            replies=dict(raw["replies"]),
        )


@dataclass(slots=True)
class Message:
    """One chat message."""

    role: str  # customer | agent | system
    text: str
    at: dt.datetime


@dataclass(slots=True)
class ChatSession:
    """One customer conversation."""

    id: str
    token: str
    customer_name: str
    phone: str
    started_at: dt.datetime
    status: str = "waiting"  # waiting | active | closed
    agent_id: int | None = None
    agent_name: str = ""
    messages: list[Message] = field(default_factory=list)
    qa_result_id: int | None = None

    def public(self) -> dict[str, Any]:
        """The session as JSON."""
        return {
            "id": self.id,
            "customer_name": self.customer_name,
            "phone": self.phone,
            "status": self.status,
            "agent_id": self.agent_id,
            "started_at": self.started_at.isoformat(),
            "messages": [
                {"role": m.role, "text": m.text, "at": m.at.isoformat()} for m in self.messages
            ],
            "qa_result_id": self.qa_result_id,
        }


class Guard:
    """The forbidden-phrase guard of kefu.assist (SV-03) for the chat profile."""

    def __init__(self, profile: str = "default") -> None:
        self.profile = profile

    def check(self, draft: str) -> dict[str, Any] | None:
        """None when the draft may be sent; else the first hit: rule, phrase, replacement."""
        from kefu.assist import guard

        hits = guard(draft, self.profile)
        if not hits:
            return None
        h = hits[0]
        return {
            "rule": h.rule,
            "phrase": h.phrase,
            "start": h.start,
            "end": h.end,
            "message": h.message,
            "replacement": h.replacement,
            "more": len(hits) - 1,
        }


class ChatService:
    """Chat sessions of this process. See the module docstring."""

    def __init__(
        self,
        db: Database,
        hub: LiveHub,
        config: ChatConfig | None = None,
        calendar: HolidayCalendar | None = None,
    ) -> None:
        self.db = db
        self.hub = hub
        self.config = config or ChatConfig.load()
        self.calendar = calendar or HolidayCalendar()
        self.guard = Guard(self.config.profile)
        self.sessions: dict[str, ChatSession] = {}
        self.by_token: dict[str, ChatSession] = {}
        self.online: dict[int, str] = {}  # agent user id -> name, while their chat panel is open
        self._lock = threading.RLock()
        self._seq = 0

    # -- hours -------------------------------------------------------------------------
    def in_service(self, now: dt.datetime) -> bool:
        """Whether `now` is within service hours on a business day."""
        local = now.astimezone(ZoneInfo(self.config.timezone))
        if not self.config.open_on_holidays and not self.calendar.is_workday(local.date()):
            return False
        t = local.time()
        return any(a <= t < b for a, b in self.config.hours)

    def free_agents(self) -> list[int]:
        """Online agents with room for another chat."""
        load: dict[int, int] = dict.fromkeys(self.online, 0)
        for s in self.sessions.values():
            if s.status == "active" and s.agent_id in load:
                load[s.agent_id] += 1
        return [a for a, n in load.items() if n < self.config.max_chats_per_agent]

    # -- customer side -----------------------------------------------------------------
    def start(self, customer_name: str, phone: str, now: dt.datetime | None = None) -> ChatSession:
        """A customer opens a chat; the automatic reply tells them what happens next."""
        now = now or dt.datetime.now(dt.UTC)
        with self._lock:
            self._seq += 1
            s = ChatSession(
                id=f"chat-{int(now.timestamp())}-{self._seq}",
                token=secrets.token_urlsafe(24),
                customer_name=customer_name.strip()[:64],
                phone=phone.strip()[:32],
                started_at=now,
            )
            self.sessions[s.id] = s
            self.by_token[s.token] = s
            replies = self.config.replies
            if not self.in_service(now):
                self._system(s, replies["off_hours"], now)
            elif not self.free_agents():
                self._system(s, replies["queued"], now)
            else:
                self._system(s, replies["welcome"], now)
        self.hub.publish("chat-agents", {"type": "chat_waiting", "chat": s.public()})
        return s

    def session_for_token(self, token: str) -> ChatSession:
        """The session of a customer token."""
        s = self.by_token.get(token)
        if s is None:
            raise ChatError("chat: unknown or expired session")
        return s

    def customer_says(self, token: str, text: str, now: dt.datetime | None = None) -> Message:
        """A customer message."""
        s = self.session_for_token(token)
        if s.status == "closed":
            raise ChatError("chat: the conversation is closed")
        text = text.strip()[:2000]
        if not text:
            raise ChatError("text: empty message")
        msg = Message("customer", text, now or dt.datetime.now(dt.UTC))
        self._append(s, msg)
        return msg

    # -- agent side --------------------------------------------------------------------
    def agent_online(self, user_id: int, name: str, online: bool) -> None:
        """The agent's chat panel opened or closed."""
        with self._lock:
            if online:
                self.online[user_id] = name
            else:
                self.online.pop(user_id, None)

    def waiting(self) -> list[ChatSession]:
        """Chats no agent has taken yet."""
        return [s for s in self.sessions.values() if s.status == "waiting"]

    def of_agent(self, user_id: int) -> list[ChatSession]:
        """The agent's active chats."""
        return [s for s in self.sessions.values() if s.agent_id == user_id and s.status == "active"]

    def get(self, chat_id: str) -> ChatSession:
        """One session by id."""
        s = self.sessions.get(chat_id)
        if s is None:
            raise ChatError(f"chat {chat_id}: not found")
        return s

    def accept(
        self, chat_id: str, user_id: int, name: str, now: dt.datetime | None = None
    ) -> ChatSession:
        """An agent takes a waiting chat."""
        with self._lock:
            s = self.get(chat_id)
            if s.status != "waiting":
                raise ChatError(f"chat {chat_id}: already {s.status}")
            s.status = "active"
            s.agent_id = user_id
            s.agent_name = name
            self._system(s, self.config.replies["agent_joined"].format(agent=name), now)
        self.hub.publish("chat-agents", {"type": "chat_taken", "chat_id": chat_id})
        return s

    def _own(self, chat_id: str, user_id: int) -> ChatSession:
        s = self.get(chat_id)
        if s.agent_id != user_id:
            raise ChatError(f"chat {chat_id}: not yours")
        return s

    def agent_says(
        self, chat_id: str, user_id: int, text: str, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Send an agent message after the guard; a blocked draft is not sent."""
        s = self._own(chat_id, user_id)
        if s.status != "active":
            raise ChatError(f"chat {chat_id}: not active")
        text = text.strip()[:2000]
        if not text:
            raise ChatError("text: empty message")
        blocked = self.guard.check(text)
        if blocked is not None:
            return {"sent": False, "guard": blocked}
        msg = Message("agent", text, now or dt.datetime.now(dt.UTC))
        self._append(s, msg)
        return {"sent": True}

    def close(
        self,
        chat_id: str,
        user_id: int | None,
        agent_ref: int | None = None,
        now: dt.datetime | None = None,
    ) -> ChatSession:
        """End the chat (by its agent, or the customer when user_id is None) and QA it."""
        now = now or dt.datetime.now(dt.UTC)
        with self._lock:
            s = self.get(chat_id) if user_id is None else self._own(chat_id, user_id)
            if s.status == "closed":
                return s
            self._system(s, self.config.replies["closed"], now)
            s.status = "closed"
        s.qa_result_id = self._qa(s, agent_ref)
        self.hub.publish(f"chat:{s.id}", {"type": "closed"})
        return s

    # -- internals ---------------------------------------------------------------------
    def _system(self, s: ChatSession, text: str, now: dt.datetime | None) -> None:
        self._append(s, Message("system", text, now or dt.datetime.now(dt.UTC)))

    def _append(self, s: ChatSession, msg: Message) -> None:
        s.messages.append(msg)
        event = {
            "type": "message",
            "chat_id": s.id,
            "role": msg.role,
            "text": msg.text,
            "at": msg.at.isoformat(),
        }
        self.hub.publish(f"chat:{s.id}", event)

    def record(self, s: ChatSession) -> dict[str, Any]:
        """The conversation in the interchange format (CONVERSATION-FORMAT.md)."""
        return {
            "id": s.id,
            "channel": "chat",
            "direction": "inbound",
            "started_at": s.started_at.isoformat(),
            "profile": self.config.profile,
            "agent": {"id": str(s.agent_id or ""), "name": s.agent_name},
            "customer": {"number": s.phone},
            "utterances": [{"role": m.role, "text": m.text} for m in s.messages],
        }

    def _qa(self, s: ChatSession, agent_ref: int | None) -> int | None:
        from kefu.qa.engine import Engine

        if not any(m.role == "agent" for m in s.messages):
            return None
        record = self.record(s)
        result = Engine.load(self.config.profile).check(record)
        if "error" in result:
            return None
        with self.db.session() as session:
            row = QaResult(
                conversation_id=s.id,
                channel="chat",
                agent_ref=str(s.agent_id) if s.agent_id else None,
                agent_id=agent_ref,
                profile=str(result.get("profile", self.config.profile)),
                score=int(result["score"]),
                original_score=int(result["score"]),
                passed=bool(result["passed"]),
                not_applicable=list(result.get("not_applicable", [])),
                conversation=record,
                started_at=s.started_at,
            )
            for f in result.get("findings", []):
                span = f.get("span") or [None, None]
                row.findings.append(
                    QaFinding(
                        rule=f["rule"],
                        severity=str(f.get("severity", "")),
                        points=int(f.get("points", 0)),
                        utterance=f.get("utterance"),
                        start=f.get("start"),
                        span_start=span[0],
                        span_end=span[1],
                        evidence=str(f.get("evidence", "")),
                        message=str(f.get("message", "")),
                    )
                )
            session.add(row)
            session.flush()
            return row.id
