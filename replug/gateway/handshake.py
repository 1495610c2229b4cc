"""Reading a WebSocket upgrade request and answering it (RFC 6455 §4.2)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SOCKET_PATH = b"/socket"


@dataclass(frozen=True, slots=True)
class UpgradeRequest:
    headers: dict[str, str]

    @property
    def origin(self) -> str | None:
        return self.headers.get("origin")

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    @property
    def key(self) -> str | None:
        return self.headers.get("sec-websocket-key")

    def is_valid(self) -> bool:
        key = self.key
        if key is None or self.headers.get("sec-websocket-version") != "13":
            return False
        try:
            return len(base64.b64decode(key, validate=True)) == 16
        except ValueError:
            return False


def socket_upgrade(head: bytes) -> UpgradeRequest | None:
    """The request head, parsed, when it asks to upgrade `/socket` to a WebSocket."""
    request_line, _, header_block = head.partition(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or not parts[2].startswith(b"HTTP/1.1"):
        return None
    path = parts[1].split(b"?", 1)[0]
    if path not in (SOCKET_PATH, SOCKET_PATH + b"/"):
        return None

    headers: dict[str, str] = {}
    for line in header_block.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if "websocket" not in headers.get("upgrade", "").lower():
        return None
    if "upgrade" not in headers.get("connection", "").lower():
        return None
    return UpgradeRequest(headers)


def accept_response(key: str) -> bytes:
    digest = hashlib.sha1(key.encode("ascii") + GUID).digest()
    accept = base64.b64encode(digest).decode("ascii")
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
    ).encode("ascii")


def refusal(status: int, reason: str, text: str) -> bytes:
    body = text.encode("utf-8")
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii") + body
