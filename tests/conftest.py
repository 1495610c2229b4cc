"""Shared fixtures: a real Replug server on loopback, with a clock the test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from replug.clock import FakeClock
from replug.config import Config
from replug.listener import Listener, listen
from replug.services import Services
from tests.plug import PlugClient

# tests/api/expect.py asserts on behalf of the tests (it is imported after this file):
# keep pytest's detailed failure output for it.
pytest.register_assert_rewrite("tests.api.expect")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'replug.db'}"


def server_config(database_url: str) -> Config:
    return Config(
        database_url=database_url,
        password_time_cost=1,
        password_memory_kib=1024,
    )


class Server:
    """A running server plus the handles tests need to drive it."""

    def __init__(self, services: Services, listener: Listener, clock: FakeClock) -> None:
        self.services = services
        self.listener = listener
        self.clock = clock
        self.base_url = f"http://127.0.0.1:{listener.port}"
        # A new connection per request, as plug clients open their sockets: upgrades then
        # take the gateway's own path (tests of aiohttp's path make a keep-alive session).
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        self.clients: list[PlugClient] = []

    def client(self) -> PlugClient:
        client = PlugClient(self.http, self.base_url)
        self.clients.append(client)
        return client

    async def user(self, username: str | None = None) -> PlugClient:
        client = self.client()
        await client.signup(username)
        return client

    async def advance(self, seconds: float) -> None:
        """Move the fake clock and let every room do what has become due."""
        self.clock.advance(seconds)
        await self.services.hub.run_due()

    async def close(self) -> None:
        await self.http.close()
        await self.services.gateway.stop()
        await self.listener.close()
        await self.services.stop()


@pytest.fixture
async def start_server(
    database_url: str, clock: FakeClock
) -> AsyncIterator[Callable[[], Awaitable[Server]]]:
    started: list[Server] = []

    async def start() -> Server:
        services = await Services.start(server_config(database_url), clock)
        listener = await listen(services, "127.0.0.1", 0)
        await services.after_listening()
        server = Server(services, listener, clock)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.close()


@pytest.fixture
async def server(start_server: Callable[[], Awaitable[Server]]) -> Server:
    return await start_server()
