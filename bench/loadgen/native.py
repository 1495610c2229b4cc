"""The C reader (`fastread.c`) behind the same interface as `wsclient.Reader`.

`build()` compiles the C file with the system's compiler (`cc`, or `$CC`) into
`bench/loadgen/.build/`, once per version of the source, and returns None when that is not
possible, in which case the run uses the Python reader and says so.

Handshake and authentication stay in Python (`wsclient.open_client`); a socket is handed to C
once it is open. Its counters live in C's row for its file descriptor, read and written through
`NativeClient`'s properties; when the socket leaves the reader, the row is copied so the client
keeps its figures after the descriptor is reused.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import socket
import subprocess
from pathlib import Path

from loadgen.wsclient import Client, Reader, RoundReader, Tally

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("fastread.c")
BUILD_DIR = Path(__file__).with_name(".build")
MAX_FDS = 65536
MAX_TALLIES = 8
NOTE_CAPACITY = 16384
NOTE_WRITABLE, NOTE_CLOSE_FRAME, NOTE_EOF, NOTE_ERROR, NOTE_TOO_BIG = range(1, 6)
COUNTERS = ("chats", "frames", "heartbeats", "others", "floods", "newest")


class Row(ctypes.Structure):
    """One socket's counters: the layout of `struct row` in fastread.c."""

    _fields_ = [(name, ctypes.c_int64) for name in COUNTERS] + [
        ("tally", ctypes.c_int32),
        ("active", ctypes.c_int32),
    ]


class Note(ctypes.Structure):
    _fields_ = [
        ("fd", ctypes.c_int32),
        ("kind", ctypes.c_int32),
        ("value", ctypes.c_int32),
        ("unused", ctypes.c_int32),
    ]


