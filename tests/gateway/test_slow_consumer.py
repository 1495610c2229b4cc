"""A reader that stops reading is dropped past the buffer limit, and its room goes on."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import orjson
import pytest

from tests.conftest import Server
from tests.gateway.helpers import room_with, wait_until


async def _stalled_listener(server: Server, token: str) -> socket.socket:
    """A real TCP client with a tiny receive buffer that authenticates, then never reads."""
    host, port = server.base_url.removeprefix("http://").split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(raw, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /socket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: https://plug.dj\r\n\r\n"
    )
    await loop.sock_sendall(raw, request.encode())
    await loop.sock_recv(raw, 1024)  # the 101 answer
    await loop.sock_sendall(raw, _masked_text(orjson.dumps({"a": "auth", "p": token})))
    return raw


def _masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    length = len(payload)
    header = (
        bytes([0x81, 0x80 | length])
        if length < 126
        else bytes([0x81, 0xFE]) + length.to_bytes(2, "big")
    )
    return header + mask + body


async def test_a_reader_that_stalls_is_dropped_and_the_room_keeps_chatting(
    server: Server, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("replug.gateway.connection.SEND_BUFFER_LIMIT", 64 * 1024)
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    stalled_user = await server.user("stalled")
    await stalled_user.join(slug)
    stalled = await _stalled_listener(server, await stalled_user.token())
    gateway = server.services.gateway
    await wait_until(
        lambda: any(c.authenticated and c.user_id == stalled_user.user_id for c in gateway._all)
    )
    # A slow network, on the server's side of this one socket: the kernel holds little, so
    # what the reader does not take piles up in the server's own buffer.
    for connection in gateway._all:
        if connection.user_id == stalled_user.user_id:
            sock = connection.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

    text = "x" * 200
    sent = 0
    while gateway.connection_count == 3 and sent < 3000:
        # In batches the server keeps up with, so that no message is dropped as a flood.
        for _ in range(32):
            await ada_sock.chat(f"{sent} {text}")
            sent += 1
        await ada_sock.wait_for("chat", count=sent, timeout=10)

    await wait_until(lambda: gateway.connection_count == 2, timeout=10)
    await bram_sock.chat("still flowing")
    await wait_until(
        lambda: any(
            event["p"].get("message") == "still flowing" for event in ada_sock.named("chat")
        ),
        timeout=10,
    )
    stalled.close()
