"""Room commands by name, so that any node can ask for one through the log.

Each entry carries plain data; `apply_room_command` turns it back into an engine call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from replug.engine.events import Outcome
from replug.engine.room import PlaylistHead, RoomEngine
from replug.protocol.errors import RequestError

Args = dict[str, Any]


def head_from_wire(data: dict[str, Any] | None) -> PlaylistHead | None:
    if data is None:
        return None
    return PlaylistHead(int(data["playlist_id"]), data["media"])


def head_to_wire(head: PlaylistHead | None) -> dict[str, Any] | None:
    if head is None:
        return None
    return {"playlist_id": head.playlist_id, "media": head.media}


def _start_next_play(engine: RoomEngine, now: float, args: Args) -> Outcome:
    heads = {int(user_id): head_from_wire(head) for user_id, head in args["heads"].items()}
    return engine.start_next_play(now, heads)


ROOM_COMMANDS: dict[str, Callable[[RoomEngine, float, Args], Outcome]] = {
    "tick": lambda engine, now, a: engine.tick(now),
    "start_next_play": _start_next_play,
    "join_waitlist": lambda engine, now, a: engine.join_waitlist(
        now, a["user_id"], head_from_wire(a["head"])
    ),
    "leave_booth": lambda engine, now, a: engine.leave_booth(now, a["user_id"]),
    "skip_self": lambda engine, now, a: engine.skip_self(now, a["user_id"]),
    "skip_current": lambda engine, now, a: engine.skip_current(
        now, a["moderator"], a["user_id"], a["history_id"]
    ),
    "set_cycle": lambda engine, now, a: engine.set_cycle(a["moderator"], a["should_cycle"]),
    "set_lock": lambda engine, now, a: engine.set_lock(a["moderator"], a["is_locked"], a["clear"]),
    "vote": lambda engine, now, a: engine.vote(a["user_id"], a["history_id"], a["direction"]),
    "grab": lambda engine, now, a: engine.grab(a["user_id"], a["history_id"]),
    "chat": lambda engine, now, a: engine.chat(now, a["user_id"], a["text"]),
    "delete_chat": lambda engine, now, a: engine.delete_chat(a["moderator_id"], a["cid"]),
}


def apply_room_command(engine: RoomEngine, name: str, now: float, args: Args) -> Outcome:
    command = ROOM_COMMANDS.get(name)
    if command is None:
        raise RequestError(f"Unknown room command {name}")
    return command(engine, now, args)
