"""Slows password guessing: too many failed logins for one address answer 429 (behaviour §20)."""

from __future__ import annotations

from collections import defaultdict, deque

from replug.clock import Clock

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


class LoginGuard:
    """Failed logins per address within a sliding window, kept in this process."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, email: str) -> bool:
        return len(self._recent(email.casefold())) >= MAX_FAILURES

    def failed(self, email: str) -> None:
        self._recent(email.casefold()).append(self._clock.now())

    def succeeded(self, email: str) -> None:
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
