"""A small stand-in for RoomRuntime, so engine tests read like behaviour.

`Room` owns a RoomEngine, a hand-moved clock and an in-memory table of active playlists.
Every command is applied the way replug/live/runtime.py applies it: records are "stored" first
(a PlaylistCycled moves the played item to the end of its playlist), then, when the outcome asks
for it, the next play is started with the heads of the line, its events follow
(the engine itself holds back a leaving DJ's `userLeave` until after that advance).
Each command returns the events the room would publish, in order.

Expected events are built here by hand (not with the engine's own helpers), so that a wrong
slug, a wrong recipient filter or a wrong payload makes a test fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

from replug.engine.events import Event, HistoryEnded, HistoryStarted, Outcome, PlaylistCycled
from replug.engine.room import PlaylistHead, RoomEngine
from tests.api.expect import GUEST_USER

SLUG = "night-owls"
ROOM_ID = 581140
T0 = 1_714_586_649.5  # 2024-05-01 18:04:09.500000 UTC

# Invented accounts, as in the protocol's examples.
ADA, BRAM, CLEO, EVE, FINN = 4102337, 5203318, 6304429, 8506641, 9607752
DEX = 7405530  # a bouncer
NAMES = {ADA: "ada", BRAM: "bram", CLEO: "cleo", DEX: "dex", EVE: "eve", FINN: "finn"}


# --------------------------------------------------------------------------- shapes


def room_user(user_id: int, *, level: int = 4, sub: int = 0, role: int = 0) -> dict[str, Any]:
    """A RoomUser (conventions §8.1) as the room manager hands it to the engine."""
    name = NAMES.get(user_id, f"user{user_id}")
    return {
        "avatarID": "base01",
        "badge": None,
        "gRole": 0,
        "guest": False,
        "id": user_id,
        "joined": "2023-11-02 09:15:44.120558",
        "language": "en",
        "level": level,
        "role": role,
        "silver": False,
        "slug": name,
        "sub": sub,
        "username": name,
    }


# The Guest object (conventions §8.1), the same expected shape the REST tests use.
GUEST = GUEST_USER


def song(media_id: int, duration: int = 180) -> dict[str, Any]:
    """A Media object (conventions §8.2)."""
    cid = f"cid{media_id}"
    return {
        "author": "Tidal Lanterns",
        "cid": cid,
        "duration": duration,
        "format": 1,
        "id": media_id,
        "image": f"https://i.ytimg.com/vi/{cid}/default.jpg",
        "title": f"Song {media_id}",
    }


def stamp(epoch: float) -> str:
    """Wire time: UTC with six fractional digits (conventions §6)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# --------------------------------------------------------------------- expected events


def ev(
    name: str, payload: Any, *, exclude_user: int | None = None, exclude_session: str | None = None
) -> Event:
    """A room event of this test room."""
    return Event(
        name,
        payload,
        room=SLUG,
        slug=SLUG,
        exclude_user=exclude_user,
        exclude_session=exclude_session,
    )


def moved_in(user_id: int) -> Event:
    return Event("_room", {"to": SLUG, "from": None}, user=user_id)


def moved_out(user_id: int) -> Event:
    return Event("_room", {"to": None, "from": SLUG}, user=user_id)


def guest_moved_in(session_id: str) -> Event:
    return Event("_room", {"to": SLUG, "from": None}, session=session_id)


def guest_moved_out(session_id: str) -> Event:
    return Event("_room", {"to": None, "from": SLUG}, session=session_id)


def advance(
    dj: int,
    waiting: list[int],
    history_id: str,
    media: dict[str, Any],
    playlist_id: int,
    at: float,
) -> Event:
    return ev(
        "advance",
        {"c": dj, "d": waiting, "h": history_id, "m": media, "p": playlist_id, "t": stamp(at)},
    )


EMPTY_ADVANCE = Event("advance", {}, room=SLUG, slug=SLUG)


def names(events: list[Event]) -> list[str]:
    return [event.name for event in events]


# --------------------------------------------------------------------------- driver


@dataclass
class Playlist:
    id: int
    items: list[dict[str, Any]] = field(default_factory=list)


