"""Registrar for agents' phones: REGISTER with digest auth, one binding per extension.

A binding keeps the Contact URI and the source address the REGISTER came from (the phone
is reached there, which also works behind a NAT that keeps the mapping alive).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiosipua import SipRequest, SipResponse, parse_uri

from kefu.telephony.sip.auth import DigestAuthenticator


@dataclass
class Binding:
    """Where an extension's phone is."""

    extension: str
    contact: str
    addr: tuple[str, int]
    expires_at: float


_EXPIRES = re.compile(r";\s*expires\s*=\s*(\d+)", re.I)


def _copy_basics(request: SipRequest, resp: SipResponse, to_tag: str) -> None:
    for v in request.headers.get("via"):
        resp.headers.append("Via", v)
    for name in ("From", "Call-ID", "CSeq"):
        val = request.headers.get_first(name.lower())
        if val:
            resp.headers.set_single(name, val)
    to_val = request.headers.get_first("to") or ""
    resp.headers.set_single("To", to_val if ";tag=" in to_val else f"{to_val};tag={to_tag}")


class Registrar:
    """Handles REGISTER; `on_change(extension, up, contact)` reports bindings coming and going."""

    def __init__(
        self,
        auth: DigestAuthenticator,
        min_expires: int = 30,
        max_expires: int = 3600,
        on_change: Callable[[str, bool, str], None] | None = None,
    ) -> None:
        self.auth = auth
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.on_change = on_change
        self.bindings: dict[str, Binding] = {}

    def lookup(self, extension: str, now: float | None = None) -> Binding | None:
        """The live binding of an extension, if any."""
        b = self.bindings.get(extension)
        if b is None or b.expires_at <= (now or time.time()):
            return None
        return b

    def expire(self, now: float | None = None) -> list[str]:
        """Drop bindings past their expiry; return their extensions."""
        t = now or time.time()
        gone = [e for e, b in self.bindings.items() if b.expires_at <= t]
        for e in gone:
            b = self.bindings.pop(e)
            if self.on_change:
                self.on_change(e, False, b.contact)
        return gone

    def handle(self, request: SipRequest, addr: tuple[str, int]) -> SipResponse:
        """Answer one REGISTER (401 challenge, 403, 423, or 200 with the bindings)."""
        to_addr = request.to_addr
        ext = to_addr.uri.user if to_addr is not None and to_addr.uri is not None else None
        if not ext:
            return self._reply(request, 400, "Bad To")
        user = self.auth.verify(request)
        if user is None:
            resp = self._reply(request, 401, "Unauthorized")
            resp.headers.set_single("WWW-Authenticate", self.auth.challenge())
            return resp
        if user != ext:
            return self._reply(request, 403, "Forbidden")
        contacts = request.headers.get("contact")
        now = time.time()
        header_exp = request.get_header("expires")
        if contacts:
            raw = contacts[0].strip()
            m = _EXPIRES.search(raw.rsplit(">", 1)[-1])
            try:
                expires = int(m.group(1)) if m else int(header_exp or 3600)
            except ValueError:
                return self._reply(request, 400, "Bad Expires")
            if raw == "*" or expires == 0:
                old = self.bindings.pop(ext, None)
                if old is not None and self.on_change:
                    self.on_change(ext, False, old.contact)
                return self._reply(request, 200, "OK")
            if expires < self.min_expires:
                resp = self._reply(request, 423, "Interval Too Brief")
                resp.headers.set_single("Min-Expires", str(self.min_expires))
                return resp
            expires = min(expires, self.max_expires)
            uri = raw[raw.find("<") + 1 : raw.find(">")] if "<" in raw else raw.split(";")[0]
            try:
                parse_uri(uri)
            except Exception:
                return self._reply(request, 400, "Bad Contact")
            was = self.lookup(ext, now)
            self.bindings[ext] = Binding(ext, uri, _target(uri, addr), now + expires)
            if self.on_change and (was is None or was.contact != uri):
                self.on_change(ext, True, uri)
        resp = self._reply(request, 200, "OK")
        b = self.lookup(ext, now)
        if b is not None:
            resp.headers.set_single("Contact", f"<{b.contact}>;expires={int(b.expires_at - now)}")
        return resp

    @staticmethod
    def _reply(request: SipRequest, code: int, reason: str) -> SipResponse:
        resp = SipResponse(status_code=code, reason_phrase=reason)
        _copy_basics(request, resp, "reg")
        return resp


def _target(contact: str, source: tuple[str, int]) -> tuple[str, int]:
    """Where to send requests for a binding: the Contact's host:port, else the REGISTER's source.

    A private-looking Contact host behind a different source IP means NAT: use the source.
    """
    try:
        uri = parse_uri(contact)
    except Exception:
        return source
    host, port = uri.host, uri.port or 5060
    if not host or (host != source[0] and _is_public(source[0]) and not _is_public(host)):
        return source  # the phone is behind NAT: its Contact is unreachable
    return (host, int(port))


def _is_public(ip: str) -> bool:
    import ipaddress

    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return True  # a name: trust it
    return not (a.is_private or a.is_loopback)
