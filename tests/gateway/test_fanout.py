"""Room frames are written in windows: one buffer for everyone, own bytes only where needed.

The transport here is a recorder (the one system edge these tests replace), so each test can
see exactly which bytes each socket got in which write.
"""

from __future__ import annotations

import asyncio

from replug.gateway.connection import Connection
from replug.gateway.fanout import Excluding, Fanout


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return 0


def _member(user_id: int, session: str) -> Connection:
    connection = Connection(RecordingTransport(), f"peer{user_id}")  # type: ignore[arg-type]
    connection.user_id, connection.session_id = user_id, session
    return connection


def _writes(connection: Connection) -> list[bytes]:
    return connection.transport.writes


async def _settle() -> None:
    await asyncio.sleep(0.05)


async def test_frames_queued_together_reach_every_member_in_one_write():
    members = [_member(n, f"s{n}") for n in (1, 2, 3)]
    fanout = Fanout(lambda room: members)

    fanout.queue("lofi", b"one")
    fanout.queue("lofi", b"two")
    await _settle()

    assert [_writes(member) for member in members] == [[b"onetwo"]] * 3


async def test_a_joiner_is_left_out_of_its_own_frame_only():
    ada, bram = _member(1, "s1"), _member(2, "s2")
    fanout = Fanout(lambda room: [ada, bram])

    fanout.queue("lofi", b"chat")
    fanout.queue("lofi", Excluding(b"join-bram", 2, None))
    await _settle()

    assert _writes(ada) == [b"chatjoin-bram"]
    assert _writes(bram) == [b"chat"]


async def test_a_socket_arriving_mid_window_gets_only_what_came_after_it():
    ada, cleo = _member(1, "s1"), _member(3, "s3")
    members = [ada]
    fanout = Fanout(lambda room: members)

    fanout.queue("lofi", b"before")
    members.append(cleo)
    fanout.arrived(cleo, "lofi")
    fanout.queue("lofi", b"after")
    await _settle()

    assert _writes(ada) == [b"beforeafter"]
    assert _writes(cleo) == [b"after"]


async def test_catching_up_before_a_personal_frame_keeps_each_sockets_order():
    ada, bram = _member(1, "s1"), _member(2, "s2")
    fanout = Fanout(lambda room: [ada, bram])

    fanout.queue("lofi", b"first")
    fanout.catch_up(ada, "lofi")
    ada.send(b"personal")
    fanout.queue("lofi", b"second")
    await _settle()

    assert _writes(ada) == [b"first", b"personal", b"second"]
    assert _writes(bram) == [b"firstsecond"]


async def test_arrivals_alone_wait_for_a_window_and_gather_into_one_write():
    members = [_member(n, f"s{n}") for n in range(10)]
    fanout = Fanout(lambda room: members)

    fanout.queue("big", Excluding(b"join-1", 1, None))
    await asyncio.sleep(0)
    fanout.queue("big", Excluding(b"join-2", 2, None))
    await asyncio.sleep(0.002)

    assert _writes(members[5]) == []
    await asyncio.sleep(0.03)
    assert _writes(members[5]) == [b"join-1join-2"]
    assert _writes(members[1]) == [b"join-2"]


async def test_a_chat_is_written_at_once_and_takes_waiting_arrivals_with_it():
    members = [_member(n, f"s{n}") for n in range(10)]
    fanout = Fanout(lambda room: members)

    fanout.queue("big", Excluding(b"join-1", 1, None))
    await asyncio.sleep(0)
    fanout.queue("big", b"chat")
    await asyncio.sleep(0)

    assert _writes(members[5]) == [b"join-1chat"]
    assert _writes(members[1]) == [b"chat"]
