"""Sessions, CSRF, login back-off and role checks for every endpoint.

Sessions are signed cookies (itsdangerous) with a secret generated at first start and kept
in `data_dir/secret_key` (mode 0600): no default secret exists. The cookie carries the user
id, a CSRF token and a stamp of the password, so a password change ends other sessions.
Every client, logged in or not, has a session cookie with a CSRF token; every unsafe request
(POST/PUT/PATCH/DELETE) must echo it in the `X-CSRF-Token` header or a `csrf_token` form
field (session-bound token).

Use in routers:

    @router.get("/api/things")
    def things(user: CurrentUser, session: SessionDep) -> ...          # any logged-in role

    @router.post("/api/things", dependencies=[require_role(Role.ADMIN)])  # or:
    def make(user: Annotated[SessionUser, require_role(Role.ADMIN, Role.SUPERVISOR)]) -> ...

`require_role` returns `Depends(...)`; the dependency raises NotAuthenticated (401 JSON for
/api, redirect to /login for pages) when logged out, Forbidden (403) for a wrong role, and
checks CSRF on unsafe methods.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi import Path as PathParam
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from kefu.security.password import verify_password
from kefu.store.db import Database
from kefu.store.models import Role, User
from kefu.store.repositories import AuditRepository, UserRepository
from kefu.web.errors import Forbidden, NotAuthenticated, WebError

COOKIE = "kefu_session"
SESSION_MAX_AGE = 12 * 3600
USER_CACHE_SECONDS = 2.0  # how stale a deactivation by another process may be
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALL_ROLES = tuple(Role)
STAFF_ROLES = (Role.TEAM_LEADER, Role.SUPERVISOR, Role.ADMIN)

# Back-off: after FREE_FAILURES failures, lock for BASE_LOCK * 2**(extra failures), capped.
FREE_FAILURES = 3
BASE_LOCK_S = 30.0
MAX_LOCK_S = 3600.0


def load_secret(data_dir: Path) -> str:
    """The signing secret: read from data_dir/secret_key, created (0600) on first start."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The logged-in user as endpoints see it."""

    id: int
    username: str
    display_name: str
    role: Role
    must_change_password: bool
    agent_id: int | None
    agent_no: str | None
    extension: str | None
    may_transfer_outside: bool

    @property
    def sees_full_numbers(self) -> bool:
        """QA reviewers see masked phone and ID numbers; the others handle callers."""
        return self.role is not Role.QA


def _stamp(user: User) -> str:
    changed = user.password_changed_at
    return str(int(changed.timestamp())) if changed else "0"


class Sessions:
    """Reads and writes the signed session cookie."""

    def __init__(self, secret: str) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="kefu.session")
        # Who a session's user is, kept USER_CACHE_SECONDS: loading the user was two queries
        # on every request, most of an agent's state change. A password change here and the
        # admin's changes to a user call forget(); other processes wait out the TTL.
        self.users: dict[tuple[int, object], tuple[SessionUser, float]] = {}

    def cached_user(self, uid: int, stamp: object) -> SessionUser | None:
        """The user loaded for this session less than USER_CACHE_SECONDS ago, if any."""
        hit = self.users.get((uid, stamp))
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def remember(self, uid: int, stamp: object, user: SessionUser) -> None:
        """Cache a loaded user."""
        if len(self.users) > 10_000:
            self.users.clear()
        self.users[(uid, stamp)] = (user, time.monotonic() + USER_CACHE_SECONDS)

    def forget(self, uid: int) -> None:
        """Drop the cached user (an admin changed their account)."""
        for key in [k for k in self.users if k[0] == uid]:
            self.users.pop(key, None)

    def read(self, request: Request) -> dict[str, Any]:
        """The session payload; {} when missing, tampered with or expired."""
        cached = request.scope.get("kefu.session")
        if cached is not None:
            return dict(cached)
        raw = request.cookies.get(COOKIE)
        data: dict[str, Any] = {}
        if raw:
            try:
                loaded = self.serializer.loads(raw, max_age=SESSION_MAX_AGE)
                if isinstance(loaded, dict):
                    data = loaded
            except BadSignature:
                data = {}
        request.scope["kefu.session"] = data
        return dict(data)

    def write(self, request: Request, response: Response, data: dict[str, Any]) -> None:
        """Set the cookie: HttpOnly, SameSite=Lax, Secure when served over https."""
        request.scope["kefu.session"] = data
        response.set_cookie(
            COOKIE,
            self.serializer.dumps(data),
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def sessions_of(request: Request) -> Sessions:
    """The app's session codec."""
    sessions: Sessions = request.app.state.sessions
    return sessions


def csrf_token(request: Request) -> str:
    """The CSRF token bound to this client's session (created by the middleware)."""
    return str(sessions_of(request).read(request).get("c", ""))


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session's."""
    if request.method not in UNSAFE:
        return
    expected = csrf_token(request)
    given = request.headers.get("x-csrf-token", "")
    if not given and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else ""
    if not expected or not secrets.compare_digest(expected, given):
        raise WebError("csrf-failed", "the form has expired; reload the page", 403)


def get_db(request: Request) -> Database:
    """The app's database."""
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """A database session in a transaction, committed when the endpoint returns."""
    with get_db(request).session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
# Integer ids in paths: bounded, so a huge number is a 422, not a database overflow.
Id = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
DbDep = Annotated[Database, Depends(get_db)]


def load_user(db: Database, user_id: int) -> SessionUser | None:
    """The active user with this id, as a SessionUser."""
    with db.session() as session:
        user = UserRepository(session).by_id(user_id)
        if user is None or not user.active:
            return None
        return to_session_user(user)


def to_session_user(user: User) -> SessionUser:
    """Copy what endpoints need out of the ORM object."""
    agent = user.agent
    return SessionUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=user.role,
        must_change_password=user.must_change_password,
        agent_id=agent.id if agent else None,
        agent_no=agent.agent_no if agent else None,
        extension=agent.extension if agent else None,
        may_transfer_outside=bool(agent and agent.may_transfer_outside),
    )


