"""Sessions and accounts over REST: mobile/init, login, signup, socket tokens, logout.

Spec: login-and-socket.md §2–§7, conventions.md §2–§3, rest.md §0–§1.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tests.api.expect import NOT_AUTHORIZED, WIRE_TIME, expect_error, expect_ok, guest
from tests.conftest import Server
from tests.plug import PASSWORD, ApiAnswer, PlugClient

CSRF_INVALID = "This CSRF token is invalid."
CSRF_EXPIRED = "This CSRF token has expired."
COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]+\|\d+\|[A-Za-z0-9_-]+$")


# --------------------------------------------------------------------------- helpers


class RawAnswer:
    def __init__(self, http_status: int, set_cookies: list[str], body: dict[str, Any]) -> None:
        self.http_status = http_status
        self.set_cookies = set_cookies
        self.answer = ApiAnswer(http_status, body)


async def raw_call(
    server: Server,
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> RawAnswer:
    """A request that exposes the Set-Cookie headers."""
    headers = {"Content-Type": content_type}
    if cookie is not None:
        headers["Cookie"] = f"session={cookie}"
    data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
    url = f"{server.base_url}/_/{path}"
    async with server.http.request(method, url, data=data, headers=headers) as response:
        return RawAnswer(
            response.status,
            list(response.headers.getall("Set-Cookie", [])),
            orjson.loads(await response.read()),
        )


def session_cookie(set_cookies: list[str]) -> tuple[str, list[str]]:
    """The one `session` cookie: its value and its attributes."""
    assert len(set_cookies) == 1, set_cookies
    first, *attributes = [part.strip() for part in set_cookies[0].split(";")]
    name, _, value = first.partition("=")
    assert name == "session", set_cookies
    return value, attributes


async def login_body(client: PlugClient, email: str, password: str) -> dict[str, Any]:
    return {"csrf": await client.csrf(), "email": email, "password": password}


def signup_fields(name: str, csrf: str) -> dict[str, Any]:
    """A signup body for `name` (email `<name>@example.test`) that carries this CSRF token."""
    return {
        "csrf": csrf,
        "username": name,
        "email": f"{name.lower()}@example.test",
        "password": PASSWORD,
        "response": "",
    }


async def signup_body(client: PlugClient, name: str, **overrides: Any) -> dict[str, Any]:
    body = signup_fields(name, await client.csrf())
    body.update(overrides)
    return body


# ----------------------------------------------------------------------- mobile/init


async def test_mobile_init_answers_a_csrf_token_and_the_server_time_with_six_digits(
    server: Server,
):
    answer = await server.client().get("mobile/init")

    data = expect_ok(answer)
    assert len(data) == 1
    assert isinstance(data[0]["c"], str) and data[0]["c"]
    assert WIRE_TIME.match(data[0]["t"]), data
    expected = datetime.fromtimestamp(server.clock.now(), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert data[0]["t"] == expected


async def test_mobile_init_time_follows_the_server_clock(server: Server):
    client = server.client()
    server.clock.advance(12.25)
    data = expect_ok(await client.get("mobile/init"))
    expected = datetime.fromtimestamp(server.clock.now(), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert data[0]["t"] == expected
    assert data[0]["t"].endswith(".250000")


async def test_mobile_init_sets_exactly_one_session_cookie_with_path_httponly_and_no_domain(
    server: Server,
):
    result = await raw_call(server, "GET", "mobile/init")

    expect_ok(result.answer)
    value, attributes = session_cookie(result.set_cookies)
    assert COOKIE_VALUE.match(value), value
    lowered = [attribute.lower() for attribute in attributes]
    assert "path=/" in lowered
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "max-age=2592000" in lowered
    assert not any(attribute.startswith("domain") for attribute in lowered), attributes
    # plain HTTP test rig: no Secure (login-and-socket §2)
    assert "secure" not in lowered


@pytest.mark.parametrize("separator", ["|", "%7C"], ids=["as-set", "percent-encoded"])
async def test_mobile_init_with_a_valid_cookie_keeps_the_session_and_sends_the_same_value_again(
    server: Server, separator: str
):
    """The cookie comes back as it was set, or with its `|` separators percent-encoded."""
    first = await raw_call(server, "GET", "mobile/init")
    value, _ = session_cookie(first.set_cookies)

    second = await raw_call(server, "GET", "mobile/init", cookie=value.replace("|", separator))

    expect_ok(second.answer)
    again, _ = session_cookie(second.set_cookies)
    assert again == value


async def test_mobile_init_with_a_badly_signed_cookie_starts_a_fresh_session(server: Server):
    first = await raw_call(server, "GET", "mobile/init")
    value, _ = session_cookie(first.set_cookies)
    forged = value.rsplit("|", 1)[0] + "|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

    second = await raw_call(server, "GET", "mobile/init", cookie=forged)

    expect_ok(second.answer)
    fresh, _ = session_cookie(second.set_cookies)
    assert COOKIE_VALUE.match(fresh)
    assert fresh.split("|")[0] != value.split("|")[0]


async def test_mobile_init_keeps_a_logged_in_session_logged_in(server: Server):
    ada = await server.user("ada")
    cookie = ada.cookie

    expect_ok(await ada.get("mobile/init"))

    assert ada.cookie == cookie
    assert expect_ok(await ada.get("users/me"))[0]["id"] == ada.user_id


async def test_mobile_init_tolerates_a_trailing_slash(server: Server):
    data = expect_ok(await server.client().get("mobile/init/"))
    assert set(data[0]) >= {"c", "t"}


async def test_a_percent_encoded_session_cookie_is_accepted_by_every_endpoint(server: Server):
    ada = await server.user("ada")
    assert ada.cookie is not None and "|" in ada.cookie
    ada.cookie = ada.cookie.replace("|", "%7C")

    me = expect_ok(await ada.get("users/me"))

    assert me[0]["id"] == ada.user_id
    assert me[0]["guest"] is False


# ------------------------------------------------------------------------ auth/login


async def test_login_with_the_right_password_answers_200_with_empty_data(server: Server):
    await server.user("ada")
    client = server.client()

    answer = await client.login("ada@example.test", PASSWORD)

    assert expect_ok(answer) == []
    me = expect_ok(await client.get("users/me"))
    assert me[0]["username"] == "ada"
    assert me[0]["guest"] is False


async def test_login_keeps_the_session_id_and_repeats_the_same_set_cookie(server: Server):
    await server.user("ada")
    init = await raw_call(server, "GET", "mobile/init")
    cookie, _ = session_cookie(init.set_cookies)
    csrf = init.answer.data[0]["c"]

    result = await raw_call(
        server,
        "POST",
        "auth/login",
        cookie=cookie,
        body={"csrf": csrf, "email": "ada@example.test", "password": PASSWORD},
    )

    assert expect_ok(result.answer) == []
    repeated, attributes = session_cookie(result.set_cookies)
    assert repeated == cookie
    assert "path=/" in [attribute.lower() for attribute in attributes]
    # The mobile/init cookie (plugAPI keeps that one) is now logged in.
    me = await raw_call(server, "GET", "users/me", cookie=cookie)
    assert expect_ok(me.answer)[0]["username"] == "ada"


async def test_login_compares_the_email_case_insensitively(server: Server):
    await server.user("ada")
    client = server.client()

    answer = await client.login("ADA@Example.TEST", PASSWORD)

    assert expect_ok(answer) == []
    assert expect_ok(await client.get("users/me"))[0]["username"] == "ada"


async def test_login_without_a_session_cookie_is_csrf_token_invalid(server: Server):
    await server.user("ada")
    client = server.client()

    answer = await client.post(
        "auth/login", {"csrf": "whatever", "email": "ada@example.test", "password": PASSWORD}
    )

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


async def test_login_without_a_cookie_is_csrf_token_invalid_even_with_fields_missing(
    server: Server,
):
    answer = await server.client().post("auth/login", {})

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


async def test_login_with_a_badly_signed_cookie_is_csrf_token_invalid(server: Server):
    await server.user("ada")
    client = await guest(server)
    csrf = await client.csrf()
    assert client.cookie is not None
    client.cookie = client.cookie.rsplit("|", 1)[0] + "|bm90LXRoZS1zaWduYXR1cmU"

    answer = await client.post(
        "auth/login", {"csrf": csrf, "email": "ada@example.test", "password": PASSWORD}
    )

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


async def test_login_without_a_cookie_starts_a_fresh_session_while_refusing(server: Server):
    # login-and-socket §2: sessions are "created ... by signup or login when the request
    # carried no valid cookie"; §4.1 step 1 still refuses the login itself.
    await server.user("ada")

    result = await raw_call(
        server,
        "POST",
        "auth/login",
        body={"csrf": "whatever", "email": "ada@example.test", "password": PASSWORD},
    )

    expect_error(result.answer, 403, "csrfTokenInvalid", CSRF_INVALID)
    value, _ = session_cookie(result.set_cookies)
    assert COOKIE_VALUE.match(value), value
    me = await raw_call(server, "GET", "users/me", cookie=value)
    assert expect_ok(me.answer)[0]["guest"] is True


@pytest.mark.parametrize("missing", ["csrf", "email", "password"])
async def test_login_with_a_missing_field_is_400_field_is_required(server: Server, missing: str):
    await server.user("ada")
    client = server.client()
    body = await login_body(client, "ada@example.test", PASSWORD)
    del body[missing]

    answer = await client.post("auth/login", body)

    expect_error(answer, 400, "requestError", f"{missing} is required")


@pytest.mark.parametrize("field", ["csrf", "email", "password"])
async def test_login_with_a_field_that_is_not_a_string_is_400_field_is_required(
    server: Server, field: str
):
    await server.user("ada")
    client = server.client()
    body = await login_body(client, "ada@example.test", PASSWORD)
    body[field] = 12345

    answer = await client.post("auth/login", body)

    expect_error(answer, 400, "requestError", f"{field} is required")


async def test_login_checks_missing_fields_before_the_csrf_token(server: Server):
    client = await guest(server)

    answer = await client.post("auth/login", {"csrf": "not-the-token", "email": "a@b.test"})

    expect_error(answer, 400, "requestError", "password is required")


async def test_login_with_an_unknown_csrf_token_is_csrf_token_invalid(server: Server):
    await server.user("ada")
    client = await guest(server)

    answer = await client.post(
        "auth/login",
        {
            "csrf": "0123456789abcdef0123456789abcdef",
            "email": "ada@example.test",
            "password": PASSWORD,
        },
    )

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


async def test_login_with_the_csrf_token_of_another_session_is_csrf_token_invalid(
    server: Server,
):
    await server.user("ada")
    other = server.client()
    foreign_csrf = await other.csrf()
    client = await guest(server)

    answer = await client.post(
        "auth/login", {"csrf": foreign_csrf, "email": "ada@example.test", "password": PASSWORD}
    )

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


async def test_login_with_a_csrf_token_older_than_30_minutes_is_csrf_token_expired(
    server: Server,
):
    await server.user("ada")
    client = server.client()
    body = await login_body(client, "ada@example.test", PASSWORD)

    server.clock.advance(30 * 60 + 1)
    answer = await client.post("auth/login", body)

    expect_error(answer, 403, "csrfTokenExpired", CSRF_EXPIRED)


async def test_login_with_a_csrf_token_29_minutes_old_still_works(server: Server):
    await server.user("ada")
    client = server.client()
    body = await login_body(client, "ada@example.test", PASSWORD)

    server.clock.advance(29 * 60)
    answer = await client.post("auth/login", body)

    assert expect_ok(answer) == []


async def test_login_csrf_token_stays_valid_after_mobile_init_is_called_again(server: Server):
    # login-and-socket §3: `c` is bound to the session and stays valid for 30 minutes.
    await server.user("ada")
    client = server.client()
    first = await client.csrf()
    second = await client.csrf()

    answer = await client.post(
        "auth/login", {"csrf": first, "email": "ada@example.test", "password": PASSWORD}
    )

    assert expect_ok(answer) == []
    assert second  # the later token is not what this test is about


async def test_login_csrf_token_can_be_used_again_after_a_failed_login(server: Server):
    await server.user("ada")
    client = server.client()
    body = await login_body(client, "ada@example.test", "wrong-password")

    expect_error(await client.post("auth/login", body), 401, "badLogin")
    body["password"] = PASSWORD

    assert expect_ok(await client.post("auth/login", body)) == []


async def test_login_with_a_wrong_password_is_401_bad_login_with_empty_data(server: Server):
    await server.user("ada")
    client = server.client()

    answer = await client.login("ada@example.test", "not-the-password")

    expect_error(answer, 401, "badLogin")
    assert answer.data == []
    me = expect_ok(await client.get("users/me"))
    assert me[0]["guest"] is True


async def test_login_with_an_unknown_email_is_401_bad_login_with_empty_data(server: Server):
    await server.user("ada")
    client = server.client()

    answer = await client.login("nobody@example.test", PASSWORD)

    expect_error(answer, 401, "badLogin")
    assert answer.data == []


@pytest.mark.parametrize(
    "raw", [b"{this is not json", b'["csrf", "email"]'], ids=["not-json", "json-array"]
)
async def test_login_with_a_body_that_is_not_a_json_object_is_400_request_error(
    server: Server, raw: bytes
):
    client = await guest(server)

    answer = await client.request("POST", "auth/login", raw=raw)

    expect_error(answer, 400, "requestError")


async def test_login_reads_a_json_body_whatever_the_content_type_says(server: Server):
    await server.user("ada")
    init = await raw_call(server, "GET", "mobile/init")
    cookie, _ = session_cookie(init.set_cookies)
    body = {"csrf": init.answer.data[0]["c"], "email": "ada@example.test", "password": PASSWORD}

    result = await raw_call(
        server,
        "POST",
        "auth/login",
        cookie=cookie,
        raw=orjson.dumps(body),
        content_type="text/plain",
    )

    assert expect_ok(result.answer) == []


async def test_logging_into_another_account_ends_the_previous_accounts_sockets(server: Server):
    await server.user("bram")
    ada = await server.user("ada")
    sock = await ada.socket()
    try:
        assert (await sock.wait_for("ack"))[0]["p"] == "1"

        assert expect_ok(await ada.login("bram@example.test", PASSWORD)) == []

        await sock.wait_for("killSession")
        await sock.wait_closed()
    finally:
        await sock.close()


async def test_login_into_another_account_switches_the_session(server: Server):
    await server.user("bram")
    ada = await server.user("ada")

    answer = await ada.login("bram@example.test", PASSWORD)

    assert expect_ok(answer) == []
    assert expect_ok(await ada.get("users/me"))[0]["username"] == "bram"


# --------------------------------------------------------------------- auth/facebook


async def test_facebook_login_without_facebook_integration_is_401_bad_login(server: Server):
    client = server.client()
    csrf = await client.csrf()

    answer = await client.post(
        "auth/facebook", {"csrf": csrf, "accessToken": "EAAB123", "userID": "1000"}
    )

    expect_error(answer, 401, "badLogin")


async def test_facebook_login_without_a_cookie_is_csrf_token_invalid(server: Server):
    answer = await server.client().post(
        "auth/facebook", {"csrf": "x", "accessToken": "EAAB123", "userID": "1000"}
    )

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


# ---------------------------------------------------------------------- users/signup


async def test_signup_logs_the_session_in_with_a_fresh_level_1_account(server: Server):
    client = server.client()
    body = await signup_body(client, "ada")

    assert expect_ok(await client.post("users/signup", body)) == []

    me = expect_ok(await client.get("users/me"))[0]
    assert me["username"] == "ada"
    assert me["guest"] is False
    assert me["level"] == 1
    assert me["xp"] == 0
    assert me["pp"] == 0
    assert me["avatarID"] == "base01"
    assert me["badge"] is None
    assert me["pw"] is True
    assert me["slug"] == "ada"
    assert isinstance(me["id"], int) and me["id"] > 0
    assert WIRE_TIME.match(me["joined"])


async def test_signup_keeps_the_cookie_value_of_mobile_init(server: Server):
    init = await raw_call(server, "GET", "mobile/init")
    cookie, _ = session_cookie(init.set_cookies)
    body = signup_fields("ada", init.answer.data[0]["c"])

    result = await raw_call(server, "POST", "users/signup", cookie=cookie, body=body)

    assert expect_ok(result.answer) == []
    value, _ = session_cookie(result.set_cookies)
    assert value == cookie
    me = await raw_call(server, "GET", "users/me", cookie=cookie)
    assert expect_ok(me.answer)[0]["username"] == "ada"


async def test_signup_account_can_log_in_again_later(server: Server):
    await server.user("ada")
    client = server.client()
    assert expect_ok(await client.login("ada@example.test", PASSWORD)) == []


async def test_signup_with_a_password_shorter_than_8_is_password_short(server: Server):
    client = server.client()
    body = await signup_body(client, "ada", password="1234567")

    answer = await client.post("users/signup", body)

    expect_error(answer, 400, "requestError", {"password": ["passwordShort"]})
    assert answer.data == [{"password": ["passwordShort"]}]


async def test_signup_with_a_password_of_exactly_8_characters_works(server: Server):
    client = server.client()
    body = await signup_body(client, "ada", password="12345678")
    assert expect_ok(await client.post("users/signup", body)) == []


async def test_signup_with_an_email_already_used_is_email_taken(server: Server):
    await server.user("ada")
    client = server.client()
    body = await signup_body(client, "bram", email="ada@example.test")

    answer = await client.post("users/signup", body)

    expect_error(answer, 400, "requestError")
    assert answer.data == [{"email": ["emailTaken"]}]


async def test_signup_with_a_taken_username_is_email_or_username_already_taken(server: Server):
    await server.user("ada")
    client = server.client()
    body = await signup_body(client, "ada", email="other@example.test")

    answer = await client.post("users/signup", body)

    expect_error(answer, 400, "requestError", "Email or username already taken")
    assert answer.data == ["Email or username already taken"]


async def test_signup_compares_usernames_case_insensitively(server: Server):
    await server.user("ada")
    client = server.client()
    body = await signup_body(client, "ADA", email="other@example.test")

    answer = await client.post("users/signup", body)

    expect_error(answer, 400, "requestError", "Email or username already taken")


@pytest.mark.parametrize(
    "username",
    ["a", "x" * 26, "!!!", "tab\there", "  "],
    ids=["one-char", "26-chars", "no-slug", "control-char", "blank"],
)
async def test_signup_with_an_invalid_username_is_username_invalid(server: Server, username: str):
    client = server.client()
    body = await signup_body(client, "placeholder", username=username)

    answer = await client.post("users/signup", body)

    expect_error(answer, 400, "requestError")
    assert answer.data == [{"username": ["usernameInvalid"]}]


async def test_signup_with_a_25_character_username_works(server: Server):
    client = server.client()
    body = await signup_body(client, "y" * 25)
    assert expect_ok(await client.post("users/signup", body)) == []


async def test_signup_without_a_cookie_is_csrf_token_invalid(server: Server):
    client = server.client()
    body = signup_fields("ada", "x")

    answer = await client.post("users/signup", body)

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


async def test_signup_without_a_cookie_starts_a_fresh_session_while_refusing(server: Server):
    # login-and-socket §2: "mobile/init, pages and signup create a fresh one" for a request
    # with a missing cookie; the CSRF check (§7.2) still refuses this signup.
    body = signup_fields("ada", "x")

    result = await raw_call(server, "POST", "users/signup", body=body)

    expect_error(result.answer, 403, "csrfTokenInvalid", CSRF_INVALID)
    value, _ = session_cookie(result.set_cookies)
    assert COOKIE_VALUE.match(value), value
    me = await raw_call(server, "GET", "users/me", cookie=value)
    assert expect_ok(me.answer)[0]["guest"] is True


async def test_signup_with_a_wrong_csrf_token_is_csrf_token_invalid(server: Server):
    client = server.client()
    body = await signup_body(client, "ada", csrf="0123456789abcdef0123456789abcdef")

    answer = await client.post("users/signup", body)

    expect_error(answer, 403, "csrfTokenInvalid", CSRF_INVALID)


async def test_signup_with_an_expired_csrf_token_is_csrf_token_expired(server: Server):
    client = server.client()
    body = await signup_body(client, "ada")

    server.clock.advance(31 * 60)
    answer = await client.post("users/signup", body)

    expect_error(answer, 403, "csrfTokenExpired", CSRF_EXPIRED)


@pytest.mark.parametrize("missing", ["username", "email", "password"])
async def test_signup_with_a_missing_field_is_400_field_is_required(server: Server, missing: str):
    client = server.client()
    body = await signup_body(client, "ada")
    del body[missing]

    answer = await client.post("users/signup", body)

    expect_error(answer, 400, "requestError", f"{missing} is required")


async def test_signup_with_a_body_that_is_not_json_is_400_request_error(server: Server):
    client = await guest(server)

    answer = await client.request("POST", "users/signup", raw=b"username=ada")

    expect_error(answer, 400, "requestError")


# ------------------------------------------------------------------------ auth/token


async def test_auth_token_is_a_base64_string_of_about_172_characters(server: Server):
    ada = await server.user("ada")

    data = expect_ok(await ada.get("auth/token"))

    assert len(data) == 1
    token = data[0]
    assert isinstance(token, str)
    assert 160 <= len(token) <= 180, len(token)
    assert re.fullmatch(r"[A-Za-z0-9+/_=-]+", token), token


async def test_auth_token_is_the_same_on_repeated_calls(server: Server):
    ada = await server.user("ada")

    first = expect_ok(await ada.get("auth/token"))[0]
    second = expect_ok(await ada.get("auth/token"))[0]

    assert first == second


async def test_auth_token_is_given_to_guest_sessions_too(server: Server):
    client = await guest(server)

    data = expect_ok(await client.get("auth/token"))

    assert isinstance(data[0], str) and 160 <= len(data[0]) <= 180


async def test_auth_token_differs_between_sessions(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    assert expect_ok(await ada.get("auth/token")) != expect_ok(await bram.get("auth/token"))


async def test_auth_token_without_a_session_is_401_not_authorized(server: Server):
    answer = await server.client().get("auth/token")

    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


async def test_auth_token_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get("auth/token/")) == expect_ok(await ada.get("auth/token"))


# ---------------------------------------------------------------------- auth/session


async def test_logout_answers_200_empty_and_clears_the_cookie(server: Server):
    ada = await server.user("ada")
    assert ada.cookie is not None

    result = await raw_call(server, "DELETE", "auth/session", cookie=ada.cookie)

    assert expect_ok(result.answer) == []
    value, attributes = session_cookie(result.set_cookies)
    assert value == ""
    assert "max-age=0" in [attribute.lower() for attribute in attributes]


async def test_after_logout_the_old_cookie_has_no_session_and_users_me_is_401(server: Server):
    # login-and-socket §7.1: the cookie stops working; §2: a request whose cookie names no
    # session answers 401 notAuthorized wherever a session is needed (users/me: any session).
    ada = await server.user("ada")
    old_cookie = ada.cookie

    assert expect_ok(await ada.delete("auth/session")) == []
    ada.cookie = old_cookie

    expect_error(await ada.get("users/me"), 401, "notAuthorized", NOT_AUTHORIZED)
    expect_error(await ada.get("auth/token"), 401, "notAuthorized", NOT_AUTHORIZED)
    expect_error(await ada.get("playlists"), 401, "notAuthorized", NOT_AUTHORIZED)


async def test_after_logout_the_old_socket_token_is_refused(server: Server):
    ada = await server.user("ada")
    token = await ada.token()

    assert expect_ok(await ada.delete("auth/session")) == []

    sock = await ada.socket(token=token)
    try:
        ack = (await sock.wait_for("ack"))[0]
        assert ack["p"] == "0"
        await sock.wait_closed()
    finally:
        await sock.close()


async def test_logout_sends_kill_session_to_the_sessions_socket_and_closes_it(server: Server):
    ada = await server.user("ada")
    sock = await ada.socket()
    try:
        assert (await sock.wait_for("ack"))[0]["p"] == "1"

        assert expect_ok(await ada.delete("auth/session")) == []

        await sock.wait_for("killSession")
        await sock.wait_closed()
    finally:
        await sock.close()


async def test_logout_without_a_socket_leaves_the_room_at_once(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    await bram.join(room["slug"])
    before = expect_ok(await bram.get("rooms/state"))[0]
    assert [user["id"] for user in before["users"]] == [ada.user_id]

    assert expect_ok(await ada.delete("auth/session")) == []

    after = expect_ok(await bram.get("rooms/state"))[0]
    assert after["users"] == []
    assert after["meta"]["population"] == 1


async def test_logout_with_the_only_socket_leaves_the_room_at_once(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    await bram.join(room["slug"])
    sock = await ada.socket()
    try:
        assert (await sock.wait_for("ack"))[0]["p"] == "1"

        assert expect_ok(await ada.delete("auth/session")) == []
        await sock.wait_closed()
    finally:
        await sock.close()

    after = expect_ok(await bram.get("rooms/state"))[0]
    assert after["users"] == []
    assert after["meta"]["population"] == 1


async def test_logout_without_a_session_is_401_not_authorized(server: Server):
    answer = await server.client().delete("auth/session")

    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


async def test_a_guest_session_can_log_out(server: Server):
    client = await guest(server)
    old_cookie = client.cookie

    assert expect_ok(await client.delete("auth/session")) == []

    client.cookie = old_cookie
    expect_error(await client.get("auth/token"), 401, "notAuthorized", NOT_AUTHORIZED)


async def test_logging_in_again_after_logout_works_with_a_new_session(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.delete("auth/session")) == []
    assert ada.cookie is None

    assert expect_ok(await ada.login("ada@example.test", PASSWORD)) == []
    assert expect_ok(await ada.get("users/me"))[0]["username"] == "ada"


# ----------------------------------------------------------------------- auth/reset/me


async def test_password_reset_for_an_account_answers_200_empty(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.post("auth/reset/me")) == []


async def test_password_reset_for_a_guest_is_401_not_authorized(server: Server):
    client = await guest(server)
    expect_error(await client.post("auth/reset/me"), 401, "notAuthorized", NOT_AUTHORIZED)


# ----------------------------------------------------------- access and general rules


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "playlists", None),
        ("POST", "playlists", {"name": "mine"}),
        ("POST", "rooms", {"name": "Guest Room"}),
        ("GET", "rooms/me", None),
        ("GET", "rooms/validate/Guest%20Room", None),
        ("POST", "auth/reset/me", {}),
        ("PUT", "playlists/1/activate", {}),
    ],
)
async def test_a_guest_calling_an_account_endpoint_is_401_not_authorized(
    server: Server, method: str, path: str, body: Any
):
    client = await guest(server)

    answer = await client.request(method, path, body)

    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "users/me", None),
        ("GET", "users/1", None),
        ("POST", "users/bulk", {"ids": [1]}),
        ("GET", "users/validate/somebody", None),
        ("GET", "rooms", None),
        ("POST", "rooms/join", {"slug": "night-owls"}),
        ("GET", "rooms/state", None),
        ("GET", "rooms/history", None),
        ("GET", "chat/history", None),
        ("GET", "playlists", None),
    ],
)
async def test_a_request_without_a_session_is_401_not_authorized(
    server: Server, method: str, path: str, body: Any
):
    answer = await server.client().request(method, path, body)

    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


async def test_an_unknown_endpoint_answers_404_not_found_in_the_envelope(server: Server):
    ada = await server.user("ada")

    answer = await ada.get("no/such/endpoint")

    expect_error(answer, 404, "notFound")


async def test_an_empty_body_counts_as_an_empty_object(server: Server):
    ada = await server.user("ada")

    assert expect_ok(await ada.request("POST", "auth/reset/me", raw=b"")) == []
    assert expect_ok(await ada.request("POST", "auth/reset/me", raw=b"  \n ")) == []


async def test_bodies_on_get_and_delete_are_ignored(server: Server):
    ada = await server.user("ada")

    me = expect_ok(await ada.request("GET", "users/me", raw=b"{not json"))
    assert me[0]["id"] == ada.user_id
    assert expect_ok(await ada.request("GET", "auth/token", raw=b"[1, 2]"))
    assert expect_ok(await ada.request("DELETE", "auth/session", raw=b"{not json")) == []
