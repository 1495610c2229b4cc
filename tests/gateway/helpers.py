"""Small tools for the socket tests: raw sockets, rooms full of listeners, and sync points."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from tests.conftest import Server
from tests.plug import PLUG_ORIGIN, PlugClient, PlugSocket

_marks = itertools.count(1)


def ack(p: str, s: str = "dashboard") -> dict[str, Any]:
    return {"a": "ack", "p": p, "s": s}


async def connect(
    server: Server, origin: str | None = PLUG_ORIGIN, headers: dict[str, str] | None = None
) -> aiohttp.ClientWebSocketResponse:
    """Open /socket with exactly the given Origin (None sends no Origin header at all)."""
    sent = dict(headers or {})
    if origin is not None:
        sent["Origin"] = origin
    return await server.http.ws_connect(f"{server.base_url}/socket", headers=sent)


async def raw_socket(server: Server, origin: str | None = PLUG_ORIGIN) -> PlugSocket:
    """A recording socket that has sent nothing yet (no `auth`)."""
    return PlugSocket(await connect(server, origin))


async def handshake_status(server: Server, origin: str | None) -> int:
    """The HTTP status the socket handshake answers (101 when it was accepted)."""
    try:
        ws = await connect(server, origin)
    except aiohttp.WSServerHandshakeError as error:
        return error.status
    await ws.close()
    return 101


async def authed(client: PlugClient) -> PlugSocket:
    """A socket for this client that has its `ack`."""
    sock = await client.socket()
    await sock.wait_for("ack")
    return sock


async def room_with(server: Server, *names: str) -> tuple[str, list[PlugClient], list[PlugSocket]]:
    """The first user hosts a new room; everyone joins it and opens an authenticated socket."""
    users = [await server.user(name) for name in names]
    room = await users[0].create_room(f"Room of {names[0]}")
    slug = str(room["slug"])
    sockets = []
    for user in users:
        await user.join(slug)
        sockets.append(await authed(user))
    # Arrivals are announced in short windows; settle so tests start from a quiet room.
    for index, sock in enumerate(sockets):
        later_arrivals = len(sockets) - 1 - index
        if later_arrivals:
            await sock.wait_for("userJoin", count=later_arrivals)
    return slug, users, sockets


async def wait_event(
    sock: PlugSocket, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """Wait for the first recorded event that matches."""

    async def poll() -> dict[str, Any]:
        while True:
            for event in sock.events:
                if predicate(event):
                    return event
            if sock._reader.done():
                raise AssertionError(f"socket closed without the event; got {sock.events}")
            await asyncio.sleep(0.005)

    return await asyncio.wait_for(poll(), timeout)


async def wait_chat(sock: PlugSocket, message: str, timeout: float = 5.0) -> dict[str, Any]:
    return await wait_event(
        sock, lambda e: e["a"] == "chat" and e["p"]["message"] == message, timeout
    )


async def sync(sender: PlugSocket, *listeners: PlugSocket) -> str:
    """A sync point: `sender` chats a fresh mark and every listener (and sender) receives it.

    Events reach one socket in the order the server produced them, so once a listener has the
    mark it has every frame the server wrote to it before.
    """
    mark = f"sync-{next(_marks)}"
    await sender.chat(mark)
    for sock in (sender, *listeners):
        await wait_chat(sock, mark)
    return mark


def chats(sock: PlugSocket) -> list[str]:
    """Chat texts that arrived on a socket, sync marks left out."""
    return [e["p"]["message"] for e in without_sync(sock.named("chat"))]


def without_sync(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e for e in events if not (e["a"] == "chat" and str(e["p"]["message"]).startswith("sync-"))
    ]


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


async def close_and_settle(server: Server, sock: PlugSocket) -> None:
    """Close a socket from the client side and wait until the server has let go of it."""
    before = server.services.gateway.connection_count
    await sock.close()
    await wait_until(lambda: server.services.gateway.connection_count < before)
    await asyncio.sleep(0.02)


async def load_page(client: PlugClient, slug: str) -> None:
    """GET /<slug> with the client's cookie, keeping the `session` cookie it sets (§5)."""
    headers = {"Cookie": f"session={client.cookie}"} if client.cookie else {}
    async with client.http.get(f"{client.base_url}/{slug}", headers=headers) as response:
        assert response.status == 200
        await response.read()
        for header in response.headers.getall("Set-Cookie", []):
            name, _, rest = header.partition("=")
            if name.strip() == "session":
                client.cookie = rest.split(";", 1)[0] or None
    assert client.cookie


def event_frames(sock: PlugSocket) -> list[Any]:
    """Every non-heartbeat frame, parsed."""
    return [orjson.loads(frame) for frame in sock.frames if frame != "h"]
