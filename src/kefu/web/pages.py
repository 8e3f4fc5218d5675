"""Server-rendered pages: one Jinja2 environment, and `render` with the common context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kefu.security.masking import mask_id_card, mask_phone
from kefu.web.auth import SessionUser, csrf_token, optional_user

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters["tojson_attr"] = lambda v: json.dumps(v, ensure_ascii=False)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with `user`, `csrf_token` and `mask` helpers in its context."""
    user: SessionUser | None = context.pop("user", None) or optional_user(request)
    full = user is not None and user.sees_full_numbers
    base = {
        "user": user,
        "csrf_token": csrf_token(request),
        "phone": (lambda n: n or "") if full else (lambda n: mask_phone(n) if n else ""),
        "id_card": (lambda n: n or "") if full else (lambda n: mask_id_card(n) if n else ""),
    }
    base.update(context)
    return templates.TemplateResponse(request, name, base, status_code=status_code)


def phone_for(user: SessionUser, number: str | None) -> str:
    """The number as this user may see it (QA sees it masked)."""
    if not number:
        return ""
    return number if user.sees_full_numbers else mask_phone(number)


def id_card_for(user: SessionUser, number: str | None) -> str:
    """The ID-card number as this user may see it."""
    if not number:
        return ""
    return number if user.sees_full_numbers else mask_id_card(number)
