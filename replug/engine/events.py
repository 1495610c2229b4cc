"""What the engine asks the outside world to do: events to publish and records to store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DASHBOARD = "dashboard"


@dataclass(frozen=True, slots=True)
class Event:
    """One server → client event and who receives it.

    `room` sends it to every member of that room (minus `exclude_user`); `user` sends it to
    one account's connections and `session` to one guest session's. `slug` is the `s` stamp;
    None on a personal event means "the recipient's room, else dashboard" (D34).
    Names starting with `_` are control messages for the gateways and never reach a client.
    """

    name: str
    payload: Any
    room: str | None = None
    user: int | None = None
    session: str | None = None
    exclude_user: int | None = None
    exclude_session: str | None = None
    slug: str | None = None


def room_event(
    room: str,
    name: str,
    payload: Any,
    exclude_user: int | None = None,
    exclude_session: str | None = None,
) -> Event:
    return Event(
        name,
        payload,
        room=room,
        slug=room,
        exclude_user=exclude_user,
        exclude_session=exclude_session,
    )


def user_event(user_id: int, name: str, payload: Any, slug: str | None = None) -> Event:
    return Event(name, payload, user=user_id, slug=slug)


@dataclass(frozen=True, slots=True)
class HistoryStarted:
    history_id: str
    dj_id: int
    playlist_id: int
    media: dict[str, Any]
    started_at: float


@dataclass(frozen=True, slots=True)
class HistoryEnded:
    history_id: str
    positive: int
    negative: int
    grabs: int
    listeners: int
    skipped: bool


@dataclass(frozen=True, slots=True)
class PlaylistCycled:
    """Move the item that was just played to the end of its playlist (behaviour §5)."""

    dj_id: int
    playlist_id: int
    media_id: int


Record = HistoryStarted | HistoryEnded | PlaylistCycled


@dataclass(slots=True)
class Outcome:
    """The result of one engine command.

    `events` go out at once. When `next_play_needed` is set, a play has ended: the caller
    stores the records (moving the played item to the end of its playlist), looks up the
    wait list's playlists and calls `start_next_play`, whose events follow.
    """

    events: list[Event] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    next_play_needed: bool = False

    def extend(self, other: Outcome) -> None:
        self.events.extend(other.events)
        self.records.extend(other.records)
        self.next_play_needed = self.next_play_needed or other.next_play_needed


MOVE_CONNECTIONS = "_room"


def move_connections(
    to_room: str | None,
    from_room: str | None,
    user: int | None = None,
    session: str | None = None,
) -> Event:
    """Tell the gateways which room's events an account's (or guest's) sockets now receive."""
    return Event(MOVE_CONNECTIONS, {"to": to_room, "from": from_room}, user=user, session=session)
