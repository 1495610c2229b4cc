"""A small plug.dj-style client for tests: REST with the session cookie, and a real socket."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import orjson

PLUG_ORIGIN = "https://plug.dj"
# The password `signup` gives an account unless told otherwise.
PASSWORD = "hunter2hunter2"
_names = itertools.count(1)


class ApiAnswer:
    def __init__(self, http_status: int, body: dict[str, Any]) -> None:
        self.http_status = http_status
        self.body = body

    @property
    def status(self) -> str:
        return str(self.body["status"])

    @property
    def data(self) -> list[Any]:
        return list(self.body["data"])

    def __repr__(self) -> str:
        return f"<{self.http_status} {self.body}>"


class PlugClient:
    """One user agent: keeps its `session` cookie raw, as plug-login does."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.cookie: str | None = None
        self.user_id: int | None = None
        self.username: str | None = None
        self.email: str | None = None

    async def request(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None
    ) -> ApiAnswer:
        headers = {"Content-Type": "application/json"}
        if self.cookie is not None:
            headers["Cookie"] = f"session={self.cookie}"
        data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        url = f"{self.base_url}/_/{path.lstrip('/')}"
        async with self.http.request(method, url, data=data, headers=headers) as response:
            self._keep_cookie(response)
            return ApiAnswer(response.status, orjson.loads(await response.read()))

    def _keep_cookie(self, response: aiohttp.ClientResponse) -> None:
        for header in response.headers.getall("Set-Cookie", []):
            name, _, rest = header.partition("=")
            if name.strip() == "session":
                value = rest.split(";", 1)[0]
                self.cookie = value or None

    async def get(self, path: str) -> ApiAnswer:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None) -> ApiAnswer:
        return await self.request("POST", path, body if body is not None else {})

    async def put(self, path: str, body: Any = None) -> ApiAnswer:
        return await self.request("PUT", path, body if body is not None else {})

    async def delete(self, path: str) -> ApiAnswer:
        return await self.request("DELETE", path)

    async def ok(self, method: str, path: str, body: Any = None) -> list[Any]:
        """Call and insist on success; returns `data`."""
        answer = await self.request(method, path, body)
        assert answer.http_status == 200 and answer.status == "ok", answer
        return answer.data

    async def csrf(self) -> str:
        answer = await self.get("mobile/init")
        return str(answer.data[0]["c"])

    async def signup(self, username: str | None = None, password: str = PASSWORD) -> None:
        self.username = username or f"user{next(_names)}"
        self.email = f"{self.username}@example.test"
        csrf = await self.csrf()
        body = {"csrf": csrf, "username": self.username, "email": self.email, "password": password}
        await self.ok("POST", "users/signup", body)
        me = await self.ok("GET", "users/me")
        self.user_id = int(me[0]["id"])

    async def login(self, email: str, password: str) -> ApiAnswer:
        csrf = await self.csrf()
        return await self.post("auth/login", {"csrf": csrf, "email": email, "password": password})

    async def token(self) -> str:
        return str((await self.ok("GET", "auth/token"))[0])

    async def socket(self, token: str | None = None, origin: str = PLUG_ORIGIN) -> PlugSocket:
        ws = await self.http.ws_connect(
            f"{self.base_url}/socket", headers={"Origin": origin}, autoping=True
        )
        sock = PlugSocket(ws)
        if token is None:
            token = await self.token()
        await sock.send({"a": "auth", "p": token, "t": 0})
        return sock

    async def create_room(self, name: str, private: bool = False) -> dict[str, Any]:
        data = await self.ok("POST", "rooms", {"name": name, "private": private})
        return dict(data[0])

    async def join(self, slug: str) -> None:
        await self.ok("POST", "rooms/join", {"slug": slug})

    async def playlist(self, *durations: int, name: str = "main") -> dict[str, Any]:
        media = [
            {
                "format": 1,
                "cid": f"vid{self.username}{index}",
                "duration": seconds,
                "author": "Artist",
                "title": f"Song {index}",
                "image": "",
            }
            for index, seconds in enumerate(durations)
        ]
        data = await self.ok("POST", "playlists", {"name": name, "media": media})
        return dict(data[0])


class PlugSocket:
    """Reads event frames in the background so tests can wait for the ones they expect."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.frames: list[str] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.get_running_loop().create_task(self._read())
        self.close_code: int | None = None

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            async with self._arrived:
                self.frames.append(message.data)
                if message.data == "h":
                    self.heartbeats += 1
                else:
                    self.events.extend(orjson.loads(message.data))
                self._arrived.notify_all()
        self.close_code = self.ws.close_code
        async with self._arrived:
            self._arrived.notify_all()

    async def send(self, message: Any) -> None:
        await self.ws.send_str(
            message if isinstance(message, str) else orjson.dumps(message).decode()
        )

    async def chat(self, text: str) -> None:
        await self.send({"a": "chat", "p": text, "t": 0})

    def named(self, name: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["a"] == name]

    async def wait_for(self, name: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        """Wait until `count` events called `name` have arrived; returns them."""

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(
                    lambda: len(self.named(name)) >= count or self.ws.closed
                )

        await asyncio.wait_for(enough(), timeout)
        found = self.named(name)
        assert len(found) >= count, f"expected {count} {name}, got {self.events}"
        return found

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await asyncio.wait_for(self._reader, timeout)
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
