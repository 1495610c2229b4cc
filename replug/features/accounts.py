"""Sessions, login, logout, signup and socket tokens (login-and-socket §3–§7)."""

from __future__ import annotations

import logging
from typing import Any

from replug.api.routing import Access, Call
from replug.features import api
from replug.features.naming import check_username
from replug.protocol.errors import (
    ApiError,
    BadLogin,
    CsrfExpired,
    CsrfInvalid,
    FloodApi,
    RequestError,
    required,
)
from replug.protocol.text import slugify
from replug.protocol.timefmt import wire_time
from replug.storage.users import EmailTaken, UsernameTaken

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


@api.get("/mobile/init", access=Access.ANYONE)
async def mobile_init(call: Call) -> list[Any]:
    session = call.session or await call.services.sessions.create()
    call.new_cookie = call.services.sessions.cookie_value(session)
    return [{"c": call.services.sessions.issue_csrf(session), "t": wire_time(call.now)}]


async def _refuse_without_session(call: Call) -> None:
    """No valid cookie: refuse, but hand out a fresh session as §2 says login and signup do."""
    if call.session is None:
        session = await call.services.sessions.create()
        call.new_cookie = call.services.sessions.cookie_value(session)
        raise CsrfInvalid()


def _check_csrf(call: Call) -> None:
    csrf = call.body.get("csrf")
    if call.session is None:
        raise CsrfInvalid()
    if not isinstance(csrf, str):
        raise required("csrf")
    state = call.services.sessions.csrf_state(call.session, csrf)
    if state == "expired":
        raise CsrfExpired()
    if state != "valid":
        raise CsrfInvalid()


def _string_field(call: Call, name: str) -> str:
    value = call.body.get(name)
    if not isinstance(value, str) or not value:
        raise required(name)
    return value


@api.post("/auth/login", access=Access.ANYONE)
async def login(call: Call) -> list[Any]:
    await _refuse_without_session(call)
    email = _string_field(call, "email")
    password = _string_field(call, "password")
    _check_csrf(call)

    guard = call.services.login_guard
    if not await guard.attempt(email):
        log.warning("Refused a login: too many failures for one address")
        raise FloodApi("Too many failed logins; try again later.")

    user = await call.services.store.users.by_email(email.strip())
    stored_hash = user["password_hash"] if user is not None else None
    if not await call.services.passwords.verify(stored_hash, password) or user is None:
        raise BadLogin()

    await guard.succeeded(email)

    await _bind(call, int(user["id"]))
    return []


@api.post("/auth/facebook", access=Access.ANYONE)
async def facebook_login(call: Call) -> list[Any]:
    _check_csrf(call)
    raise BadLogin("Facebook login is not available on this server.")


async def _bind(call: Call, user_id: int) -> None:
    """Log the session in, keeping its id (D26); a previous account's sockets are ended."""
    session = call.session
    assert session is not None
    previous = session["user_id"]
    if previous is not None and int(previous) != user_id:
        await call.services.hub.end_session(str(session["id"]))
    await call.services.store.sessions.set_fields(
        str(session["id"]), user_id=user_id, guest_room_id=None
    )
    call.new_cookie = call.services.sessions.cookie_value(session)


@api.get("/auth/token", access=Access.SESSION)
async def socket_token(call: Call) -> list[Any]:
    assert call.session is not None
    return [call.session["socket_token"]]


@api.delete("/auth/session", access=Access.SESSION)
async def logout(call: Call) -> list[Any]:
    session_id = call.session_id
    hub = call.services.hub
    await hub.end_session(session_id)
    await call.services.store.sessions.set_fields(session_id, ended=True)
    if call.user is None:
        await hub.leave_guest(session_id)
    elif not hub.user_connected(call.user_id):
        await hub.leave(call.user_id)
    call.extra["clear_cookie"] = True
    return []


@api.post("/auth/reset/me", access=Access.ACCOUNT)
async def reset_password(call: Call) -> list[Any]:
    log.info("Password reset asked for user %s; no mail is configured", call.user_id)
    return []


@api.post("/users/signup", access=Access.ANYONE)
async def signup(call: Call) -> list[Any]:
    await _refuse_without_session(call)
    _check_csrf(call)
    username = _string_field(call, "username").strip()
    email = _string_field(call, "email").strip()
    password = _string_field(call, "password")

    if "@" not in email or len(email) > 254 or validate_email_chars(email):
        raise RequestError({"email": ["emailInvalid"]})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RequestError({"password": ["passwordShort"]})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise RequestError({"password": ["passwordLong"]})
    try:
        check_username(username)
    except ApiError as error:
        raise RequestError({"username": ["usernameInvalid"]}) from error

    password_hash = await call.services.passwords.hash(password)
    try:
        user = await call.services.store.users.create(
            username=username,
            email=email,
            password_hash=password_hash,
            slug=slugify(username) or None,
            joined_at=call.now,
        )
    except EmailTaken:
        raise RequestError({"email": ["emailTaken"]}) from None
    except UsernameTaken:
        raise RequestError("Email or username already taken") from None

    log.info("New account %s (%s)", user["id"], username)
    await _bind(call, int(user["id"]))
    return []


def validate_email_chars(email: str) -> bool:
    """True when the address has characters no address may have."""
    return any(ch.isspace() or ord(ch) < 32 for ch in email)
