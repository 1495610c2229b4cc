"""Slows password guessing: too many failed logins for one address answer 429 (behaviour §20).

One node counts in memory; several nodes count together in Redis, so that spreading guesses
over the nodes behind a proxy gains nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict, deque
from typing import Protocol

from redis.asyncio import Redis

from replug.clock import Clock

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


class LoginGuard(Protocol):
    async def blocked(self, email: str) -> bool: ...

    async def failed(self, email: str) -> None: ...

    async def succeeded(self, email: str) -> None: ...


class MemoryLoginGuard:
    """Failed logins per address within a sliding window, kept in this process."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    async def blocked(self, email: str) -> bool:
        return len(self._recent(email.casefold())) >= MAX_FAILURES

    async def failed(self, email: str) -> None:
        self._recent(email.casefold()).append(self._clock.now())

    async def succeeded(self, email: str) -> None:
        self._failures.pop(email.casefold(), None)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures[key]
        cutoff = self._clock.now() - WINDOW_SECONDS
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            # Keep the table from growing with every address anyone ever tried.
            del self._failures[key]
            return self._failures[key]
        return failures


class RedisLoginGuard:
    """The same window, shared by every node: one sorted set of failure times per address.

    Keys hold a hash of the address, not the address, and expire with the window.
    """

    def __init__(self, redis: Redis, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock

    async def blocked(self, email: str) -> bool:
        key = _key(email)
        cutoff = self._clock.now() - WINDOW_SECONDS
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", cutoff)
            pipe.zcard(key)
            _, count = await pipe.execute()
        return int(count) >= MAX_FAILURES

    async def failed(self, email: str) -> None:
        key = _key(email)
        now = self._clock.now()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {f"{now}:{secrets.token_hex(4)}": now})
            pipe.expire(key, WINDOW_SECONDS)
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(_key(email))


def _key(email: str) -> str:
    digest = hashlib.sha256(email.casefold().encode()).hexdigest()[:32]
    return f"replug:login-failures:{digest}"
