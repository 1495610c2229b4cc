"""Listening on a port: one front door for sockets and HTTP alike."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web

from replug.app import build_app
from replug.gateway.front import FrontDoor
from replug.services import Services


class Listener:
    def __init__(self, runner: web.AppRunner, server: asyncio.Server) -> None:
        self._runner = runner
        self._server = server

    @property
    def port(self) -> int:
        sockets: Any = self._server.sockets
        return int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        self._server.close()
        await self._runner.cleanup()


async def listen(services: Services, host: str, port: int, reuse_port: bool = False) -> Listener:
    runner = web.AppRunner(build_app(services), handle_signals=False, access_log=None)
    await runner.setup()
    http = runner.server
    assert http is not None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: FrontDoor(services.gateway, http),
        host,
        port,
        reuse_address=True,
        reuse_port=reuse_port or None,
        family=socket.AF_INET if ":" not in host else socket.AF_INET6,
        backlog=4096,
    )
    return Listener(runner, server)
