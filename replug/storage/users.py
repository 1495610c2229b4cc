"""Accounts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from replug.storage.tables import users


class UsernameTaken(Exception):
    pass


class EmailTaken(Exception):
    pass


class UserRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        *,
        username: str,
        email: str,
        password_hash: str,
        slug: str | None,
        joined_at: float,
    ) -> RowMapping:
        values: dict[str, Any] = {
            "username": username,
            "username_key": username.casefold(),
            "email_key": email.casefold(),
            "password_hash": password_hash,
            "slug": slug,
            "avatar_id": "base01",
            "badge": None,
            "language": None,
            "g_role": 0,
            "level": 1,
            "xp": 0,
            "pp": 0,
            "blurb": "",
            "settings": {},
            "joined_at": joined_at,
        }
        async with self._engine.begin() as conn:
            if await self._exists(conn, users.c.email_key, values["email_key"]):
                raise EmailTaken()
            if await self._exists(conn, users.c.username_key, values["username_key"]):
                raise UsernameTaken()
            try:
                result = await conn.execute(insert(users).values(**values).returning(users))
            except IntegrityError as error:
                # A concurrent signup won the race for the same name or address.
                raise UsernameTaken() from error
            return result.mappings().one()

    async def _exists(self, conn: Any, column: Any, value: str) -> bool:
        found = await conn.execute(select(func.count()).where(column == value))
        return bool(found.scalar_one())

    async def by_id(self, user_id: int) -> RowMapping | None:
        async with self._engine.connect() as conn:
            result = await conn.execute(select(users).where(users.c.id == user_id))
            return result.mappings().first()

    async def by_ids(self, user_ids: Iterable[int]) -> dict[int, RowMapping]:
        wanted = list(set(user_ids))
        if not wanted:
            return {}
        async with self._engine.connect() as conn:
            result = await conn.execute(select(users).where(users.c.id.in_(wanted)))
            return {row["id"]: row for row in result.mappings()}

    async def by_email(self, email: str) -> RowMapping | None:
        async with self._engine.connect() as conn:
            query = select(users).where(users.c.email_key == email.casefold())
            return (await conn.execute(query)).mappings().first()

    async def username_taken(self, username: str) -> bool:
        async with self._engine.connect() as conn:
            return await self._exists(conn, users.c.username_key, username.casefold())

    async def set_fields(self, user_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(users).where(users.c.id == user_id).values(**values))
