"""Password hashing with Argon2id, off the event loop because it is slow on purpose."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# A valid hash of a random password, checked against when the email is unknown so that a
# failed login takes as long either way.
_DECOY_PASSWORD = "replug-decoy-password"


class Passwords:
    def __init__(self, time_cost: int = 2, memory_cost: int = 19_456) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
        self._decoy = self._hasher.hash(_DECOY_PASSWORD)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash is None:
            await asyncio.to_thread(self._verify, self._decoy, password)
            return False
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