def optional_user(request: Request) -> SessionUser | None:
    """The logged-in user, or None."""
    cached = request.scope.get("kefu.user")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    sessions = sessions_of(request)
    data = sessions.read(request)
    uid = data.get("u")
    if not isinstance(uid, int):
        return None
    found = sessions.cached_user(uid, data.get("p"))
    if found is None:
        with get_db(request).session() as session:
            user = UserRepository(session).by_id(uid)
            if user is None or not user.active or _stamp(user) != data.get("p"):
                return None
            found = to_session_user(user)
        sessions.remember(uid, data.get("p"), found)
    request.scope["kefu.user"] = found
    return found


def require_role(*roles: Role, allow_password_change: bool = False) -> Any:
    """A dependency: logged in (401), CSRF on unsafe methods, role in `roles` (403)."""
    wanted = frozenset(roles or ALL_ROLES)

    async def dependency(request: Request) -> SessionUser:
        user = optional_user(request)
        if user is None:
            raise NotAuthenticated()
        await check_csrf(request)
        if user.must_change_password and not allow_password_change:
            raise WebError("password-change-required", "change your password first", 403)
        if user.role not in wanted:
            raise Forbidden(f"role {user.role.value} may not do this")
        return user

    dependency.kefu_roles = wanted  # type: ignore[attr-defined]
    return Depends(dependency)


def roles_of(call: Callable[..., Any]) -> frozenset[Role] | None:
    """The roles a role-check dependency admits (for the route-coverage test)."""
    return getattr(call, "kefu_roles", None)


CurrentUser = Annotated[SessionUser, require_role()]
AgentUser = Annotated[SessionUser, require_role(Role.AGENT, Role.TEAM_LEADER)]
StaffUser = Annotated[SessionUser, require_role(*STAFF_ROLES)]
AdminUser = Annotated[SessionUser, require_role(Role.ADMIN)]


# -- login with back-off -----------------------------------------------------------------


