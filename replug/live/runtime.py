"""One live room: runs engine commands one at a time, stores their records, publishes events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy.engine import RowMapping

from replug.bus.local import LocalBus
from replug.clock import Clock
from replug.engine.events import (
    Event,
    HistoryEnded,
    HistoryStarted,
    Outcome,
    PlaylistCycled,
    Record,
    user_event,
)
from replug.engine.room import RoomEngine
from replug.storage.store import Store

if TYPE_CHECKING:
    from replug.live.manager import RoomManager

log = logging.getLogger(__name__)

Command = Callable[[RoomEngine, float], Outcome]


class RoomRuntime:
    def __init__(
        self,
        row: RowMapping,
        store: Store,
        bus: LocalBus,
        clock: Clock,
        manager: RoomManager,
    ) -> None:
        self.row = row
        self.room_id = int(row["id"])
        self.slug = str(row["slug"])
        self.engine = RoomEngine(
            self.room_id,
            self.slug,
            should_cycle=bool(row["should_cycle"]),
            is_locked=bool(row["is_locked"]),
            min_chat_level=int(row["min_chat_level"]),
        )
        self._store = store
        self._bus = bus
        self._clock = clock
        self._manager = manager
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- commands

    async def execute(self, command: Command) -> None:
        """Run one engine command with the room to itself, then act on its outcome."""
        async with self._lock:
            now = self._clock.now()
            await self.apply(command(self.engine, now), now)
            self._schedule()

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[float]:
        """Hold the room for a command that needs I/O between its engine steps (grabs)."""
        async with self._lock:
            yield self._clock.now()
            self._schedule()

    async def apply(self, outcome: Outcome, now: float) -> None:
        """Store the records, start the next play if one ended, and publish in order."""
        events = list(outcome.events)
        personal: list[Event] = []
        await self._store_records(outcome.records, personal)

        if outcome.next_play_needed:
            heads = await self._store.playlists.heads(self.engine.line())
            following = self.engine.start_next_play(now, heads)
            await self._store_records(following.records, personal)
            events.extend(following.events)

        events.extend(outcome.trailing)
        events.extend(personal)
        self._manager.track_presence(self, events)
        await self._bus.publish(events)

    async def _store_records(self, records: list[Record], personal: list[Event]) -> None:
        for record in records:
            try:
                await self._store_record(record, personal)
            except Exception:
                # The live room must go on even if one write fails; the log says which.
                log.exception("Could not store %s for room %s", type(record).__name__, self.slug)

    async def _store_record(self, record: Record, personal: list[Event]) -> None:
        if isinstance(record, HistoryStarted):
            await self._store.history.started(self.room_id, record)
        elif isinstance(record, HistoryEnded):
            await self._store.history.ended(record)
        elif isinstance(record, PlaylistCycled):
            if await self._store.playlists.cycle(record.playlist_id, record.media_id):
                personal.append(user_event(record.dj_id, "playlistCycle", record.playlist_id))

    # ------------------------------------------------------------------ timers

    async def run_due(self) -> None:
        """Process everything whose time has come: grace periods and ends of plays."""
        async with self._lock:
            while True:
                now = self._clock.now()
                deadline = self.engine.next_deadline()
                if deadline is None or deadline > now:
                    break
                await self.apply(self.engine.tick(now), now)
            self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

        deadline = self.engine.next_deadline()
        if deadline is None:
            return
        delay = max(0.0, deadline - self._clock.now())
        self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.run_due())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --------------------------------------------------------------- snapshots

    def refresh_row(self, row: RowMapping) -> None:
        self.row = row
