"""Rooms: listing, creating, joining, and reading a room's state and history."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy.engine import RowMapping

from replug.api.routing import Access, Call
from replug.engine.room import RoomEngine
from replug.features import api
from replug.features.naming import RESERVED_SLUGS
from replug.protocol.errors import (
    NotFound,
    RequestError,
    RoomCapacity,
    RoomRuleError,
    invalid,
    required,
)
from replug.protocol.shapes import power
from replug.protocol.text import escape, has_control_characters, slugify
from replug.protocol.timefmt import wire_time
from replug.storage.rooms import SlugTaken

log = logging.getLogger(__name__)

HOST_LIMIT = 5
PAGE_SIZE = 50
ROOM_NAME_UNAVAILABLE = "Room name unavailable"
RESIDENT_DJ = 1000


def _room_name(call: Call) -> str:
    name = call.body.get("name")
    if name is None:
        raise required("name")
    if not isinstance(name, str):
        raise invalid("name")
    name = name.strip()
    if not 2 <= len(name) <= 50 or has_control_characters(name):
        raise invalid("name")
    return name


def _usable_slug(name: str) -> str:
    slug = slugify(name)
    if not slug or slug in RESERVED_SLUGS:
        raise RequestError(ROOM_NAME_UNAVAILABLE)
    return slug


def _private_slug() -> str:
    # Unguessable, and never equal to a name-derived slug, which cannot start with "-" (D25).
    return "-" + str(secrets.randbelow(9 * 10**18) + 10**18)


@api.post("/rooms", access=Access.ACCOUNT)
async def create_room(call: Call) -> list[Any]:
    name = _room_name(call)
    private = call.body.get("private", False)
    if not isinstance(private, bool):
        raise invalid("private")
    slug = _private_slug() if private else _usable_slug(name)

    store = call.services.store
    async with call.services.account_locks.hold(("rooms", call.user_id)):
        if await store.rooms.hosted_count(call.user_id) >= HOST_LIMIT:
            raise RoomRuleError("Host limit reached")
        try:
            room = await store.rooms.create(
                slug=slug, name=name, host_id=call.user_id, private=private, now=call.now
            )
        except SlugTaken:
            raise RequestError(ROOM_NAME_UNAVAILABLE) from None

    log.info("Room %s (%s) created by user %s", room["slug"], room["id"], call.user_id)
    return [{"id": room["id"], "name": escape(room["name"]), "slug": room["slug"]}]


@api.get("/rooms/validate/{name}", access=Access.ACCOUNT)
async def validate_room_name(call: Call) -> list[Any]:
    name = call.path["name"].strip()
    if not 2 <= len(name) <= 50 or has_control_characters(name):
        raise RequestError(ROOM_NAME_UNAVAILABLE)
    slug = _usable_slug(name)
    if await call.services.store.rooms.slug_taken(slug):
        raise RequestError(ROOM_NAME_UNAVAILABLE)
    return [{"slug": slug}]


@api.get("/rooms", access=Access.SESSION)
async def list_rooms(call: Call) -> list[Any]:
    text = call.query.get("q", "").strip()
    page = _query_int(call, "page", 0, minimum=0)
    limit = min(_query_int(call, "limit", PAGE_SIZE, minimum=1), PAGE_SIZE)

    rooms = await call.services.store.rooms.public_matching(text)
    hub = call.services.hub
    rooms.sort(key=lambda row: (-hub.population(row["id"])[0], row["name_key"], row["id"]))
    chosen = rooms[page * limit : (page + 1) * limit]
    hosts = await call.services.store.users.by_ids(row["host_id"] for row in chosen)
    return [_listing(call, row, hosts.get(row["host_id"])) for row in chosen]


@api.get("/rooms/me", access=Access.ACCOUNT)
async def my_rooms(call: Call) -> list[Any]:
    rows = await call.services.store.rooms.hosted_by(call.user_id)
    entries = []
    for row in rows:
        entry = _listing(call, row, call.user)
        del entry["guests"]
        entry["dj"] = await _dj_user(call, row)
        entries.append(entry)
    return entries


def _query_int(call: Call, name: str, default: int, minimum: int) -> int:
    raw = call.query.get(name, "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value >= minimum else default


def _listing(call: Call, row: RowMapping, host: RowMapping | None) -> dict[str, Any]:
    """A RoomListing entry (conventions §8.5)."""
    engine = call.services.hub.live_engine(int(row["id"]))
    population, guests = call.services.hub.population(int(row["id"]))
    play = engine.play if engine is not None else None
    dj_name = ""
    if play is not None and engine is not None:
        dj = engine.members.get(play.dj_id)
        dj_name = dj["username"] if dj is not None else ""
    media = play.media if play is not None else None
    return {
        "capacity": row["capacity"],
        "cid": media["cid"] if media else "",
        "dj": dj_name,
        "favorite": False,
        "format": media["format"] if media else "",
        "guests": guests,
        "host": escape(host["username"]) if host is not None else "",
        "id": row["id"],
        "image": media["image"] if media else "",
        "media": f"{media['author']} - {media['title']}" if media else "",
        "name": escape(row["name"]),
        "nsfw": bool(row["nsfw"]),
        "population": population,
        "private": bool(row["private"]),
        "slug": row["slug"],
    }


async def _dj_user(call: Call, row: RowMapping) -> dict[str, Any] | None:
    engine = call.services.hub.live_engine(int(row["id"]))
    if engine is None or engine.play is None:
        return None
    return engine.members.get(engine.play.dj_id)


@api.post("/rooms/join", access=Access.SESSION)
async def join_room(call: Call) -> list[Any]:
    slug = call.body.get("slug")
    if slug is None or slug == "":
        raise required("slug")
    if not isinstance(slug, str):
        raise invalid("slug")
    room = await call.services.store.rooms.by_slug(slug)
    if room is None:
        raise NotFound()

    hub = call.services.hub
    if call.user is None:
        await hub.choose_guest_room(call.session_id, room)
        return []

    current = hub.room_of_user(call.user_id)
    if current is not None and current.room_id == room["id"]:
        return []
    if room["capacity"] is not None:
        role = await call.services.store.rooms.role_of(int(room["id"]), call.user_id)
        full = hub.population(int(room["id"]))[0] >= room["capacity"]
        if full and power(role, int(call.user["g_role"])) < RESIDENT_DJ:
            raise RoomCapacity()
    await hub.join(call.user, room)
    return []


@api.get("/rooms/state", access=Access.SESSION)
async def room_state(call: Call) -> list[Any]:
    runtime = await call.room()
    engine = runtime.engine
    room = await call.services.store.rooms.by_id(runtime.room_id)
    if room is None:
        raise NotFound()
    host = await call.services.store.users.by_id(int(room["host_id"]))
    caller = call.user_id if call.user is not None else None
    play = engine.play

    users = [user for user_id, user in engine.members.items() if user_id != caller]
    role = engine.members[caller]["role"] if caller in engine.members else 0
    state = {
        "booth": {
            "currentDJ": play.dj_id if play is not None else -1,
            "isLocked": engine.is_locked,
            "shouldCycle": engine.should_cycle,
            "waitingDJs": list(engine.waitlist),
        },
        "fx": [],
        "grabs": {str(user_id): 1 for user_id in play.grabs} if play else {},
        "meta": {
            "description": escape(room["description"]),
            "favorite": False,
            "guests": len(engine.guests),
            "hostID": room["host_id"],
            "hostName": escape(host["username"]) if host is not None else "",
            "id": room["id"],
            "minChatLevel": engine.min_chat_level,
            "name": escape(room["name"]),
            "population": engine.population,
            "slug": room["slug"],
            "welcome": escape(room["welcome"]),
        },
        "mutes": {},
        "playback": _playback(engine),
        "role": role,
        "users": users,
        "votes": {str(user_id): vote for user_id, vote in play.votes.items()} if play else {},
    }
    return [state]


def _playback(engine: RoomEngine) -> dict[str, Any]:
    play = engine.play
    if play is None:
        return {}
    return {
        "historyID": play.history_id,
        "media": play.media,
        "playlistID": play.playlist_id,
        "startTime": wire_time(play.started_at),
    }


@api.get("/rooms/history", access=Access.SESSION)
async def room_history(call: Call) -> list[Any]:
    runtime = await call.room()
    entries = await call.services.store.history.for_room(runtime.room_id)
    play = runtime.engine.play
    if play is not None and entries and entries[0]["id"] == play.history_id:
        engine = runtime.engine
        listeners = engine.population - (1 if play.dj_id in engine.members else 0)
        entries[0]["score"] = {
            **play.score(),
            "listeners": listeners + len(engine.guests),
            "skipped": 0,
        }
    return entries
