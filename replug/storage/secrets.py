"""The server's signing secret, kept in the database so every node shares it."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from replug.storage.tables import server_settings

SECRET_KEY = "session_secret"


async def load_or_create_secret(engine: AsyncEngine) -> bytes:
    async with engine.begin() as conn:
        query = select(server_settings.c.value).where(server_settings.c.key == SECRET_KEY)
        found = (await conn.execute(query)).scalar_one_or_none()
        if found is not None:
            return bytes.fromhex(found)

    fresh = secrets.token_hex(32)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(server_settings).values(key=SECRET_KEY, value=fresh))
        return bytes.fromhex(fresh)
    except IntegrityError:
        # Another node created it first; use theirs.
        return await load_or_create_secret(engine)
