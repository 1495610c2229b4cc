"""One lock per key, for checks that must not race their own writes (limits per account)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from replug.protocol.errors import ServerError

log = logging.getLogger(__name__)

# Compare-and-delete: a lease that ran out and was taken by another node is not ours to free.
RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class KeyedLocks:
    """An asyncio lock per key, forgotten once nobody holds or waits for it.

    It serializes within one process; `SharedLocks` adds a lease that other nodes respect.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._holders: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key]
                del self._locks[key]


class SharedLocks(KeyedLocks):
    """A lock per key that holds across every node of a multi-node service.

    This process's own lock comes first, so that only one request per node polls Redis for a
    key; then a lease in Redis (SET NX with an expiry, so a node that dies holding it blocks
    nobody for longer than the lease). The guarded work is one short database transaction,
    far inside the lease.
    """

    def __init__(
        self,
        redis: Redis,
        lease_seconds: float = 10.0,
        wait_seconds: float = 5.0,
        retry_seconds: float = 0.005,
    ) -> None:
        super().__init__()
        self._redis = redis
        self._lease_ms = int(lease_seconds * 1000)
        self._wait_seconds = wait_seconds
        self._retry_seconds = retry_seconds
        self._release = redis.register_script(RELEASE_SCRIPT)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        async with super().hold(key):
            name = _lease_name(key)
            token = secrets.token_hex(8)
            await self._acquire(name, token)
            try:
                yield
            finally:
                await self._release(keys=[name], args=[token])

    async def _acquire(self, name: str, token: str) -> None:
        deadline = time.monotonic() + self._wait_seconds
        while not await self._redis.set(name, token, nx=True, px=self._lease_ms):
            if time.monotonic() >= deadline:
                log.warning("Gave up waiting for the shared lock %s", name)
                raise ServerError("The server is busy; try again.", http_status=503)
            await asyncio.sleep(self._retry_seconds)


def _lease_name(key: Hashable) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return "replug:lock:" + ":".join(str(part) for part in parts)
