"""The DJ booth and wait list, votes and grabs (rest.md §5–§6)."""

from __future__ import annotations

from typing import Any

from replug.api import validate
from replug.api.routing import Access, Call
from replug.features import api
from replug.live.commands import head_to_wire
from replug.live.hub import LiveRoom
from replug.protocol.errors import Forbidden, NotFound, RequestError, invalid, required

BOUNCER = 2000
MANAGER = 3000


async def _room_with_power(call: Call, minimum: int) -> LiveRoom:
    runtime = await call.room()
    if runtime.engine.power_of(call.user_id) < minimum:
        raise Forbidden()
    return runtime


def _moderator(runtime: LiveRoom, user_id: int) -> dict[str, Any]:
    return runtime.engine.members[user_id]


def _history_id(body: dict[str, Any]) -> str:
    value = body.get("historyID")
    if value is None or value == "":
        raise required("historyID")
    if not isinstance(value, str):
        raise invalid("historyID")
    return value


@api.post("/booth", access=Access.ACCOUNT)
async def join_waitlist(call: Call) -> list[Any]:
    runtime = await call.room()
    heads = await call.services.store.playlists.heads([call.user_id])
    head = head_to_wire(heads.get(call.user_id))
    await runtime.command("join_waitlist", user_id=call.user_id, head=head)
    return []


@api.delete("/booth", access=Access.ACCOUNT)
async def leave_waitlist(call: Call) -> list[Any]:
    runtime = await call.room()
    await runtime.command("leave_booth", user_id=call.user_id)
    return []


@api.post("/booth/skip/me", access=Access.ACCOUNT)
async def skip_me(call: Call) -> list[Any]:
    runtime = await call.room()
    await runtime.command("skip_self", user_id=call.user_id)
    return []


@api.post("/booth/skip", access=Access.ACCOUNT)
async def moderator_skip(call: Call) -> list[Any]:
    runtime = await _room_with_power(call, BOUNCER)
    target = validate.id_field(call.body, "userID")
    history_id = _history_id(call.body)
    moderator = _moderator(runtime, call.user_id)
    await runtime.command(
        "skip_current", moderator=moderator, user_id=target, history_id=history_id
    )
    return []


@api.put("/booth/cycle", access=Access.ACCOUNT)
async def set_cycle(call: Call) -> list[Any]:
    runtime = await _room_with_power(call, MANAGER)
    should_cycle = validate.boolean(call.body, "shouldCycle")
    moderator = _moderator(runtime, call.user_id)
    await runtime.command("set_cycle", moderator=moderator, should_cycle=should_cycle)
    await call.services.store.rooms.set_fields(runtime.room_id, should_cycle=should_cycle)
    return []


@api.put("/booth/lock", access=Access.ACCOUNT)
async def set_lock(call: Call) -> list[Any]:
    runtime = await _room_with_power(call, MANAGER)
    is_locked = validate.boolean(call.body, "isLocked")
    clear = validate.boolean(call.body, "removeAllDJs", default=False)
    moderator = _moderator(runtime, call.user_id)
    await runtime.command("set_lock", moderator=moderator, is_locked=is_locked, clear=clear)
    await call.services.store.rooms.set_fields(runtime.room_id, is_locked=is_locked)
    return []


@api.post("/votes", access=Access.ACCOUNT)
async def vote(call: Call) -> list[Any]:
    runtime = await call.room()
    direction = call.body.get("direction")
    if direction is None:
        raise required("direction")
    if isinstance(direction, bool) or direction not in (1, -1):
        raise invalid("direction")
    history_id = _history_id(call.body)
    await runtime.command("vote", user_id=call.user_id, history_id=history_id, direction=direction)
    return []


@api.post("/grabs", access=Access.ACCOUNT)
async def grab(call: Call) -> list[Any]:
    runtime = await call.room()
    playlist_id = validate.id_field(call.body, "playlistID")
    history_id = _history_id(call.body)
    playlists = call.services.store.playlists
    if await playlists.owned(call.user_id, playlist_id) is None:
        raise NotFound()

    # The grab is counted through the room first, so that a stale historyID is refused
    # before anything is copied; then the media goes into the playlist.
    media = runtime.engine.media_to_grab(call.user_id, history_id)
    item = {key: media[key] for key in ("format", "cid", "author", "title", "image", "duration")}
    async with call.services.account_locks.hold(("media", call.user_id)):
        if await playlists.would_overflow(playlist_id, [item]):
            raise RequestError("Playlist is full")
        await runtime.command("grab", user_id=call.user_id, history_id=history_id)
        await playlists.insert_media(playlist_id, [item], append=True)
    return [await playlists.wire(playlist_id)]
