"""Knowledge-base articles and standard scripts (话术)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.store.models.base import Base, enum_column, utcnow


class ArticleKind(enum.Enum):
    """An article explains; a script is what an agent says."""

    ARTICLE = "article"
    SCRIPT = "script"


class KbArticle(Base):
    """A knowledge-base article or standard script, searched in Chinese (CC-07)."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ArticleKind] = mapped_column(enum_column(ArticleKind))
    title: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), default="")
    scenario: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[str] = mapped_column(String(256), default="")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
