"""The shared object shapes of conventions §8, built from stored rows."""

from __future__ import annotations

from typing import Any

from replug.engine.room import GUEST_USER
from replug.protocol.text import escape
from replug.protocol.timefmt import wire_time

DEFAULT_SETTINGS: dict[str, Any] = {
    "chatImages": True,
    "chatTimestamps": 12,
    "emoji": True,
    "friendAvatarsOnly": False,
    "notifyDJ": True,
    "notifyFriendJoin": True,
    "notifyScore": True,
    "nsfw": False,
    "tooltips": True,
    "videoOnly": False,
}


def public_user(row: Any) -> dict[str, Any]:
    return {
        "avatarID": row["avatar_id"],
        "badge": row["badge"],
        "gRole": row["g_role"],
        "guest": False,
        "id": row["id"],
        "joined": wire_time(row["joined_at"]),
        "language": row["language"],
        "level": row["level"],
        "silver": False,
        "slug": row["slug"],
        "sub": 0,
        "username": escape(row["username"]),
    }


def room_user(row: Any, role: int) -> dict[str, Any]:
    return {**public_user(row), "role": role}


def self_user(row: Any) -> dict[str, Any]:
    return {
        **public_user(row),
        "blurb": escape(row["blurb"]),
        "ignores": [],
        "notifications": [],
        "pp": row["pp"],
        "pw": True,
        "settings": {**DEFAULT_SETTINGS, **(row["settings"] or {})},
        "xp": row["xp"],
    }


def guest_self() -> dict[str, Any]:
    return {
        **GUEST_USER,
        "blurb": "",
        "ignores": [],
        "notifications": [],
        "pp": 0,
        "pw": False,
        "settings": dict(DEFAULT_SETTINGS),
        "xp": 0,
    }


def power(role: int, g_role: int) -> int:
    """Effective power (conventions §9.3): admins rank above hosts."""
    if g_role >= 5000:
        return 5001
    return max(role, g_role if g_role >= 2000 else 0)
