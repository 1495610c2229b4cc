"""Limits that must hold for the whole service, not per node: per-account counts under
requests racing on two nodes, failed logins spread over the nodes, and the Redis lease behind
the first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from replug.features.playlists import PLAYLISTS_PER_USER
from replug.locks import SharedLocks
from replug.login_guard import MAX_FAILURES
from replug.protocol.errors import ServerError
from tests.api.expect import expect_error
from tests.cluster.conftest import Cluster, Node
from tests.plug import PASSWORD, PlugClient


def _same_account_on(
    node: Node, client: PlugClient, make: Callable[[Node], PlugClient]
) -> PlugClient:
    """A second user agent for `client`'s account (same session cookie) on another node."""
    twin = make(node)
    twin.cookie = client.cookie
    twin.user_id = client.user_id
    return twin


async def test_nodes_started_at_the_same_moment_on_an_empty_database_all_come_up(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    nodes = cluster.start_nodes_together(3)

    for node in nodes:
        assert node.process.poll() is None, node.log()
        client = client_on(node)
        await client.signup()
        assert client.user_id is not None


async def test_the_playlist_limit_holds_when_one_account_creates_on_two_nodes_at_once(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    first, second = cluster.start_node(), cluster.start_node()
    owner = client_on(first)
    await owner.signup("owner")
    for number in range(PLAYLISTS_PER_USER - 1):
        await owner.ok("POST", "playlists", {"name": f"List {number}"})
    twin = _same_account_on(second, owner, client_on)
    # Media make each creation a longer transaction: a wider window for a race to slip in.
    media = [
        {"format": 1, "cid": f"vid{n}", "duration": 200, "author": "A", "title": f"S{n}"}
        for n in range(50)
    ]

    for round_number in range(4):
        answers = await asyncio.gather(
            *(
                agent.post("playlists", {"name": f"Race {round_number}", "media": media})
                for _ in range(3)
                for agent in (owner, twin)
            )
        )

        created = [answer for answer in answers if answer.status == "ok"]
        assert len(created) == 1, answers
        for answer in answers:
            if answer.status != "ok":
                expect_error(answer, 403, "requestError", "Playlist limit reached")
        await twin.ok("DELETE", f"playlists/{created[0].data[0]['id']}")


async def _account_on_two_nodes(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
) -> tuple[list[Node], str]:
    """Two nodes and the address of an account signed up on the first."""
    nodes = [cluster.start_node(), cluster.start_node()]
    owner = client_on(nodes[0])
    await owner.signup("target")
    assert owner.email is not None
    return nodes, owner.email


async def test_failed_logins_spread_over_two_nodes_are_counted_together(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    nodes, email = await _account_on_two_nodes(cluster, client_on)

    for attempt in range(MAX_FAILURES):
        guesser = client_on(nodes[attempt % 2])
        answer = await guesser.login(email, f"wrong-{attempt}")
        assert (answer.http_status, answer.status) == (401, "badLogin"), answer

    for node in nodes:
        answer = await client_on(node).login(email, PASSWORD)
        assert (answer.http_status, answer.status) == (429, "floodAPI"), answer


async def test_a_burst_of_guesses_on_two_nodes_gets_no_more_than_ten_checked(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    nodes, email = await _account_on_two_nodes(cluster, client_on)
    guessers = [client_on(nodes[n % 2]) for n in range(24)]
    for guesser in guessers:
        await guesser.csrf()

    answers = await asyncio.gather(
        *(guesser.login(email, f"wrong-{n}") for n, guesser in enumerate(guessers))
    )

    statuses = [(answer.http_status, answer.status) for answer in answers]
    assert statuses.count((401, "badLogin")) == MAX_FAILURES
    assert statuses.count((429, "floodAPI")) == len(guessers) - MAX_FAILURES


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_shared_lock_makes_another_node_wait_until_it_is_released(redis_client: Redis):
    node_a, node_b = SharedLocks(redis_client), SharedLocks(redis_client)
    order: list[str] = []

    async def a() -> None:
        async with node_a.hold(("rooms", 7)):
            order.append("a in")
            await asyncio.sleep(0.1)
            order.append("a out")

    async def b() -> None:
        await asyncio.sleep(0.02)
        async with node_b.hold(("rooms", 7)):
            order.append("b in")

    await asyncio.gather(a(), b())

    assert order == ["a in", "a out", "b in"]
    assert await redis_client.get("replug:lock:rooms:7") is None


async def test_a_lease_left_by_a_dead_node_runs_out(redis_client: Redis):
    await redis_client.set("replug:lock:media:3", "dead-node", px=300)
    locks = SharedLocks(redis_client)

    started = time.monotonic()
    async with locks.hold(("media", 3)):
        waited = time.monotonic() - started

    assert 0.2 <= waited < 2.0


async def test_a_lease_held_too_long_answers_busy_instead_of_hanging(redis_client: Redis):
    await redis_client.set("replug:lock:playlists:5", "stuck", px=10_000)
    locks = SharedLocks(redis_client, wait_seconds=0.2)

    with pytest.raises(ServerError) as refused:
        async with locks.hold(("playlists", 5)):
            pass

    assert refused.value.http_status == 503
    assert await redis_client.get("replug:lock:playlists:5") == b"stuck"
