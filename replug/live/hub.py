"""This node's copy of the live state, kept in step with every other node through the log.

Each change is proposed as a log entry and applied, in log order, by every node: room
commands, arrivals and departures, sockets opening and closing. Applying never awaits, so one
entry's effects are complete before the next begins; the node that proposed an entry then
does the slow follow-up work itself (storing records, looking up the next DJ's playlist).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from sqlalchemy.engine import RowMapping

from replug.clock import Clock
from replug.engine.events import (
    MOVE_CONNECTIONS,
    Event,
    HistoryEnded,
    HistoryStarted,
    Outcome,
    PlaylistCycled,
    Record,
    user_event,
)
from replug.engine.room import RoomEngine
from replug.indexes import discard_from
from replug.live.commands import apply_room_command, head_to_wire
from replug.live.log import Entry, Log, LogClosed
from replug.protocol.errors import ApiError, ServerError
from replug.protocol.shapes import power, room_user
from replug.storage.store import Store

log = logging.getLogger(__name__)

Outcomes = dict[int, Outcome]
# At most this many look-ups of the wait list's playlists per ended play; more means people
# keep joining faster than we look, and the retry timer takes over.
NEXT_PLAY_ATTEMPTS = 5
CATCH_UP_ROUNDS = 1000
# A room nobody has been in for this long leaves memory (with its chat memory, which is all
# an empty room holds); the next arrival starts it again from the database.
EMPTY_ROOM_KEPT_SECONDS = 600.0
EMPTY_ROOM_SWEEP_SECONDS = 60.0


class SocketSink(Protocol):
    """What the hub needs from this node's gateway."""

    def deliver(self, events: Sequence[Event]) -> None: ...

    def opened(self, key: str, slug: str | None) -> None: ...

    def kill(self, key: str) -> None: ...


class NoSockets:
    def deliver(self, events: Sequence[Event]) -> None:
        pass

    def opened(self, key: str, slug: str | None) -> None:
        pass

    def kill(self, key: str) -> None:
        pass


def room_info(engine: RoomEngine) -> dict[str, Any]:
    return {
        "id": engine.room_id,
        "slug": engine.slug,
        "cycle": engine.should_cycle,
        "locked": engine.is_locked,
        "level": engine.min_chat_level,
    }


def row_info(row: RowMapping) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "slug": str(row["slug"]),
        "cycle": bool(row["should_cycle"]),
        "locked": bool(row["is_locked"]),
        "level": int(row["min_chat_level"]),
    }


def engine_from_info(info: dict[str, Any]) -> RoomEngine:
    return RoomEngine(
        int(info["id"]),
        str(info["slug"]),
        should_cycle=bool(info["cycle"]),
        is_locked=bool(info["locked"]),
        min_chat_level=int(info["level"]),
    )


class LiveRoom:
    """A handle on one live room for the REST features."""

    def __init__(self, hub: Hub, engine: RoomEngine) -> None:
        self.hub = hub
        self.engine = engine
        self.room_id = engine.room_id
        self.slug = engine.slug

    async def command(self, name: str, **args: Any) -> Outcome:
        return await self.hub.room_command(room_info(self.engine), name, args)


