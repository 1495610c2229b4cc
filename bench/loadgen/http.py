"""A tiny HTTP/1.1 client for setting up the benchmark (accounts, a room, socket tokens).

Standard library only, one keep-alive connection per client object. It is used before any
measurement starts, so it is written for clarity rather than speed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def session(self) -> str | None:
        """The value of the `session` cookie this response sets, if any."""
        for value in self.header("set-cookie"):
            first = value.split(";", 1)[0].strip()
            if first.startswith("session="):
                return first[len("session=") :]
        return None


class HttpClient:
    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        if host not in LOOPBACK:
            raise ValueError("the benchmark only talks to servers on this machine")
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: Any = None, cookie: str | None = None
    ) -> Response:
        return await asyncio.wait_for(self._request(method, path, body, cookie), self.timeout)

    async def _request(self, method: str, path: str, body: Any, cookie: str | None) -> Response:
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await self._exchange(method, path, body, cookie)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, body: Any, cookie: str | None) -> Response:
        assert self._reader is not None and self._writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: application/json",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        if cookie is not None:
            lines.append(f"Cookie: session={cookie}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)

        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise HttpError(f"bad status line {status_line!r}")
        headers = []
        for line in header_lines:
            if ":" in line:
                key, value = line.split(":", 1)
                headers.append((key.strip().lower(), value.strip()))
        response = Response(int(parts[1]), headers, b"")
        lengths = response.header("content-length")
        if (
            response.header("transfer-encoding")
            and "chunked" in response.header("transfer-encoding")[0].lower()
        ):
            response.body = await self._chunked()
        elif lengths:
            response.body = await self._reader.readexactly(int(lengths[0]))
        else:
            response.body = await self._reader.read()
            await self.close()
        if any(value.lower() == "close" for value in response.header("connection")):
            await self.close()
        return response

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        body = bytearray()
        for _ in range(1_000_000):
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return bytes(body)
            body += await self._reader.readexactly(size)
            await self._reader.readexactly(2)
        raise HttpError("too many chunks")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self._reader = self._writer = None
