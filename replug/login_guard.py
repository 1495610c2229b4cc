"""Slows password guessing: too many failed logins for one address answer 429 (behaviour §20).

One node counts in memory; several nodes count together in Redis, so that spreading guesses
over the nodes behind a proxy gains nothing. Every attempt is counted before its password is
checked, in one step with the check of the count, and a success clears the count: so a burst
of simultaneous guesses gets no more than the limit checked, wherever they land.
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
    async def attempt(self, email: str) -> bool:
        """Count an attempt; False (and not counted) when the address has used up its tries."""
        ...

    async def succeeded(self, email: str) -> None: ...


class MemoryLoginGuard:
    """Failed logins per address within a sliding window, kept in this process."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    async def attempt(self, email: str) -> bool:
        recent = self._recent(_normal(email))
        if len(recent) >= MAX_FAILURES:
            return False
        recent.append(self._clock.now())
        return True

    async def succeeded(self, email: str) -> None:
        self._failures.pop(_normal(email), None)

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
        self._attempt = redis.register_script(ATTEMPT_SCRIPT)

    async def attempt(self, email: str) -> bool:
        now = self._clock.now()
        allowed = await self._attempt(
            keys=[_key(email)],
            args=[
                now - WINDOW_SECONDS,
                now,
                f"{now}:{secrets.token_hex(4)}",
                MAX_FAILURES,
                WINDOW_SECONDS,
            ],
        )
        return bool(allowed)

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(_key(email))


# Drop what has left the window, then count and add in one step (no other node in between).
ATTEMPT_SCRIPT = """
redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[4]) then
    return 0
end
redis.call('zadd', KEYS[1], ARGV[2], ARGV[3])
redis.call('expire', KEYS[1], ARGV[5])
return 1
"""


def _normal(email: str) -> str:
    """The address as the account lookup sees it: padding or case make no new address."""
    return email.strip().casefold()


def _key(email: str) -> str:
    digest = hashlib.sha256(_normal(email).encode()).hexdigest()[:32]
    return f"replug:login-failures:{digest}"