class Hub:
    def __init__(self, store: Store, log_: Log, clock: Clock) -> None:
        self.store = store
        self.log = log_
        self.clock = clock
        self.node_id = secrets.token_hex(6)
        self.sink: SocketSink = NoSockets()

        self.engines: dict[int, RoomEngine] = {}
        self.user_room: dict[int, int] = {}
        self.guest_room: dict[str, int] = {}
        # Every authenticated socket of the service: key → (node, user id or 0, session id).
        self.sockets: dict[str, tuple[str, int, str]] = {}
        self.user_sockets: dict[int, set[str]] = defaultdict(set)
        self.session_sockets: dict[str, set[str]] = defaultdict(set)

        self._requests = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._ticking: set[int] = set()
        # When each empty room became empty, by this node's clock: only a hint for proposing
        # `forget`; applying it checks emptiness again, the same on every node.
        self._empty_since: dict[int, float] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._consumer: asyncio.Task[None] | None = None
        self.applied = 0
        self._stopped = False
        self._appliers: dict[str, Callable[[Entry], Outcomes]] = {
            "room": self._apply_room,
            "move_user": self._apply_move_user,
            "leave_user": self._apply_leave_user,
            "move_guest": self._apply_move_guest,
            "leave_guest": self._apply_leave_guest,
            "open": self._apply_open,
            "close": self._apply_close,
            "end_session": self._apply_end_session,
            "node_gone": self._apply_node_gone,
            "emit": self._apply_emit,
            "forget": self._apply_forget,
        }

    # --------------------------------------------------------------- lifecycle

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._consumer = loop.create_task(self._consume())
        self._sweeper = loop.create_task(self._sweep_empty_rooms())

    async def stop(self) -> None:
        self._stopped = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self.log.close()
        if self._consumer is not None:
            self._consumer.cancel()
            try:
                await self._consumer
            except (asyncio.CancelledError, LogClosed):
                pass
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ServerError())

    async def _consume(self) -> None:
        while True:
            try:
                batch = await self.log.read()
            except LogClosed:
                return
            except Exception:
                log.exception("Reading the log failed; retrying")
                await asyncio.sleep(1)
                continue
            for entry in batch:
                self._apply(entry)

    # ----------------------------------------------------------------- applying

    def _apply(self, entry: Entry) -> None:
        self.applied += 1
        mine = entry.get("n") == self.node_id
        future = self._pending.get(entry.get("r", "")) if mine else None
        try:
            outcomes = self._appliers[entry["k"]](entry)
        except ApiError as refusal:
            if future is not None and not future.done():
                future.set_exception(refusal)
            return
        except Exception:
            log.exception("Applying a %s entry failed", entry.get("k"))
            if future is not None and not future.done():
                future.set_exception(ServerError())
            return
        if future is not None and not future.done():
            future.set_result(outcomes)

    def _engine_for(self, info: dict[str, Any]) -> RoomEngine:
        engine = self.engines.get(int(info["id"]))
        if engine is None:
            engine = engine_from_info(info)
            self.engines[engine.room_id] = engine
        return engine

    def _run(self, engine: RoomEngine, outcome: Outcome) -> Outcome:
        """Publish what one engine command produced and re-arm the room's timer."""
        self._publish(engine, outcome.events)
        self._reschedule(engine)
        self._note_emptiness(engine)
        return outcome

    def _note_emptiness(self, engine: RoomEngine) -> None:
        if not engine.is_empty:
            self._empty_since.pop(engine.room_id, None)
        elif engine.room_id not in self._empty_since:
            self._empty_since[engine.room_id] = self.clock.now()

    def _publish(self, engine: RoomEngine, events: Sequence[Event]) -> None:
        for event in events:
            if event.name == MOVE_CONNECTIONS:
                self._track_move(engine, event)
        self.sink.deliver(events)

    def _track_move(self, engine: RoomEngine, event: Event) -> None:
        registry: dict[Any, int]
        key: Any
        if event.user is not None:
            registry, key = self.user_room, event.user
        else:
            registry, key = self.guest_room, event.session
        if event.payload["to"] is not None:
            registry[key] = engine.room_id
        elif registry.get(key) == engine.room_id:
            del registry[key]

    def _apply_room(self, entry: Entry) -> Outcomes:
        engine = self._engine_for(entry["room"])
        history_id = entry["h"]
        engine._new_history_id = lambda: history_id
        outcome = apply_room_command(engine, entry["c"], entry["t"], entry["a"])
        return {engine.room_id: self._run(engine, outcome)}

    def _apply_move_user(self, entry: Entry) -> Outcomes:
        now, user = entry["t"], entry["user"]
        user_id = int(user["id"])
        target = self._engine_for(entry["room"])
        outcomes: Outcomes = {}
        current = self.user_room.get(user_id)
        if current is not None and current != target.room_id:
            old = self.engines[current]
            outcomes[current] = self._run(old, old.leave(now, user_id))
        connected = bool(self.user_sockets.get(user_id))
        joined = target.join(now, user, int(entry["power"]), connected)
        outcomes[target.room_id] = self._run(target, joined)
        return outcomes

    def _apply_leave_user(self, entry: Entry) -> Outcomes:
        user_id = int(entry["user_id"])
        current = self.user_room.get(user_id)
        if current is None:
            return {}
        engine = self.engines[current]
        return {current: self._run(engine, engine.leave(entry["t"], user_id))}

    def _apply_move_guest(self, entry: Entry) -> Outcomes:
        return self._move_guest(entry["session"], entry["room"])

    def _move_guest(self, session_id: str, info: dict[str, Any]) -> Outcomes:
        target = self._engine_for(info)
        outcomes: Outcomes = {}
        current = self.guest_room.get(session_id)
        if current is not None and current != target.room_id:
            old = self.engines[current]
            outcomes[current] = self._run(old, old.leave_guest(session_id))
        outcomes[target.room_id] = self._run(target, target.join_guest(session_id))
        return outcomes

    def _apply_leave_guest(self, entry: Entry) -> Outcomes:
        session_id = entry["session"]
        current = self.guest_room.get(session_id)
        if current is None:
            return {}
        engine = self.engines[current]
        return {current: self._run(engine, engine.leave_guest(session_id))}

    # ------------------------------------------------------------------ sockets

    def _apply_open(self, entry: Entry) -> Outcomes:
        key, node = entry["conn"], entry["n"]
        user_id, session_id = int(entry["user"]), entry["session"]
        if user_id:
            # One socket per account (D39): older ones anywhere are replaced, and the
            # account keeps its presence through the newer one.
            for older in list(self.user_sockets.get(user_id, ())):
                self._forget_socket(older, kill=True)
        self.sockets[key] = (node, user_id, session_id)
        self.session_sockets[session_id].add(key)
        if user_id:
            self.user_sockets[user_id].add(key)

        if not user_id:
            info = entry.get("room")
            slug = info["slug"] if info is not None else None
            if node == self.node_id:
                self.sink.opened(key, slug)
            return self._move_guest(session_id, info) if info is not None else {}

        room_id = self.user_room.get(user_id)
        engine = self.engines.get(room_id) if room_id is not None else None
        if node == self.node_id:
            self.sink.opened(key, engine.slug if engine is not None else None)
        if engine is None:
            return {}
        return {engine.room_id: self._run(engine, engine.socket_connected(user_id))}

    def _apply_close(self, entry: Entry) -> Outcomes:
        key = entry["conn"]
        if key not in self.sockets:
            return {}
        _node, user_id, session_id = self._forget_socket(key, kill=False)
        return self._socket_gone(user_id, session_id, entry["t"])

    def _apply_end_session(self, entry: Entry) -> Outcomes:
        session_id = entry["session"]
        outcomes: Outcomes = {}
        for key in list(self.session_sockets.get(session_id, ())):
            _node, user_id, _session = self._forget_socket(key, kill=True)
            outcomes.update(self._socket_gone(user_id, session_id, entry["t"]))
        return outcomes

    def _apply_node_gone(self, entry: Entry) -> Outcomes:
        gone = entry["node"]
        outcomes: Outcomes = {}
        for key, (node, _user, _session) in list(self.sockets.items()):
            if node == gone:
                _node, user_id, session_id = self._forget_socket(key, kill=False)
                outcomes.update(self._socket_gone(user_id, session_id, entry["t"]))
        return outcomes

    def _forget_socket(self, key: str, kill: bool) -> tuple[str, int, str]:
        node, user_id, session_id = self.sockets.pop(key)
        discard_from(self.session_sockets, session_id, key)
        if user_id:
            discard_from(self.user_sockets, user_id, key)
        if kill and node == self.node_id:
            self.sink.kill(key)
        return node, user_id, session_id

    def _socket_gone(self, user_id: int, session_id: str, now: float) -> Outcomes:
        """The last socket of an account or guest closed: its grace period starts (D41)."""
        if user_id:
            room_id = self.user_room.get(user_id)
            if room_id is None or self.user_sockets.get(user_id):
                return {}
            engine = self.engines[room_id]
            return {room_id: self._run(engine, engine.socket_closed(now, user_id))}
        room_id = self.guest_room.get(session_id)
        if room_id is None or self.session_sockets.get(session_id):
            return {}
        engine = self.engines[room_id]
        return {room_id: self._run(engine, engine.guest_socket_closed(now, session_id))}

    def _apply_emit(self, entry: Entry) -> Outcomes:
        self.sink.deliver([Event(**event) for event in entry["events"]])
        return {}

    def _apply_forget(self, entry: Entry) -> Outcomes:
        room_id = int(entry["room_id"])
        engine = self.engines.get(room_id)
        if engine is None:
            self._empty_since.pop(room_id, None)
            return {}
        # Someone may have arrived between the proposal and now: then the room stays.
        if not engine.is_empty:
            return {}
        del self.engines[room_id]
        self._empty_since.pop(room_id, None)
        timer = self._timers.pop(room_id, None)
        if timer is not None:
            timer.cancel()
        log.info("Room %s was empty for a while; its live copy left memory", engine.slug)
        return {}

    # ---------------------------------------------------------------- proposing

    async def _propose(self, kind: str, **fields: Any) -> Outcomes:
        if self._stopped:
            raise ServerError("The server is shutting down.")
        request = f"{self.node_id}:{next(self._requests)}"
        entry = {"k": kind, "n": self.node_id, "r": request, "t": self.clock.now(), **fields}
        future: asyncio.Future[Outcomes] = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        try:
            await self.log.append(entry)
            return await future
        finally:
            self._pending.pop(request, None)

    async def _settle(self, outcomes: Outcomes) -> None:
        """The proposer's share of the work: store records, start the next play."""
        for room_id, outcome in outcomes.items():
            await self._follow_up(room_id, outcome)

    async def _follow_up(self, room_id: int, outcome: Outcome) -> None:
        personal: list[Event] = []
        await self._store_records(room_id, outcome.records, personal)
        attempts = 0
        while outcome.next_play_needed and attempts < NEXT_PLAY_ATTEMPTS:
            attempts += 1
            engine = self.engines[room_id]
            line = engine.line()
            found = await self.store.playlists.heads(line)
            heads = {str(user_id): head_to_wire(found.get(user_id)) for user_id in line}
            following = await self._propose(
                "room",
                room=room_info(engine),
                c="start_next_play",
                a={"heads": heads},
                h=str(uuid.uuid4()),
            )
            outcome = following.get(room_id, Outcome())
            await self._store_records(room_id, outcome.records, personal)
        if personal:
            await self._propose("emit", events=[asdict(event) for event in personal])

    async def _store_records(
        self, room_id: int, records: Iterable[Record], personal: list[Event]
    ) -> None:
        for record in records:
            try:
                await self._store_record(room_id, record, personal)
            except Exception:
                # The live room goes on even if one write fails; the log says which.
                log.exception("Could not store %s for room %s", type(record).__name__, room_id)

    async def _store_record(self, room_id: int, record: Record, personal: list[Event]) -> None:
        if isinstance(record, HistoryStarted):
            await self.store.history.started(room_id, record)
        elif isinstance(record, HistoryEnded):
            await self.store.history.ended(record)
        elif isinstance(record, PlaylistCycled):
            if await self.store.playlists.cycle(record.playlist_id, record.media_id):
                personal.append(user_event(record.dj_id, "playlistCycle", record.playlist_id))

    # ------------------------------------------------------------- public calls

    async def room_command(self, info: dict[str, Any], name: str, args: dict[str, Any]) -> Outcome:
        outcomes = await self._propose("room", room=info, c=name, a=args, h=str(uuid.uuid4()))
        await self._settle(outcomes)
        return outcomes.get(int(info["id"]), Outcome())

    async def join(self, user: RowMapping, room: RowMapping) -> None:
        role = await self.store.rooms.role_of(int(room["id"]), int(user["id"]))
        member = room_user(user, role)
        effective = power(role, int(user["g_role"]))
        outcomes = await self._propose(
            "move_user", user=member, power=effective, room=row_info(room)
        )
        await self._settle(outcomes)

    async def leave(self, user_id: int) -> None:
        await self._settle(await self._propose("leave_user", user_id=user_id))

    async def choose_guest_room(self, session_id: str, room: RowMapping) -> None:
        """A guest picked a room (page load or rooms/join); presence follows its socket."""
        await self.store.sessions.set_fields(session_id, guest_room_id=int(room["id"]))
        if self.session_sockets.get(session_id):
            outcomes = await self._propose("move_guest", session=session_id, room=row_info(room))
            await self._settle(outcomes)

    async def leave_guest(self, session_id: str) -> None:
        await self._settle(await self._propose("leave_guest", session=session_id))

    async def socket_opened(self, key: str, session: RowMapping) -> None:
        info = None
        if session["user_id"] is None and session["guest_room_id"] is not None:
            room = await self.store.rooms.by_id(int(session["guest_room_id"]))
            info = row_info(room) if room is not None else None
        outcomes = await self._propose(
            "open",
            conn=key,
            user=int(session["user_id"] or 0),
            session=str(session["id"]),
            room=info,
        )
        await self._settle(outcomes)

    async def socket_closed(self, key: str) -> None:
        if key in self.sockets:
            await self._settle(await self._propose("close", conn=key))

    async def end_session(self, session_id: str) -> None:
        await self._settle(await self._propose("end_session", session=session_id))

    async def node_gone(self, node_id: str) -> None:
        await self._settle(await self._propose("node_gone", node=node_id))

    async def sync(self) -> None:
        """Wait until this node has applied everything in the log up to now."""
        await self._propose("emit", events=[])

    def user_connected(self, user_id: int) -> bool:
        return bool(self.user_sockets.get(user_id))

    # ------------------------------------------------------------------ reading

    def room_of_user(self, user_id: int) -> LiveRoom | None:
        room_id = self.user_room.get(user_id)
        return LiveRoom(self, self.engines[room_id]) if room_id is not None else None

    async def room_of_guest(self, session: RowMapping) -> LiveRoom | None:
        """A guest's room: where it is present, else the room its page or join chose."""
        room_id = self.guest_room.get(str(session["id"]))
        if room_id is None:
            room_id = session["guest_room_id"]
        if room_id is None:
            return None
        return await self.room_by_id(int(room_id))

    async def room_by_id(self, room_id: int) -> LiveRoom | None:
        engine = self.engines.get(room_id)
        if engine is None:
            row = await self.store.rooms.by_id(room_id)
            if row is None:
                return None
            # Nobody has opened the room yet: an idle copy to read from, not kept.
            engine = engine_from_info(row_info(row))
        return LiveRoom(self, engine)

    def live_engine(self, room_id: int) -> RoomEngine | None:
        return self.engines.get(room_id)

    def population(self, room_id: int) -> tuple[int, int]:
        engine = self.engines.get(room_id)
        if engine is None:
            return 0, 0
        return engine.population, len(engine.guests)

    # ------------------------------------------------------------------- timers

    def _reschedule(self, engine: RoomEngine) -> None:
        timer = self._timers.pop(engine.room_id, None)
        if timer is not None:
            timer.cancel()
        deadline = engine.next_deadline()
        if deadline is None:
            return
        delay = max(0.0, deadline - self.clock.now())
        loop = asyncio.get_running_loop()
        self._timers[engine.room_id] = loop.call_later(delay, self._fire, engine.room_id)

    def _fire(self, room_id: int) -> None:
        self._timers.pop(room_id, None)
        engine = self.engines.get(room_id)
        if engine is None or room_id in self._ticking:
            return
        deadline = engine.next_deadline()
        if deadline is None:
            return
        if deadline > self.clock.now():
            self._reschedule(engine)
            return
        task = asyncio.get_running_loop().create_task(self._tick(room_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick(self, room_id: int) -> None:
        self._ticking.add(room_id)
        try:
            engine = self.engines[room_id]
            await self.room_command(room_info(engine), "tick", {})
        except Exception:
            log.exception("A timer of room %s failed", room_id)
        finally:
            self._ticking.discard(room_id)
            current = self.engines.get(room_id)
            if current is not None:
                self._reschedule(current)

    async def run_due(self) -> None:
        """Do everything whose time has come, now (used with a fake clock)."""
        for _ in range(CATCH_UP_ROUNDS):
            due = [
                room_id
                for room_id, engine in self.engines.items()
                if (deadline := engine.next_deadline()) is not None
                and deadline <= self.clock.now()
            ]
            if not due:
                return
            for room_id in due:
                await self._tick(room_id)

    # -------------------------------------------------------------- empty rooms

    async def forget_empty_rooms(self) -> int:
        """Propose to drop every room that has been empty for EMPTY_ROOM_KEPT_SECONDS."""
        cutoff = self.clock.now() - EMPTY_ROOM_KEPT_SECONDS
        stale = [room_id for room_id, since in self._empty_since.items() if since <= cutoff]
        for room_id in stale:
            await self.forget_room_if_empty(room_id)
        return len(stale)

    async def forget_room_if_empty(self, room_id: int) -> None:
        await self._propose("forget", room_id=room_id)

    async def _sweep_empty_rooms(self) -> None:
        while True:
            await asyncio.sleep(EMPTY_ROOM_SWEEP_SECONDS)
            try:
                await self.forget_empty_rooms()
            except Exception:
                log.exception("Dropping empty rooms from memory failed; will try again")

    # ---------------------------------------------------------------- snapshots

    def snapshot(self) -> dict[str, Any]:
        return {
            "engines": [engine.snapshot() for engine in self.engines.values()],
            "user_room": list(self.user_room.items()),
            "guest_room": list(self.guest_room.items()),
            "sockets": [[key, *value] for key, value in self.sockets.items()],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.engines = {}
        self._empty_since = {}
        for state in data["engines"]:
            engine = RoomEngine.restore(state)
            self.engines[engine.room_id] = engine
            self._note_emptiness(engine)
        self.user_room = {int(user_id): int(room) for user_id, room in data["user_room"]}
        self.guest_room = {str(session): int(room) for session, room in data["guest_room"]}
        for key, node, user_id, session_id in data["sockets"]:
            self.sockets[key] = (node, int(user_id), session_id)
            self.session_sockets[session_id].add(key)
            if user_id:
                self.user_sockets[int(user_id)].add(key)

    def rearm_timers(self) -> None:
        for engine in self.engines.values():
            self._reschedule(engine)
