"""All repositories behind one object, so features take a single dependency."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from replug.storage.history import HistoryRepository
from replug.storage.playlists import PlaylistRepository
from replug.storage.rooms import RoomRepository
from replug.storage.sessions import SessionRepository
from replug.storage.users import UserRepository


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.users = UserRepository(engine)
        self.sessions = SessionRepository(engine)
        self.rooms = RoomRepository(engine)
        self.playlists = PlaylistRepository(engine)
        self.history = HistoryRepository(engine)

    async def close(self) -> None:
        await self.engine.dispose()
