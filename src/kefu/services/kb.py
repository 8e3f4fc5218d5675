"""Knowledge base (CC-07): articles and standard scripts, searched in Chinese.

Search tokenises the query with jieba (search mode, so that 退货流程 also yields 退货 and
流程), keeps the meaningful tokens, and asks SQL for articles whose title, body or tags
contain any token as a substring (LIKE), so a word in the middle of a Chinese sentence is
found. Hits are ranked by how many distinct tokens match, title matches counting double.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kefu.errors import KefuError
from kefu.store.models import ArticleKind, KbArticle


class KbError(KefuError):
    """An article was refused."""


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _meaningful(w: str) -> bool:
    return bool(w) and not all(unicodedata.category(ch)[0] in "PZS" for ch in w)


def tokens(query: str) -> list[str]:
    """The search tokens of a query: jieba words without punctuation, longest first.

    Runs of single characters that jieba did not know as a word (桩/号) are joined back
    (桩号), and single characters are dropped when longer tokens exist: they match too much.
    """
    jieba = _jieba()
    words: list[str] = []
    run = ""
    for w in [*jieba.cut(query), " "]:
        w = w.strip()
        if len(w) == 1 and _meaningful(w):
            run += w
            continue
        if len(run) > 1:
            words.append(run)
        run = ""
    for w in jieba.cut_for_search(query):
        w = w.strip()
        if _meaningful(w) and w not in words:
            words.append(w)
    if any(len(w) > 1 for w in words):
        words = [w for w in words if len(w) > 1]
    if not words and query.strip():
        words.append(query.strip())
    return sorted(words, key=len, reverse=True)[:12]


def search(
    session: Session, query: str, kind: ArticleKind | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Articles matching `query`, best first, with the matched tokens and a snippet."""
    toks = tokens(query)
    if not toks:
        return []
    conds = []
    for t in toks:
        like = f"%{t}%"
        conds += [KbArticle.title.like(like), KbArticle.body.like(like), KbArticle.tags.like(like)]
    q = select(KbArticle).where(or_(*conds))
    if kind is not None:
        q = q.where(KbArticle.kind == kind)
    scored = []
    for a in session.scalars(q.limit(500)):
        matched = [t for t in toks if t in a.title or t in a.body or t in a.tags]
        score = sum(len(t) * (2 if t in a.title else 1) for t in matched)
        scored.append((score, a, matched))
    scored.sort(key=lambda s: (-s[0], -s[1].id))
    return [
        {**article_dict(a), "matched": m, "snippet": snippet(a.body, m), "score": s}
        for s, a, m in scored[:limit]
    ]


def snippet(body: str, matched: list[str], width: int = 60) -> str:
    """The part of the body around the first matched token."""
    pos = min((body.find(t) for t in matched if t in body), default=0)
    start = max(0, pos - width // 3)
    return (
        ("…" if start else "")
        + body[start : start + width]
        + ("…" if start + width < len(body) else "")
    )


def article_dict(a: KbArticle) -> dict[str, Any]:
    """An article as JSON."""
    return {
        "id": a.id,
        "kind": a.kind.value,
        "title": a.title,
        "body": a.body,
        "category": a.category,
        "scenario": a.scenario,
        "tags": a.tags,
        "version": a.version,
        "updated_at": a.updated_at.isoformat() if a.updated_at else None,
    }


def save(session: Session, data: dict[str, Any], article: KbArticle | None = None) -> KbArticle:
    """Create or update an article; each update bumps its version."""
    title = str(data.get("title", article.title if article else "")).strip()
    body = str(data.get("body", article.body if article else "")).strip()
    if not title:
        raise KbError("title: required")
    if not body:
        raise KbError("body: required")
    kind = ArticleKind(data.get("kind", article.kind.value if article else "article"))
    if article is None:
        article = KbArticle(kind=kind, title=title, body=body, version=1)
        session.add(article)
    else:
        article.version += 1
        article.updated_at = dt.datetime.now(dt.UTC)
    article.kind = kind
    article.title = title
    article.body = body
    article.category = str(data.get("category", article.category or ""))
    scenario = data.get("scenario", article.scenario)
    article.scenario = str(scenario) if scenario else None
    article.tags = str(data.get("tags", article.tags or ""))
    session.flush()
    return article


def scripts_for(session: Session, scenario: str | None) -> list[KbArticle]:
    """Standard scripts (话术) of a scenario, or all scripts."""
    q = select(KbArticle).where(KbArticle.kind == ArticleKind.SCRIPT).order_by(KbArticle.id)
    if scenario:
        q = q.where(KbArticle.scenario == scenario)
    return list(session.scalars(q))


SEED_FILE = Path(__file__).with_name("kb_seed.yaml")


def seed(session: Session, path: Path | None = None) -> int:
    """Install the standard scripts and sample articles when the knowledge base is empty."""
    if session.scalar(select(KbArticle.id).limit(1)) is not None:
        return 0
    entries = yaml.safe_load((path or SEED_FILE).read_text(encoding="utf-8"))
    for e in entries:
        save(session, e)
    return len(entries)
