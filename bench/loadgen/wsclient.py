"""The load generator's WebSocket client: raw non-blocking sockets, no library.

Cheapness is the point, so the sockets of an open connection are not asyncio transports. One
`Reader` polls all of them with its own epoll every `interval` seconds (1 ms by default) and
makes one `recv` per readable socket, which returns everything that arrived since the last
round: several frames at once whenever the server delivers quickly. The cost of waking up and
of each `recv` is shared by all those frames, so the reader gets cheaper per frame as the load
grows: it reads what the server coalesces, and what the kernel coalesced for it. The price is
at most one interval of added latency.

Per frame it only walks the header; for a chat frame it finds the send time in the message text
with one bytes search and appends the latency (receive time minus send time, one monotonic
clock for every socket of this process) to an array.

Handshake and authentication use asyncio's socket functions; the socket joins the reader once
the server acknowledged the token with "1". Frames sent by the generator are masked with the
all-zero key (RFC 6455 §5.3 allows any key), so a message's bytes go out unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import os
import select
import socket
import time
from array import array
from typing import Protocol

monotonic_ns = time.monotonic_ns

HANDSHAKE, AUTH, OPEN, CLOSED = range(4)

# The chat text the generator sends is "t<microseconds>", so a chat frame holds
# `"message":"t<digits>"` (Replug and the reference alike). Nothing else in it matches MARK.
MARK = b'essage":"t'
MARK_LEN = len(MARK)
ACK_OK = b'"a":"ack","p":"1"'
ACK_MARK = b'"a":"ack"'
FLOOD_CHAT = b'"a":"floodChat"'
RATE_LIMIT = b'"a":"rateLimit"'
QUOTE = 0x22
ZERO_MASK = b"\x00\x00\x00\x00"
RECV_SIZE = 1 << 16


def now_us() -> int:
    return monotonic_ns() // 1000


class Tally:
    """Latencies of the chats a group of sockets received in the current window."""

    __slots__ = ("since_us", "latencies", "stale")

    def __init__(self) -> None:
        self.since_us = 0
        self.latencies = array("q")
        self.stale = 0

    def reset(self, since_us: int) -> None:
        self.since_us = since_us
        self.latencies = array("q")
        self.stale = 0

    @property
    def count(self) -> int:
        return len(self.latencies)


class ConnectError(Exception):
    pass


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A complete masked client frame with the zero mask key."""
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    return header + ZERO_MASK + payload


def auth_frame(token: str) -> bytes:
    token_json = token.replace("\\", "\\\\").replace('"', '\\"')
    return client_frame(b'{"a":"auth","p":"%s","t":0}' % token_json.encode())


