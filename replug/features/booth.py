"""The DJ booth and wait list, votes and grabs (rest.md §5–§6)."""

from __future__ import annotations

from typing import Any

from replug.api import validate
from replug.api.routing import Access, Call
from replug.features import api
from replug.live.runtime import RoomRuntime
from replug.protocol.errors import Forbidden, NotFound, RequestError, invalid, required

BOUNCER = 2000
MANAGER = 3000


async def _room_with_power(call: Call, minimum: int) -> RoomRuntime:
    runtime = await call.room()
    if runtime.engine.power_of(call.user_id) < minimum:
        raise Forbidden()
    return runtime


def _moderator(runtime: RoomRuntime, user_id: int) -> dict[str, Any]:
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
    user_id = call.user_id
    heads = await call.services.store.playlists.heads([user_id])
    head = heads.get(user_id)
    await runtime.execute(lambda engine, now: engine.join_waitlist(now, user_id, head))
    return []


@api.delete("/booth", access=Access.ACCOUNT)
async def leave_waitlist(call: Call) -> list[Any]:
    runtime = await call.room()
    user_id = call.user_id
    await runtime.execute(lambda engine, now: engine.leave_booth(now, user_id))
    return []


@api.post("/booth/skip/me", access=Access.ACCOUNT)
async def skip_me(call: Call) -> list[Any]:
    runtime = await call.room()
    user_id = call.user_id
    await runtime.execute(lambda engine, now: engine.skip_self(now, user_id))
    return []


@api.post("/booth/skip", access=Access.ACCOUNT)
async def moderator_skip(call: Call) -> list[Any]:
    runtime = await _room_with_power(call, BOUNCER)
    target = validate.id_field(call.body, "userID")
    history_id = _history_id(call.body)
    moderator = _moderator(runtime, call.user_id)
    await runtime.execute(
        lambda engine, now: engine.skip_current(now, moderator, target, history_id)
    )
    return []


@api.put("/booth/cycle", access=Access.ACCOUNT)
async def set_cycle(call: Call) -> list[Any]:
    runtime = await _room_with_power(call, MANAGER)
    should_cycle = validate.boolean(call.body, "shouldCycle")
    moderator = _moderator(runtime, call.user_id)
    await runtime.execute(lambda engine, now: engine.set_cycle(moderator, should_cycle))
    await call.services.store.rooms.set_fields(runtime.room_id, should_cycle=should_cycle)
    return []


@api.put("/booth/lock", access=Access.ACCOUNT)
async def set_lock(call: Call) -> list[Any]:
    runtime = await _room_with_power(call, MANAGER)
    is_locked = validate.boolean(call.body, "isLocked")
    clear = validate.boolean(call.body, "removeAllDJs", default=False)
    moderator = _moderator(runtime, call.user_id)
    await runtime.execute(lambda engine, now: engine.set_lock(moderator, is_locked, clear))
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
    user_id = call.user_id
    await runtime.execute(lambda engine, now: engine.vote(user_id, history_id, direction))
    return []


@api.post("/grabs", access=Access.ACCOUNT)
async def grab(call: Call) -> list[Any]:
    runtime = await call.room()
    playlist_id = validate.id_field(call.body, "playlistID")
    history_id = _history_id(call.body)
    playlists = call.services.store.playlists
    if await playlists.owned(call.user_id, playlist_id) is None:
        raise NotFound()

    user_id = call.user_id
    async with runtime.locked() as now:
        media = runtime.engine.media_to_grab(user_id, history_id)
        item = {
            key: media[key] for key in ("format", "cid", "author", "title", "image", "duration")
        }
        if await playlists.would_overflow(playlist_id, [item]):
            raise RequestError("Playlist is full")
        await playlists.insert_media(playlist_id, [item], append=True)
        await runtime.apply(runtime.engine.grab(user_id, history_id), now)
    return [await playlists.wire(playlist_id)]
