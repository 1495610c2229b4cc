"""Room frames are written in windows: one buffer for everyone, own bytes only where needed.

The transport here is a recorder (the one system edge these tests replace), so each test can
see exactly which bytes each socket got in which write.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from replug.gateway.connection import Connection
from replug.gateway.fanout import HOLD_MIN_COST_SECONDS, MAX_HOLD_SECONDS, Excluding, Fanout


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return 0


class SlowTransport(RecordingTransport):
    """A socket whose writes take `seconds` each, as in a room of thousands."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def write(self, data: bytes) -> None:
        time.sleep(self.seconds)
        super().write(data)


def _member(user_id: int, session: str, transport: RecordingTransport | None = None) -> Connection:
    transport = transport or RecordingTransport()
    connection = Connection(transport, f"peer{user_id}")  # type: ignore[arg-type]
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


# ------------------------------------------------------------------ holding writes in big rooms


def _slow_room(write_seconds: float) -> list[Connection]:
    """Three members whose writes together take 3 × write_seconds."""
    return [_member(n, f"s{n}", SlowTransport(write_seconds)) for n in (1, 2, 3)]


async def test_after_a_slow_write_the_next_chats_are_held_and_share_one_write():
    members = _slow_room(HOLD_MIN_COST_SECONDS)
    fanout = Fanout(lambda room: members)
    fanout.queue("big", b"first")
    await asyncio.sleep(0)  # the first chat is written at once: the room was quiet

    fanout.queue("big", b"second")
    await asyncio.sleep(0)  # unheld, "second" would be written on this turn, alone
    fanout.queue("big", b"third")
    await asyncio.sleep(0.005)
    assert _writes(members[0]) == [b"first"]

    await asyncio.sleep(MAX_HOLD_SECONDS + 0.03)
    assert [_writes(member) for member in members] == [[b"first", b"secondthird"]] * 3


async def test_a_held_write_waits_no_longer_than_half_the_last_write():
    members = _slow_room(HOLD_MIN_COST_SECONDS)
    fanout = Fanout(lambda room: members)
    fanout.queue("big", b"first")
    await asyncio.sleep(0)
    write_cost = 3 * HOLD_MIN_COST_SECONDS

    queued_at = time.perf_counter()
    fanout.queue("big", b"second")
    while len(_writes(members[0])) < 2 and time.perf_counter() - queued_at < 1:
        await asyncio.sleep(0.001)

    waited = time.perf_counter() - queued_at
    assert _writes(members[0]) == [b"first", b"second"]
    # Half the last write, plus that of writing to the three members, plus timer slack.
    assert waited < write_cost / 2 + write_cost + 0.015


@pytest.mark.parametrize(
    ("room", "pause"),
    [
        pytest.param(lambda: _slow_room(HOLD_MIN_COST_SECONDS), 0.05, id="after-a-slow-write"),
        pytest.param(lambda: _slow_room(0), 0, id="small-room-right-after-a-write"),
    ],
)
async def test_a_chat_that_need_not_wait_is_written_on_the_next_turn(
    room: Callable[[], list[Connection]], pause: float
):
    members = room()
    fanout = Fanout(lambda name: members)
    fanout.queue("big", b"first")
    await asyncio.sleep(pause)

    fanout.queue("big", b"second")
    await asyncio.sleep(0)

    assert _writes(members[0]) == [b"first", b"second"]


async def test_a_room_whose_last_socket_left_starts_afresh():
    members = _slow_room(HOLD_MIN_COST_SECONDS)
    fanout = Fanout(lambda room: members)
    fanout.queue("big", b"first")
    await asyncio.sleep(0)

    fanout.room_emptied("big")
    fanout.queue("big", b"second")
    await asyncio.sleep(0)

    assert _writes(members[0]) == [b"first", b"second"]
