"""Server-side sessions behind the `session` cookie."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from replug.storage.tables import sessions


class SessionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, session_id: str, socket_token: str, now: float) -> RowMapping:
        values = {
            "id": session_id,
            "user_id": None,
            "created_at": now,
            "last_seen_at": now,
            "socket_token": socket_token,
            "guest_room_id": None,
            "ended": False,
        }
        async with self._engine.begin() as conn:
            result = await conn.execute(insert(sessions).values(**values).returning(sessions))
            return result.mappings().one()

    async def by_id(self, session_id: str) -> RowMapping | None:
        async with self._engine.connect() as conn:
            query = select(sessions).where(sessions.c.id == session_id, ~sessions.c.ended)
            return (await conn.execute(query)).mappings().first()

    async def by_token(self, token: str) -> RowMapping | None:
        async with self._engine.connect() as conn:
            query = select(sessions).where(sessions.c.socket_token == token, ~sessions.c.ended)
            return (await conn.execute(query)).mappings().first()

    async def set_fields(self, session_id: str, **values: Any) -> None:
        async with self._engine.begin() as conn:
            query = update(sessions).where(sessions.c.id == session_id).values(**values)
            await conn.execute(query)