class LoginThrottle:
    """Per-IP failure counts with exponential lock-out (per-user counts live on User)."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.locked_until: dict[str, dt.datetime] = {}

    def check(self, ip: str, now: dt.datetime) -> None:
        """Raise when the IP is locked."""
        until = self.locked_until.get(ip)
        if until is not None and until > now:
            raise locked_error(until, now)

    def failed(self, ip: str, now: dt.datetime) -> None:
        """Count a failure; lock when over the free allowance (IPs get 3x the users')."""
        n = self.failures.get(ip, 0) + 1
        self.failures[ip] = n
        extra = n - FREE_FAILURES * 3
        if extra >= 0:
            self.locked_until[ip] = now + dt.timedelta(seconds=lock_seconds(extra))

    def succeeded(self, ip: str) -> None:
        """Forget the IP's failures."""
        self.failures.pop(ip, None)
        self.locked_until.pop(ip, None)


def lock_seconds(extra_failures: int) -> float:
    """Exponential lock length: 30 s, 60 s, 120 s ... capped at one hour."""
    return float(min(BASE_LOCK_S * 2 ** min(extra_failures, 20), MAX_LOCK_S))


def locked_error(until: dt.datetime, now: dt.datetime) -> WebError:
    """The error of a locked account or address."""
    wait = max(1, int((until - now).total_seconds()))
    return WebError("login-locked", f"too many failed logins; try again in {wait} s", 429)


def bad_credentials() -> WebError:
    """One message for every wrong credential, so as not to tell which part was wrong."""
    return WebError("bad-credentials", "wrong user, extension or password", 401)


def authenticate(
    db: Database,
    throttle: LoginThrottle,
    ip: str,
    *,
    password: str,
    username: str = "",
    agent_no: str = "",
    extension: str = "",
    now: dt.datetime | None = None,
) -> SessionUser:
    """Check credentials (AG-01: agents by 工号 + extension + password); audit the attempt."""
    now = now or dt.datetime.now(dt.UTC)
    throttle.check(ip, now)
    login_name = agent_no or username
    refusal: WebError | None = None
    with db.session() as session:
        users = UserRepository(session)
        audit = AuditRepository(session)
        user: User | None
        if agent_no:
            agent = users.agent_by_number(agent_no)
            user = agent.user if agent else None
            if agent is not None and agent.extension != extension:
                user_ok = False
            else:
                user_ok = user is not None
        else:
            user = users.by_username(username)
            # agents log in with 工号 and extension (AG-01); the other roles by username
            user_ok = user is not None and user.role is not Role.AGENT
        if user is not None and user.locked_until is not None and user.locked_until > now:
            until = str(user.locked_until)
            audit.record("login.locked", target=login_name, source_ip=ip, detail={"until": until})
            throttle.failed(ip, now)
            refusal = locked_error(user.locked_until, now)
        elif (
            user is None
            or not user_ok
            or not user.active
            or not verify_password(user.password_hash, password)
        ):
            throttle.failed(ip, now)
            if user is not None:
                user.failed_logins += 1
                extra = user.failed_logins - FREE_FAILURES
                if extra >= 0:
                    user.locked_until = now + dt.timedelta(seconds=lock_seconds(extra))
            audit.record(
                "login.failure",
                actor=user,
                target=login_name,
                source_ip=ip,
                detail={"extension": extension} if agent_no else {},
            )
            refusal = bad_credentials()
        else:
            user.failed_logins = 0
            user.locked_until = None
            throttle.succeeded(ip)
            audit.record("login.success", actor=user, target=login_name, source_ip=ip)
            return to_session_user(user)
    # raised after the transaction so that the failure and its audit entry are kept
    raise refusal


def start_session(request: Request, response: Response, user: SessionUser) -> None:
    """Bind the session cookie to `user`, with a fresh CSRF token."""
    db = get_db(request)
    with db.session() as session:
        row = UserRepository(session).by_id(user.id)
        stamp = _stamp(row) if row else "0"
    sessions_of(request).write(
        request, response, {"u": user.id, "c": secrets.token_urlsafe(24), "p": stamp}
    )
    request.scope["kefu.user"] = user


def end_session(request: Request, response: Response) -> None:
    """Forget the user; keep a fresh anonymous CSRF token."""
    sessions_of(request).write(request, response, {"c": secrets.token_urlsafe(24)})
    request.scope.pop("kefu.user", None)


def client_ip(request: Request) -> str:
    """The peer address (kefu is served directly or behind a proxy that sets it)."""
    return request.client.host if request.client else "unknown"


async def ws_user(websocket: Any, *roles: Role) -> SessionUser | None:
    """Authenticate a WebSocket from its session cookie; close 4401/4403 and return None."""
    from fastapi import WebSocket

    assert isinstance(websocket, WebSocket)
    sessions: Sessions = websocket.app.state.sessions
    raw = websocket.cookies.get(COOKIE)
    data: dict[str, Any] = {}
    if raw:
        try:
            loaded = sessions.serializer.loads(raw, max_age=SESSION_MAX_AGE)
            data = loaded if isinstance(loaded, dict) else {}
        except BadSignature:
            data = {}
    uid = data.get("u")
    user: SessionUser | None = None
    if isinstance(uid, int):
        db: Database = websocket.app.state.db
        with db.session() as session:
            row = UserRepository(session).by_id(uid)
            if row is not None and row.active and _stamp(row) == data.get("p"):
                user = to_session_user(row)
    if user is None:
        await websocket.close(code=4401)
        return None
    if (roles and user.role not in roles) or user.must_change_password:
        await websocket.close(code=4403)
        return None
    return user
