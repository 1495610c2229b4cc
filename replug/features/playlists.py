"""Playlists and their media (rest.md §8); every path names one of the caller's playlists."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from replug.api import validate
from replug.api.routing import Access, Call
from replug.features import api
from replug.protocol.errors import NotFound, RequestError, RoomRuleError, invalid, required
from replug.protocol.text import has_control_characters
from replug.storage.playlists import PLAYLIST_LIMIT

PLAYLISTS_PER_USER = 100
NAME_MAX = 30
FORMATS = (1, 2)
TEXT_LIMITS = {"author": 255, "title": 255, "image": 512}
# A day: longer than any video or track a room plays, and safe for every client's numbers.
MAX_DURATION_SECONDS = 24 * 3600


def playlist_name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if name is None or name == "":
        raise required("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= NAME_MAX:
        raise invalid("name")
    if has_control_characters(name):
        raise invalid("name")
    return name.strip()


def media_items(raw: Any) -> list[dict[str, Any]]:
    """Check and normalise media sent by a client (rest.md, `media/insert`)."""
    if not isinstance(raw, list) or not raw:
        raise required("media")
    return [_media_item(item) for item in raw]


def _media_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid("media")
    media_format = item.get("format")
    if isinstance(media_format, str) and media_format.isdigit():
        media_format = int(media_format)
    if isinstance(media_format, bool) or media_format not in FORMATS:
        raise RequestError("Not a valid media format")

    cid = item.get("cid")
    if isinstance(cid, int | float) and not isinstance(cid, bool):
        cid = str(int(cid))  # numeric SoundCloud ids become strings (conventions §5)
    if not isinstance(cid, str) or not cid.strip():
        raise RequestError("cid is required")
    if len(cid) > 64:
        raise invalid("cid")

    duration = item.get("duration")
    if isinstance(duration, float) and duration.is_integer():
        duration = int(duration)
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise invalid("duration")
    if not 1 <= duration <= MAX_DURATION_SECONDS:
        raise invalid("duration")

    clean = {"format": media_format, "cid": cid.strip(), "duration": duration}
    for name, limit in TEXT_LIMITS.items():
        value = item.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise invalid(name)
        clean[name] = value[:limit]
    return clean


async def _own_playlist(call: Call) -> RowMapping:
    playlist_id = validate.path_id(call.path["id"])
    playlist = await call.services.store.playlists.owned(call.user_id, playlist_id)
    if playlist is None:
        raise NotFound()
    return playlist


@api.get("/playlists", access=Access.ACCOUNT)
async def list_playlists(call: Call) -> list[Any]:
    return await call.services.store.playlists.list_for(call.user_id)


@api.post("/playlists", access=Access.ACCOUNT)
async def create_playlist(call: Call) -> list[Any]:
    name = playlist_name(call.body)
    raw_media = call.body.get("media")
    items = media_items(raw_media) if raw_media not in (None, []) else []
    if len(items) > PLAYLIST_LIMIT:
        raise RequestError("Playlist is full")

    playlists = call.services.store.playlists
    async with call.services.account_locks.hold(("playlists", call.user_id)):
        if await playlists.count_for(call.user_id) >= PLAYLISTS_PER_USER:
            raise RoomRuleError("Playlist limit reached")
        return [await playlists.create(call.user_id, name, items, call.now)]


@api.delete("/playlists/{id}", access=Access.ACCOUNT)
async def delete_playlist(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    if playlist["active"]:
        raise RequestError("Cannot delete the active playlist")
    await call.services.store.playlists.delete(int(playlist["id"]))
    return []


@api.put("/playlists/{id}/activate", access=Access.ACCOUNT)
async def activate_playlist(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    await call.services.store.playlists.activate(call.user_id, int(playlist["id"]))
    return [{"activated": playlist["id"]}]


@api.put("/playlists/{id}/rename", access=Access.ACCOUNT)
async def rename_playlist(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    await call.services.store.playlists.rename(int(playlist["id"]), playlist_name(call.body))
    return []


@api.put("/playlists/{id}/shuffle", access=Access.ACCOUNT)
async def shuffle_playlist(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    return await call.services.store.playlists.shuffle(int(playlist["id"]))


@api.get("/playlists/{id}/media", access=Access.ACCOUNT)
async def playlist_media(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    return await call.services.store.playlists.media_of(int(playlist["id"]))


@api.post("/playlists/{id}/media/insert", access=Access.ACCOUNT)
async def insert_media(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    items = media_items(call.body.get("media"))
    append = validate.boolean(call.body, "append", default=True)

    playlists = call.services.store.playlists
    async with call.services.account_locks.hold(("media", call.user_id)):
        if await playlists.would_overflow(int(playlist["id"]), items):
            raise RequestError("Playlist is full")
        return await playlists.insert_media(int(playlist["id"]), items, append)


@api.post("/playlists/{id}/media/delete", access=Access.ACCOUNT)
async def delete_media(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    ids = validate.id_list(call.body, "ids", max_items=PLAYLIST_LIMIT * 5)
    return await call.services.store.playlists.delete_media(int(playlist["id"]), ids)


@api.put("/playlists/{id}/media/move", access=Access.ACCOUNT)
async def move_media(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    ids = validate.id_list(call.body, "ids", max_items=PLAYLIST_LIMIT * 5)
    before = call.body.get("beforeID")
    if before is None:
        raise required("beforeID")
    before_id = -1 if before in (-1, "-1") else validate.integer_id(before, "beforeID")

    def reordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_id = {item["id"]: item for item in items}
        moving = [by_id[media_id] for media_id in dict.fromkeys(ids) if media_id in by_id]
        staying = [item for item in items if item["id"] not in {m["id"] for m in moving}]
        if before_id == -1:
            return staying + moving
        positions = [index for index, item in enumerate(staying) if item["id"] == before_id]
        if not positions:
            raise invalid("beforeID")
        return staying[: positions[0]] + moving + staying[positions[0] :]

    return await call.services.store.playlists.reorder(int(playlist["id"]), reordered)


@api.put("/playlists/{id}/media/update", access=Access.ACCOUNT)
async def update_media(call: Call) -> list[Any]:
    playlist = await _own_playlist(call)
    media_id = validate.id_field(call.body, "id")
    author = _text(call.body, "author")
    title = _text(call.body, "title")
    changed = await call.services.store.playlists.update_media(
        int(playlist["id"]), media_id, author, title
    )
    if not changed:
        raise NotFound()
    return [{"author": author, "title": title}]


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise required(name)
    if not isinstance(value, str):
        raise invalid(name)
    return value[: TEXT_LIMITS[name]]
