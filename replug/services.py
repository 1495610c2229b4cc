"""The parts of a running server, built once and handed to every feature."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from replug.bus.local import LocalBus
from replug.clock import Clock, SystemClock
from replug.config import Config
from replug.gateway.server import Gateway
from replug.live.manager import RoomManager
from replug.login_guard import LoginGuard
from replug.passwords import Passwords
from replug.sessions import SessionService
from replug.storage.database import migrate, open_database
from replug.storage.history import HistoryRepository
from replug.storage.secrets import load_or_create_secret
from replug.storage.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    config: Config
    clock: Clock
    store: Store
    bus: LocalBus
    rooms: RoomManager
    sessions: SessionService
    passwords: Passwords
    gateway: Gateway
    login_guard: LoginGuard

    @classmethod
    async def start(cls, config: Config, clock: Clock | None = None) -> Services:
        clock = clock or SystemClock()
        engine = open_database(config.database_url)
        await migrate(engine)
        store = Store(engine)
        closed = await HistoryRepository(engine).close_unfinished()
        if closed:
            log.info("Closed %d plays that were cut off by the last shutdown", closed)

        bus = LocalBus()
        rooms = RoomManager(store, bus, clock)
        secret = await load_or_create_secret(engine)
        services = cls(
            config=config,
            clock=clock,
            store=store,
            bus=bus,
            rooms=rooms,
            sessions=SessionService(store, secret, clock),
            passwords=Passwords(config.password_time_cost, config.password_memory_kib),
            gateway=None,  # type: ignore[arg-type]
            login_guard=LoginGuard(clock),
        )
        services.gateway = Gateway(services)
        bus.subscribe(services.gateway.deliver)
        rooms.user_connected = services.gateway.user_connected
        rooms.session_connected = services.gateway.session_connected
        services.gateway.start()
        return services

    async def stop(self) -> None:
        await self.gateway.stop()
        self.rooms.stop()
        await self.bus.close()
        await self.store.close()
