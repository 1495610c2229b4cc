"""In-process bus: events go straight to this process's gateway, in publish order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from replug.engine.events import Event

Subscriber = Callable[[Sequence[Event]], None]


class LocalBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for subscriber in self._subscribers:
            subscriber(events)

    async def close(self) -> None:
        self._subscribers.clear()
