"""Knowledge base (CC-07): search for everyone, article and script management for admins."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from kefu.services import kb
from kefu.store.models import ArticleKind, KbArticle
from kefu.web.auth import AdminUser, CurrentUser, Id, SessionDep
from kefu.web.errors import Invalid, NotFound
from kefu.web.pages import render

router = APIRouter(tags=["kb"])


class ArticleIn(BaseModel):
    """An article or a standard script."""

    kind: Literal["article", "script"] = "article"
    title: str = Field(min_length=1, max_length=256)
    body: str = Field(min_length=1)
    category: str = Field("", max_length=64)
    scenario: str | None = Field(None, max_length=64)
    tags: str = Field("", max_length=256)


@router.get("/kb", response_class=HTMLResponse, include_in_schema=False)
def kb_page(request: Request, user: CurrentUser, session: SessionDep, q: str = "") -> Response:
    """Search page; admins also edit."""
    hits = kb.search(session, q) if q else []
    articles = (
        []
        if q
        else [kb.article_dict(a) for a in session.scalars(select(KbArticle).order_by(KbArticle.id))]
    )
    return render(request, "kb.html", user=user, q=q, hits=hits, articles=articles)


@router.get("/api/kb/search")
def search(
    user: CurrentUser, session: SessionDep, q: str, kind: str | None = None
) -> list[dict[str, Any]]:
    """Search articles in Chinese (jieba tokens, substring match)."""
    try:
        k = ArticleKind(kind) if kind else None
    except ValueError:
        raise Invalid(f"kind: {kind!r} is not article or script") from None
    return kb.search(session, q, k)


@router.get("/api/kb/articles")
def list_articles(user: CurrentUser, session: SessionDep) -> list[dict[str, Any]]:
    """Every article and script."""
    return [kb.article_dict(a) for a in session.scalars(select(KbArticle).order_by(KbArticle.id))]


@router.get("/api/kb/articles/{article_id}")
def get_article(user: CurrentUser, session: SessionDep, article_id: Id) -> dict[str, Any]:
    """One article."""
    a = session.get(KbArticle, article_id)
    if a is None:
        raise NotFound(f"article {article_id}")
    return kb.article_dict(a)


@router.post("/api/kb/articles", status_code=201)
def create_article(user: AdminUser, session: SessionDep, body: ArticleIn) -> dict[str, Any]:
    """Add an article or script."""
    try:
        return kb.article_dict(kb.save(session, body.model_dump()))
    except kb.KbError as exc:
        raise Invalid(str(exc)) from None


@router.put("/api/kb/articles/{article_id}")
def update_article(
    user: AdminUser, session: SessionDep, article_id: Id, body: ArticleIn
) -> dict[str, Any]:
    """Edit an article (its version goes up)."""
    a = session.get(KbArticle, article_id)
    if a is None:
        raise NotFound(f"article {article_id}")
    try:
        return kb.article_dict(kb.save(session, body.model_dump(), a))
    except kb.KbError as exc:
        raise Invalid(str(exc)) from None


@router.delete("/api/kb/articles/{article_id}", status_code=204)
def delete_article(user: AdminUser, session: SessionDep, article_id: Id) -> None:
    """Remove an article."""
    a = session.get(KbArticle, article_id)
    if a is None:
        raise NotFound(f"article {article_id}")
    session.delete(a)
