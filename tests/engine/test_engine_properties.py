"""Random command sequences against the engine, checking the room's invariants after each step.

Invariants (behaviour.md §2–§9, events.md `advance`/`djListUpdate`):
- nobody appears twice across booth and wait list; the list holds at most 50;
- everyone in the booth or the list is present; no play means an empty list;
- every play starts once and ends exactly once, is closed before the next one of the room
  starts, and each close is followed by the cycle of the item that was played;
- a play never ends naturally before its duration, and nothing stays overdue after the timers ran;
- a client that only follows the events (advance, djListUpdate, userJoin/userLeave, vote, grab)
  always agrees with the engine on DJ, wait list and members, and its own tallies equal the
  score the history records.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from replug.engine.events import Event, HistoryEnded, HistoryStarted, PlaylistCycled
from replug.protocol.errors import ApiError
from tests.engine.driver import DEX, Room

USERS = [11, 12, 13, 14, 15, 16, 17, 18]
GUEST_SESSIONS = ["s1", "s2", "s3"]
STEPS = 400


class Observer:
    """A client present all along that rebuilds the room from the events alone."""

    def __init__(self) -> None:
        self.dj: int | None = None
        self.waitlist: list[int] = []
        self.members: set[int] = set()
        self.guests = 0
        self.history_id: str | None = None
        self.votes: dict[int, int] = {}
        self.grabs: set[int] = set()
        self.final_tallies: dict[str, tuple[int, int, int]] = {}

    def see(self, event: Event) -> None:
        if event.name.startswith("_"):
            return
        payload: Any = event.payload
        if event.name == "advance":
            if self.history_id is not None:
                woots = sum(1 for v in self.votes.values() if v > 0)
                self.final_tallies[self.history_id] = (
                    woots,
                    len(self.votes) - woots,
                    len(self.grabs),
                )
            self.votes, self.grabs = {}, set()
            if payload == {}:
                self.dj, self.waitlist, self.history_id = None, [], None
            else:
                self.dj, self.waitlist, self.history_id = payload["c"], payload["d"], payload["h"]
        elif event.name == "djListUpdate":
            self.waitlist = list(payload)
        elif event.name == "userJoin":
            if payload["guest"]:
                self.guests += 1
            else:
                self.members.add(payload["id"])
        elif event.name == "userLeave":
            if payload == 0:
                self.guests -= 1
            else:
                self.members.discard(payload)
                self.votes.pop(payload, None)
                self.grabs.discard(payload)
        elif event.name == "vote":
            self.votes[payload["i"]] = payload["v"]
        elif event.name == "grab":
            self.grabs.add(payload)


class Checker:
    def __init__(self, room: Room) -> None:
        self.room = room
        self.observer = Observer()
        self.seen_events = 0
        self.seen_records = 0
        self.started: dict[str, HistoryStarted] = {}
        self.ended: set[str] = set()

    def check(self, after_wait: bool) -> None:
        room, engine = self.room, self.room.engine
        for event in room.published[self.seen_events :]:
            self.observer.see(event)
        self.seen_events = len(room.published)
        records = room.records[self.seen_records :]
        self.seen_records = len(room.records)

        booth = [room.dj] if room.dj is not None else []
        counts = Counter(booth + room.waitlist)
        assert all(n == 1 for n in counts.values()), f"someone twice: {counts}"
        assert len(room.waitlist) <= 50
        assert set(counts) <= set(engine.members), "someone in line is not present"
        if engine.play is None:
            assert room.waitlist == [], "nobody plays but people wait"

        for index, record in enumerate(records):
            if isinstance(record, HistoryStarted):
                assert record.history_id not in self.started, "a play started twice"
                open_plays = set(self.started) - self.ended
                assert not open_plays, f"{record.history_id} started while {open_plays} is open"
                self.started[record.history_id] = record
            elif isinstance(record, HistoryEnded):
                assert record.history_id in self.started, "an unknown play ended"
                assert record.history_id not in self.ended, "a play ended twice"
                self.ended.add(record.history_id)
                play = self.started[record.history_id]
                if not record.skipped:
                    assert room.now >= play.started_at + play.media["duration"], "ended early"
                cycled = records[index + 1]
                assert cycled == PlaylistCycled(play.dj_id, play.playlist_id, play.media["id"])
                tally = self.observer.final_tallies.get(record.history_id)
                assert tally == (record.positive, record.negative, record.grabs)

        open_plays = set(self.started) - self.ended
        expected_open = {engine.play.history_id} if engine.play is not None else set()
        assert open_plays == expected_open

        if after_wait:
            deadline = engine.next_deadline()
            assert deadline is None or deadline > room.now, "something overdue was left"

        assert self.observer.dj == room.dj
        assert self.observer.waitlist == room.waitlist
        assert self.observer.members == set(engine.members)
        assert self.observer.guests == len(engine.guests)
        assert self.observer.history_id == (
            engine.play.history_id if engine.play is not None else None
        )


def _random_step(room: Room, rng: random.Random, stale: list[str]) -> bool:
    """Apply one random command; refusals are fine. Returns True when time moved."""
    user = rng.choice(USERS)
    roll = rng.random()
    try:
        if roll < 0.08:
            room.enter(user, connected=rng.random() < 0.8, power=rng.choice([0, 0, 0, 1000]))
        elif roll < 0.11:
            room.leave(user)
        elif roll < 0.14:
            room.close_socket(user)
        elif roll < 0.18:
            room.reconnect(user)
        elif roll < 0.43:
            room.queue(user, banned=rng.random() < 0.03)
        elif roll < 0.47:
            room.step_down(user)
        elif roll < 0.52:
            room.skip_self(room.dj if room.dj is not None and rng.random() < 0.7 else user)
        elif roll < 0.55:
            history_id = room.history_id if room.engine.play and rng.random() < 0.7 else None
            dj = room.dj if room.dj is not None and rng.random() < 0.8 else user
            room.mod_skip(DEX, dj, history_id or rng.choice(stale or ["nope"]))
        elif roll < 0.65:
            history_id = room.engine.play.history_id if room.engine.play else None
            if history_id is None or rng.random() < 0.15:
                history_id = rng.choice(stale or ["nope"])
            room.vote(user, rng.choice([1, -1]), history_id)
        elif roll < 0.70:
            history_id = room.engine.play.history_id if room.engine.play else "nope"
            room.engine.media_to_grab(user, history_id)
            room.grab(user, history_id)
        elif roll < 0.74:
            _give_random_playlist(room, rng, user)
        elif roll < 0.755:
            playlist = room.playlists.get(user)
            if playlist is not None:
                playlist.items.clear()
        elif roll < 0.76:
            room.playlists.pop(user, None)
        elif roll < 0.78:
            room.lock(DEX, rng.random() < 0.3, clear=rng.random() < 0.3)
        elif roll < 0.80:
            room.cycle(DEX, rng.random() < 0.7)
        elif roll < 0.82:
            session = rng.choice(GUEST_SESSIONS)
            rng.choice([room.enter_guest, room.leave_guest])(session)
        elif roll < 0.83:
            room.close_guest_socket(rng.choice(GUEST_SESSIONS))
        elif roll < 0.85:
            room.chat(user, rng.choice(["hi", "  ", "a\nb", "<3 & more"]))
        else:
            room.wait(rng.choice([0, 0.25, 0.5, 1, 1, 5, 15, 30, 60, 120, 400]))
            return True
    except ApiError:
        pass
    return False


def _give_random_playlist(room: Room, rng: random.Random, user: int) -> None:
    durations = [rng.randint(1, 120) for _ in range(rng.randint(1, 3))]
    room.give_playlist(user, *durations, playlist_id=user * 10 + rng.randint(0, 1))


@pytest.mark.parametrize("seed", range(30))
def test_random_commands_keep_the_room_invariants(seed: int):
    rng = random.Random(seed)
    room = Room()
    room.enter(DEX, power=3000)
    for user in USERS:
        room.enter(user)
        _give_random_playlist(room, rng, user)
    checker = Checker(room)
    stale: list[str] = []

    for _ in range(STEPS):
        if room.engine.play is not None and room.history_id not in stale:
            stale.append(room.history_id)
        moved = _random_step(room, rng, stale)
        checker.check(after_wait=moved)

    assert checker.started, "the sequence never started a play; pick better odds"
