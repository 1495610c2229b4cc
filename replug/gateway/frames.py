"""Encoding events once and framing them once, so the same bytes go to every socket."""

from __future__ import annotations

import struct
from typing import Any

import orjson

TEXT_OPCODE_FIN = 0x81
CLOSE_OPCODE_FIN = 0x88


def event_bytes(name: str, payload: Any, slug: str) -> bytes:
    """One event per frame (D10): `[{"a": name, "p": payload, "s": slug}]`."""
    return orjson.dumps([{"a": name, "p": payload, "s": slug}])


def text_frame(data: bytes) -> bytes:
    """A complete unmasked server-to-client text frame (RFC 6455 §5.2)."""
    return _header(TEXT_OPCODE_FIN, len(data)) + data


def close_frame(code: int, reason: str = "") -> bytes:
    body = struct.pack("!H", code) + reason.encode("utf-8")[:123]
    return _header(CLOSE_OPCODE_FIN, len(body)) + body


def control_frame(opcode: int, payload: bytes) -> bytes:
    """A ping, pong or close frame; control payloads are at most 125 bytes."""
    return _header(0x80 | opcode, len(payload)) + payload


def _header(first_byte: int, length: int) -> bytes:
    if length < 126:
        return bytes((first_byte, length))
    if length < 65536:
        return struct.pack("!BBH", first_byte, 126, length)
    return struct.pack("!BBQ", first_byte, 127, length)


HEARTBEAT_FRAME = text_frame(b"h")
