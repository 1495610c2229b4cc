"""Presence as the sockets see it: userJoin/userLeave, guests, the 30 s grace, room switches.

behaviour.md §2; login-and-socket.md §5, §8.6, §8.9; events.md `userJoin`, `userLeave`, D18,
D34, D41.
"""

from __future__ import annotations

import pytest

from tests.api.expect import GUEST_USER, ROOM_USER_KEYS
from tests.conftest import Server
from tests.gateway.helpers import (
    ack,
    authed,
    chats,
    close_and_settle,
    load_page,
    room_with,
    sync,
    wait_chat,
)
from tests.plug import PlugClient, PlugSocket


async def guest_in(
    server: Server, slug: str, with_cookie: bool = False
) -> tuple[PlugClient, PlugSocket]:
    """A guest that loads /<slug> (optionally with a cookie from mobile/init) and connects."""
    guest = server.client()
    if with_cookie:
        await guest.csrf()
    await load_page(guest, slug)
    sock = await guest.socket()
    assert (await sock.wait_for("ack")) == [ack("1", slug)]
    return guest, sock


# --------------------------------------------------------------------------------- userJoin


async def test_user_join_reaches_the_others_with_the_room_user_shape(server: Server):
    slug, (ada, cleo), (ada_sock, cleo_sock) = await room_with(server, "ada", "cleo")
    bram = await server.user("bram")
    public = (await ada.ok("GET", f"users/{bram.user_id}"))[0]

    await bram.join(slug)

    room_user = {**public, "role": 0}
    expected = {"a": "userJoin", "p": room_user, "s": slug}
    assert (await ada_sock.wait_for("userJoin", count=2))[1] == expected
    assert (await cleo_sock.wait_for("userJoin")) == [expected]
    assert set(room_user) == ROOM_USER_KEYS
    assert room_user["guest"] is False
    assert room_user["id"] == bram.user_id
    assert room_user["username"] == "bram"


