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
CSRF_LENGTH = 32


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

    def issue_csrf(self, session: RowMapping) -> str:
        """A CSRF token bound to the session: its issue time and a signature over both.

        Nothing is stored, so every token issued in the last 30 minutes stays valid however
        often `mobile/init` is called (plugAPI retries a login with the same token, §3).
        """
        issued = int(self._clock.now())
        return f"{issued:08x}{self._csrf_signature(str(session['id']), issued)}"

    def csrf_state(self, session: RowMapping | None, csrf: str) -> str:
        """'valid', 'expired' or 'invalid' for a login or signup CSRF token."""
        if session is None or len(csrf) != CSRF_LENGTH:
            return "invalid"
        try:
            issued = int(csrf[:8], 16)
        except ValueError:
            return "invalid"
        expected = self._csrf_signature(str(session["id"]), issued)
        if not hmac.compare_digest(csrf[8:], expected):
            return "invalid"
        if self._clock.now() - issued > CSRF_LIFETIME:
            return "expired"
        return "valid"

    def _csrf_signature(self, session_id: str, issued: int) -> str:
        message = f"csrf|{session_id}|{issued}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:24]
