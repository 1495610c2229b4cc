"""The ordered log every node applies: in memory for one process, a Redis stream for many.

Every change to live state (a room command, a socket opening or closing, an event to
deliver) is an entry. Each node applies the entries in the log's order to its own copy of
the live state, so all copies agree, and each node delivers the resulting events to its own
sockets. See docs/multi-node.md for why this design and what it costs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)

Entry = dict[str, Any]


class Log(Protocol):
    async def append(self, entry: Entry) -> None: ...

    async def read(self) -> list[Entry]:
        """The next entries in order; waits until there is at least one."""
        ...

    async def close(self) -> None: ...


class MemoryLog:
    """One process: the log is a queue, and the order is the order of `append` calls."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._ready = asyncio.Event()
        self._closed = False

    async def append(self, entry: Entry) -> None:
        self._entries.append(entry)
        self._ready.set()

    async def read(self) -> list[Entry]:
        while not self._entries:
            if self._closed:
                raise LogClosed()
            self._ready.clear()
            await self._ready.wait()
        batch, self._entries = self._entries, []
        return batch

    async def close(self) -> None:
        self._closed = True
        self._ready.set()


class LogClosed(Exception):
    pass


class RedisLog:
    """Many processes: one Redis stream; Redis gives every reader the same order."""

    STREAM = "replug:log"

    def __init__(self, redis: Any, start_after: str = "0-0") -> None:
        self._redis = redis
        self.last_id = start_after
        self._closed = False

    async def append(self, entry: Entry) -> None:
        await self._redis.xadd(self.STREAM, {b"e": orjson.dumps(entry)})

    async def read(self) -> list[Entry]:
        while not self._closed:
            answer = await self._redis.xread({self.STREAM: self.last_id}, count=2000, block=1000)
            if not answer:
                continue
            _stream, items = answer[0]
            entries = []
            for entry_id, fields in items:
                entries.append(orjson.loads(fields[b"e"]))
                self.last_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            return entries
        raise LogClosed()

    async def trim_before(self, entry_id: str) -> None:
        """Drop entries a snapshot already covers."""
        await self._redis.xtrim(self.STREAM, minid=entry_id, approximate=True)

    async def close(self) -> None:
        self._closed = True