async def test_user_join_is_not_sent_to_the_joiners_own_socket(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    bram = await server.user("bram")
    bram_sock = await authed(bram)

    await bram.join(slug)
    await ada_sock.wait_for("userJoin")
    await sync(ada_sock, bram_sock)

    assert bram_sock.named("userJoin") == []
    assert [e["a"] for e in bram_sock.events] == ["ack", "chat"]


async def test_the_host_joining_its_room_shows_role_5000(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    bram = await server.user("bram")
    await bram.join(room["slug"])
    bram_sock = await authed(bram)

    await ada.join(room["slug"])

    event = (await bram_sock.wait_for("userJoin"))[0]
    assert event["p"]["id"] == ada.user_id
    assert event["p"]["role"] == 5000
    assert event["s"] == room["slug"]


async def test_joining_the_room_one_is_already_in_sends_no_second_user_join(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram.join(slug)
    await sync(bram_sock, ada_sock)

    assert [e["p"]["id"] for e in ada_sock.named("userJoin")] == [bram.user_id]
    assert ada_sock.named("userLeave") == []


# ----------------------------------------------------------------------------------- guests


@pytest.mark.parametrize("with_cookie", [False, True])
async def test_a_guest_with_an_authenticated_socket_appears_as_a_guest_user_join(
    server: Server, with_cookie: bool
):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")

    guest, guest_sock = await guest_in(server, slug, with_cookie)

    assert (await ada_sock.wait_for("userJoin")) == [{"a": "userJoin", "p": GUEST_USER, "s": slug}]
    await sync(ada_sock, guest_sock)
    assert guest_sock.named("userJoin") == []


async def test_a_guest_page_load_alone_does_not_make_it_present(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest = server.client()

    await load_page(guest, slug)
    await sync(ada_sock)

    assert ada_sock.named("userJoin") == []
    state = (await ada.ok("GET", "rooms/state"))[0]
    assert state["meta"]["guests"] == 0


async def test_a_guest_leaves_30_seconds_after_its_socket_closes(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest, guest_sock = await guest_in(server, slug)
    await ada_sock.wait_for("userJoin")

    await close_and_settle(server, guest_sock)
    await server.advance(29)
    await sync(ada_sock)
    assert ada_sock.named("userLeave") == []

    await server.advance(1)
    assert (await ada_sock.wait_for("userLeave")) == [{"a": "userLeave", "p": 0, "s": slug}]


async def test_a_guest_that_reconnects_within_the_grace_period_causes_no_leave_or_join(
    server: Server,
):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest, guest_sock = await guest_in(server, slug)
    await ada_sock.wait_for("userJoin")

    await close_and_settle(server, guest_sock)
    await server.advance(20)
    again = await guest.socket()
    assert (await again.wait_for("ack")) == [ack("1", slug)]
    await server.advance(20)
    await sync(ada_sock)

    assert ada_sock.named("userLeave") == []
    assert len(ada_sock.named("userJoin")) == 1
    assert (await ada.ok("GET", "rooms/state"))[0]["meta"]["guests"] == 1


async def test_a_guest_that_reconnects_within_the_grace_period_hears_the_room_again(
    server: Server,
):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest, guest_sock = await guest_in(server, slug)
    await close_and_settle(server, guest_sock)
    await server.advance(5)
    again = await guest.socket()
    assert (await again.wait_for("ack")) == [ack("1", slug)]

    await ada_sock.chat("still with us?")

    event = await wait_chat(again, "still with us?", timeout=2.0)
    assert event["s"] == slug


async def test_a_guest_loading_another_rooms_page_moves_there(server: Server):
    first, (ada,), (ada_sock,) = await room_with(server, "ada")
    second, (cleo,), (cleo_sock,) = await room_with(server, "cleo")
    guest, guest_sock = await guest_in(server, first)
    await ada_sock.wait_for("userJoin")

    await load_page(guest, second)

    assert (await ada_sock.wait_for("userLeave")) == [{"a": "userLeave", "p": 0, "s": first}]
    assert (await cleo_sock.wait_for("userJoin")) == [
        {"a": "userJoin", "p": GUEST_USER, "s": second}
    ]
    await ada_sock.chat("old room")
    await cleo_sock.chat("new room")
    await wait_chat(guest_sock, "new room")
    await sync(ada_sock)
    assert chats(guest_sock) == ["new room"]


# ----------------------------------------------------------------- accounts and the grace


async def test_an_account_stays_30_seconds_after_its_socket_closes_then_leaves(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await close_and_settle(server, bram_sock)
    await server.advance(29)
    await sync(ada_sock)

    assert ada_sock.named("userLeave") == []
    state = (await ada.ok("GET", "rooms/state"))[0]
    assert [user["id"] for user in state["users"]] == [bram.user_id]

    await server.advance(1)

    assert (await ada_sock.wait_for("userLeave")) == [
        {"a": "userLeave", "p": bram.user_id, "s": slug}
    ]
    state = (await ada.ok("GET", "rooms/state"))[0]
    assert state["users"] == []


async def test_an_account_that_reconnects_within_the_grace_period_causes_no_leave_or_join(
    server: Server,
):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    joins_before = len(ada_sock.named("userJoin"))

    await close_and_settle(server, bram_sock)
    await server.advance(25)
    again = await bram.socket()
    assert (await again.wait_for("ack")) == [ack("1", slug)]
    await server.advance(60)
    await sync(again, ada_sock)

    assert ada_sock.named("userLeave") == []
    assert len(ada_sock.named("userJoin")) == joins_before
    assert again.named("userJoin") == again.named("userLeave") == []


async def test_the_grace_period_starts_again_after_a_second_disconnect(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await close_and_settle(server, bram_sock)
    await server.advance(25)
    again = await authed(bram)
    await server.advance(10)

    await close_and_settle(server, again)
    await server.advance(29)
    await sync(ada_sock)
    assert ada_sock.named("userLeave") == []

    await server.advance(1)
    assert (await ada_sock.wait_for("userLeave"))[0]["p"] == bram.user_id


async def test_an_account_that_joins_without_a_socket_is_dropped_after_30_seconds(
    server: Server,
):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    bram = await server.user("bram")

    await bram.join(slug)
    await ada_sock.wait_for("userJoin")
    await server.advance(29)
    await sync(ada_sock)
    assert ada_sock.named("userLeave") == []

    await server.advance(1)
    assert (await ada_sock.wait_for("userLeave")) == [
        {"a": "userLeave", "p": bram.user_id, "s": slug}
    ]


async def test_an_account_that_joins_then_connects_in_time_stays(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    bram = await server.user("bram")
    await bram.join(slug)
    await server.advance(20)

    bram_sock = await bram.socket()
    assert (await bram_sock.wait_for("ack")) == [ack("1", slug)]
    await server.advance(60)
    await sync(bram_sock, ada_sock)

    assert ada_sock.named("userLeave") == []


async def test_a_left_account_reconnecting_gets_the_dashboard(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await close_and_settle(server, bram_sock)
    await server.advance(30)
    await ada_sock.wait_for("userLeave")

    again = await bram.socket()

    assert (await again.wait_for("ack")) == [ack("1")]
    await again.chat("nobody hears me")
    await ada_sock.chat("gone for good")
    await wait_chat(ada_sock, "gone for good")
    assert chats(ada_sock) == ["gone for good"]
    assert chats(again) == []


# ------------------------------------------------------------------------- switching rooms


async def test_switching_rooms_sends_user_leave_to_the_old_room_and_user_join_to_the_new(
    server: Server,
):
    old, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    new, (cleo,), (cleo_sock,) = await room_with(server, "cleo")

    await bram.join(new)

    assert (await ada_sock.wait_for("userLeave")) == [
        {"a": "userLeave", "p": bram.user_id, "s": old}
    ]
    join = (await cleo_sock.wait_for("userJoin"))[0]
    assert join["s"] == new
    assert join["p"]["id"] == bram.user_id
    assert join["p"]["role"] == 0
    await sync(cleo_sock, bram_sock)
    assert bram_sock.named("userLeave") == bram_sock.named("userJoin") == []


async def test_after_a_switch_the_old_rooms_events_stop_and_the_new_rooms_arrive(
    server: Server,
):
    old, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    new, (cleo,), (cleo_sock,) = await room_with(server, "cleo")
    await ada_sock.chat("before the switch")
    await wait_chat(bram_sock, "before the switch")

    await bram.join(new)
    await ada_sock.wait_for("userLeave")
    await ada_sock.chat("after the switch")
    await wait_chat(ada_sock, "after the switch")
    await cleo_sock.chat("welcome in")

    arrived = await wait_chat(bram_sock, "welcome in")
    assert arrived["s"] == new
    assert chats(bram_sock) == ["before the switch", "welcome in"]
    stamps = [(e["p"]["message"], e["s"]) for e in bram_sock.named("chat")]
    assert stamps == [("before the switch", old), ("welcome in", new)]


async def test_after_a_switch_the_socket_chats_into_the_new_room(server: Server):
    old, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    new, (cleo,), (cleo_sock,) = await room_with(server, "cleo")
    await bram.join(new)
    await cleo_sock.wait_for("userJoin")

    await bram_sock.chat("hello new room")

    event = await wait_chat(cleo_sock, "hello new room")
    assert event["s"] == new
    await sync(ada_sock)
    assert chats(ada_sock) == []


async def test_a_socket_opened_after_a_switch_acks_with_the_new_rooms_slug(server: Server):
    old, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    new, (cleo,), (cleo_sock,) = await room_with(server, "cleo")
    await bram.join(new)

    again = await bram.socket()

    assert (await again.wait_for("ack")) == [ack("1", new)]


async def test_a_page_load_never_moves_a_logged_in_account(server: Server):
    old, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    new, (cleo,), (cleo_sock,) = await room_with(server, "cleo")

    await load_page(bram, new)
    await sync(ada_sock, bram_sock)
    await sync(cleo_sock)

    assert ada_sock.named("userLeave") == []
    assert cleo_sock.named("userJoin") == []
    assert (await bram.ok("GET", "rooms/state"))[0]["meta"]["slug"] == old


# --------------------------------------------------------------------- more guest entries


async def test_a_guest_that_used_rooms_join_appears_when_its_socket_authenticates(
    server: Server,
):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest = server.client()
    await guest.csrf()
    await guest.ok("POST", "rooms/join", {"slug": slug})
    await sync(ada_sock)
    assert ada_sock.named("userJoin") == []

    guest_sock = await guest.socket()

    assert (await guest_sock.wait_for("ack")) == [ack("1", slug)]
    assert (await ada_sock.wait_for("userJoin")) == [{"a": "userJoin", "p": GUEST_USER, "s": slug}]


async def test_a_guest_on_the_dashboard_that_loads_a_room_page_enters_the_room(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest = server.client()
    await guest.csrf()
    guest_sock = await guest.socket()
    assert (await guest_sock.wait_for("ack")) == [ack("1")]

    await load_page(guest, slug)

    assert (await ada_sock.wait_for("userJoin")) == [{"a": "userJoin", "p": GUEST_USER, "s": slug}]
    await ada_sock.chat("hello guest")
    assert (await wait_chat(guest_sock, "hello guest"))["s"] == slug


async def test_a_guest_that_logs_out_is_gone_from_the_room_within_30_seconds(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest, guest_sock = await guest_in(server, slug)
    await ada_sock.wait_for("userJoin")

    answer = await guest.delete("auth/session")
    assert answer.http_status == 200
    assert await guest_sock.wait_closed() == 1000
    assert guest_sock.events == [ack("1", slug), {"a": "killSession", "p": {}, "s": slug}]
    await server.advance(30)

    assert (await ada_sock.wait_for("userLeave", timeout=2.0)) == [
        {"a": "userLeave", "p": 0, "s": slug}
    ]
    assert (await ada.ok("GET", "rooms/state"))[0]["meta"]["guests"] == 0


async def test_two_guests_each_count_and_leave_separately(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    first, first_sock = await guest_in(server, slug)
    second, second_sock = await guest_in(server, slug)
    await ada_sock.wait_for("userJoin", count=2)
    assert (await ada.ok("GET", "rooms/state"))[0]["meta"]["guests"] == 2

    await close_and_settle(server, first_sock)
    await server.advance(30)

    assert (await ada_sock.wait_for("userLeave")) == [{"a": "userLeave", "p": 0, "s": slug}]
    await ada_sock.chat("one guest left")
    await wait_chat(second_sock, "one guest left")
    assert (await ada.ok("GET", "rooms/state"))[0]["meta"]["guests"] == 1