class Room:
    """One engine plus what the runtime and the database would do around it."""

    def __init__(self, *, now: float = T0, **settings: Any) -> None:
        self._ids = count(1)
        settings.setdefault("new_history_id", lambda: f"history-{next(self._ids)}")
        self.engine = RoomEngine(ROOM_ID, SLUG, **settings)
        self.now = now
        self.playlists: dict[int, Playlist] = {}
        self.records: list[Any] = []
        self.last_records: list[Any] = []
        self.published: list[Event] = []

    # ------------------------------------------------------------ the "database"

    def give_playlist(
        self, user_id: int, *durations: int, playlist_id: int | None = None
    ) -> Playlist:
        """Activate a playlist for the user; media ids are user-based and increasing."""
        durations = durations or (180, 200)
        playlist_id = playlist_id if playlist_id is not None else user_id * 10
        base = playlist_id * 100
        playlist = Playlist(playlist_id, [song(base + n, d) for n, d in enumerate(durations, 1)])
        self.playlists[user_id] = playlist
        return playlist

    def head(self, user_id: int) -> PlaylistHead | None:
        playlist = self.playlists.get(user_id)
        if playlist is None or not playlist.items:
            return None
        return PlaylistHead(playlist.id, dict(playlist.items[0]))

    def heads(self, user_ids: list[int]) -> dict[int, PlaylistHead | None]:
        """Every user looked up, None for those without a valid playlist (as the hub sends)."""
        return {user_id: self.head(user_id) for user_id in user_ids}

    def _store(self, records: list[Any]) -> None:
        for record in records:
            self.records.append(record)
            self.last_records.append(record)
            if isinstance(record, PlaylistCycled):
                for playlist in self.playlists.values():
                    if playlist.id != record.playlist_id:
                        continue
                    for index, item in enumerate(playlist.items):
                        if item["id"] == record.media_id:
                            playlist.items.append(playlist.items.pop(index))
                            break

    # --------------------------------------------------------------- the runtime

    def apply(self, outcome: Outcome) -> list[Event]:
        self.last_records = []
        events = list(outcome.events)
        self._store(outcome.records)
        if outcome.next_play_needed:
            following = self.engine.start_next_play(self.now, self.heads(self.engine.line()))
            assert not following.next_play_needed
            self._store(following.records)
            events.extend(following.events)
        self.published.extend(events)
        return events

    def run(self, command: Callable[[RoomEngine, float], Outcome]) -> list[Event]:
        return self.apply(command(self.engine, self.now))

    def tick(self) -> list[Event]:
        """One engine tick at the current time."""
        return self.run(lambda engine, now: engine.tick(now))

    def wait(self, seconds: float) -> list[Event]:
        """Move the clock, then do everything due, as RoomRuntime.run_due does."""
        self.now += seconds
        events: list[Event] = []
        records: list[Any] = []
        for _ in range(1000):
            deadline = self.engine.next_deadline()
            if deadline is None or deadline > self.now:
                break
            events.extend(self.tick())
            records.extend(self.last_records)
        else:  # pragma: no cover - a loop here is itself a failure
            raise AssertionError("tick never caught up with the clock")
        self.last_records = records
        return events

    # ---------------------------------------------------------------- commands

    def enter(
        self, user_id: int, *, power: int = 0, connected: bool = True, level: int = 4, sub: int = 0
    ) -> list[Event]:
        user = room_user(user_id, level=level, sub=sub, role=power)
        return self.run(lambda engine, now: engine.join(now, user, power, connected))

    def enter_guest(self, session_id: str) -> list[Event]:
        return self.run(lambda engine, now: engine.join_guest(session_id))

    def leave(self, user_id: int) -> list[Event]:
        return self.run(lambda engine, now: engine.leave(now, user_id))

    def leave_guest(self, session_id: str) -> list[Event]:
        return self.run(lambda engine, now: engine.leave_guest(session_id))

    def close_socket(self, user_id: int) -> list[Event]:
        return self.run(lambda engine, now: engine.socket_closed(now, user_id))

    def close_guest_socket(self, session_id: str) -> list[Event]:
        return self.run(lambda engine, now: engine.guest_socket_closed(now, session_id))

    def reconnect(self, user_id: int) -> list[Event]:
        return self.run(lambda engine, now: engine.socket_connected(user_id))

    def queue(self, user_id: int, *, banned: bool = False) -> list[Event]:
        """`POST booth`: the feature looks up the caller's head before asking the engine."""
        head = self.head(user_id)
        return self.run(
            lambda engine, now: engine.join_waitlist(now, user_id, head, banned=banned)
        )

    def step_down(self, user_id: int) -> list[Event]:
        return self.run(lambda engine, now: engine.leave_booth(now, user_id))

    def skip_self(self, user_id: int) -> list[Event]:
        return self.run(lambda engine, now: engine.skip_self(now, user_id))

    def mod_skip(self, moderator_id: int, dj_id: int, history_id: str) -> list[Event]:
        moderator = self.engine.members[moderator_id]
        return self.run(lambda engine, now: engine.skip_current(now, moderator, dj_id, history_id))

    def vote(self, user_id: int, direction: int, history_id: str | None = None) -> list[Event]:
        history_id = history_id if history_id is not None else self.history_id
        return self.run(lambda engine, now: engine.vote(user_id, history_id, direction))

    def grab(self, user_id: int, history_id: str | None = None) -> list[Event]:
        history_id = history_id if history_id is not None else self.history_id
        return self.run(lambda engine, now: engine.grab(user_id, history_id))

    def chat(self, user_id: int, text: str) -> list[Event]:
        return self.run(lambda engine, now: engine.chat(now, user_id, text))

    def delete_chat(self, moderator_id: int, cid: str) -> list[Event]:
        return self.run(lambda engine, now: engine.delete_chat(moderator_id, cid))

    def lock(self, moderator_id: int, locked: bool, clear: bool = False) -> list[Event]:
        moderator = self.engine.members[moderator_id]
        return self.run(lambda engine, now: engine.set_lock(moderator, locked, clear))

    def cycle(self, moderator_id: int, should_cycle: bool) -> list[Event]:
        moderator = self.engine.members[moderator_id]
        return self.run(lambda engine, now: engine.set_cycle(moderator, should_cycle))

    # ------------------------------------------------------------------ views

    @property
    def dj(self) -> int | None:
        return None if self.engine.play is None else self.engine.play.dj_id

    @property
    def history_id(self) -> str:
        assert self.engine.play is not None, "nothing is playing"
        return self.engine.play.history_id

    @property
    def waitlist(self) -> list[int]:
        return list(self.engine.waitlist)

    def ended(self) -> list[HistoryEnded]:
        return [r for r in self.records if isinstance(r, HistoryEnded)]

    def started(self) -> list[HistoryStarted]:
        return [r for r in self.records if isinstance(r, HistoryStarted)]
