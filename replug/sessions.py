"""Sessions behind the `session` cookie, CSRF tokens and socket tokens (login-and-socket §2–§6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import unquote

from sqlalchemy.engine import RowMapping

from replug.clock import Clock
from replug.storage.store import Store

COOKIE_NAME = "session"
COOKIE_MAX_AGE = 30 * 24 * 3600
CSRF_LIFETIME = 30 * 60


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SessionService:
    def __init__(self, store: Store, secret: bytes, clock: Clock) -> None:
        self._store = store
        self._secret = secret
        self._clock = clock

    # ------------------------------------------------------------------ cookie

    def cookie_value(self, session: RowMapping) -> str:
        """`<id>|<issued at>|<signature>`; the same value on every answer (D26)."""
        issued = str(int(session["created_at"]))
        return f"{session['id']}|{issued}|{self._sign(session['id'], issued)}"

    def set_cookie_header(self, value: str, secure: bool) -> str:
        parts = [
            f"{COOKIE_NAME}={value}",
            "Path=/",
            "HttpOnly",
            "SameSite=Lax",
            f"Max-Age={COOKIE_MAX_AGE}",
        ]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)

    def session_id_from(self, cookie_header: str | None) -> str | None:
        """Find and verify the session id; the value may arrive raw or percent-encoded."""
        if not cookie_header:
            return None
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME:
                return self._verify(unquote(value.strip().strip('"')))
        return None

    def _verify(self, value: str) -> str | None:
        pieces = value.split("|")
        if len(pieces) != 3:
            return None
        session_id, issued, signature = pieces
        if not hmac.compare_digest(signature, self._sign(session_id, issued)):
            return None
        return session_id

    def _sign(self, session_id: str, issued: str) -> str:
        message = f"{session_id}|{issued}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    # --------------------------------------------------------------- lifecycle

    async def load(self, cookie_header: str | None) -> RowMapping | None:
        session_id = self.session_id_from(cookie_header)
        if session_id is None:
            return None
        return await self._store.sessions.by_id(session_id)

    async def create(self) -> RowMapping:
        # 128 random bytes give the ~172-character base64 token the clients expect (§6).
        token = base64.b64encode(secrets.token_bytes(128)).decode("ascii")
        return await self._store.sessions.create(
            _b64(secrets.token_bytes(24)), token, self._clock.now()
        )

    async def issue_csrf(self, session: RowMapping) -> str:
        csrf = secrets.token_hex(16)
        await self._store.sessions.set_fields(
            session["id"], csrf=csrf, csrf_issued_at=self._clock.now()
        )
        return csrf

    def csrf_state(self, session: RowMapping | None, csrf: str) -> str:
        """'valid', 'expired' or 'invalid' for a login or signup CSRF token."""
        if session is None or not session["csrf"]:
            return "invalid"
        if not hmac.compare_digest(str(session["csrf"]), csrf):
            return "invalid"
        if self._clock.now() - float(session["csrf_issued_at"]) > CSRF_LIFETIME:
            return "expired"
        return "valid"
