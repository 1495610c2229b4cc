"""Room frames queued and written together: the same bytes to every member.

A room's events are framed once and queued; the queue is written at the end of the current
turn of the event loop. Under load a turn applies many log entries, so each socket gets many
frames (each still one event, D10) per system call, which is what makes a large room cheap;
when idle a turn holds one event and nothing waits.

Arrivals are the exception. Every arrival is announced to everyone present (`userJoin`), so
a crowd of N arriving costs N² deliveries, and arrivals come one by one off the network,
each a turn of its own. A queue holding only arrivals is therefore written after a short
window instead (at least 10 ms, and at least as long as the room's last write took), which
gathers a crowd's announcements into few writes. Anything else in the queue, such as chat,
is written at the end of the turn as usual and takes the waiting arrivals with it.

In a big room one write to every member takes long (about 30 ms for 4,000 sockets here, one
`send` each), and a write costs nearly the same for one frame as for several. Written as soon
as they come, chats arriving faster than that would each get a write of their own, the
room's writes would fill the whole core, and latency would pile up. So when a room's last
write took more than HOLD_MIN_COST_SECONDS, the next one waits until half that time has passed
since the last one ended (never more than MAX_HOLD_SECONDS): writes take at most two thirds
of the core, and whatever came meanwhile shares them. A chat in a quiet room is not held,
since its room's last write ended long ago. Small rooms never wait.

Sockets that arrive while frames are queued must not get the earlier ones, and sockets that
leave or get a personal frame first get their share of the queue, so that every socket sees
the events in the order they happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from replug.gateway.connection import Connection

# Frames a queue may hold before it is written regardless of its window.
QUEUE_FLUSH_FRAMES = 512
# The window for a queue of arrivals only: at least this, at least the room's last write.
ARRIVAL_WINDOW_SECONDS = 0.01
MAX_ARRIVAL_WINDOW_SECONDS = 0.1
# Holding writes in big rooms: only after a write this slow, for this share of its time.
HOLD_MIN_COST_SECONDS = 0.004
HOLD_FRACTION = 0.5
MAX_HOLD_SECONDS = 0.025


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
        self._urgent: set[str] = set()
        self._write_cost: dict[str, float] = {}
        self._write_ended: dict[str, float] = {}

    def queue(self, room: str, item: Queued) -> None:
        queued = self._queues.get(room)
        if queued is None:
            self._queues[room] = queued = []
        urgent = not isinstance(item, Excluding)
        if urgent and room not in self._urgent:
            self._urgent.add(room)
            self._schedule_write(room)
        elif not queued and not urgent:
            self._schedule_arrivals(room)
        queued.append(item)
        if len(queued) >= QUEUE_FLUSH_FRAMES:
            self.flush(room)

    def _schedule_write(self, room: str) -> None:
        loop = asyncio.get_running_loop()
        cost = self._write_cost.get(room, 0.0)
        hold = 0.0
        if cost >= HOLD_MIN_COST_SECONDS:
            ready_at = self._write_ended[room] + HOLD_FRACTION * cost
            hold = min(ready_at - loop.time(), MAX_HOLD_SECONDS)
        if hold > 0:
            loop.call_later(hold, self.flush, room)
        else:
            loop.call_soon(self.flush, room)

    def _schedule_arrivals(self, room: str) -> None:
        loop = asyncio.get_running_loop()
        window = max(ARRIVAL_WINDOW_SECONDS, self._write_cost.get(room, 0.0))
        loop.call_later(min(window, MAX_ARRIVAL_WINDOW_SECONDS), self.flush, room)

    def flush(self, room: str) -> None:
        """Write the room's queue: one shared buffer, and own bytes only where needed."""
        queued = self._queues.pop(room, None)
        served = self._served.pop(room, None)
        self._urgent.discard(room)
        if not queued:
            return
        started = time.perf_counter()

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
        self._write_cost[room] = time.perf_counter() - started
        self._write_ended[room] = asyncio.get_running_loop().time()

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

    def room_emptied(self, room: str) -> None:
        """Its last socket left: forget its write timings (kept otherwise for every room ever)."""
        self._write_cost.pop(room, None)
        self._write_ended.pop(room, None)

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
