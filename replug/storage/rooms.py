"""Rooms and their staff roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from replug.storage.tables import room_roles, rooms

HOST = 5000


class SlugTaken(Exception):
    pass


class RoomRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, *, slug: str, name: str, host_id: int, private: bool, now: float
    ) -> RowMapping:
        values = {
            "slug": slug,
            "name": name,
            "name_key": name.casefold(),
            "description": "",
            "long_description": "",
            "welcome": "",
            "host_id": host_id,
            "private": private,
            "nsfw": False,
            "capacity": None,
            "min_chat_level": 1,
            "should_cycle": True,
            "is_locked": False,
            "created_at": now,
        }
        async with self._engine.begin() as conn:
            try:
                result = await conn.execute(insert(rooms).values(**values).returning(rooms))
            except IntegrityError as error:
                raise SlugTaken() from error
            room = result.mappings().one()
            role = {"room_id": room["id"], "user_id": host_id, "role": HOST}
            await conn.execute(insert(room_roles).values(**role))
            return room

    async def by_slug(self, slug: str) -> RowMapping | None:
        async with self._engine.connect() as conn:
            query = select(rooms).where(rooms.c.slug == slug)
            return (await conn.execute(query)).mappings().first()

    async def by_id(self, room_id: int) -> RowMapping | None:
        async with self._engine.connect() as conn:
            query = select(rooms).where(rooms.c.id == room_id)
            return (await conn.execute(query)).mappings().first()

    async def slug_taken(self, slug: str) -> bool:
        async with self._engine.connect() as conn:
            query = select(func.count()).where(rooms.c.slug == slug)
            return bool((await conn.execute(query)).scalar_one())

    async def hosted_count(self, user_id: int) -> int:
        async with self._engine.connect() as conn:
            query = select(func.count()).where(rooms.c.host_id == user_id)
            return int((await conn.execute(query)).scalar_one())

    async def hosted_by(self, user_id: int) -> list[RowMapping]:
        async with self._engine.connect() as conn:
            query = select(rooms).where(rooms.c.host_id == user_id).order_by(rooms.c.id)
            return list((await conn.execute(query)).mappings())

    async def public_matching(self, text: str) -> list[RowMapping]:
        """Public rooms whose name contains `text`, case-insensitively."""
        query = select(rooms).where(~rooms.c.private)
        if text:
            pattern = "%" + _escape_like(text.casefold()) + "%"
            query = query.where(rooms.c.name_key.like(pattern, escape="\\"))
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).mappings())

    async def role_of(self, room_id: int, user_id: int) -> int:
        async with self._engine.connect() as conn:
            query = select(room_roles.c.role).where(
                and_(room_roles.c.room_id == room_id, room_roles.c.user_id == user_id)
            )
            return int((await conn.execute(query)).scalar_one_or_none() or 0)

    async def set_fields(self, room_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(rooms).where(rooms.c.id == room_id).values(**values))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
