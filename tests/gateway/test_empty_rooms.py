"""A room that stays empty leaves memory and comes back from the database on the next arrival
(docs/decisions.md, "Empty rooms leave memory")."""

from __future__ import annotations

from replug.live.hub import EMPTY_ROOM_KEPT_SECONDS
from tests.api.expect import expect_ok
from tests.conftest import Server
from tests.gateway.helpers import authed, close_and_settle, wait_chat

GRACE_SECONDS = 30


async def _room_left_empty(server: Server) -> tuple[int, str]:
    """ada hosts a room, chats in it, closes her socket, and her grace period runs out."""
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    sock = await authed(ada)
    await sock.chat("anyone here?")
    await wait_chat(sock, "anyone here?")
    await close_and_settle(server, sock)
    await server.advance(GRACE_SECONDS + 1)
    return int(room["id"]), str(room["slug"])


async def test_a_room_empty_for_ten_minutes_leaves_memory(server: Server):
    hub = server.services.hub
    room_id, _slug = await _room_left_empty(server)

    await server.advance(EMPTY_ROOM_KEPT_SECONDS - 5)
    assert await hub.forget_empty_rooms() == 0
    assert hub.live_engine(room_id) is not None

    await server.advance(10)
    assert await hub.forget_empty_rooms() == 1
    assert hub.live_engine(room_id) is None
    assert await hub.forget_empty_rooms() == 0


async def test_the_next_arrival_finds_the_room_as_the_database_has_it(server: Server):
    hub = server.services.hub
    room_id, slug = await _room_left_empty(server)
    await server.advance(EMPTY_ROOM_KEPT_SECONDS + 1)
    await hub.forget_empty_rooms()

    bram = await server.user("bram")
    await bram.join(slug)
    sock = await authed(bram)

    state = expect_ok(await bram.get("rooms/state"))[0]
    assert (state["meta"]["slug"], state["meta"]["population"]) == (slug, 1)
    assert state["users"] == []  # everyone but the caller: nobody from before
    # Chat memory is what an empty room gives up (behaviour §11 keeps no more than that).
    assert expect_ok(await bram.get("chat/history")) == [{"history": [], "users": []}]
    await sock.chat("hello again")
    await wait_chat(sock, "hello again")
    assert hub.live_engine(room_id) is not None


async def test_a_room_with_someone_in_it_stays_however_long_it_lives(server: Server):
    hub = server.services.hub
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    sock = await authed(ada)

    await server.advance(3 * EMPTY_ROOM_KEPT_SECONDS)
    assert await hub.forget_empty_rooms() == 0
    # Even when asked directly (as a node that saw it empty a moment ago would), it stays.
    await hub.forget_room_if_empty(int(room["id"]))

    assert hub.live_engine(int(room["id"])) is not None
    state = expect_ok(await ada.get("rooms/state"))[0]
    assert state["meta"]["population"] == 1
    await sock.chat("still here")
    await wait_chat(sock, "still here")


async def test_someone_arriving_just_before_the_room_is_dropped_keeps_it(server: Server):
    hub = server.services.hub
    room_id, slug = await _room_left_empty(server)
    await server.advance(EMPTY_ROOM_KEPT_SECONDS + 1)

    bram = await server.user("bram")
    await bram.join(slug)
    await hub.forget_room_if_empty(room_id)  # proposed before bram came, applied after

    assert hub.live_engine(room_id) is not None
    assert await hub.forget_empty_rooms() == 0
    state = expect_ok(await bram.get("rooms/state"))[0]
    assert state["meta"]["population"] == 1
