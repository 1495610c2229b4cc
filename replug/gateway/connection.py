"""One client socket: who it belongs to, which room it hears, and its outgoing bytes."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from replug.gateway.frames import close_frame

log = logging.getLogger(__name__)

# A socket whose unsent bytes pass this is too slow to keep up and gets dropped, so that one
# stalled reader can neither grow the server's memory nor hold up its room.
SEND_BUFFER_LIMIT = 1 << 20
ABORT_AFTER_CLOSE_SECONDS = 5.0
# A reader too slow to keep up will not take a close frame either; cut it off sooner.
ABORT_SLOW_READER_SECONDS = 1.0


class Connection:
    __slots__ = (
        "transport",
        "key",
        "session_id",
        "user_id",
        "room",
        "authenticated",
        "closed",
        "peer",
        "deadline",
        "inbox",
        "busy",
    )

    def __init__(self, transport: asyncio.BaseTransport, peer: str) -> None:
        self.transport: Any = transport
        self.peer = peer
        self.key: str | None = None
        self.session_id: str | None = None
        self.user_id: int | None = None  # 0 marks a guest
        self.room: str | None = None
        self.authenticated = False
        self.closed = False
        self.deadline: asyncio.TimerHandle | None = None
        # Text messages read but not handled yet; one task at a time works through them.
        # Made on the first message: an idle socket should cost as little as possible.
        self.inbox: deque[str] | None = None
        self.busy = False

    @property
    def is_guest(self) -> bool:
        return self.user_id == 0

    def send(self, frame: bytes) -> None:
        """Queue a ready-made frame; never waits, so one socket cannot slow the others."""
        if self.closed:
            return
        self.transport.write(frame)
        if self.transport.get_write_buffer_size() > SEND_BUFFER_LIMIT:
            log.warning("Dropping socket %s: it reads too slowly", self.peer)
            self.drop(1008, "too slow", abort_after=ABORT_SLOW_READER_SECONDS)

    def drop(self, code: int, reason: str, abort_after: float = ABORT_AFTER_CLOSE_SECONDS) -> None:
        """Close from our side at once: send the close frame, then cut the line if ignored."""
        if self.closed:
            return
        self.closed = True
        self.transport.write(close_frame(code, reason))
        self.transport.close()
        loop = asyncio.get_running_loop()
        loop.call_later(abort_after, self.transport.abort)
