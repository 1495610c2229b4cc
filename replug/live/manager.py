"""Which rooms are live and who is in which: an account or guest is in at most one room."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from replug.bus.local import LocalBus
from replug.clock import Clock
from replug.engine.events import MOVE_CONNECTIONS, Event
from replug.live.runtime import RoomRuntime
from replug.protocol.shapes import power, room_user
from replug.storage.store import Store

log = logging.getLogger(__name__)


class RoomManager:
    def __init__(self, store: Store, bus: LocalBus, clock: Clock) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._rooms: dict[int, RoomRuntime] = {}
        self._user_room: dict[int, RoomRuntime] = {}
        self._guest_room: dict[str, RoomRuntime] = {}
        # Moving between rooms touches two rooms; one lock keeps two moves from interleaving.
        self._moves = asyncio.Lock()
        self.user_connected: Callable[[int], bool] = lambda _user_id: False
        self.session_connected: Callable[[str], bool] = lambda _session_id: False

    # ------------------------------------------------------------------- rooms

    def live(self, room: RowMapping) -> RoomRuntime:
        runtime = self._rooms.get(int(room["id"]))
        if runtime is None:
            runtime = RoomRuntime(room, self._store, self._bus, self._clock, self)
            self._rooms[runtime.room_id] = runtime
        return runtime

    def live_by_id(self, room_id: int) -> RoomRuntime | None:
        return self._rooms.get(room_id)

    async def load(self, room_id: int) -> RoomRuntime | None:
        runtime = self._rooms.get(room_id)
        if runtime is not None:
            return runtime
        row = await self._store.rooms.by_id(room_id)
        return self.live(row) if row is not None else None

    def population(self, room_id: int) -> tuple[int, int]:
        """(accounts, guests) present in a room; a room nobody opened is empty."""
        runtime = self._rooms.get(room_id)
        if runtime is None:
            return 0, 0
        return runtime.engine.population, len(runtime.engine.guests)

    # ---------------------------------------------------------------- presence

    def room_of_user(self, user_id: int) -> RoomRuntime | None:
        return self._user_room.get(user_id)

    async def room_of_guest(self, session: RowMapping) -> RoomRuntime | None:
        """A guest's room: where it is present, else the room its page or join chose."""
        present = self._guest_room.get(str(session["id"]))
        if present is not None:
            return present
        if session["guest_room_id"] is None:
            return None
        return await self.load(int(session["guest_room_id"]))

    async def join(self, user: RowMapping, room: RowMapping) -> RoomRuntime:
        user_id = int(user["id"])
        async with self._moves:
            current = self._user_room.get(user_id)
            target = self.live(room)
            if current is not None and current is not target:
                await current.execute(lambda engine, now: engine.leave(now, user_id))

            role = await self._store.rooms.role_of(target.room_id, user_id)
            member = room_user(user, role)
            effective = power(role, int(user["g_role"]))
            connected = self.user_connected(user_id)
            await target.execute(
                lambda engine, now: engine.join(now, member, effective, connected)
            )
            return target

    async def leave(self, user_id: int) -> None:
        async with self._moves:
            current = self._user_room.get(user_id)
            if current is not None:
                await current.execute(lambda engine, now: engine.leave(now, user_id))

    async def leave_guest(self, session_id: str) -> None:
        async with self._moves:
            current = self._guest_room.get(session_id)
            if current is not None:
                await current.execute(lambda engine, now: engine.leave_guest(session_id))

    async def choose_guest_room(self, session_id: str, room: RowMapping) -> None:
        """A guest picked a room (page load or rooms/join); presence follows its socket."""
        await self._store.sessions.set_fields(session_id, guest_room_id=int(room["id"]))
        if self.session_connected(session_id):
            await self.guest_arrived(session_id, int(room["id"]))

    async def guest_arrived(self, session_id: str, room_id: int) -> RoomRuntime | None:
        async with self._moves:
            current = self._guest_room.get(session_id)
            target = await self.load(room_id)
            if current is not None and current is not target:
                await current.execute(lambda engine, now: engine.leave_guest(session_id))
            if target is not None:
                await target.execute(lambda engine, now: engine.join_guest(session_id))
            return target

    async def user_socket_opened(self, user_id: int) -> RoomRuntime | None:
        runtime = self._user_room.get(user_id)
        if runtime is not None:
            await runtime.execute(lambda engine, now: engine.socket_connected(user_id))
        return runtime

    async def user_socket_closed(self, user_id: int) -> None:
        runtime = self._user_room.get(user_id)
        if runtime is not None:
            await runtime.execute(lambda engine, now: engine.socket_closed(now, user_id))

    async def guest_socket_closed(self, session_id: str) -> None:
        runtime = self._guest_room.get(session_id)
        if runtime is not None:
            await runtime.execute(lambda engine, now: engine.guest_socket_closed(now, session_id))

    def track_presence(self, runtime: RoomRuntime, events: Sequence[Event]) -> None:
        """Follow the engine's own record of arrivals and departures."""
        for event in events:
            if event.name != MOVE_CONNECTIONS:
                continue
            registry: dict[Any, RoomRuntime]
            key: Any
            if event.user is not None:
                registry, key = self._user_room, event.user
            else:
                registry, key = self._guest_room, event.session
            if event.payload["to"] is not None:
                registry[key] = runtime
            elif registry.get(key) is runtime:
                del registry[key]

    def stop(self) -> None:
        for runtime in self._rooms.values():
            runtime.stop()
