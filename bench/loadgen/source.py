"""A trivial local source for measuring the load generator's own ceiling.

It speaks the reference broadcaster's protocol (`auth` → ack; `chat` → one frame to every
authenticated socket) with as little work per delivery as Python allows: one epoll loop on raw
non-blocking sockets, the frame built once, then one `send` per socket. Run it pinned to the
other core; when the load generator's core saturates before this one does, the ramp against it
measures the generator, not the source.

usage: python -m loadgen.source [--port 0] [--copies K]     (prints "listening <port>")
  --copies K: each chat is delivered K times, as K frames in one write per socket. Only for
              measuring the generator when even this source is too slow; the load generator
              must then be told (--source-copies) so that it expects K frames per chat.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import select
import signal
import socket
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B65"
ACK = b'[{"a":"ack","p":"1","s":"bench"}]'
MAX_OUTBOX = 8 << 20


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    length = len(payload)
    if length < 126:
        return bytes((0x80 | opcode, length)) + payload
    if length < 65536:
        return bytes((0x80 | opcode, 126)) + length.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + length.to_bytes(8, "big") + payload


class Peer:
    __slots__ = ("sock", "buf", "open", "authenticated", "outbox")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.open = False
        self.authenticated = False
        self.outbox = b""


class Source:
    def __init__(self, port: int, copies: int) -> None:
        self.copies = copies
        self.listener = socket.create_server(("127.0.0.1", port), backlog=4096)
        self.listener.setblocking(False)
        self.epoll = select.epoll()
        self.epoll.register(self.listener.fileno(), select.EPOLLIN)
        self.peers: dict[int, Peer] = {}
        self.members: list[Peer] = []
        self.sequence = 0
        self.running = True

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def run(self) -> None:
        listen_fd = self.listener.fileno()
        while self.running:
            try:
                events = self.epoll.poll(0.2)
            except InterruptedError:
                continue
            for fd, mask in events:
                if fd == listen_fd:
                    self.accept()
                    continue
                peer = self.peers.get(fd)
                if peer is None:
                    continue
                if mask & select.EPOLLOUT:
                    self.flush(peer)
                if mask & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    self.read(peer)
        for peer in list(self.peers.values()):
            peer.sock.close()
        self.listener.close()

    def accept(self) -> None:
        for _ in range(1024):
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.peers[sock.fileno()] = Peer(sock)
            self.epoll.register(sock.fileno(), select.EPOLLIN)

    def drop(self, peer: Peer) -> None:
        fd = peer.sock.fileno()
        if self.peers.pop(fd, None) is None:
            return
        self.epoll.unregister(fd)
        if peer.authenticated:
            self.members.remove(peer)
        peer.sock.close()

    def write(self, peer: Peer, data: bytes) -> None:
        if peer.outbox:
            if len(peer.outbox) > MAX_OUTBOX:
                self.drop(peer)
            else:
                peer.outbox += data
            return
        try:
            sent = peer.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.drop(peer)
            return
        if sent < len(data):
            peer.outbox = data[sent:]
            self.epoll.modify(peer.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)

    def flush(self, peer: Peer) -> None:
        try:
            sent = peer.sock.send(peer.outbox)
        except BlockingIOError:
            return
        except OSError:
            self.drop(peer)
            return
        peer.outbox = peer.outbox[sent:]
        if not peer.outbox:
            self.epoll.modify(peer.sock.fileno(), select.EPOLLIN)

    def read(self, peer: Peer) -> None:
        try:
            data = peer.sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            self.drop(peer)
            return
        if not data:
            self.drop(peer)
            return
        peer.buf += data
        if not peer.open:
            end = peer.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(peer.buf) > 16384:
                    self.drop(peer)
                return
            key = b""
            for line in peer.buf[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"sec-websocket-key":
                    key = value.strip()
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            self.write(
                peer,
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n",
            )
            peer.open = True
            peer.buf = peer.buf[end + 4 :]
        for _ in range(10_000):
            buf = peer.buf
            if len(buf) < 6:
                return
            length = buf[1] & 0x7F
            offset = 2
            if length == 126:
                length = int.from_bytes(buf[2:4], "big")
                offset = 4
            elif length == 127:
                length = int.from_bytes(buf[2:10], "big")
                offset = 10
            if len(buf) < offset + 4 + length:
                return
            mask = buf[offset : offset + 4]
            body = buf[offset + 4 : offset + 4 + length]
            opcode = buf[0] & 0x0F
            peer.buf = buf[offset + 4 + length :]
            if mask != b"\0\0\0\0":
                body = bytes(byte ^ mask[i & 3] for i, byte in enumerate(body))
            if opcode == 8:
                self.write(peer, server_frame(body[:2], 0x8))
                self.drop(peer)
                return
            if opcode == 1:
                self.message(peer, body)
                if peer.sock.fileno() < 0:
                    return

    def message(self, peer: Peer, body: bytes) -> None:
        try:
            message = json.loads(body)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("a") == "auth" and not peer.authenticated:
            peer.authenticated = True
            self.members.append(peer)
            self.write(peer, server_frame(ACK))
        elif message.get("a") == "chat" and peer.authenticated:
            text = message.get("p")
            if isinstance(text, str | int | float) and not isinstance(text, bool):
                self.broadcast(str(text))

    def broadcast(self, text: str) -> None:
        self.sequence += 1
        event = [
            {
                "a": "chat",
                "p": {
                    "cid": f"0-{self.sequence}",
                    "message": text,
                    "sub": 0,
                    "uid": 0,
                    "un": "bench",
                },
                "s": "bench",
            }
        ]
        frame = server_frame(json.dumps(event, separators=(",", ":")).encode()) * self.copies
        write = self.write
        for peer in tuple(self.members):
            write(peer, frame)

    def stop(self, *_: object) -> None:
        self.running = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    source = Source(args.port, max(1, args.copies))
    signal.signal(signal.SIGTERM, source.stop)
    signal.signal(signal.SIGINT, source.stop)
    sys.stdout.write(f"listening {source.port}\n")
    sys.stdout.flush()
    source.run()


if __name__ == "__main__":
    main()
