"""Log in (AG-01), log out of the seat (AG-02), exit (AG-03), change password (AG-04)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from kefu.services import users
from kefu.services.center import Center
from kefu.store.models import Role
from kefu.web.auth import (
    SessionUser,
    authenticate,
    check_csrf,
    client_ip,
    end_session,
    get_db,
    optional_user,
    require_role,
    sessions_of,
    start_session,
)
from kefu.web.errors import WebError
from kefu.web.pages import render

router = APIRouter(tags=["auth"])

HOME = {
    Role.AGENT: "/workspace",
    Role.TEAM_LEADER: "/workspace",
    Role.QA: "/qa",
    Role.SUPERVISOR: "/wallboard",
    Role.ADMIN: "/admin",
}
PasswordUser = Annotated[SessionUser, require_role(allow_password_change=True)]


class LoginIn(BaseModel):
    """Agents give agent_no + extension; the other roles give username."""

    password: str
    agent_no: str = ""
    extension: str = ""
    username: str = ""


class UserPublic(BaseModel):
    """The logged-in user."""

    id: int
    username: str
    display_name: str
    role: str
    agent_no: str | None
    extension: str | None
    must_change_password: bool


class PasswordIn(BaseModel):
    """AG-04: the current and the new password."""

    old: str
    new: str


def _public(u: SessionUser) -> UserPublic:
    return UserPublic(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role.value,
        agent_no=u.agent_no,
        extension=u.extension,
        must_change_password=u.must_change_password,
    )


def home_of(user: SessionUser, app_paths: set[str]) -> str:
    """Where a user lands after logging in."""
    if user.must_change_password:
        return "/password"
    path = HOME[user.role]
    return path if path in app_paths else "/customers"


def _paths(request: Request) -> set[str]:
    from kefu.web.app import all_routes

    return {getattr(r, "path", "") for r in all_routes(request.app)}


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else ""


def _login_seat(request: Request, user: SessionUser) -> None:
    if user.agent_id is not None:
        center: Center = request.app.state.center
        center.agent_login(user.agent_id, ready=False)


@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    """Send the user to their home page, or to the login page."""
    user = optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_of(user, _paths(request)), status_code=303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "", mode: str = "agent") -> Response:
    """The login form: agents by 工号 + extension, others by username."""
    return render(request, "login.html", next=_safe_next(next), mode=mode, user=None)


@router.post("/login", include_in_schema=False)
async def login_form(
    request: Request,
    password: Annotated[str, Form()],
    mode: Annotated[str, Form()] = "agent",
    agent_no: Annotated[str, Form()] = "",
    extension: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Log in from the form; errors re-render it."""
    try:
        await check_csrf(request)
        user = authenticate(
            get_db(request),
            request.app.state.throttle,
            client_ip(request),
            password=password,
            agent_no=agent_no.strip() if mode == "agent" else "",
            extension=extension.strip(),
            username=username.strip() if mode != "agent" else "",
        )
    except WebError as exc:
        return render(
            request,
            "login.html",
            status_code=exc.status,
            error_id=exc.error_id,
            error=str(exc),
            mode=mode,
            next=_safe_next(next),
            user=None,
        )
    target = _safe_next(next) if not user.must_change_password else ""
    response = RedirectResponse(target or home_of(user, _paths(request)), status_code=303)
    start_session(request, response, user)
    _login_seat(request, user)
    return response


@router.post("/api/auth/login")
async def login_api(request: Request, body: LoginIn) -> Response:
    """Log in (JSON); sets the session cookie and returns the user."""
    await check_csrf(request)
    user = authenticate(
        get_db(request),
        request.app.state.throttle,
        client_ip(request),
        password=body.password,
        agent_no=body.agent_no.strip(),
        extension=body.extension.strip(),
        username=body.username.strip(),
    )
    from fastapi.responses import JSONResponse

    response = JSONResponse(_public(user).model_dump())
    start_session(request, response, user)
    _login_seat(request, user)
    return response


@router.get("/api/auth/csrf")
def csrf(request: Request) -> dict[str, str]:
    """This client's CSRF token, for API clients (send it back as X-CSRF-Token)."""
    from kefu.web.auth import csrf_token

    return {"csrf_token": csrf_token(request)}


@router.get("/api/auth/me")
def me(user: PasswordUser) -> UserPublic:
    """Who is logged in."""
    return _public(user)


def _exit(request: Request, user: SessionUser, response: Response) -> Response:
    # AG-03: out of the phone and the queues, then out of the session.
    if user.agent_id is not None:
        center: Center = request.app.state.center
        center.agent_logout(user.agent_id)
    from kefu.services import audit

    audit.record(
        get_db(request),
        "logout",
        actor_id=user.id,
        target=user.username,
        source_ip=client_ip(request),
    )
    end_session(request, response)
    return response


@router.post("/logout", include_in_schema=False)
def logout_form(request: Request, user: PasswordUser) -> Response:
    """Exit the system (AG-03) from the top bar."""
    return _exit(request, user, RedirectResponse("/login", status_code=303))


@router.post("/api/auth/logout", status_code=204)
def logout_api(request: Request, user: PasswordUser) -> Response:
    """Exit the system (AG-03): seat logged out and session ended."""
    return _exit(request, user, Response(status_code=204))


@router.get("/password", response_class=HTMLResponse, include_in_schema=False)
def password_page(request: Request, user: PasswordUser) -> Response:
    """The change-password form (forced when must_change_password is set)."""
    return render(request, "password.html", user=user)


@router.post("/password", include_in_schema=False)
def password_form(
    request: Request,
    user: PasswordUser,
    old: Annotated[str, Form()],
    new: Annotated[str, Form()],
    confirm: Annotated[str, Form()],
) -> Response:
    """Change one's password (AG-04) from the form."""
    if new != confirm:
        return render(request, "password.html", 422, user=user, error_id="mismatch")
    try:
        users.change_password(get_db(request), user.id, old, new)
        sessions_of(request).forget(user.id)
    except users.UserError as exc:
        return render(request, "password.html", 422, user=user, error_id="refused", error=str(exc))
    fresh = optional_user_after_change(request, user)
    response = RedirectResponse(home_of(fresh, _paths(request)), status_code=303)
    start_session(request, response, fresh)
    return response


def optional_user_after_change(request: Request, user: SessionUser) -> SessionUser:
    """The user reloaded after a password change (the flag is cleared)."""
    from kefu.web.auth import load_user

    return load_user(get_db(request), user.id) or user


@router.post("/api/auth/password", status_code=204)
def password_api(request: Request, user: PasswordUser, body: PasswordIn) -> Response:
    """Change one's password (AG-04); the session is renewed, others end."""
    try:
        users.change_password(get_db(request), user.id, body.old, body.new)
        sessions_of(request).forget(user.id)
    except users.UserError as exc:
        raise WebError("password-refused", str(exc), 422) from None
    response = Response(status_code=204)
    start_session(request, response, optional_user_after_change(request, user))
    return response
