"""The web error catalogue: domain errors become `{error_id, message}` JSON with a status.

Each entry has a stable `error_id` (clients and tests match on it, never on the message).
Domain code raises `kefu` errors; only this module knows about HTTP statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from kefu.core.errors import (
    ConfigInvalid,
    IllegalTransition,
    PermissionDenied,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from kefu.errors import KefuError


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One kind of error the API returns."""

    error_id: str
    status: int


class WebError(KefuError):
    """An error raised by the web layer or a service, with its catalogue id."""

    def __init__(self, error_id: str, message: str, status: int = 400, details: Any = None) -> None:
        self.error_id = error_id
        self.status = status
        self.details = details
        super().__init__(message)


class NotAuthenticated(WebError):
    """No valid session: 401 for the API, a redirect to /login for pages."""

    def __init__(self) -> None:
        super().__init__("not-authenticated", "log in first", 401)


class Forbidden(WebError):
    """Logged in, but the role may not do this."""

    def __init__(self, message: str = "your role may not do this") -> None:
        super().__init__("forbidden", message, 403)


class NotFound(WebError):
    """The thing named in the path does not exist."""

    def __init__(self, what: str) -> None:
        super().__init__("not-found", f"{what} not found", 404)


class Invalid(WebError):
    """The request is well formed but its content is refused."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__("invalid-data", message, 422, details)


# Errors of other packages, mapped by class (most specific first).
CATALOGUE: tuple[tuple[type[Exception], CatalogueEntry], ...] = (
    (IllegalTransition, CatalogueEntry("illegal-state", 409)),
    (UnknownAgent, CatalogueEntry("agent-not-logged-in", 409)),
    (UnknownCall, CatalogueEntry("call-not-active", 404)),
    (UnknownQueue, CatalogueEntry("unknown-queue", 404)),
    (PermissionDenied, CatalogueEntry("permission-denied", 403)),
    (ConfigInvalid, CatalogueEntry("invalid-config", 422)),
    (KefuError, CatalogueEntry("refused", 400)),
)


def entry_for(exc: Exception) -> CatalogueEntry:
    """The catalogue entry of an exception."""
    if isinstance(exc, WebError):
        return CatalogueEntry(exc.error_id, exc.status)
    for cls, entry in CATALOGUE:
        if isinstance(exc, cls):
            return entry
    return CatalogueEntry("internal", 500)


def wants_html(request: Request) -> bool:
    """Pages (not /api, not HTMX) get redirects rather than JSON."""
    path = request.url.path
    if path.startswith("/api/") or request.headers.get("hx-request"):
        return False
    return request.method == "GET"


def error_response(exc: Exception) -> JSONResponse:
    """The JSON body of an error."""
    entry = entry_for(exc)
    body: dict[str, Any] = {"error_id": entry.error_id, "message": str(exc)}
    details = getattr(exc, "details", None)
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=entry.status)


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into catalogue responses."""

    async def on_not_authenticated(request: Request, exc: Exception) -> Response:
        if wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return error_response(exc)

    async def on_kefu_error(request: Request, exc: Exception) -> Response:
        if (
            isinstance(exc, WebError)
            and exc.error_id == "password-change-required"
            and wants_html(request)
        ):
            return RedirectResponse("/password", status_code=303)
        return error_response(exc)

    app.add_exception_handler(NotAuthenticated, on_not_authenticated)
    app.add_exception_handler(KefuError, on_kefu_error)
