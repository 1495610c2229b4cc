"""The /socket endpoint: handshake, `auth` → `ack`, chat, heartbeat and event delivery."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, web

from replug.engine.events import DASHBOARD, MOVE_CONNECTIONS, Event
from replug.gateway.connection import Connection
from replug.gateway.fanout import Excluding, Fanout
from replug.gateway.frames import HEARTBEAT_FRAME, event_bytes, text_frame
from replug.gateway.handshake import UpgradeRequest, accept_response, refusal
from replug.gateway.socket_protocol import SocketProtocol
from replug.indexes import discard_from

if TYPE_CHECKING:
    from replug.services import Services

log = logging.getLogger(__name__)

AUTH_DEADLINE_SECONDS = 30.0
HEARTBEAT_SECONDS = 10.0
MAX_MESSAGE_BYTES = 16 * 1024
PLUG_ORIGIN = "https://plug.dj"
# Messages one socket may have waiting to be handled; more are dropped (a flood).
MAX_INBOX = 64


class Gateway:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._all: set[Connection] = set()
        self._by_room: dict[str, set[Connection]] = defaultdict(set)
        self._by_user: dict[int, set[Connection]] = defaultdict(set)
        self._by_session: dict[str, set[Connection]] = defaultdict(set)
        self._by_key: dict[str, Connection] = {}
        self._keys = itertools.count(1)
        self._heartbeat: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._fanout = Fanout(lambda room: self._by_room.get(room, ()))

    # ------------------------------------------------------------------ wiring

    def start(self) -> None:
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        for task in list(self._tasks):
            task.cancel()
        self._fanout.flush_all()
        for connection in list(self._all):
            connection.drop(1001, "server shutting down")

    @property
    def connection_count(self) -> int:
        return len(self._all)

    # --------------------------------------------------------------- handshake

    def accept_upgrade(
        self, transport: asyncio.Transport, request: UpgradeRequest, rest: bytes
    ) -> asyncio.Protocol | None:
        """The fast path: answer the upgrade ourselves and read frames off the transport."""
        if not request.is_valid():
            transport.write(refusal(400, "Bad Request", "not a valid WebSocket handshake"))
            transport.close()
            return None
        if not self._origin_allowed(request.origin, request.host):
            log.warning("Refused a socket from origin %r", request.origin)
            transport.write(refusal(403, "Forbidden", "origin not allowed"))
            transport.close()
            return None

        assert request.key is not None
        transport.write(accept_response(request.key))
        peer = transport.get_extra_info("peername")
        connection = Connection(transport, f"{peer[0]}:{peer[1]}" if peer else "?")
        self._admit(connection)
        protocol = SocketProtocol(connection, self._message, self._lost, MAX_MESSAGE_BYTES)
        if rest:
            asyncio.get_running_loop().call_soon(protocol.data_received, rest)
        return protocol

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The same socket through aiohttp, for an upgrade on a reused HTTP connection."""
        if not self._origin_allowed(request.headers.get("Origin"), request.host):
            log.warning("Refused a socket from origin %r", request.headers.get("Origin"))
            return web.Response(status=403, text="origin not allowed")

        # aiohttp refuses a message of max_msg_size bytes itself; the limit is inclusive here.
        ws = web.WebSocketResponse(
            max_msg_size=MAX_MESSAGE_BYTES + 1, compress=False, autoping=True, heartbeat=None
        )
        await ws.prepare(request)
        transport = request.transport
        if transport is None:
            return ws
        connection = Connection(transport, request.remote or "?")
        self._admit(connection)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._on_text(connection, message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            await self._forget(connection)
        return ws

    def _admit(self, connection: Connection) -> None:
        self._all.add(connection)
        connection.deadline = asyncio.get_running_loop().call_later(
            AUTH_DEADLINE_SECONDS, self._auth_deadline, connection
        )

    def _origin_allowed(self, origin: str | None, host: str) -> bool:
        config = self._services.config
        if origin is None:
            return config.allow_missing_origin
        own = {f"{scheme}://{host}" for scheme in ("http", "https")}
        return origin == PLUG_ORIGIN or origin in own or origin in config.allowed_origins

    def _auth_deadline(self, connection: Connection) -> None:
        if not connection.authenticated:
            connection.drop(1008, "auth timeout")

    # ----------------------------------------------------------------- reading

    def _message(self, connection: Connection, text: str) -> None:
        """A whole text message from the fast path; handled in arrival order per socket."""
        if connection.inbox is None:
            connection.inbox = deque()
        if len(connection.inbox) >= MAX_INBOX:
            # Like plug.dj, excess chat is dropped without a word; the socket stays.
            log.debug("Dropped a message from socket %s: too many waiting", connection.peer)
            return
        connection.inbox.append(text)
        if not connection.busy:
            connection.busy = True
            self._spawn(self._work_through(connection))

    async def _work_through(self, connection: Connection) -> None:
        inbox = connection.inbox
        assert inbox is not None
        try:
            while inbox and not connection.closed:
                await self._on_text(connection, inbox.popleft())
        except Exception:
            log.exception("Handling a message from socket %s failed", connection.peer)
        finally:
            connection.busy = False
            inbox.clear()

    def _lost(self, connection: Connection) -> None:
        self._spawn(self._forget(connection))

    async def _on_text(self, connection: Connection, text: str) -> None:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return

        action = message.get("a")
        if action == "auth" and not connection.authenticated:
            await self._authenticate(connection, message.get("p"))
        elif action == "chat" and connection.authenticated:
            await self._chat(connection, message.get("p"))

    async def _authenticate(self, connection: Connection, token: Any) -> None:
        session = None
        if isinstance(token, str) and token:
            session = await self._services.store.sessions.by_token(token)
        if session is None or connection.closed:
            self._refuse(connection)
            return

        hub = self._services.hub
        connection.key = f"{hub.node_id}:{next(self._keys)}"
        connection.session_id = str(session["id"])
        connection.user_id = int(session["user_id"] or 0)
        self._by_key[connection.key] = connection
        try:
            await hub.socket_opened(connection.key, session)
        except Exception:
            log.exception("Could not register socket %s", connection.peer)
            self._by_key.pop(connection.key, None)
            self._refuse(connection)

    def _refuse(self, connection: Connection) -> None:
        connection.send(text_frame(event_bytes("ack", "0", DASHBOARD)))
        connection.drop(1008, "bad token")

    def opened(self, key: str, slug: str | None) -> None:
        """The log says this node's socket is in: greet it (`ack`) and let it hear its room."""
        connection = self._by_key.get(key)
        if connection is None or connection.closed:
            # It closed while its arrival was on the way; tell everyone it is gone again.
            self._spawn(self._services.hub.socket_closed(key))
            return

        connection.authenticated = True
        if connection.deadline is not None:
            # Let the timer go now rather than in 30 s: thousands of idle ones add up.
            connection.deadline.cancel()
            connection.deadline = None
        assert connection.session_id is not None and connection.user_id is not None
        self._by_session[connection.session_id].add(connection)
        if connection.user_id:
            self._by_user[connection.user_id].add(connection)
        connection.send(text_frame(event_bytes("ack", "1", slug or DASHBOARD)))
        if slug is not None:
            self._enter(connection, slug)

    def kill(self, key: str) -> None:
        """killSession, then close (D39, §7.1): replaced, logged out or switched account."""
        connection = self._by_key.get(key)
        if connection is None:
            return
        slug = connection.room or DASHBOARD
        self._unindex(connection)
        connection.send(text_frame(event_bytes("killSession", {}, slug)))
        connection.drop(1000, "session ended")

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _chat(self, connection: Connection, text: Any) -> None:
        if connection.is_guest or connection.user_id is None:
            return
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            return
        room = self._services.hub.room_of_user(connection.user_id)
        if room is None:
            return
        await room.command("chat", user_id=connection.user_id, text=str(text))

    async def _forget(self, connection: Connection) -> None:
        if connection not in self._all:
            return
        connection.closed = True
        if connection.deadline is not None:
            connection.deadline.cancel()
        self._all.discard(connection)
        self._unindex(connection)
        if connection.key is not None:
            self._by_key.pop(connection.key, None)
            if connection.authenticated:
                await self._services.hub.socket_closed(connection.key)

    def _unindex(self, connection: Connection) -> None:
        self._leave_room_set(connection)
        if connection.session_id is not None:
            discard_from(self._by_session, connection.session_id, connection)
        if connection.user_id:
            discard_from(self._by_user, connection.user_id, connection)

    # ---------------------------------------------------------------- delivery

    def deliver(self, events: Sequence[Event]) -> None:
        """Send each event to its recipients, encoding it once per distinct slug.

        Room events are framed once and queued on the room (see fanout.py); personal events
        go out at once, after their socket's share of its room's queue.
        """
        for event in events:
            if event.name == MOVE_CONNECTIONS:
                self._move(event)
            elif event.room is not None:
                self._to_room(event)
            elif event.user is not None:
                self._to_each(event, self._by_user.get(event.user, ()))
            elif event.session is not None:
                self._to_each(event, self._by_session.get(event.session, ()))
            else:
                self._to_each(event, self._all)

    def _to_room(self, event: Event) -> None:
        room = event.room or ""
        if not self._by_room.get(room):
            return
        frame = text_frame(event_bytes(event.name, event.payload, event.slug or DASHBOARD))
        if event.exclude_user is None and event.exclude_session is None:
            self._fanout.queue(room, frame)
        else:
            self._fanout.queue(room, Excluding(frame, event.exclude_user, event.exclude_session))

    def _send_now(self, connection: Connection, frame: bytes) -> None:
        """A personal frame, after whatever its room queued before it (order per socket)."""
        self._fanout.catch_up(connection, connection.room)
        connection.send(frame)

    def _to_each(self, event: Event, connections: Iterable[Connection]) -> None:
        frames: dict[str, bytes] = {}
        for connection in tuple(connections):
            if not connection.authenticated:
                continue
            slug = event.slug or connection.room or DASHBOARD
            frame = frames.get(slug)
            if frame is None:
                frame = frames[slug] = text_frame(event_bytes(event.name, event.payload, slug))
            self._send_now(connection, frame)

    def _move(self, event: Event) -> None:
        if event.user is not None:
            connections = self._by_user.get(event.user, ())
        else:
            connections = self._by_session.get(event.session or "", ())
        destination, origin = event.payload["to"], event.payload["from"]
        for connection in tuple(connections):
            if destination is not None:
                self._enter(connection, destination)
            elif connection.room == origin:
                self._leave_room_set(connection)

    def _enter(self, connection: Connection, slug: str) -> None:
        self._leave_room_set(connection)
        connection.room = slug
        self._by_room[slug].add(connection)
        self._fanout.arrived(connection, slug)

    def _leave_room_set(self, connection: Connection) -> None:
        room = connection.room
        if room is not None:
            # Frames queued before the departure still belong to the one leaving.
            self._fanout.catch_up(connection, room)
            self._fanout.left(connection, room)
            discard_from(self._by_room, room, connection)
            if room not in self._by_room:
                self._fanout.room_emptied(room)
            connection.room = None

    async def _beat(self) -> None:
        """`h` every 10 seconds to every open socket, whatever else is sent (D11)."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for connection in tuple(self._all):
                connection.send(HEARTBEAT_FRAME)