def build() -> ctypes.CDLL | None:
    """The compiled reader, built if needed; None when no C compiler can build it."""
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    library = BUILD_DIR / f"fastread-{digest}.so"
    if not library.exists():
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            logger.warning("no C compiler found: the load generator reads in Python")
            return None
        BUILD_DIR.mkdir(exist_ok=True)
        partial = library.with_suffix(f".{os.getpid()}.tmp")
        command = [compiler, "-O2", "-shared", "-fPIC", "-o", str(partial), str(SOURCE)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            why = result.stderr.strip()[-400:] or f"{compiler} exited with {result.returncode}"
            logger.warning("could not build fastread.c: %s", why)
            return None
        partial.replace(library)
    return _bind(ctypes.CDLL(str(library)))


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    handle = ctypes.c_void_p
    lib.lg_open.restype = handle
    lib.lg_close.argtypes = [handle]
    lib.lg_rows.restype = ctypes.POINTER(Row)
    lib.lg_rows.argtypes = [handle]
    lib.lg_reads.restype = ctypes.c_int64
    lib.lg_reads.argtypes = [handle]
    lib.lg_add.argtypes = [handle, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.lg_want_write.argtypes = [handle, ctypes.c_int, ctypes.c_int]
    lib.lg_remove.argtypes = [handle, ctypes.c_int]
    lib.lg_set_since.argtypes = [handle, ctypes.c_int, ctypes.c_int64]
    lib.lg_drain.restype = ctypes.c_int64
    lib.lg_drain.argtypes = [
        handle,
        ctypes.c_int,
        ctypes.POINTER(ctypes.POINTER(ctypes.c_int64)),
        ctypes.POINTER(ctypes.c_int64),
    ]
    lib.lg_round.argtypes = [handle, ctypes.POINTER(Note), ctypes.c_int]
    return lib


def _counter(name: str) -> property:
    def get(self: NativeClient) -> int:
        return getattr(self._row, name)  # type: ignore[no-any-return]

    def put(self: NativeClient, value: int) -> None:
        setattr(self._row, name, value)

    return property(get, put)


class NativeClient(Client):
    """A client whose counters are C's row for its descriptor while it is being read."""

    __slots__ = ("_row",)

    def __init__(self, sock: socket.socket, tally: Tally, row: Row) -> None:
        ctypes.memset(ctypes.addressof(row), 0, ctypes.sizeof(Row))
        self._row = row
        super().__init__(sock, tally)

    def detach(self) -> None:
        """Keep the figures in a private copy: the descriptor may go to another socket."""
        self._row = Row.from_buffer_copy(self._row)

    chats = _counter("chats")
    frames = _counter("frames")
    heartbeats = _counter("heartbeats")
    others = _counter("others")
    floods = _counter("floods")
    newest = _counter("newest")


class NativeReader(RoundReader):
    """`wsclient.Reader`'s interface; each round is one call into C."""

    kind = "native"

    def __init__(self, lib: ctypes.CDLL, interval: float = 0.001) -> None:
        super().__init__(interval)
        self.lib = lib
        self.handle = ctypes.c_void_p(lib.lg_open())
        if not self.handle.value:
            raise OSError("the C reader could not start")
        self.rows = ctypes.cast(lib.lg_rows(self.handle), ctypes.POINTER(Row * MAX_FDS)).contents
        self.notes = (Note * NOTE_CAPACITY)()
        self.tallies: list[Tally] = []

    @property
    def reads(self) -> int:
        return int(self.lib.lg_reads(self.handle))

    def new_client(self, sock: socket.socket, tally: Tally) -> Client:
        fd = sock.fileno()
        if fd >= MAX_FDS:
            raise OSError(f"descriptor {fd} is beyond the C reader's table")
        return NativeClient(sock, tally, self.rows[fd])

    def _tally_index(self, tally: Tally) -> int:
        for index, known in enumerate(self.tallies):
            if known is tally:
                return index
        if len(self.tallies) == MAX_TALLIES:
            raise ValueError("too many tallies for the C reader")
        self.tallies.append(tally)
        return len(self.tallies) - 1

    def add(self, client: Client) -> None:
        fd = client.sock.fileno()
        tally = self._tally_index(client.tally)
        error = self.lib.lg_add(self.handle, fd, tally, int(bool(client.outbox)))
        if error:
            raise OSError(-error, os.strerror(-error))
        client.reader = self
        self.clients[fd] = client

    def _forget(self, fd: int, client: Client) -> None:
        self.lib.lg_remove(self.handle, fd)
        client.detach()

    def want_write(self, client: Client) -> None:
        fd = client.sock.fileno()
        if fd in self.clients:
            self.lib.lg_want_write(self.handle, fd, 1)

    def _release(self) -> None:
        self.lib.lg_close(self.handle)
        self.handle = ctypes.c_void_p()

    def _set_windows(self) -> None:
        for index, tally in enumerate(self.tallies):
            self.lib.lg_set_since(self.handle, index, tally.since_us)

    def _drain(self) -> None:
        pointer = ctypes.POINTER(ctypes.c_int64)()
        stale = ctypes.c_int64()
        for index, tally in enumerate(self.tallies):
            count = self.lib.lg_drain(
                self.handle, index, ctypes.byref(pointer), ctypes.byref(stale)
            )
            if count:
                tally.latencies.frombytes(ctypes.string_at(pointer, count * 8))
            tally.stale += stale.value

    def _handle(self, note: Note) -> None:
        client = self.clients.get(note.fd)
        if client is None:
            return
        if note.kind == NOTE_WRITABLE:
            if client.flush() and note.fd in self.clients:
                self.lib.lg_want_write(self.handle, note.fd, 0)
        elif note.kind == NOTE_CLOSE_FRAME:
            client.close_code = note.value
            client.lost(f"closed by server: {note.value}")
        elif note.kind == NOTE_EOF:
            client.lost("connection closed by server")
        elif note.kind == NOTE_ERROR:
            client.lost(f"connection lost ({os.strerror(note.value)})")
        else:
            client.lost("a frame larger than the reader's buffer")

    def _round(self) -> None:
        self._set_windows()  # a step may have started since the last round
        count = self.lib.lg_round(self.handle, self.notes, NOTE_CAPACITY)
        self._drain()
        notes = self.notes
        for index in range(count):
            self._handle(notes[index])


def make_reader(kind: str, interval: float) -> NativeReader | Reader:
    """The reader `kind` asks for ("native" or "python"); "native" falls back to Python when
    the C file cannot be built."""
    if kind == "native":
        lib = build()
        if lib is not None:
            return NativeReader(lib, interval)
    return Reader(interval)
