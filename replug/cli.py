"""The `replug` command."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

from replug import __version__
from replug.config import Config

log = logging.getLogger("replug")

LOG_LEVELS = ("debug", "info", "warning", "error")
WORKER_ENV = "REPLUG_WORKER"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="replug", description="Replug DJ room server")
    parser.add_argument("--version", action="version", version=f"replug {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (REPLUG_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (REPLUG_PORT, 8080)")
    serve.add_argument(
        "--database-url",
        help="sqlite:///file.db or postgresql://… (REPLUG_DATABASE_URL, sqlite:///replug.db)",
    )
    serve.add_argument(
        "--log-level", choices=LOG_LEVELS, help="how much to log (REPLUG_LOG_LEVEL, info)"
    )
    serve.add_argument(
        "--redis-url",
        help="redis://… turns on multi-node mode: every node on it is one service "
        "(REPLUG_REDIS_URL)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port, one per core; needs --redis-url "
        "(REPLUG_WORKERS, 1)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = Config.from_env(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        log_level=args.log_level,
        redis_url=args.redis_url,
        workers=args.workers,
    )
    if config.log_level not in LOG_LEVELS:
        sys.exit(f"replug: unknown log level {config.log_level!r}")
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if config.workers > 1:
        if not config.redis_url:
            sys.exit("replug: --workers needs --redis-url: the workers share live state there")
        sys.exit(supervise(config))
    try:
        _run(serve(config))
    except KeyboardInterrupt:
        pass


async def serve(config: Config) -> None:
    from replug.listener import listen
    from replug.services import Services

    services = await Services.start(config)
    try:
        listener = await listen(
            services, config.host, config.port, reuse_port=os.environ.get(WORKER_ENV) == "1"
        )
    except OSError as error:
        log.error("Cannot listen on %s:%s: %s", config.host, config.port, error)
        await services.stop()
        raise SystemExit(1) from None
    await services.after_listening()

    log.info(
        "Replug %s is listening on http://%s:%s/ (database: %s%s)",
        __version__,
        config.host,
        config.port,
        _safe_url(config.database_url),
        ", multi-node through Redis" if config.redis_url else "",
    )
    _settle_garbage_collector()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()

    log.info("Shutting down")
    await services.gateway.stop()
    await listener.close()
    await services.stop()


def _settle_garbage_collector() -> None:
    """Keep what start-up made (modules, functions, tables: most objects of an idle server)
    out of every later full collection. Those scan all tracked objects while the loop stands
    still, and in a busy room such a pause showed as 60-130 ms of chat latency; with start-up
    frozen they are a fraction of that. The frozen objects live as long as the process anyway.
    """
    gc.collect()
    gc.freeze()


def _run(main: Any) -> None:
    """uvloop where it is installed: its transports write to sockets with less overhead."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def supervise(config: Config) -> int:
    """Run `workers` copies of the server on one port; the kernel spreads the connections."""
    child_args = [
        sys.executable,
        "-m",
        "replug",
        "serve",
        "--host",
        config.host,
        "--port",
        str(config.port),
        "--database-url",
        config.database_url,
        "--log-level",
        config.log_level,
        "--redis-url",
        str(config.redis_url),
        "--workers",
        "1",
    ]
    env = {**os.environ, WORKER_ENV: "1"}
    asyncio.run(_migrate(config))
    children = [subprocess.Popen(child_args, env=env) for _ in range(config.workers)]
    log.info("Started %d workers on port %s", len(children), config.port)

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        for index, child in enumerate(children):
            if child.poll() is not None and not stopping:
                log.error(
                    "Worker %d exited with %s; starting it again", child.pid, child.returncode
                )
                time.sleep(1)
                children[index] = subprocess.Popen(child_args, env=env)
        time.sleep(0.5)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


async def _migrate(config: Config) -> None:
    """Bring the schema up to date once, before the workers start side by side."""
    from replug.storage.database import migrate, open_database

    engine = open_database(config.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def _safe_url(url: str) -> str:
    """The database URL without its password, for the log."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
