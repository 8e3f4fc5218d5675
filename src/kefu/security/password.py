"""Password hashing with argon2id, and generation of one-time passwords."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_ALPHABET = string.ascii_letters + string.digits
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the hash; never raises on a bad hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def generate_password(length: int = 16) -> str:
    """A random password from letters and digits, with at least one of each."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if not (password.isalpha() or password.isdigit()):
            return password


def sip_ha1(username: str, realm: str, password: str) -> str:
    """The SIP digest HA1 (RFC 2617 MD5(user:realm:password)); the registrar stores only this."""
    import hashlib

    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()
