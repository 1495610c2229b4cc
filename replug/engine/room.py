"""One room's rules as a state machine: commands in, events and records out, time passed in.

Nothing here does I/O. The caller serializes commands per room, stores the records, and feeds
the clock's time into every command, which keeps every rule exactly testable with a fake clock.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from functools import partial
from typing import Any

from replug.engine.events import (
    Event,
    HistoryEnded,
    HistoryStarted,
    Outcome,
    PlaylistCycled,
    move_connections,
    room_event,
)
from replug.protocol.errors import (
    BoothFull,
    Forbidden,
    NoValidPlaylist,
    RequestError,
    not_in_room,
)
from replug.protocol.text import clean_chat
from replug.protocol.timefmt import wire_time

PRESENCE_GRACE_SECONDS = 30.0
WAITLIST_LIMIT = 50
CHAT_MEMORY = 512
CHAT_HISTORY = 30
RESIDENT_DJ = 1000
# After a play ends, the node that ended it starts the next one; if that node is gone, any
# node retries once this much time has passed.
NEXT_PLAY_RETRY_SECONDS = 2.0

NOT_CURRENT_PLAY = "Not the current play."
GUEST_USER: dict[str, Any] = {
    "avatarID": "",
    "badge": None,
    "gRole": 0,
    "guest": True,
    "id": 0,
    "joined": "",
    "language": None,
    "level": 0,
    "role": 0,
    "silver": False,
    "slug": None,
    "sub": 0,
    "username": "",
}


class EndReason(Enum):
    NATURAL = "natural"
    SELF_SKIP = "skip"
    MOD_SKIP = "modskip"
    STEPPED_DOWN = "stepped-down"
    REMOVED = "removed"
    BANNED = "banned"
    LEFT_ROOM = "left"


# A DJ whose play ended one of these ways re-joins the wait list when cycling is on (§6).
CYCLING_REASONS = {EndReason.NATURAL, EndReason.SELF_SKIP, EndReason.MOD_SKIP}


@dataclass(frozen=True, slots=True)
class PlaylistHead:
    """The item a DJ would play next: the first of their active playlist."""

    playlist_id: int
    media: dict[str, Any]


@dataclass(slots=True)
class Play:
    history_id: str
    dj_id: int
    playlist_id: int
    media: dict[str, Any]
    started_at: float
    votes: dict[int, int] = field(default_factory=dict)
    grabs: set[int] = field(default_factory=set)

    @property
    def ends_at(self) -> float:
        return self.started_at + self.media["duration"]

    def score(self) -> dict[str, int]:
        woots = sum(1 for v in self.votes.values() if v > 0)
        return {"positive": woots, "negative": len(self.votes) - woots, "grabs": len(self.grabs)}


@dataclass(slots=True)
class ChatLine:
    payload: dict[str, Any]
    author: dict[str, Any]
    sent_at: float
    deleted: bool = False


class RoomEngine:
    """The live state of one room and every rule that changes it."""

    def __init__(
        self,
        room_id: int,
        slug: str,
        *,
        should_cycle: bool = True,
        is_locked: bool = False,
        min_chat_level: int = 1,
        new_history_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.room_id = room_id
        self.slug = slug
        self.should_cycle = should_cycle
        self.is_locked = is_locked
        self.min_chat_level = min_chat_level
        self._new_history_id = new_history_id

        self.members: dict[int, dict[str, Any]] = {}
        self.powers: dict[int, int] = {}
        self.guests: set[str] = set()
        self.away_users: dict[int, float] = {}
        self.away_guests: dict[str, float] = {}

        self.waitlist: list[int] = []
        self.play: Play | None = None
        # Between the end of a play and the start of the next: since when, and what to
        # announce once the next play has started (a leaving DJ's userLeave, §4).
        self.awaiting_next_since: float | None = None
        self.pending_after_advance: list[Event] = []

        self.chat_log: deque[ChatLine] = deque(maxlen=CHAT_MEMORY)
        self._last_chat_ms: dict[int, int] = {}

    # ---------------------------------------------------------------- presence

    def is_present(self, user_id: int) -> bool:
        return user_id in self.members

    def join(self, now: float, user: dict[str, Any], power: int, connected: bool) -> Outcome:
        """An account enters; with no socket yet it is only held for the grace period (D41)."""
        user_id = user["id"]
        already_here = user_id in self.members
        self.members[user_id] = user
        self.powers[user_id] = power

        if connected:
            self.away_users.pop(user_id, None)
        elif not already_here:
            self.away_users[user_id] = now + PRESENCE_GRACE_SECONDS

        if already_here:
            return Outcome()

        return Outcome(
            events=[
                move_connections(self.slug, None, user=user_id),
                room_event(self.slug, "userJoin", user, exclude_user=user_id),
            ]
        )

    def join_guest(self, session_id: str) -> Outcome:
        self.away_guests.pop(session_id, None)
        if session_id in self.guests:
            return Outcome()

        self.guests.add(session_id)
        return Outcome(
            events=[
                move_connections(self.slug, None, session=session_id),
                room_event(self.slug, "userJoin", GUEST_USER, exclude_session=session_id),
            ]
        )

    def update_member(self, user: dict[str, Any], power: int) -> None:
        if user["id"] in self.members:
            self.members[user["id"]] = user
            self.powers[user["id"]] = power

    def socket_connected(self, user_id: int) -> Outcome:
        self.away_users.pop(user_id, None)
        return Outcome()

    def socket_closed(self, now: float, user_id: int) -> Outcome:
        """Start the grace period: the account stays for 30 seconds (D41)."""
        if user_id in self.members:
            self.away_users[user_id] = now + PRESENCE_GRACE_SECONDS
        return Outcome()

    def guest_socket_closed(self, now: float, session_id: str) -> Outcome:
        if session_id in self.guests:
            self.away_guests[session_id] = now + PRESENCE_GRACE_SECONDS
        return Outcome()

    def leave(self, now: float, user_id: int) -> Outcome:
        """The effects of leaving, in the order of behaviour §2."""
        if user_id not in self.members:
            return Outcome()

        outcome = Outcome(events=[move_connections(None, self.slug, user=user_id)])
        if user_id in self.waitlist:
            self.waitlist.remove(user_id)
            outcome.events.append(self._waitlist_update())
        if self.play is not None and self.play.dj_id == user_id:
            outcome.extend(self._finish_play(now, EndReason.LEFT_ROOM))
        if self.play is not None:
            self.play.votes.pop(user_id, None)
            self.play.grabs.discard(user_id)

        del self.members[user_id]
        self.powers.pop(user_id, None)
        self.away_users.pop(user_id, None)
        farewell = room_event(self.slug, "userLeave", user_id)
        if self.awaiting_next_since is not None:
            self.pending_after_advance.append(farewell)
        else:
            outcome.events.append(farewell)
        return outcome

    def leave_guest(self, session_id: str) -> Outcome:
        self.away_guests.pop(session_id, None)
        if session_id not in self.guests:
            return Outcome()

        self.guests.discard(session_id)
        return Outcome(
            events=[
                move_connections(None, self.slug, session=session_id),
                room_event(self.slug, "userLeave", 0),
            ]
        )

    @property
    def population(self) -> int:
        return len(self.members)

    @property
    def is_empty(self) -> bool:
        """Nobody here or due back, nothing playing or about to: only chat memory is left."""
        return not (
            self.members
            or self.guests
            or self.away_users
            or self.away_guests
            or self.waitlist
            or self.play is not None
            or self.awaiting_next_since is not None
        )

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        deadlines = [*self.away_users.values(), *self.away_guests.values()]
        if self.play is not None:
            deadlines.append(self.play.ends_at)
        if self.awaiting_next_since is not None:
            deadlines.append(self.awaiting_next_since + NEXT_PLAY_RETRY_SECONDS)
        return min(deadlines, default=None)

    def tick(self, now: float) -> Outcome:
        """Do the earliest thing that is due: end a grace period or a play whose media ran out.

        Overdue deadlines are handled in time order (behaviour §1), one per call, so that the
        caller can start the next play before anything else happens; call it again while
        `next_deadline()` is not in the future.
        """
        due: list[tuple[float, int, Callable[[], Outcome]]] = []
        if self.awaiting_next_since is not None:
            retry_at = self.awaiting_next_since + NEXT_PLAY_RETRY_SECONDS
            if retry_at <= now:
                due.append((retry_at, 0, lambda: Outcome(next_play_needed=True)))
        if self.play is not None and self.play.ends_at <= now:
            due.append((self.play.ends_at, 0, partial(self._finish_play, now, EndReason.NATURAL)))
        for user_id, deadline in self.away_users.items():
            if deadline <= now:
                due.append((deadline, 1, partial(self.leave, now, user_id)))
        for session_id, deadline in self.away_guests.items():
            if deadline <= now:
                due.append((deadline, 2, partial(self.leave_guest, session_id)))
        if not due:
            return Outcome()

        # At equal times the play ends first: it ran its full length, so it counts as played.
        _, _, action = min(due, key=lambda item: (item[0], item[1]))
        return action()

    # ------------------------------------------------------------------- booth

    def join_waitlist(
        self, now: float, user_id: int, head: PlaylistHead | None, *, banned: bool = False
    ) -> Outcome:
        self._require_member(user_id)
        if self._in_booth(user_id):
            return Outcome()

        if self.is_locked and self.powers.get(user_id, 0) < RESIDENT_DJ:
            raise Forbidden("The wait list is locked.")
        if banned:
            raise Forbidden("You are banned from the wait list.")
        if head is None:
            raise NoValidPlaylist()
        if len(self.waitlist) >= WAITLIST_LIMIT:
            raise BoothFull()

        if self.play is None and self.awaiting_next_since is None:
            return self._start_play(now, user_id, head)

        self.waitlist.append(user_id)
        return Outcome(events=[self._waitlist_update()])

    def leave_booth(self, now: float, user_id: int) -> Outcome:
        """`DELETE booth`: leave the wait list, or step down and end one's own play."""
        if user_id in self.waitlist:
            self.waitlist.remove(user_id)
            return Outcome(events=[self._waitlist_update()])
        if self.play is not None and self.play.dj_id == user_id:
            return self._finish_play(now, EndReason.STEPPED_DOWN)
        return Outcome()

    def skip_self(self, now: float, user_id: int) -> Outcome:
        if self.play is None or self.play.dj_id != user_id:
            raise RequestError("You are not the current DJ.")

        outcome = Outcome(events=[room_event(self.slug, "skip", user_id)])
        outcome.extend(self._finish_play(now, EndReason.SELF_SKIP))
        return outcome

    def skip_current(
        self, now: float, moderator: dict[str, Any], user_id: int, history_id: str
    ) -> Outcome:
        """A moderator skip; a stale `userID` or `historyID` is refused (rest.md §5)."""
        if self.play is None:
            raise RequestError("Nothing is playing.")
        if self.play.dj_id != user_id or self.play.history_id != history_id:
            raise RequestError(NOT_CURRENT_PLAY)

        trigger = {"m": moderator["username"], "mi": moderator["id"]}
        outcome = Outcome(events=[room_event(self.slug, "modSkip", trigger)])
        outcome.extend(self._finish_play(now, EndReason.MOD_SKIP))
        return outcome

    def set_cycle(self, moderator: dict[str, Any], should_cycle: bool) -> Outcome:
        """Takes effect at the end of the current play (behaviour §6)."""
        self.should_cycle = should_cycle
        payload = {"f": should_cycle, "m": moderator["username"], "mi": moderator["id"]}
        return Outcome(events=[room_event(self.slug, "djListCycle", payload)])

    def set_lock(self, moderator: dict[str, Any], is_locked: bool, clear: bool) -> Outcome:
        self.is_locked = is_locked
        payload = {"c": clear, "f": is_locked, "m": moderator["username"], "mi": moderator["id"]}
        outcome = Outcome(events=[room_event(self.slug, "djListLocked", payload)])
        if clear and self.waitlist:
            self.waitlist.clear()
            outcome.events.append(self._waitlist_update())
        return outcome

    def power_of(self, user_id: int) -> int:
        return self.powers.get(user_id, 0)

    def line(self) -> list[int]:
        """Who could play next, first in line first."""
        return list(self.waitlist)

    def start_next_play(self, now: float, heads: dict[int, PlaylistHead | None]) -> Outcome:
        """Start the first in line who has a valid playlist; those without one drop out.

        `heads` maps the users the caller looked up to their next item (None: no valid
        playlist). A candidate the caller did not look up, because they joined meanwhile,
        stops the search and asks for another look-up. A second call for the same gap
        between plays (another node's retry) changes nothing.
        """
        if self.awaiting_next_since is None:
            return Outcome()

        while self.waitlist:
            candidate = self.waitlist[0]
            if candidate not in heads:
                return Outcome(next_play_needed=True)
            head = heads[candidate]
            if head is None:
                self.waitlist.pop(0)
                continue
            outcome = self._start_play(now, candidate, head)
            outcome.events.extend(self._after_advance())
            return outcome

        outcome = Outcome(events=[room_event(self.slug, "advance", {})])
        outcome.events.extend(self._after_advance())
        return outcome

    def _after_advance(self) -> list[Event]:
        self.awaiting_next_since = None
        pending, self.pending_after_advance = self.pending_after_advance, []
        return pending

    def _start_play(self, now: float, dj_id: int, head: PlaylistHead) -> Outcome:
        if dj_id in self.waitlist:
            self.waitlist.remove(dj_id)

        play = Play(
            history_id=self._new_history_id(),
            dj_id=dj_id,
            playlist_id=head.playlist_id,
            media=dict(head.media),
            started_at=now,
        )
        self.play = play
        advance = {
            "c": dj_id,
            "d": list(self.waitlist),
            "h": play.history_id,
            "m": play.media,
            "p": play.playlist_id,
            "t": wire_time(now),
        }
        started = HistoryStarted(
            play.history_id, dj_id, play.playlist_id, play.media, play.started_at
        )
        return Outcome(events=[room_event(self.slug, "advance", advance)], records=[started])

    def _finish_play(self, now: float, reason: EndReason) -> Outcome:
        """End the current play (behaviour §4 steps 1–3); the caller then starts the next."""
        play = self.play
        assert play is not None
        self.play = None
        self.awaiting_next_since = now

        listeners = len(self.members) - (1 if play.dj_id in self.members else 0)
        listeners += len(self.guests)
        score = play.score()
        ended = HistoryEnded(
            play.history_id,
            positive=score["positive"],
            negative=score["negative"],
            grabs=score["grabs"],
            listeners=listeners,
            skipped=reason is not EndReason.NATURAL,
        )
        cycled = PlaylistCycled(play.dj_id, play.playlist_id, play.media["id"])

        if (
            reason in CYCLING_REASONS
            and self.should_cycle
            and play.dj_id in self.members
            and len(self.waitlist) < WAITLIST_LIMIT
        ):
            self.waitlist.append(play.dj_id)

        return Outcome(records=[ended, cycled], next_play_needed=True)

    # ------------------------------------------------------------ votes, grabs

    def vote(self, user_id: int, history_id: str, direction: int) -> Outcome:
        self._require_member(user_id)
        play = self._current_play(history_id)
        if play.dj_id == user_id or play.votes.get(user_id) == direction:
            return Outcome()

        play.votes[user_id] = direction
        return Outcome(events=[room_event(self.slug, "vote", {"i": user_id, "v": direction})])

    def media_to_grab(self, user_id: int, history_id: str) -> dict[str, Any]:
        """Check a grab before the caller copies the media into a playlist."""
        self._require_member(user_id)
        return dict(self._current_play(history_id).media)

    def grab(self, user_id: int, history_id: str) -> Outcome:
        """Count a grab once per account per play; the DJ's own grab never counts (§8)."""
        play = self._current_play(history_id)
        if play.dj_id == user_id or user_id in play.grabs:
            return Outcome()

        play.grabs.add(user_id)
        return Outcome(events=[room_event(self.slug, "grab", user_id)])

    def _current_play(self, history_id: str) -> Play:
        if self.play is None or self.play.history_id != history_id:
            raise RequestError(NOT_CURRENT_PLAY)
        return self.play

    # -------------------------------------------------------------------- chat

    def chat(self, now: float, user_id: int, text: str) -> Outcome:
        """Relay an accepted message to the room, sender included (D19); drop the rest."""
        user = self.members.get(user_id)
        if user is None:
            return Outcome()
        if user["level"] < self.min_chat_level and self.powers.get(user_id, 0) < RESIDENT_DJ:
            return Outcome()

        message = clean_chat(text)
        if message is None:
            return Outcome()

        payload = {
            "cid": self._new_chat_id(now, user_id),
            "message": message,
            "sub": user.get("sub", 0),
            "uid": user_id,
            "un": user["username"],
        }
        self.chat_log.append(ChatLine(payload, user, now))
        return Outcome(events=[room_event(self.slug, "chat", payload)])

    def _new_chat_id(self, now: float, user_id: int) -> str:
        # Two messages of one user in the same millisecond get distinct ids (D21).
        millis = max(int(now * 1000), self._last_chat_ms.get(user_id, 0) + 1)
        self._last_chat_ms[user_id] = millis
        return f"{user_id}-{millis}"

    def delete_chat(self, moderator_id: int, cid: str) -> Outcome:
        for line in self.chat_log:
            if line.payload["cid"] == cid and not line.deleted:
                line.deleted = True
                payload = {"c": cid, "mi": moderator_id}
                return Outcome(events=[room_event(self.slug, "chatDelete", payload)])
        return Outcome()

    def chat_author(self, cid: str) -> dict[str, Any] | None:
        for line in self.chat_log:
            if line.payload["cid"] == cid and not line.deleted:
                return line.author
        return None

    def recent_chat(self) -> list[ChatLine]:
        kept = [line for line in self.chat_log if not line.deleted]
        return kept[-CHAT_HISTORY:]

    # --------------------------------------------------------------- snapshots

    def snapshot(self) -> dict[str, Any]:
        """The whole live state as plain data, for a node that starts later (multi-node)."""
        play = self.play
        return {
            "room_id": self.room_id,
            "slug": self.slug,
            "should_cycle": self.should_cycle,
            "is_locked": self.is_locked,
            "min_chat_level": self.min_chat_level,
            "members": list(self.members.values()),
            "powers": list(self.powers.items()),
            "guests": sorted(self.guests),
            "away_users": list(self.away_users.items()),
            "away_guests": list(self.away_guests.items()),
            "waitlist": list(self.waitlist),
            "play": None
            if play is None
            else {
                "history_id": play.history_id,
                "dj_id": play.dj_id,
                "playlist_id": play.playlist_id,
                "media": play.media,
                "started_at": play.started_at,
                "votes": list(play.votes.items()),
                "grabs": sorted(play.grabs),
            },
            "awaiting_next_since": self.awaiting_next_since,
            "pending_after_advance": [asdict(event) for event in self.pending_after_advance],
            "chat": [
                [line.payload, line.author, line.sent_at, line.deleted] for line in self.chat_log
            ],
            "last_chat_ms": list(self._last_chat_ms.items()),
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> RoomEngine:
        engine = cls(
            int(data["room_id"]),
            str(data["slug"]),
            should_cycle=bool(data["should_cycle"]),
            is_locked=bool(data["is_locked"]),
            min_chat_level=int(data["min_chat_level"]),
        )
        engine.members = {int(user["id"]): user for user in data["members"]}
        engine.powers = {int(user_id): int(power) for user_id, power in data["powers"]}
        engine.guests = set(data["guests"])
        engine.away_users = {int(user_id): float(due) for user_id, due in data["away_users"]}
        engine.away_guests = {str(key): float(due) for key, due in data["away_guests"]}
        engine.waitlist = [int(user_id) for user_id in data["waitlist"]]
        play = data["play"]
        if play is not None:
            engine.play = Play(
                history_id=play["history_id"],
                dj_id=int(play["dj_id"]),
                playlist_id=int(play["playlist_id"]),
                media=play["media"],
                started_at=float(play["started_at"]),
                votes={int(user_id): int(vote) for user_id, vote in play["votes"]},
                grabs={int(user_id) for user_id in play["grabs"]},
            )
        engine.awaiting_next_since = data["awaiting_next_since"]
        engine.pending_after_advance = [Event(**event) for event in data["pending_after_advance"]]
        for payload, author, sent_at, deleted in data["chat"]:
            engine.chat_log.append(ChatLine(payload, author, float(sent_at), bool(deleted)))
        engine._last_chat_ms = {int(user_id): int(ms) for user_id, ms in data["last_chat_ms"]}
        return engine

    # ----------------------------------------------------------------- helpers

    def _require_member(self, user_id: int) -> None:
        if user_id not in self.members:
            raise not_in_room()

    def _in_booth(self, user_id: int) -> bool:
        return user_id in self.waitlist or (self.play is not None and self.play.dj_id == user_id)

    def _waitlist_update(self) -> Event:
        return room_event(self.slug, "djListUpdate", list(self.waitlist))
