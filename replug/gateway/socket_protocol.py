"""A WebSocket connection read straight off its transport: small per socket, no task at rest.

Only what the protocol's clients use is implemented: masked client frames, text (with
fragments), binary (ignored), ping, pong and close (RFC 6455 §5). Everything the server sends
is written by the gateway as ready-made frames.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable

from replug.gateway.connection import Connection
from replug.gateway.frames import control_frame

log = logging.getLogger(__name__)

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_DATA = 1007
CLOSE_TOO_BIG = 1009


class FrameError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def unmask(mask: bytes, payload: bytes) -> bytes:
    """XOR the payload with the repeated 4-byte mask, as one big-integer operation."""
    length = len(payload)
    if not length:
        return payload
    key = (mask * (length // 4 + 1))[:length]
    mixed = int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")
    return mixed.to_bytes(length, "little")


class SocketProtocol(asyncio.Protocol):
    """Turns incoming bytes into whole text messages for the gateway."""

    __slots__ = (
        "connection",
        "_on_text",
        "_on_lost",
        "_max_message",
        "_buffer",
        "_fragments",
        "_fragment_opcode",
    )

    def __init__(
        self,
        connection: Connection,
        on_text: Callable[[Connection, str], None],
        on_lost: Callable[[Connection], None],
        max_message: int,
    ) -> None:
        self.connection = connection
        self._on_text = on_text
        self._on_lost = on_lost
        self._max_message = max_message
        self._buffer = b""
        self._fragments: list[bytes] | None = None
        self._fragment_opcode = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(self.connection)

    def data_received(self, data: bytes) -> None:
        if self.connection.closed:
            return
        self._buffer = self._buffer + data if self._buffer else data
        try:
            self._parse()
        except FrameError as error:
            log.debug("Closing socket %s: %s", self.connection.peer, error.reason)
            self._buffer = b""
            self.connection.drop(error.code, error.reason)

    def _parse(self) -> None:
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            fin, opcode, payload = frame
            if opcode >= OP_CLOSE:
                self._control(opcode, payload)
            else:
                self._data(fin, opcode, payload)
            if self.connection.closed:
                return

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        if first & 0x70:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "reserved bits set")
        if not second & 0x80:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "client frames must be masked")

        length = second & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                return None
            (length,) = struct.unpack_from("!H", buffer, 2)
            offset = 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buffer, 2)
            offset = 10
        if length > self._max_message:
            raise FrameError(CLOSE_TOO_BIG, "message too big")

        end = offset + 4 + length
        if len(buffer) < end:
            return None
        mask = buffer[offset : offset + 4]
        payload = unmask(mask, buffer[offset + 4 : end])
        self._buffer = buffer[end:]
        return bool(first & 0x80), first & 0x0F, payload

    def _control(self, opcode: int, payload: bytes) -> None:
        if len(payload) > 125:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "control frame too long")
        if opcode == OP_PING:
            self.connection.send(control_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1000
            self.connection.drop(code if 1000 <= code < 5000 else 1000, "")
        elif opcode != OP_PONG:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "unknown control frame")

    def _data(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode == OP_CONTINUATION:
            if self._fragments is None:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "continuation without a start")
            self._fragments.append(payload)
            if sum(len(part) for part in self._fragments) > self._max_message:
                raise FrameError(CLOSE_TOO_BIG, "message too big")
            if not fin:
                return
            payload, opcode = b"".join(self._fragments), self._fragment_opcode
            self._fragments = None
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._fragments is not None:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one")
            if not fin:
                self._fragments, self._fragment_opcode = [payload], opcode
                return
        else:
            raise FrameError(CLOSE_PROTOCOL_ERROR, "unknown opcode")

        if opcode == OP_TEXT:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise FrameError(CLOSE_INVALID_DATA, "text is not UTF-8") from None
            self._on_text(self.connection, text)
        # Binary messages are ignored (login-and-socket §8.1).
