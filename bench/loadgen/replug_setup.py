"""Getting socket tokens from a Replug server: sender accounts, the room, and guest listeners.

- Senders are accounts (guests cannot chat): `GET /_/mobile/init` gives a CSRF token and a
  `session` cookie; `POST /_/users/signup` binds that session to a new account. The first
  account creates the room (`POST /_/rooms`). Every sender joins it (`POST /_/rooms/join`) and
  takes its token from `GET /_/auth/token`. Signup hashes a password (deliberately slow), so
  there are few senders, made once per run.
- Listeners are guests: `GET /<room slug>` without a cookie starts a guest session placed in
  that room, and `GET /_/auth/token` with that cookie gives its token. Guest sessions and their
  room are stored, so the same tokens work again after the server restarts on the same database.
- Room membership of accounts lives in memory only: after a restart each sender joins again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from loadgen.http import HttpClient, HttpError, Response

PASSWORD = "bench-password-1"


@dataclass
class Account:
    username: str
    cookie: str
    token: str = ""


@dataclass
class Cast:
    """Everything needed to connect: the room, its senders and its guests' tokens."""

    slug: str
    senders: list[Account] = field(default_factory=list)
    guest_tokens: list[str] = field(default_factory=list)


def _check(response: Response, what: str) -> Response:
    if response.status != 200:
        raise HttpError(f"{what}: HTTP {response.status} {response.body[:300]!r}")
    return response


async def sign_up(http: HttpClient, username: str) -> Account:
    init = _check(await http.request("GET", "/_/mobile/init"), "mobile/init")
    cookie = init.session
    if cookie is None:
        raise HttpError("mobile/init set no session cookie")
    csrf = init.json()["data"][0]["c"]
    body = {
        "csrf": csrf,
        "username": username,
        "email": f"{username}@bench.invalid",
        "password": PASSWORD,
    }
    signed = _check(await http.request("POST", "/_/users/signup", body, cookie), "signup")
    return Account(username, signed.session or cookie)


async def token_of(http: HttpClient, cookie: str) -> str:
    answer = _check(await http.request("GET", "/_/auth/token", cookie=cookie), "auth/token")
    return str(answer.json()["data"][0])


async def create_room(http: HttpClient, host: Account, name: str) -> str:
    answer = _check(await http.request("POST", "/_/rooms", {"name": name}, host.cookie), "rooms")
    return str(answer.json()["data"][0]["slug"])


async def join(http: HttpClient, account: Account, slug: str) -> None:
    _check(await http.request("POST", "/_/rooms/join", {"slug": slug}, account.cookie), "join")


async def make_senders(host: str, port: int, count: int, log=print) -> Cast:
    """Sign up `count` accounts (the first creates the room) and get their tokens."""
    stamp = int(time.time()) % 100000
    http = HttpClient(host, port, timeout=60)
    started = time.monotonic()
    try:
        senders = []
        for index in range(count):
            senders.append(await sign_up(http, f"bench{stamp}s{index}"))
        slug = await create_room(http, senders[0], f"bench room {stamp}")
        for account in senders:
            account.token = await token_of(http, account.cookie)
    finally:
        await http.close()
    log(f"  signed up {count} sender accounts in {time.monotonic() - started:.1f}s; room {slug}")
    return Cast(slug, senders)


async def rejoin(host: str, port: int, cast: Cast) -> None:
    """Put every sender (back) in the room, e.g. after the server restarted."""
    http = HttpClient(host, port)
    try:
        for account in cast.senders:
            await join(http, account, cast.slug)
    finally:
        await http.close()


async def make_guests(
    host: str, port: int, cast: Cast, total: int, workers: int = 8, log=print
) -> None:
    """Top up `cast.guest_tokens` to `total` guests placed in the room."""
    missing = total - len(cast.guest_tokens)
    if missing <= 0:
        return
    started = time.monotonic()
    queue = iter(range(missing))

    async def worker() -> None:
        http = HttpClient(host, port)
        try:
            for _ in queue:
                page = await http.request("GET", f"/{cast.slug}")
                _check(page, "room page")
                if page.session is None:
                    raise HttpError("the room page set no session cookie")
                cast.guest_tokens.append(await token_of(http, page.session))
        finally:
            await http.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    log(f"  made {missing} guest sessions in {time.monotonic() - started:.1f}s")
