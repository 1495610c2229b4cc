"""The parts of a running server, built once and handed to every feature."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis

from replug.clock import Clock, SystemClock
from replug.config import Config
from replug.gateway.server import Gateway
from replug.live.cluster import Cluster, load_snapshot
from replug.live.hub import Hub
from replug.live.log import MemoryLog, RedisLog
from replug.locks import KeyedLocks, SharedLocks
from replug.login_guard import LoginGuard, MemoryLoginGuard, RedisLoginGuard
from replug.passwords import Passwords
from replug.sessions import SessionService
from replug.storage.database import migrate, open_database
from replug.storage.secrets import load_or_create_secret
from replug.storage.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    config: Config
    clock: Clock
    store: Store
    hub: Hub
    sessions: SessionService
    passwords: Passwords
    gateway: Gateway
    login_guard: LoginGuard
    cluster: Cluster | None = None
    account_locks: KeyedLocks = field(default_factory=KeyedLocks)

    @classmethod
    async def start(cls, config: Config, clock: Clock | None = None) -> Services:
        clock = clock or SystemClock()
        engine = open_database(config.database_url)
        await migrate(engine)
        store = Store(engine)
        hub = Hub(store, MemoryLog(), clock)
        cluster = None
        if config.redis_url:
            cluster = await _join_cluster(config.redis_url, hub)
        secret = await load_or_create_secret(engine)
        login_guard: LoginGuard = MemoryLoginGuard(clock)
        account_locks = KeyedLocks()
        if cluster is not None:
            login_guard = RedisLoginGuard(cluster.redis, clock)
            account_locks = SharedLocks(cluster.redis)
        services = cls(
            config=config,
            clock=clock,
            store=store,
            hub=hub,
            sessions=SessionService(store, secret, clock),
            passwords=Passwords(config.password_time_cost, config.password_memory_kib),
            gateway=None,  # type: ignore[arg-type]
            login_guard=login_guard,
            cluster=cluster,
            account_locks=account_locks,
        )
        services.gateway = Gateway(services)
        hub.sink = services.gateway
        hub.start()
        await hub.sync()
        if cluster is not None:
            await cluster.start()
            hub.rearm_timers()
        services.gateway.start()
        return services

    async def after_listening(self) -> None:
        """Work that waits until this process owns its port, so that a second server started
        by mistake on the same database fails before it touches anything."""
        if self.cluster is None:
            # One node: live state lived only in this process, so plays it cut off are over.
            closed = await self.store.history.close_unfinished()
            if closed:
                log.info("Closed %d plays that were cut off by the last shutdown", closed)

    async def stop(self) -> None:
        await self.gateway.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.hub.stop()
        if self.cluster is not None:
            await self.cluster.close()
        await self.store.close()


async def _join_cluster(redis_url: str, hub: Hub) -> Cluster:
    redis = Redis.from_url(redis_url)
    try:
        await redis.ping()
    except Exception as error:
        raise SystemExit(f"replug: cannot reach Redis at {redis_url}: {error}") from None
    position = await load_snapshot(redis, hub)
    log_ = RedisLog(redis, position)
    hub.log = log_
    return Cluster(redis, hub, log_)
