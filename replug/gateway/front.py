"""Where every TCP connection starts: socket upgrades stay with the gateway, the rest is HTTP.

Sockets are most of the connections a busy server holds, so they skip aiohttp's
per-request machinery (a parsed request, a handler task) and cost a few small objects each.
Every other connection is handed, with the bytes read so far, to aiohttp's own protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from replug.gateway.handshake import socket_upgrade
from replug.gateway.server import Gateway

SOCKET_REQUEST = b"GET /socket"
MAX_HEAD_BYTES = 16 * 1024


class FrontDoor(asyncio.Protocol):
    def __init__(self, gateway: Gateway, http: Callable[[], asyncio.Protocol]) -> None:
        self._gateway = gateway
        self._http = http
        # uvloop's transports are not asyncio.Transport subclasses, so this stays loose.
        self._transport: Any = None
        self._head = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._head += data
        start = self._head[: len(SOCKET_REQUEST)]
        if not SOCKET_REQUEST.startswith(start):
            self._to_http()
            return
        end = self._head.find(b"\r\n\r\n")
        if end == -1:
            if len(self._head) > MAX_HEAD_BYTES:
                self._to_http()
            return

        request = socket_upgrade(self._head[:end])
        if request is None:
            self._to_http()
            return
        protocol = self._gateway.accept_upgrade(self._transport, request, self._head[end + 4 :])
        if protocol is not None:
            self._transport.set_protocol(protocol)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def _to_http(self) -> None:
        transport = self._transport
        assert transport is not None
        handler = self._http()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        handler.data_received(self._head)
        self._head = b""
