"""The socket's wire, byte by byte: handshakes, frames a client may send, and the fallback.

These drive the gateway's own WebSocket reader with hand-made bytes over real TCP, because
the client libraries never send most of these frames (fragments, pings, bad masks).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct

import aiohttp
import orjson

from tests.conftest import Server
from tests.gateway.helpers import room_with
from tests.plug import PLUG_ORIGIN, PlugSocket


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, server: Server, head: bytes | None = None) -> tuple[RawSocket, bytes]:
        host, port = server.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        if head is None:
            head = (
                f"GET /socket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {PLUG_ORIGIN}\r\n\r\n"
            ).encode()
        writer.write(head)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        return cls(reader, writer), answer

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True, mask: bool = True):
        first = (0x80 if fin else 0) | opcode
        length = len(payload)
        if length < 126:
            header = bytes([first, (0x80 if mask else 0) | length])
        else:
            header = bytes([first, (0x80 if mask else 0) | 126]) + struct.pack("!H", length)
        if mask:
            key = os.urandom(4)
            payload = bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
            header += key
        self.writer.write(header + payload)

    def send_json(self, message: object) -> None:
        self.send_frame(0x1, orjson.dumps(message))

    async def read_frame(self) -> tuple[int, bytes]:
        first, second = await asyncio.wait_for(self.reader.readexactly(2), 5)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(length)

    async def read_event(self) -> dict:
        while True:
            opcode, payload = await self.read_frame()
            if opcode == 0x1 and payload != b"h":
                return orjson.loads(payload)[0]

    async def close_code(self) -> int:
        while True:
            opcode, payload = await self.read_frame()
            if opcode == 0x8:
                return int(struct.unpack("!H", payload[:2])[0])

    def close(self) -> None:
        self.writer.close()


async def _authed_raw(server: Server, name: str) -> RawSocket:
    client = await server.user(name)
    raw, _ = await RawSocket.open(server)
    raw.send_json({"a": "auth", "p": await client.token(), "t": 0})
    event = await raw.read_event()
    assert event["a"] == "ack" and event["p"] == "1"
    return raw


async def test_the_handshake_answer_carries_the_rfc_accept_value(server: Server):
    key = base64.b64encode(b"0123456789abcdef").decode()
    head = (
        f"GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {PLUG_ORIGIN}\r\n\r\n"
    ).encode()

    raw, answer = await RawSocket.open(server, head)

    expected = base64.b64encode(
        hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    ).decode()
    assert answer.startswith(b"HTTP/1.1 101 ")
    assert f"Sec-WebSocket-Accept: {expected}".encode() in answer
    raw.close()


async def test_a_handshake_arriving_one_byte_at_a_time_still_works(server: Server):
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    head = (
        f"GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {PLUG_ORIGIN}\r\n\r\n"
    ).encode()
    for byte in head:
        writer.write(bytes([byte]))
        await writer.drain()

    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)

    assert answer.startswith(b"HTTP/1.1 101 ")
    writer.close()


async def test_a_bad_key_or_version_is_refused_with_400(server: Server):
    head = (
        f"GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 8\r\nOrigin: {PLUG_ORIGIN}\r\n\r\n"
    ).encode()

    raw, answer = await RawSocket.open(server, head)

    assert answer.startswith(b"HTTP/1.1 400 ")
    raw.close()


async def test_a_fragmented_chat_is_put_back_together(server: Server):
    slug, _, (ada_sock,) = await room_with(server, "ada")
    raw = await _authed_raw(server, "bram")
    await server.clients[-1].join(slug)
    await ada_sock.wait_for("userJoin")

    message = orjson.dumps({"a": "chat", "p": "split in three", "t": 0})
    raw.send_frame(0x1, message[:10], fin=False)
    raw.send_frame(0x9, b"ping in between")
    raw.send_frame(0x0, message[10:20], fin=False)
    raw.send_frame(0x0, message[20:], fin=True)

    chat = (await ada_sock.wait_for("chat"))[0]
    assert chat["p"]["message"] == "split in three"
    opcode, payload = await raw.read_frame()
    while opcode != 0xA:
        opcode, payload = await raw.read_frame()
    assert payload == b"ping in between"
    raw.close()


async def test_an_unmasked_client_frame_closes_with_1002(server: Server):
    raw = await _authed_raw(server, "ada")

    raw.send_frame(0x1, b'{"a":"chat","p":"x"}', mask=False)

    assert await raw.close_code() == 1002


async def test_text_that_is_not_utf8_closes_with_1007(server: Server):
    raw = await _authed_raw(server, "ada")

    raw.send_frame(0x1, b"\xff\xfe not text")

    assert await raw.close_code() == 1007


async def test_a_control_frame_over_125_bytes_closes_with_1002(server: Server):
    raw = await _authed_raw(server, "ada")

    raw.send_frame(0x9, b"p" * 126)

    assert await raw.close_code() == 1002


async def test_a_client_close_is_answered_and_the_socket_is_forgotten(server: Server):
    raw = await _authed_raw(server, "ada")
    count = server.services.gateway.connection_count

    raw.send_frame(0x8, struct.pack("!H", 1000))

    assert await raw.close_code() == 1000
    for _ in range(200):
        if server.services.gateway.connection_count < count:
            break
        await asyncio.sleep(0.01)
    assert server.services.gateway.connection_count == count - 1


async def test_an_upgrade_on_a_reused_http_connection_works_through_aiohttp(server: Server):
    ada = await server.user("ada")
    token = await ada.token()
    async with aiohttp.ClientSession() as keep_alive:
        async with keep_alive.get(f"{server.base_url}/_/mobile/init") as answer:
            assert answer.status == 200
        ws = await keep_alive.ws_connect(
            f"{server.base_url}/socket", headers={"Origin": PLUG_ORIGIN}
        )
        sock = PlugSocket(ws)
        await sock.send({"a": "auth", "p": token, "t": 0})

        ack = (await sock.wait_for("ack"))[0]

        assert ack == {"a": "ack", "p": "1", "s": "dashboard"}
        await sock.close()
