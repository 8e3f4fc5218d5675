"""Users: creation, the first admin, password changes and resets."""

from __future__ import annotations

import datetime as dt

from kefu.errors import KefuError
from kefu.security.password import MIN_LENGTH, generate_password, hash_password, verify_password
from kefu.store.db import Database
from kefu.store.models import Agent, Role, User
from kefu.store.repositories import AuditRepository, UserRepository

ADMIN_USERNAME = "admin"


class UserError(KefuError):
    """A user operation was refused."""


def ensure_admin(db: Database) -> str | None:
    """Create the admin user on first start; return its one-time password, or None if present."""
    with db.session() as session:
        users = UserRepository(session)
        if users.count_by_role(Role.ADMIN) > 0:
            return None
        password = generate_password()
        users.add(
            User(
                username=ADMIN_USERNAME,
                display_name="Administrator",
                role=Role.ADMIN,
                password_hash=hash_password(password),
                must_change_password=True,
            )
        )
        AuditRepository(session).record("user.bootstrap_admin", target=ADMIN_USERNAME)
        return password


def reset_password(db: Database, username: str) -> str:
    """Give `username` a new random password, which they must change at next login."""
    with db.session() as session:
        user = UserRepository(session).by_username(username)
        if user is None:
            raise UserError(f"no user named {username!r}")
        password = generate_password()
        user.password_hash = hash_password(password)
        user.must_change_password = True
        user.failed_logins = 0
        user.locked_until = None
        AuditRepository(session).record("user.reset_password", target=username)
        return password


def create_user(
    db: Database,
    username: str,
    password: str,
    role: Role,
    *,
    display_name: str = "",
    agent_no: str | None = None,
    extension: str | None = None,
) -> int:
    """Create a user (and its agent record when agent_no and extension are given)."""
    check_password_strength(password)
    with db.session() as session:
        users = UserRepository(session)
        if users.by_username(username) is not None:
            raise UserError(f"user {username!r} exists already")
        user = User(
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=hash_password(password),
        )
        if agent_no is not None or extension is not None:
            if not agent_no or not extension:
                raise UserError("an agent needs both an agent number and an extension")
            if users.agent_by_number(agent_no) is not None:
                raise UserError(f"agent number {agent_no!r} is taken")
            if users.agent_by_extension(extension) is not None:
                raise UserError(f"extension {extension!r} is taken")
            user.agent = Agent(agent_no=agent_no, extension=extension)
        users.add(user)
        AuditRepository(session).record("user.create", target=username, detail={"role": role.value})
        return user.id


def change_password(db: Database, user_id: int, old: str, new: str) -> None:
    """Change one's own password (AG-04): the old one must match."""
    check_password_strength(new)
    with db.session() as session:
        user = UserRepository(session).by_id(user_id)
        if user is None or not verify_password(user.password_hash, old):
            raise UserError("the current password is wrong")
        if old == new:
            raise UserError("the new password must differ from the current one")
        user.password_hash = hash_password(new)
        user.must_change_password = False
        user.password_changed_at = dt.datetime.now(dt.UTC)
        AuditRepository(session).record("user.change_password", actor=user, target=user.username)


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short or all one kind of character."""
    if len(password) < MIN_LENGTH:
        raise UserError(f"a password needs at least {MIN_LENGTH} characters")
    if password.isdigit() or password.isalpha():
        raise UserError("a password needs both letters and digits")
