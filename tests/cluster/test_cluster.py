"""Several nodes are one service: what happens on one is seen on all, in the same order."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from tests.cluster.conftest import Cluster, Node
from tests.plug import PlugClient, PlugSocket


async def _member(client: PlugClient, name: str, slug: str | None = None) -> PlugSocket:
    await client.signup(name)
    sock = await client.socket()
    await sock.wait_for("ack")
    if slug is not None:
        await client.join(slug)
    return sock


async def _three_nodes_one_room(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
) -> tuple[list[Node], list[PlugClient], list[PlugSocket]]:
    """ada, bram and cleo, each on a node of their own, all in ada's room with a socket."""
    nodes = [cluster.start_node() for _ in range(3)]
    ada, bram, cleo = (client_on(node) for node in nodes)
    ada_sock = await _member(ada, "ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    bram_sock = await _member(bram, "bram", room["slug"])
    cleo_sock = await _member(cleo, "cleo", room["slug"])
    return nodes, [ada, bram, cleo], [ada_sock, bram_sock, cleo_sock]


def _room_events(sock: PlugSocket) -> list[tuple[str, Any]]:
    return [(event["a"], event["p"]) for event in sock.events if event["a"] != "ack"]


async def test_clients_on_different_nodes_see_every_event_in_the_same_order(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    nodes, (ada, bram, cleo), (ada_sock, bram_sock, cleo_sock) = await _three_nodes_one_room(
        cluster, client_on
    )
    await ada_sock.wait_for("userJoin", count=2)
    await ada.playlist(200)
    await bram.playlist(200)

    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")
    for n in range(5):
        await asyncio.gather(
            ada_sock.chat(f"a{n}"), bram_sock.chat(f"b{n}"), cleo_sock.chat(f"c{n}")
        )
    play = (await cleo_sock.wait_for("advance"))[0]["p"]
    await cleo.ok("POST", "votes", {"direction": 1, "historyID": play["h"]})

    for sock in (ada_sock, bram_sock, cleo_sock):
        await sock.wait_for("chat", count=15)
        await sock.wait_for("vote")
    # Everyone saw the same sequence once cleo was in (ada saw the joins too).
    shared = _room_events(cleo_sock)
    assert _room_events(bram_sock)[-len(shared) :] == shared
    assert _room_events(ada_sock)[-len(shared) :] == shared
    states = [(await client.ok("GET", "rooms/state"))[0] for client in (ada, bram, cleo)]
    assert {str(state["booth"]) for state in states} == {str(states[0]["booth"])}
    assert states[0]["booth"]["waitingDJs"] == [bram.user_id]


async def test_one_media_end_makes_exactly_one_advance_with_every_node_timing_it(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    nodes, (ada, bram, cleo), (ada_sock, bram_sock, cleo_sock) = await _three_nodes_one_room(
        cluster, client_on
    )
    await ada.playlist(2, 2)
    await bram.playlist(2)
    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")

    advances = await cleo_sock.wait_for("advance", count=3, timeout=15)
    await asyncio.sleep(0.5)

    assert [event["p"]["c"] for event in cleo_sock.named("advance")[:3]] == [
        ada.user_id,
        bram.user_id,
        ada.user_id,
    ]
    for sock in (ada_sock, bram_sock):
        assert [e["p"]["h"] for e in sock.named("advance")[:3]] == [
            e["p"]["h"] for e in advances[:3]
        ]
    history = await bram.ok("GET", "rooms/history")
    ids = [entry["id"] for entry in history]
    assert len(ids) == len(set(ids))
    assert ids[-2:] == [advances[1]["p"]["h"], advances[0]["p"]["h"]]


async def test_a_node_killed_mid_song_leaves_the_others_carrying_on(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    nodes, (ada, bram, cleo), (ada_sock, _, cleo_sock) = await _three_nodes_one_room(
        cluster, client_on
    )
    await ada.playlist(3)
    await bram.playlist(3)
    await bram.ok("POST", "booth")
    await ada.ok("POST", "booth")
    await cleo_sock.wait_for("advance")

    nodes[1].kill()  # bram's node, and bram is the DJ

    advances = await cleo_sock.wait_for("advance", count=2, timeout=15)
    assert advances[1]["p"]["c"] == ada.user_id
    await ada_sock.chat("still here")
    await cleo_sock.wait_for("chat")
    state = (await cleo.ok("GET", "rooms/state"))[0]
    assert state["booth"]["currentDJ"] == ada.user_id
    assert len(ada_sock.named("advance")) == 2


async def test_two_users_joining_the_booth_at_once_on_two_nodes_both_land_once(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    nodes = [cluster.start_node() for _ in range(2)]
    host, first, second = client_on(nodes[0]), client_on(nodes[0]), client_on(nodes[1])
    host_sock = await _member(host, "host")
    room = await host.create_room("Night Owls")
    await host.join(room["slug"])
    await host.playlist(200)
    await host.ok("POST", "booth")
    await _member(first, "first", room["slug"])
    await _member(second, "second", room["slug"])
    await first.playlist(200)
    await second.playlist(200)

    for _ in range(5):
        await asyncio.gather(first.ok("POST", "booth"), second.ok("POST", "booth"))

    await host_sock.wait_for("djListUpdate", count=2)
    states = [(await c.ok("GET", "rooms/state"))[0]["booth"] for c in (host, second)]
    assert states[0] == states[1]
    assert sorted(states[0]["waitingDJs"]) == sorted([first.user_id or 0, second.user_id or 0])


async def test_a_node_started_later_catches_up_with_the_room(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    early = cluster.start_node()
    ada = client_on(early)
    ada_sock = await _member(ada, "ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    await ada.playlist(200)
    await ada.ok("POST", "booth")
    await ada_sock.chat("before you came")

    late = cluster.start_node()
    bram = client_on(late)
    bram_sock = await _member(bram, "bram", room["slug"])

    state = (await bram.ok("GET", "rooms/state"))[0]
    assert state["booth"]["currentDJ"] == ada.user_id
    assert [user["id"] for user in state["users"]] == [ada.user_id]
    history = (await bram.ok("GET", "chat/history"))[0]["history"]
    assert [line["message"] for line in history] == ["before you came"]
    await ada_sock.chat("hello late node")
    assert (await bram_sock.wait_for("chat"))[0]["p"]["message"] == "hello late node"


async def test_workers_share_one_port_and_stop_together(
    cluster: Cluster, client_on: Callable[[Node], PlugClient]
):
    node = cluster.start_node("--workers", "2")
    clients = [client_on(node) for _ in range(6)]
    sockets = [await _member(client, f"user{n}") for n, client in enumerate(clients)]
    room = await clients[0].create_room("Night Owls")
    for client in clients:
        await client.join(room["slug"])

    await sockets[-1].chat("heard by all")

    for sock in sockets:
        assert (await sock.wait_for("chat"))[0]["p"]["message"] == "heard by all"
    workers = node.children()
    assert len(workers) == 2
    node.stop()
    assert all(not _alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
