"""Playlists and their media, kept in play order by an integer position."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from replug.engine.room import PlaylistHead
from replug.storage.tables import media, playlists

MEDIA_FIELDS = ("author", "cid", "duration", "format", "id", "image", "title")


def media_wire(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in MEDIA_FIELDS}


class PlaylistRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list_for(self, user_id: int) -> list[dict[str, Any]]:
        counts = (
            select(media.c.playlist_id, func.count().label("count"))
            .group_by(media.c.playlist_id)
            .subquery()
        )
        query = (
            select(playlists, func.coalesce(counts.c.count, 0).label("count"))
            .outerjoin(counts, counts.c.playlist_id == playlists.c.id)
            .where(playlists.c.user_id == user_id)
            .order_by(playlists.c.id)
        )
        async with self._engine.connect() as conn:
            return [_playlist_wire(row) for row in (await conn.execute(query)).mappings()]

    async def count_for(self, user_id: int) -> int:
        async with self._engine.connect() as conn:
            query = select(func.count()).where(playlists.c.user_id == user_id)
            return int((await conn.execute(query)).scalar_one())

    async def owned(self, user_id: int, playlist_id: int) -> RowMapping | None:
        query = select(playlists).where(
            playlists.c.id == playlist_id, playlists.c.user_id == user_id
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).mappings().first()

    async def wire(self, playlist_id: int) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(select(playlists).where(playlists.c.id == playlist_id)))
                .mappings()
                .one()
            )
            count = await self._count_media(conn, playlist_id)
        return _playlist_wire({**row, "count": count})

    async def create(
        self, user_id: int, name: str, items: Sequence[dict[str, Any]], now: float
    ) -> dict[str, Any]:
        async with self._engine.begin() as conn:
            has_any = (
                await conn.execute(select(func.count()).where(playlists.c.user_id == user_id))
            ).scalar_one()
            values = {"user_id": user_id, "name": name, "active": not has_any, "created_at": now}
            result = await conn.execute(insert(playlists).values(**values).returning(playlists))
            row = result.mappings().one()
            await self._insert_items(conn, row["id"], items, append=True)
            count = await self._count_media(conn, row["id"])
        return _playlist_wire({**row, "count": count})

    async def delete(self, playlist_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(media).where(media.c.playlist_id == playlist_id))
            await conn.execute(delete(playlists).where(playlists.c.id == playlist_id))

    async def activate(self, user_id: int, playlist_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(playlists)
                .where(playlists.c.user_id == user_id)
                .values(active=playlists.c.id == playlist_id)
            )

    async def rename(self, playlist_id: int, name: str) -> None:
        async with self._engine.begin() as conn:
            query = update(playlists).where(playlists.c.id == playlist_id).values(name=name)
            await conn.execute(query)

    async def media_of(self, playlist_id: int) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            return await self._media_of(conn, playlist_id)

    async def insert_media(
        self, playlist_id: int, items: Sequence[dict[str, Any]], append: bool
    ) -> list[dict[str, Any]]:
        async with self._engine.begin() as conn:
            await self._insert_items(conn, playlist_id, items, append)
            return await self._media_of(conn, playlist_id)

    async def would_overflow(self, playlist_id: int, items: Sequence[dict[str, Any]]) -> bool:
        async with self._engine.connect() as conn:
            fresh = await self._new_items(conn, playlist_id, items)
            return await self._count_media(conn, playlist_id) + len(fresh) > PLAYLIST_LIMIT

    async def delete_media(self, playlist_id: int, ids: Iterable[int]) -> list[dict[str, Any]]:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(media).where(media.c.playlist_id == playlist_id, media.c.id.in_(list(ids)))
            )
            return await self._media_of(conn, playlist_id)

    async def reorder(self, playlist_id: int, order: Any) -> list[dict[str, Any]]:
        """Rewrite the play order with `order(items) -> items` inside one transaction."""
        async with self._engine.begin() as conn:
            current = await self._media_of(conn, playlist_id)
            wanted = order(current)
            await self._write_positions(conn, [item["id"] for item in wanted])
            return wanted

    async def shuffle(self, playlist_id: int) -> list[dict[str, Any]]:
        def shuffled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            items = list(items)
            random.shuffle(items)
            return items

        return await self.reorder(playlist_id, shuffled)

    async def update_media(self, playlist_id: int, media_id: int, author: str, title: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(media)
                .where(media.c.id == media_id, media.c.playlist_id == playlist_id)
                .values(author=author, title=title)
            )
            return bool(result.rowcount)

    async def cycle(self, playlist_id: int, media_id: int) -> bool:
        """Move a played item to the end; False when it or its playlist is gone (§5)."""
        async with self._engine.begin() as conn:
            last = await self._edge_position(conn, playlist_id, last=True)
            result = await conn.execute(
                update(media)
                .where(media.c.id == media_id, media.c.playlist_id == playlist_id)
                .values(position=last + 1)
            )
            return bool(result.rowcount)

    async def heads(self, user_ids: Iterable[int]) -> dict[int, PlaylistHead]:
        """The first item of each user's active playlist, for users who have one."""
        wanted = list(set(user_ids))
        if not wanted:
            return {}
        first = (
            select(media.c.playlist_id, func.min(media.c.position).label("position"))
            .group_by(media.c.playlist_id)
            .subquery()
        )
        query = (
            select(playlists.c.user_id, media)
            .join(media, media.c.playlist_id == playlists.c.id)
            .join(
                first,
                (first.c.playlist_id == media.c.playlist_id)
                & (first.c.position == media.c.position),
            )
            .where(playlists.c.user_id.in_(wanted), playlists.c.active)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings()
            return {
                row["user_id"]: PlaylistHead(row["playlist_id"], media_wire(row)) for row in rows
            }

    # ----------------------------------------------------------------- helpers

    async def _media_of(self, conn: AsyncConnection, playlist_id: int) -> list[dict[str, Any]]:
        query = (
            select(media)
            .where(media.c.playlist_id == playlist_id)
            .order_by(media.c.position, media.c.id)
        )
        return [media_wire(row) for row in (await conn.execute(query)).mappings()]

    async def _count_media(self, conn: AsyncConnection, playlist_id: int) -> int:
        query = select(func.count()).where(media.c.playlist_id == playlist_id)
        return int((await conn.execute(query)).scalar_one())

    async def _edge_position(self, conn: AsyncConnection, playlist_id: int, last: bool) -> int:
        edge = func.max(media.c.position) if last else func.min(media.c.position)
        value = await conn.execute(select(edge).where(media.c.playlist_id == playlist_id))
        return int(value.scalar_one_or_none() or 0)

    async def _new_items(
        self, conn: AsyncConnection, playlist_id: int, items: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Items not already in the playlist, and each source only once (rest.md §8)."""
        query = select(media.c.format, media.c.cid).where(media.c.playlist_id == playlist_id)
        seen = {(row.format, row.cid) for row in await conn.execute(query)}
        fresh = []
        for item in items:
            key = (item["format"], item["cid"])
            if key not in seen:
                seen.add(key)
                fresh.append(item)
        return fresh

    async def _insert_items(
        self,
        conn: AsyncConnection,
        playlist_id: int,
        items: Sequence[dict[str, Any]],
        append: bool,
    ) -> None:
        fresh = await self._new_items(conn, playlist_id, items)
        if not fresh:
            return
        if append:
            start = await self._edge_position(conn, playlist_id, last=True) + 1
        else:
            start = await self._edge_position(conn, playlist_id, last=False) - len(fresh)
        rows = [
            {
                "playlist_id": playlist_id,
                "position": start + offset,
                "format": item["format"],
                "cid": item["cid"],
                "author": item["author"],
                "title": item["title"],
                "image": item["image"],
                "duration": item["duration"],
            }
            for offset, item in enumerate(fresh)
        ]
        await conn.execute(insert(media), rows)

    async def _write_positions(self, conn: AsyncConnection, ordered_ids: list[int]) -> None:
        if not ordered_ids:
            return
        statement = (
            update(media)
            .where(media.c.id == bindparam("media_id"))
            .values(position=bindparam("new_position"))
        )
        await conn.execute(
            statement,
            [{"media_id": mid, "new_position": index} for index, mid in enumerate(ordered_ids)],
        )


PLAYLIST_LIMIT = 200


def _playlist_wire(row: Any) -> dict[str, Any]:
    return {
        "active": bool(row["active"]),
        "count": int(row["count"]),
        "id": row["id"],
        "name": row["name"],
    }