def handshake_request(host: str, port: int, origin: str = "https://plug.dj") -> bytes:
    return (
        f"GET /socket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: @KEY@\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    ).encode()


class SocketReader(Protocol):
    """What a client needs of the reader that reads it (`Reader`, or `native.NativeReader`)."""

    def new_client(self, sock: socket.socket, tally: Tally) -> Client: ...

    def add(self, client: Client) -> None: ...

    def remove(self, client: Client) -> None: ...

    def want_write(self, client: Client) -> None: ...


class Client:
    """One socket's state and counters; `feed` parses whatever one recv returned."""

    __slots__ = (
        "sock",
        "state",
        "buf",
        "tally",
        "chats",
        "frames",
        "heartbeats",
        "others",
        "slug",
        "close_code",
        "error",
        "outbox",
        "reader",
        "floods",
        "newest",
    )

    def __init__(self, sock: socket.socket, tally: Tally) -> None:
        self.sock = sock
        self.state = HANDSHAKE
        self.buf = b""
        self.tally = tally
        self.chats = 0  # chat frames of the current window (tally.since_us onward)
        self.frames = 0  # every frame since the socket opened
        self.heartbeats = 0
        self.others = 0  # events other than chat, ack and heartbeat (userJoin, …)
        self.slug: str | None = None
        self.close_code: int | None = None
        self.error: str | None = None
        self.outbox = b""
        self.reader: SocketReader | None = None
        self.floods = 0  # floodChat and rateLimit events: the server's chat limits at work
        self.newest = 0  # send time of the newest chat received, of any window

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    def detach(self) -> None:
        """Called when the socket closes before it reached a reader (see NativeClient)."""

    def feed(self, data: bytes, now: int) -> None:
        if self.buf:
            data = self.buf + data
            self.buf = b""
        n = len(data)
        i = 0
        frames = 0
        chats = 0
        sent = 0
        tally = self.tally
        since = tally.since_us
        record = tally.latencies.append
        while n - i >= 2:
            b1 = data[i + 1]
            if b1 < 126:
                start = i + 2
                end = start + b1
            elif b1 == 126:
                if n - i < 4:
                    break
                start = i + 4
                end = start + ((data[i + 2] << 8) | data[i + 3])
            else:
                if n - i < 10:
                    break
                start = i + 10
                end = start + int.from_bytes(data[i + 2 : i + 10], "big")
            if end > n:
                break
            frames += 1
            opcode = data[i] & 0x0F
            if opcode == 1:
                k = data.find(MARK, start, end)
                if k >= 0:
                    k += MARK_LEN
                    sent = int(data[k : data.index(QUOTE, k, end)])
                    if sent >= since:
                        record(now - sent)
                        chats += 1
                    else:
                        tally.stale += 1
                elif end - start == 1:
                    self.heartbeats += 1
                elif self.state == AUTH:
                    self._auth_answer(data[start:end])
                    if self.state == CLOSED:
                        return
                else:
                    self.others += 1
                    if (
                        data.find(FLOOD_CHAT, start, end) >= 0
                        or data.find(RATE_LIMIT, start, end) >= 0
                    ):
                        self.floods += 1
            elif opcode == 8:
                self.frames += frames
                self._closed_by_server(data[start:end])
                return
            elif opcode == 9:
                self.send(client_frame(data[start:end], 0xA))
            i = end
        if i < n:
            self.buf = data[i:]
        self.frames += frames
        self.chats += chats
        if sent > self.newest:
            self.newest = sent

    def _auth_answer(self, payload: bytes) -> None:
        if ACK_MARK not in payload:
            self.others += 1
            return
        if ACK_OK not in payload:
            self.error = "auth refused: " + payload.decode("utf-8", "replace")
            self.state = CLOSED
            return
        self.state = OPEN
        at = payload.find(b'"s":"')
        if at >= 0:
            at += 5
            self.slug = payload[at : payload.find(b'"', at)].decode()

    def _closed_by_server(self, payload: bytes) -> None:
        self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        reason = payload[2:].decode("utf-8", "replace")
        self.lost(f"closed by server: {self.close_code} {reason}".strip())

    def lost(self, why: str) -> None:
        if self.error is None:
            self.error = why
        self.state = CLOSED
        if self.reader is not None:
            self.reader.remove(self)
        try:
            self.sock.close()
        except OSError:
            pass

    # -------------------------------------------------------------- sending

    def send(self, frame: bytes) -> None:
        """Write now; whatever the kernel does not take waits in `outbox` for the reader."""
        if self.state == CLOSED:
            return
        if self.outbox:
            self.outbox += frame
            return
        try:
            sent = self.sock.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError as error:
            self.lost(f"send failed: {error}")
            return
        if sent < len(frame):
            self.outbox = frame[sent:]
            if self.reader is not None:
                self.reader.want_write(self)

    def flush(self) -> bool:
        """Send what waits in the outbox; True when it is empty."""
        try:
            sent = self.sock.send(self.outbox)
        except BlockingIOError:
            return False
        except OSError as error:
            self.lost(f"send failed: {error}")
            return True
        self.outbox = self.outbox[sent:]
        return not self.outbox

    def send_chat(self, sent_us: int) -> None:
        if self.state == OPEN:
            self.send(client_frame(b'{"a":"chat","p":"t%d","t":0}' % sent_us))

    def close(self) -> None:
        if self.state == CLOSED:
            return
        try:
            self.sock.send(client_frame(b"\x03\xe8", 0x8))
        except OSError:
            pass
        self.lost("closed by the load generator")


class RoundReader:
    """What both readers share: a round every `interval` seconds until stopped."""

    kind = "abstract"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.clients: dict[int, Client] = {}
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            await self._task
        for client in list(self.clients.values()):
            client.close()
        self._release()

    async def _run(self) -> None:
        while not self._stopped:
            self.rounds += 1
            self._round()
            await asyncio.sleep(self.interval)

    def remove(self, client: Client) -> None:
        try:
            fd = client.sock.fileno()
        except OSError:
            return
        if self.clients.pop(fd, None) is not None:
            self._forget(fd, client)
        client.reader = None

    def _forget(self, fd: int, client: Client) -> None:
        raise NotImplementedError

    def _round(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError


class Reader(RoundReader):
    """Reads every open socket: poll, one recv each, parse; then sleep `interval`."""

    kind = "python"

    def __init__(self, interval: float = 0.001) -> None:
        super().__init__(interval)
        self.epoll = select.epoll()
        self.writers: set[int] = set()
        self.reads = 0

    def new_client(self, sock: socket.socket, tally: Tally) -> Client:
        return Client(sock, tally)

    def add(self, client: Client) -> None:
        fd = client.sock.fileno()
        client.reader = self
        self.clients[fd] = client
        self.epoll.register(fd, select.EPOLLIN | (select.EPOLLOUT if client.outbox else 0))
        if client.outbox:
            self.writers.add(fd)

    def _forget(self, fd: int, client: Client) -> None:
        self.writers.discard(fd)
        try:
            self.epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def want_write(self, client: Client) -> None:
        fd = client.sock.fileno()
        if fd in self.clients and fd not in self.writers:
            self.writers.add(fd)
            self.epoll.modify(fd, select.EPOLLIN | select.EPOLLOUT)

    def _release(self) -> None:
        self.epoll.close()

    def _round(self) -> None:
        clients = self.clients
        pollout = select.EPOLLOUT
        for fd, mask in self.epoll.poll(0, len(clients) + 1):
            client = clients.get(fd)
            if client is None:
                continue
            if mask & pollout and client.flush():
                self.writers.discard(fd)
                if fd in clients:
                    self.epoll.modify(fd, select.EPOLLIN)
            try:
                data = client.sock.recv(RECV_SIZE)
            except BlockingIOError:
                continue
            except OSError as error:
                client.lost(f"connection lost ({error})")
                continue
            if not data:
                client.lost("connection closed by server")
                continue
            self.reads += 1
            client.feed(data, monotonic_ns() // 1000)


async def open_client(
    host: str,
    port: int,
    token: str,
    tally: Tally,
    reader: SocketReader,
    timeout: float,
    request: bytes | None = None,
) -> Client:
    """Connect, handshake, authenticate, hand the socket to `reader`; returns once the server
    acknowledged with "1", else raises ConnectError, OSError or TimeoutError."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = reader.new_client(sock, tally)
    request = (request or handshake_request(host, port)).replace(
        b"@KEY@", base64.b64encode(os.urandom(16))
    )

    async def setup() -> None:
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, request)
        head = b""
        while True:
            data = await loop.sock_recv(sock, RECV_SIZE)
            if not data:
                raise ConnectError("closed during the handshake")
            head += data
            end = head.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(head) > 16384:
                raise ConnectError("handshake answer too long")
        status = head[: head.find(b"\r\n")]
        if b" 101 " not in status + b" ":
            raise ConnectError("handshake refused: " + status.decode("latin-1"))
        client.state = AUTH
        await loop.sock_sendall(sock, auth_frame(token))
        rest = head[end + 4 :]
        while True:
            if rest:
                client.feed(rest, monotonic_ns() // 1000)
            if client.state == OPEN:
                return
            if client.state == CLOSED:
                raise ConnectError(client.error or "closed during auth")
            rest = await loop.sock_recv(sock, RECV_SIZE)
            if not rest:
                raise ConnectError("closed before the ack")

    try:
        await asyncio.wait_for(setup(), timeout)
    except BaseException:
        client.state = CLOSED
        client.detach()
        sock.close()
        raise
    reader.add(client)
    return client
