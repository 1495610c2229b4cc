"""Plays: one entry per play, written when it starts and closed with its score at the end."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from replug.engine.events import HistoryEnded, HistoryStarted
from replug.protocol.text import escape
from replug.protocol.timefmt import wire_time
from replug.storage.tables import history, rooms, users

HISTORY_LENGTH = 50


class HistoryRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def started(self, room_id: int, play: HistoryStarted) -> None:
        values = {
            "id": play.history_id,
            "room_id": room_id,
            "user_id": play.dj_id,
            "playlist_id": play.playlist_id,
            "media": play.media,
            "started_at": play.started_at,
            "ended": False,
        }
        async with self._engine.begin() as conn:
            await conn.execute(insert(history).values(**values))

    async def ended(self, play: HistoryEnded) -> None:
        values = {
            "ended": True,
            "positive": play.positive,
            "negative": play.negative,
            "grabs": play.grabs,
            "listeners": play.listeners,
            "skipped": int(play.skipped),
        }
        async with self._engine.begin() as conn:
            await conn.execute(
                update(history).where(history.c.id == play.history_id).values(**values)
            )

    async def close_unfinished(self) -> int:
        """Plays cut off by a stop of the server end as skipped (behaviour §1)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(history).where(~history.c.ended).values(ended=True, skipped=1)
            )
            return int(result.rowcount or 0)

    async def for_room(self, room_id: int) -> list[dict[str, Any]]:
        return await self._entries(history.c.room_id == room_id)

    async def for_user(self, user_id: int) -> list[dict[str, Any]]:
        return await self._entries(history.c.user_id == user_id)

    async def _entries(self, condition: Any) -> list[dict[str, Any]]:
        query = (
            select(
                history,
                users.c.username,
                rooms.c.name.label("room_name"),
                rooms.c.private.label("room_private"),
                rooms.c.slug.label("room_slug"),
            )
            .join(users, users.c.id == history.c.user_id)
            .join(rooms, rooms.c.id == history.c.room_id)
            .where(condition)
            .order_by(history.c.started_at.desc())
            .limit(HISTORY_LENGTH)
        )
        async with self._engine.connect() as conn:
            return [_entry_wire(row) for row in (await conn.execute(query)).mappings()]


def _entry_wire(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "media": row["media"],
        "room": {
            "name": escape(row["room_name"]),
            "private": bool(row["room_private"]),
            "slug": row["room_slug"],
        },
        "score": {
            "grabs": row["grabs"],
            "listeners": row["listeners"],
            "negative": row["negative"],
            "positive": row["positive"],
            "skipped": row["skipped"],
        },
        "timestamp": wire_time(row["started_at"]),
        "user": {"id": row["user_id"], "username": escape(row["username"])},
    }
