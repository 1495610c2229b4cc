"""Room frames queued and written in short windows: the same bytes to every member.

A room's events are framed once and queued. The queue is written when the room's window
closes: at once if the room wrote nothing lately, else a moment after its last write, the
moment growing with the room (up to 25 ms for 5,000 members). So a quiet room adds no
latency, and a busy one writes many frames (each still one event, D10) per system call and
socket, which is what makes a large room cheap to serve.

Sockets that arrive while frames are queued must not get the earlier ones, and sockets that
leave or get a personal frame first get their share of the queue, so that every socket sees
the events in the order they happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass

from replug.gateway.connection import Connection

# Frames a queue may hold before it is written regardless of its window.
QUEUE_FLUSH_FRAMES = 256
SECONDS_PER_MEMBER = 5e-6
MAX_WINDOW_SECONDS = 0.025


@dataclass(frozen=True, slots=True)
class Excluding:
    """A queued frame that some sockets must not get (a joiner's own userJoin, D18)."""

    frame: bytes
    user: int | None
    session: str | None

    def leaves_out(self, connection: Connection) -> bool:
        if self.user is not None and connection.user_id == self.user:
            return True
        return self.session is not None and connection.session_id == self.session


Queued = bytes | Excluding


class Fanout:
    def __init__(self, members: Callable[[str], Collection[Connection]]) -> None:
        self._members = members
        self._queues: dict[str, list[Queued]] = {}
        # Sockets that already have the first N frames of a queue (or arrived after them).
        self._served: dict[str, dict[Connection, int]] = {}
        self._last_write: dict[str, float] = {}

    def queue(self, room: str, item: Queued) -> None:
        queued = self._queues.get(room)
        if queued is None:
            self._queues[room] = queued = []
            self._schedule(room)
        queued.append(item)
        if len(queued) >= QUEUE_FLUSH_FRAMES:
            self.flush(room)

    def _schedule(self, room: str) -> None:
        loop = asyncio.get_running_loop()
        window = min(MAX_WINDOW_SECONDS, len(self._members(room)) * SECONDS_PER_MEMBER)
        due = self._last_write.get(room, 0.0) + window
        if due <= loop.time():
            loop.call_soon(self.flush, room)
        else:
            loop.call_at(due, self.flush, room)

    def flush(self, room: str) -> None:
        """Write the room's queue: one shared buffer, and own bytes only where needed."""
        queued = self._queues.pop(room, None)
        served = self._served.pop(room, None)
        if not queued:
            return
        self._last_write[room] = asyncio.get_running_loop().time()

        exclusions = [item for item in queued if isinstance(item, Excluding)]
        users = {item.user for item in exclusions if item.user is not None}
        sessions = {item.session for item in exclusions if item.session is not None}
        shared = _joined(queued)
        for connection in tuple(self._members(room)):
            start = served.get(connection, 0) if served else 0
            if (
                start == 0
                and connection.user_id not in users
                and (connection.session_id not in sessions)
            ):
                connection.send(shared)
            else:
                own = _share(queued, start, connection)
                if own:
                    connection.send(own)

    def flush_all(self) -> None:
        for room in list(self._queues):
            self.flush(room)

    def arrived(self, connection: Connection, room: str) -> None:
        """Frames queued before the arrival belong to those who were there."""
        queued = self._queues.get(room)
        if queued:
            self._served.setdefault(room, {})[connection] = len(queued)

    def catch_up(self, connection: Connection, room: str | None) -> None:
        """Give one socket its share of its room's queue now (it leaves, or gets a personal
        frame that must come after those)."""
        if room is None:
            return
        queued = self._queues.get(room)
        if not queued:
            return
        served = self._served.setdefault(room, {})
        own = _share(queued, served.get(connection, 0), connection)
        if own:
            connection.send(own)
        served[connection] = len(queued)

    def left(self, connection: Connection, room: str) -> None:
        served = self._served.get(room)
        if served is not None:
            served.pop(connection, None)


def _frame(item: Queued) -> bytes:
    return item.frame if isinstance(item, Excluding) else item


def _joined(queued: list[Queued]) -> bytes:
    if len(queued) == 1:
        return _frame(queued[0])
    return b"".join(_frame(item) for item in queued)


def _share(queued: list[Queued], start: int, connection: Connection) -> bytes:
    return b"".join(
        _frame(item)
        for item in queued[start:]
        if not (isinstance(item, Excluding) and item.leaves_out(connection))
    )
