"""Multi-node mode: nodes share the log through Redis, watch each other, and keep a snapshot.

- Each node refreshes `replug:node:<id>` every few seconds. When a node that still has
  sockets in the shared state stops doing so, any node records `node_gone` in the log, and
  the accounts on it get their 30-second grace period like any closed socket.
- One node at a time (whoever holds a short lease) writes a snapshot of the live state with
  the log position it covers, then trims the log up to the previous snapshot, so the stream
  stays small and a node that starts later loads the snapshot and reads on from there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import orjson

from replug.live.hub import Hub
from replug.live.log import RedisLog

log = logging.getLogger(__name__)

NODE_KEY = "replug:node:{}"
SNAPSHOT_KEY = "replug:snapshot"
SNAPSHOT_LEASE_KEY = "replug:snapshot-lease"
# How often a node says it is alive, and how long the others wait before counting it gone.
HEARTBEAT_SECONDS = float(os.environ.get("REPLUG_HEARTBEAT_SECONDS", 3.0))
NODE_TIMEOUT_SECONDS = float(os.environ.get("REPLUG_NODE_TIMEOUT_SECONDS", 10.0))
SNAPSHOT_SECONDS = float(os.environ.get("REPLUG_SNAPSHOT_SECONDS", 30.0))


async def load_snapshot(redis: Any, hub: Hub) -> str:
    """Restore the newest snapshot into the hub; returns the log position to read after."""
    raw = await redis.get(SNAPSHOT_KEY)
    if raw is None:
        return "0-0"
    data = orjson.loads(raw)
    hub.restore(data["hub"])
    log.info("Loaded the shared live state as of log entry %s", data["id"])
    return str(data["id"])


class Cluster:
    def __init__(self, redis: Any, hub: Hub, log_: RedisLog) -> None:
        self.redis = redis  # also the home of the shared locks and the login guard
        self._hub = hub
        self._log = log_
        self._tasks: list[asyncio.Task[None]] = []
        self._previous_snapshot: str | None = None

    async def start(self) -> None:
        await self._beat_once()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._every(HEARTBEAT_SECONDS, self._beat_once)),
            loop.create_task(self._every(HEARTBEAT_SECONDS, self._watch_once)),
            loop.create_task(self._every(SNAPSHOT_SECONDS, self._snapshot_once)),
        ]
        log.info("Node %s joined the cluster", self._hub.node_id)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            # Leaving on purpose: the others need not wait for the heartbeat to run out.
            await self._hub.node_gone(self._hub.node_id)
            await self.redis.delete(NODE_KEY.format(self._hub.node_id))
        except Exception:
            log.warning("Could not announce this node's departure", exc_info=True)

    async def _every(self, seconds: float, work: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("Cluster housekeeping failed: %s", work.__name__, exc_info=True)

    async def _beat_once(self) -> None:
        key = NODE_KEY.format(self._hub.node_id)
        await self.redis.set(key, str(time.time()), px=int(NODE_TIMEOUT_SECONDS * 1000))

    async def _watch_once(self) -> None:
        others = {node for node, _user, _session in self._hub.sockets.values()}
        others.discard(self._hub.node_id)
        for node in sorted(others):
            if not await self.redis.exists(NODE_KEY.format(node)):
                log.warning("Node %s stopped answering; its sockets count as closed", node)
                await self._hub.node_gone(node)

    async def _snapshot_once(self) -> None:
        lease = await self.redis.set(
            SNAPSHOT_LEASE_KEY, self._hub.node_id, nx=True, px=int(SNAPSHOT_SECONDS * 800)
        )
        if not lease:
            return
        # Taken between two batches of the log, so the state matches `last_id` exactly.
        position = self._log.last_id
        data = orjson.dumps({"id": position, "hub": self._hub.snapshot()})
        await self.redis.set(SNAPSHOT_KEY, data)
        if self._previous_snapshot is not None:
            await self._log.trim_before(self._previous_snapshot)
        self._previous_snapshot = position
        log.debug("Wrote a snapshot at log entry %s (%d bytes)", position, len(data))

    async def close(self) -> None:
        await self.redis.aclose()
