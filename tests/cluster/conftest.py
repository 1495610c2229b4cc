"""Several real `replug serve` processes sharing one PostgreSQL database and one Redis."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import redis

from tests.plug import PlugClient

PG_ADMIN_URL = os.environ.get("REPLUG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST = os.environ.get("REPLUG_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("REPLUG_TEST_REDIS_PORT", "6379"))
# The cluster tests use Redis database 9, emptied before each test, so they never touch the
# data of a Replug running on this machine's default database 0.
REDIS_DB = 9
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    name = f"replug_test_{secrets.token_hex(4)}"
    _psql(f"CREATE DATABASE {name}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    client.flushdb()
    client.close()
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"


class Node:
    def __init__(self, port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.port = port
        self.process = process
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        """Process ids of this node's workers (`--workers`)."""
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in found.stdout.split()]

    def kill(self) -> None:
        """Die without saying goodbye, as a crashed machine would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Cluster:
    def __init__(self, database: str, redis_url: str, tmp_path: Path) -> None:
        self.database = database
        self.redis_url = redis_url
        self.tmp_path = tmp_path
        self.nodes: list[Node] = []

    def start_node(self, *extra: str) -> Node:
        node = self.launch_node(*extra)
        self.wait_ready(node)
        return node

    def start_nodes_together(self, count: int) -> list[Node]:
        """Several nodes started at the same moment (all racing to create the schema)."""
        nodes = [self.launch_node() for _ in range(count)]
        for node in nodes:
            self.wait_ready(node)
        return nodes

    def launch_node(self, *extra: str) -> Node:
        port = _free_port()
        log_path = self.tmp_path / f"node-{port}.log"
        env = {
            **os.environ,
            "REPLUG_PASSWORD_TIME_COST": "1",
            "REPLUG_PASSWORD_MEMORY_KIB": "1024",
            "REPLUG_NODE_TIMEOUT_SECONDS": "2",
            "REPLUG_HEARTBEAT_SECONDS": "0.5",
        }
        command = [
            sys.executable,
            "-m",
            "replug",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            self.database,
            "--redis-url",
            self.redis_url,
            "--log-level",
            "info",
            *extra,
        ]
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        node = Node(port, process, log_path)
        self.nodes.append(node)
        return node

    def wait_ready(self, node: Node) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                raise AssertionError(f"node on {node.port} exited:\n{node.log()}")
            try:
                with socket.create_connection(("127.0.0.1", node.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"node on {node.port} did not start:\n{node.log()}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def logs(self) -> str:
        return "\n".join(f"--- node {node.port}\n{node.log()[-4000:]}" for node in self.nodes)


@pytest.fixture
async def cluster(
    database: str, redis_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Cluster]:
    running = Cluster(database, redis_url, tmp_path)
    try:
        yield running
    finally:
        running.stop()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(running.logs())


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client_on(http: aiohttp.ClientSession) -> Callable[[Node], PlugClient]:
    def make(node: Node) -> PlugClient:
        return PlugClient(http, node.url)

    return make
