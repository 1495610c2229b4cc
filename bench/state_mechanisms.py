"""Measure the ways several nodes could share one room's state, on this machine's services.

    .venv/bin/python bench/state_mechanisms.py [--commands 2000] [--members 100 1000 4000]

For each room size it times one command (a vote, say) done three ways:

- log:   Replug's design: append the command to a Redis stream and wait until the reading
         loop sees it come back (every node keeps the room in memory and applies it);
- lock:  take a Redis lock, GET the room's state, SET it back changed, release the lock;
- pgrow: SELECT the room's state FOR UPDATE in PostgreSQL, UPDATE it, COMMIT.

It uses Redis database 9 and a scratch PostgreSQL database it creates and drops; nothing
else is touched. The numbers it prints are per command, on one connection, one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import asyncpg
import orjson
from redis.asyncio import Redis

REDIS_URL = "redis://127.0.0.1:6379/9"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_SCRATCH = "replug_bench_state"


def room_state(members: int) -> bytes:
    """A room's live state as a node would have to store it: members dominate its size."""
    member = {
        "avatarID": "base01", "badge": None, "gRole": 0, "guest": False, "joined":
        "2024-05-01 18:04:09.512033", "language": "en", "level": 3, "role": 0,
        "silver": False, "sub": 0,
    }
    users = [{**member, "id": n, "username": f"listener{n}", "slug": f"listener{n}"}
             for n in range(members)]
    return orjson.dumps({"members": users, "waitlist": list(range(50)), "votes": {}})


def summary(name: str, samples: list[float]) -> str:
    samples.sort()
    p50 = statistics.median(samples) * 1e6
    p99 = samples[int(len(samples) * 0.99) - 1] * 1e6
    rate = len(samples) / sum(samples)
    return f"  {name:6} p50 {p50:8.0f} µs   p99 {p99:8.0f} µs   {rate:8.0f} commands/s"


async def time_log(redis: Redis, commands: int) -> list[float]:
    stream = "bench:log"
    await redis.delete(stream)
    last = "0-0"
    samples = []
    for n in range(commands):
        started = time.perf_counter()
        await redis.xadd(stream, {b"e": orjson.dumps({"k": "room", "c": "vote", "n": n})})
        while True:
            answer = await redis.xread({stream: last}, count=100, block=1000)
            _name, items = answer[0]
            last = items[-1][0]
            if orjson.loads(items[-1][1][b"e"])["n"] == n:
                break
        samples.append(time.perf_counter() - started)
    await redis.delete(stream)
    return samples


async def time_lock(redis: Redis, commands: int, state: bytes) -> list[float]:
    await redis.set("bench:room", state)
    samples = []
    for _ in range(commands):
        started = time.perf_counter()
        token = uuid.uuid4().hex
        while not await redis.set("bench:lock", token, nx=True, px=5000):
            await asyncio.sleep(0)
        current = await redis.get("bench:room")
        await redis.set("bench:room", current)
        if await redis.get("bench:lock") == token.encode():
            await redis.delete("bench:lock")
        samples.append(time.perf_counter() - started)
    await redis.delete("bench:room", "bench:lock")
    return samples


async def time_pg_row(pg: asyncpg.Connection, commands: int, state: bytes) -> list[float]:
    await pg.execute("DROP TABLE IF EXISTS bench_rooms")
    await pg.execute("CREATE TABLE bench_rooms (id int PRIMARY KEY, state bytea)")
    await pg.execute("INSERT INTO bench_rooms VALUES (1, $1)", state)
    samples = []
    for _ in range(commands):
        started = time.perf_counter()
        async with pg.transaction():
            current = await pg.fetchval("SELECT state FROM bench_rooms WHERE id = 1 FOR UPDATE")
            await pg.execute("UPDATE bench_rooms SET state = $1 WHERE id = 1", current)
        samples.append(time.perf_counter() - started)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--members", type=int, nargs="+", default=[100, 1000, 4000])
    args = parser.parse_args()

    redis = Redis.from_url(REDIS_URL)
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {PG_SCRATCH}")
    await admin.execute(f"CREATE DATABASE {PG_SCRATCH}")
    pg = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_SCRATCH)
    try:
        print(f"one command, {args.commands} times, one connection")
        log_samples = await time_log(redis, args.commands)
        for members in args.members:
            state = room_state(members)
            print(f"room with {members} members (state {len(state) / 1024:.0f} KiB)")
            print(summary("log", list(log_samples)))
            print(summary("lock", await time_lock(redis, args.commands, state)))
            print(summary("pgrow", await time_pg_row(pg, args.commands, state)))
    finally:
        await pg.close()
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_SCRATCH}")
        await admin.close()
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
