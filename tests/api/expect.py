"""What every REST answer must look like, and the wire shapes the REST and socket tests share.

Spec: conventions.md §2–§3 (the envelope), §7 (times) and §8.1–§8.2 (users and media).
"""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Server
from tests.plug import ApiAnswer, PlugClient

NOT_AUTHORIZED = "You are not authorized to access this resource."
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")

# conventions.md §8.1: a PublicUser, and a RoomUser (PublicUser plus `role`).
PUBLIC_USER_KEYS = {
    "avatarID",
    "badge",
    "gRole",
    "guest",
    "id",
    "joined",
    "language",
    "level",
    "silver",
    "slug",
    "sub",
    "username",
}
ROOM_USER_KEYS = PUBLIC_USER_KEYS | {"role"}
# The RoomUser of a guest session.
GUEST_USER = {
    "avatarID": "",
    "badge": None,
    "gRole": 0,
    "guest": True,
    "id": 0,
    "joined": "",
    "language": None,
    "level": 0,
    "role": 0,
    "silver": False,
    "slug": None,
    "sub": 0,
    "username": "",
}
# conventions.md §8.2: a Media object.
MEDIA_KEYS = {"author", "cid", "duration", "format", "id", "image", "title"}


def check_envelope(answer: ApiAnswer) -> None:
    """conventions §2: {data: list, meta: {}, status: str, time: number} on every answer."""
    body = answer.body
    assert set(body) == {"data", "meta", "status", "time"}, body
    assert isinstance(body["data"], list), body
    assert body["meta"] == {}, body
    assert isinstance(body["status"], str), body
    assert isinstance(body["time"], int | float) and not isinstance(body["time"], bool), body


def expect_ok(answer: ApiAnswer) -> list[Any]:
    check_envelope(answer)
    assert answer.http_status == 200, answer
    assert answer.status == "ok", answer
    return answer.data


def expect_error(answer: ApiAnswer, http_status: int, status: str, *text: Any) -> None:
    """An error answer; `text` (when given) is the exact `data[0]`."""
    check_envelope(answer)
    assert answer.http_status == http_status, answer
    assert answer.status == status, answer
    if text:
        assert answer.data, answer
        assert answer.data[0] == text[0], answer


async def guest(server: Server) -> PlugClient:
    """A guest session: a client that called mobile/init and holds the session cookie."""
    client = server.client()
    await client.csrf()
    assert client.cookie
    return client
