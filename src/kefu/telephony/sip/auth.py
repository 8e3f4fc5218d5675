"""SIP digest authentication, server side (RFC 3261 §22, RFC 2617 / 7616 MD5 with qop=auth).

Only HA1 = MD5(user:realm:password) is stored, never the password. Nonces are stateless:
`timestamp:HMAC(secret, timestamp)`, so any nonce we issued in the last `nonce_ttl` seconds
verifies without a table. Replay inside that window is accepted (nc tracking is missing).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field
from typing import Protocol

from aiosipua import SipRequest, parse_auth


def ha1(username: str, realm: str, password: str) -> str:
    """MD5(username:realm:password), the only secret a registrar stores."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


class CredentialStore(Protocol):
    """Where HA1 values live (in memory here; the database later)."""

    def ha1_for(self, username: str, realm: str) -> str | None:
        """HA1 for a user in a realm, or None if unknown."""


@dataclass
class MemoryCredentials:
    """An in-memory CredentialStore keyed by (username, realm)."""

    entries: dict[tuple[str, str], str] = field(default_factory=dict)

    def set_password(self, username: str, realm: str, password: str) -> None:
        """Store the HA1 of a password (the password itself is dropped)."""
        self.entries[(username, realm)] = ha1(username, realm, password)

    def ha1_for(self, username: str, realm: str) -> str | None:
        """HA1 for a user in a realm, or None."""
        return self.entries.get((username, realm))


@dataclass
class DigestAuthenticator:
    """Issues challenges and checks Authorization / Proxy-Authorization headers."""

    realm: str
    store: CredentialStore
    nonce_ttl: float = 300.0
    secret: bytes = field(default_factory=lambda: os.urandom(16))

    def nonce(self, now: float | None = None) -> str:
        """A fresh, self-verifying nonce."""
        ts = f"{(now or time.time()):.0f}"
        mac = hmac.new(self.secret, ts.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{ts}.{mac}"

    def nonce_valid(self, nonce: str, now: float | None = None) -> bool:
        """Whether we issued this nonce and it has not expired."""
        ts, _, mac = nonce.partition(".")
        want = hmac.new(self.secret, ts.encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(mac.encode(errors="replace"), want.encode()):
            return False
        try:
            age = (now or time.time()) - float(ts)
        except ValueError:
            return False
        return -5.0 <= age <= self.nonce_ttl

    def challenge(self) -> str:
        """The WWW-Authenticate / Proxy-Authenticate header value."""
        return f'Digest realm="{self.realm}", nonce="{self.nonce()}", algorithm=MD5, qop="auth"'

    def verify(self, request: SipRequest, header: str = "authorization") -> str | None:
        """Return the authenticated username, or None when absent or wrong."""
        raw = request.get_header(header)
        if not raw:
            return None
        try:
            cred = parse_auth(raw)
        except Exception:
            return None
        if cred.scheme.lower() != "digest":
            return None
        p = cred.params
        user, nonce, uri, resp = (p.get(k, "") for k in ("username", "nonce", "uri", "response"))
        if p.get("realm", "") != self.realm or not (user and nonce and resp):
            return None
        if p.get("algorithm", "MD5").upper() != "MD5" or not self.nonce_valid(nonce):
            return None
        h1 = self.store.ha1_for(user, self.realm)
        if h1 is None:
            return None
        h2 = hashlib.md5(f"{request.method}:{uri}".encode()).hexdigest()
        qop = p.get("qop", "")
        if qop == "auth":
            data = f"{h1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{h2}"
        elif not qop:
            data = f"{h1}:{nonce}:{h2}"
        else:
            return None
        want = hashlib.md5(data.encode()).hexdigest()
        return user if hmac.compare_digest(want.encode(), resp.lower().encode()) else None
