"""The socket itself: handshake, auth/ack, ignored input, limits, heartbeat, killSession.

login-and-socket.md §8.1–§8.5 and §8.8; events.md D9–D11, D39.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

import replug.gateway.server as gateway_server
from tests.conftest import Server
from tests.gateway.helpers import (
    ack,
    authed,
    chats,
    close_and_settle,
    event_frames,
    handshake_status,
    raw_socket,
    room_with,
    sync,
    wait_chat,
    without_sync,
)
from tests.plug import PlugSocket

StartServer = Callable[[], Awaitable[Server]]
KIB16 = 16 * 1024


def chat_frame_of_size(size: int) -> str:
    """A chat message whose JSON text frame is exactly `size` bytes long."""
    empty = orjson.dumps({"a": "chat", "p": "", "t": 0})
    return orjson.dumps({"a": "chat", "p": "x" * (size - len(empty)), "t": 0}).decode()


# ------------------------------------------------------------------------------- handshake


async def test_the_handshake_accepts_the_plug_dj_origin(server: Server):
    assert await handshake_status(server, "https://plug.dj") == 101


async def test_the_handshake_accepts_the_servers_own_origin(server: Server):
    user = await server.user()
    sock = await user.socket(origin=server.base_url)

    assert (await sock.wait_for("ack")) == [ack("1")]


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://plug.dj", "https://plug.dj.evil.example", "null"],
)
async def test_the_handshake_refuses_any_other_origin_with_http_403(server: Server, origin: str):
    assert await handshake_status(server, origin) == 403


async def test_the_handshake_refuses_a_missing_origin_with_http_403(server: Server):
    assert await handshake_status(server, None) == 403


async def test_a_refused_handshake_does_not_stop_the_server_from_serving_others(server: Server):
    assert await handshake_status(server, "https://evil.example") == 403
    user = await server.user()

    sock = await user.socket()

    assert (await sock.wait_for("ack")) == [ack("1")]


# ------------------------------------------------------------------------------- auth / ack


async def test_a_valid_token_gets_exactly_ack_string_1_on_dashboard(server: Server):
    user = await server.user()

    sock = await user.socket()
    await sock.wait_for("ack")
    await asyncio.sleep(0.05)

    assert event_frames(sock) == [[{"a": "ack", "p": "1", "s": "dashboard"}]]
    assert isinstance(sock.events[0]["p"], str)
    assert not sock.ws.closed


async def test_the_ack_carries_the_room_slug_when_the_account_is_already_in_a_room(
    server: Server,
):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])

    sock = await ada.socket()

    assert (await sock.wait_for("ack")) == [ack("1", room["slug"])]


@pytest.mark.parametrize("token", ["not-a-token", "", "A" * 172])
async def test_an_unknown_token_gets_ack_0_on_dashboard_and_the_socket_is_closed(
    server: Server, token: str
):
    sock = await raw_socket(server)

    await sock.send({"a": "auth", "p": token, "t": 0})

    await sock.wait_closed()
    assert event_frames(sock) == [[{"a": "ack", "p": "0", "s": "dashboard"}]]


@pytest.mark.parametrize("token", [12345, None, True, ["token"], {"token": "x"}])
async def test_a_token_that_is_not_a_string_gets_ack_0_and_the_socket_is_closed(
    server: Server, token: Any
):
    sock = await raw_socket(server)

    await sock.send({"a": "auth", "p": token, "t": 0})

    await sock.wait_closed()
    assert sock.events == [ack("0")]


async def test_the_real_token_wrapped_in_an_object_is_not_accepted(server: Server):
    user = await server.user()
    token = await user.token()
    sock = await raw_socket(server)

    await sock.send({"a": "auth", "p": {"token": token}, "t": 0})

    await sock.wait_closed()
    assert sock.events == [ack("0")]


async def test_an_auth_without_p_gets_ack_0_and_the_socket_is_closed(server: Server):
    sock = await raw_socket(server)

    await sock.send({"a": "auth", "t": 0})

    await sock.wait_closed()
    assert sock.events == [ack("0")]


@pytest.mark.parametrize("t", [0, 1714586649, 1714586650123, -5, "soon", None])
async def test_the_t_field_of_auth_never_matters(server: Server, t: Any):
    user = await server.user()
    token = await user.token()
    sock = await raw_socket(server)

    await sock.send({"a": "auth", "p": token, "t": t})

    assert (await sock.wait_for("ack")) == [ack("1")]


async def test_a_guest_session_token_is_accepted_with_ack_1(server: Server):
    guest = server.client()
    await guest.csrf()  # mobile/init gives a guest session

    sock = await guest.socket()

    assert (await sock.wait_for("ack")) == [ack("1")]


# ----------------------------------------------------------------------- ignored messages


async def test_chat_before_auth_goes_nowhere(server: Server):
    slug, (ada, bram), (ada_sock, _first) = await room_with(server, "ada", "bram")
    await close_and_settle(server, _first)
    bram_sock = await raw_socket(server)

    await bram_sock.chat("too early")
    await bram_sock.send({"a": "auth", "p": await bram.token(), "t": 0})
    await bram_sock.wait_for("ack")
    await bram_sock.chat("on time")

    await wait_chat(ada_sock, "on time")
    await sync(ada_sock, bram_sock)
    assert chats(ada_sock) == ["on time"]
    assert chats(bram_sock) == ["on time"]
    assert bram_sock.events[0] == ack("1", slug)


ODD_FRAMES: list[str | bytes] = [
    "{not json",
    "",
    "[]",
    '[{"a": "chat", "p": "in an array", "t": 0}]',
    "42",
    '"auth"',
    "null",
    "true",
    '{"a": "vote", "p": 1, "t": 0}',
    '{"a": "AUTH", "p": "x", "t": 0}',
    '{"p": "no action", "t": 0}',
    '{"a": 7, "p": "x"}',
    b"\x00\x01binary",
    b'{"a": "chat", "p": "binary chat", "t": 0}',
]


async def send_odd(sock: PlugSocket, frame: str | bytes) -> None:
    if isinstance(frame, bytes):
        await sock.ws.send_bytes(frame)
    else:
        await sock.ws.send_str(frame)


async def test_odd_frames_before_auth_are_ignored_and_a_later_auth_still_works(
    server: Server,
):
    user = await server.user()
    sock = await raw_socket(server)

    for frame in ODD_FRAMES:
        await send_odd(sock, frame)
    await sock.send({"a": "auth", "p": await user.token(), "t": 0})

    await sock.wait_for("ack")
    await asyncio.sleep(0.05)
    assert sock.events == [ack("1")]
    assert not sock.ws.closed


async def test_odd_frames_after_auth_are_ignored_and_chat_still_works(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    for frame in ODD_FRAMES:
        await send_odd(bram_sock, frame)
    await bram_sock.chat("still here")

    await wait_chat(ada_sock, "still here")
    await wait_chat(bram_sock, "still here")
    assert chats(ada_sock) == ["still here"]
    assert bram_sock.events == [
        ack("1", slug),
        {"a": "chat", "p": bram_sock.named("chat")[0]["p"], "s": slug},
    ]


@pytest.mark.parametrize(
    "payload",
    [None, True, False, {"text": "hi"}, ["hi"], "   "],
)
async def test_chat_with_a_payload_that_is_not_text_is_ignored(server: Server, payload: Any):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram_sock.send({"a": "chat", "p": payload, "t": 0})
    await bram_sock.send({"a": "chat", "t": 0})
    await bram_sock.chat("after")

    await wait_chat(ada_sock, "after")
    assert chats(ada_sock) == ["after"]
    assert not bram_sock.ws.closed


# --------------------------------------------------------------------------- frame size


async def test_a_frame_over_16_kib_closes_the_socket_with_1009(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram_sock.ws.send_str(chat_frame_of_size(KIB16 + 1))

    assert await bram_sock.wait_closed() == 1009
    assert bram_sock.named("chat") == []


async def test_an_unauthenticated_frame_over_16_kib_closes_the_socket_with_1009(
    server: Server,
):
    sock = await raw_socket(server)

    await sock.ws.send_str("x" * (KIB16 * 4))

    assert await sock.wait_closed() == 1009
    assert sock.events == []


async def test_after_an_oversize_frame_the_server_keeps_serving_others(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await bram_sock.ws.send_str(chat_frame_of_size(KIB16 + 1))
    assert await bram_sock.wait_closed() == 1009

    await ada_sock.chat("anyone there?")
    await wait_chat(ada_sock, "anyone there?")
    cleo = await server.user("cleo")
    cleo_sock = await cleo.socket()

    assert (await cleo_sock.wait_for("ack")) == [ack("1")]
    bram_again = await bram.socket()
    assert (await bram_again.wait_for("ack")) == [ack("1", slug)]


async def test_a_frame_of_exactly_16_kib_is_accepted(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram_sock.ws.send_str(chat_frame_of_size(KIB16))

    echo = await wait_chat(bram_sock, "x" * 250, timeout=2.0)
    assert echo["p"]["uid"] == bram.user_id
    assert (await wait_chat(ada_sock, "x" * 250)) == echo
    assert not bram_sock.ws.closed


async def test_a_large_frame_under_the_limit_is_accepted_and_cut_to_250_bytes(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram_sock.ws.send_str(chat_frame_of_size(KIB16 - 100))

    await wait_chat(ada_sock, "x" * 250)
    assert not bram_sock.ws.closed


# ------------------------------------------------------------------------- auth deadline


async def test_an_unauthenticated_socket_is_closed_at_the_auth_deadline(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(gateway_server, "AUTH_DEADLINE_SECONDS", 0.3)
    server = await start_server()
    sock = await raw_socket(server)

    await sock.wait_closed(timeout=3.0)

    assert sock.events == []
    assert sock.ws.closed


async def test_a_socket_that_sends_only_other_messages_is_still_closed_at_the_auth_deadline(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(gateway_server, "AUTH_DEADLINE_SECONDS", 0.3)
    server = await start_server()
    sock = await raw_socket(server)

    for _ in range(5):
        await sock.chat("let me in")
        await asyncio.sleep(0.05)

    await sock.wait_closed(timeout=3.0)
    assert sock.events == []


async def test_a_socket_that_authenticates_before_the_deadline_stays_open_after_it(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(gateway_server, "AUTH_DEADLINE_SECONDS", 0.6)
    server = await start_server()
    slug, (ada,), (first,) = await room_with(server, "ada")
    await close_and_settle(server, first)
    sock = await raw_socket(server)
    await asyncio.sleep(0.3)  # auth need not be immediate (plug-socket waits a second)

    await sock.send({"a": "auth", "p": await ada.token(), "t": 0})
    await sock.wait_for("ack")
    await asyncio.sleep(0.6)

    assert not sock.ws.closed
    await sock.chat("still open")
    await wait_chat(sock, "still open")
    assert sock.events[0] == ack("1", slug)


def test_the_default_auth_deadline_is_30_seconds_and_the_heartbeat_10():
    assert gateway_server.AUTH_DEADLINE_SECONDS == 30
    assert gateway_server.HEARTBEAT_SECONDS == 10


# ---------------------------------------------------------------------------- heartbeat


async def test_heartbeats_reach_authenticated_and_unauthenticated_sockets(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(gateway_server, "HEARTBEAT_SECONDS", 0.1)
    server = await start_server()
    user = await server.user()
    unauthenticated = await raw_socket(server)
    authenticated = await authed(user)

    await asyncio.sleep(0.65)

    for sock in (unauthenticated, authenticated):
        assert 3 <= sock.heartbeats <= 10
        assert [frame for frame in sock.frames if not frame.startswith("[")] == ["h"] * (
            sock.heartbeats
        )
    assert unauthenticated.events == []
    assert authenticated.events == [ack("1")]


async def test_heartbeats_keep_their_pace_while_chat_flows(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(gateway_server, "HEARTBEAT_SECONDS", 0.1)
    server = await start_server()
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    start = ada_sock.heartbeats

    for index in range(8):
        await bram_sock.chat(f"busy {index}")
        await asyncio.sleep(0.08)

    await wait_chat(ada_sock, "busy 7")
    assert ada_sock.heartbeats - start >= 4


# --------------------------------------------------------------------------- second auth


async def test_a_second_auth_with_the_same_token_is_ignored(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram_sock.send({"a": "auth", "p": await bram.token(), "t": 0})
    await sync(bram_sock, ada_sock)

    assert without_sync(bram_sock.events) == [ack("1", slug)]
    assert not bram_sock.ws.closed


async def test_a_second_auth_with_a_bad_token_is_ignored_and_does_not_close(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram_sock.send({"a": "auth", "p": "garbage", "t": 0})
    await bram_sock.send({"a": "auth", "p": 5, "t": 0})
    await sync(bram_sock, ada_sock)

    assert without_sync(bram_sock.events) == [ack("1", slug)]
    assert not bram_sock.ws.closed


async def test_a_second_auth_with_another_accounts_token_does_not_switch_accounts(
    server: Server,
):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    cleo = await server.user("cleo")

    await bram_sock.send({"a": "auth", "p": await cleo.token(), "t": 0})
    await bram_sock.chat("who am I")

    event = await wait_chat(ada_sock, "who am I")
    assert event["p"]["uid"] == bram.user_id
    assert event["p"]["un"] == "bram"
    assert [e["a"] for e in bram_sock.events] == ["ack", "chat"]


# ---------------------------------------------------------------- one socket per account


async def test_a_second_socket_for_an_account_sends_kill_session_to_the_first_and_closes_it(
    server: Server,
):
    slug, (ada, bram), (ada_sock, first) = await room_with(server, "ada", "bram")

    second = await bram.socket()

    assert (await second.wait_for("ack")) == [ack("1", slug)]
    assert await first.wait_closed() == 1000
    assert event_frames(first) == [
        [{"a": "ack", "p": "1", "s": slug}],
        [{"a": "killSession", "p": {}, "s": slug}],
    ]


async def test_kill_session_on_the_dashboard_is_stamped_dashboard(server: Server):
    bram = await server.user("bram")
    first = await authed(bram)

    second = await bram.socket()

    assert (await second.wait_for("ack")) == [ack("1")]
    assert await first.wait_closed() == 1000
    assert first.events == [ack("1"), {"a": "killSession", "p": {}, "s": "dashboard"}]


async def test_a_replaced_socket_does_not_make_the_account_leave_its_room(server: Server):
    slug, (ada, bram), (ada_sock, first) = await room_with(server, "ada", "bram")
    joins = len(ada_sock.named("userJoin"))

    second = await bram.socket()
    await second.wait_for("ack")
    await first.wait_closed()
    await asyncio.sleep(0.05)
    await server.advance(31)
    await sync(ada_sock, second)

    assert ada_sock.named("userLeave") == []
    assert len(ada_sock.named("userJoin")) == joins
    state = (await ada.ok("GET", "rooms/state"))[0]
    assert [user["id"] for user in state["users"]] == [bram.user_id]


async def test_room_events_reach_only_the_newest_socket_of_an_account(server: Server):
    slug, (ada, bram), (ada_sock, first) = await room_with(server, "ada", "bram")
    second = await authed(bram)
    await first.wait_closed()

    await ada_sock.chat("for the new one")

    await wait_chat(second, "for the new one")
    assert first.named("chat") == []


async def test_the_replaced_socket_can_no_longer_chat(server: Server):
    slug, (ada, bram), (ada_sock, first) = await room_with(server, "ada", "bram")
    second = await authed(bram)
    await first.wait_closed()

    await second.chat("from the new socket")

    await wait_chat(ada_sock, "from the new socket")
    assert chats(ada_sock) == ["from the new socket"]


# ------------------------------------------------------------------------------- logout


async def test_logout_sends_kill_session_closes_the_socket_and_leaves_the_room_at_once(
    server: Server,
):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    answer = await bram.delete("auth/session")

    assert answer.http_status == 200 and answer.body["data"] == []
    assert await bram_sock.wait_closed() == 1000
    assert bram_sock.events == [ack("1", slug), {"a": "killSession", "p": {}, "s": slug}]
    assert (await ada_sock.wait_for("userLeave")) == [
        {"a": "userLeave", "p": bram.user_id, "s": slug}
    ]
    state = (await ada.ok("GET", "rooms/state"))[0]
    assert state["users"] == []


async def test_after_logout_the_old_socket_token_gets_ack_0(server: Server):
    bram = await server.user("bram")
    token = await bram.token()
    bram_sock = await authed(bram)
    await bram.delete("auth/session")
    await bram_sock.wait_closed()

    sock = await raw_socket(server)
    await sock.send({"a": "auth", "p": token, "t": 0})

    await sock.wait_closed()
    assert sock.events == [ack("0")]


async def test_logging_another_account_into_the_session_kills_the_old_accounts_socket(
    server: Server,
):
    slug, (ada, shared), (ada_sock, shared_sock) = await room_with(server, "ada", "bram")
    cleo = await server.user("cleo")

    assert (await shared.login(str(cleo.email), "hunter2hunter2")).http_status == 200

    assert await shared_sock.wait_closed() == 1000
    assert shared_sock.events == [ack("1", slug), {"a": "killSession", "p": {}, "s": slug}]


async def test_an_account_whose_socket_was_ended_by_a_login_switch_leaves_after_30_seconds(
    server: Server,
):
    slug, (ada, shared), (ada_sock, shared_sock) = await room_with(server, "ada", "bram")
    bram_id = shared.user_id
    cleo = await server.user("cleo")
    await shared.login(str(cleo.email), "hunter2hunter2")
    await shared_sock.wait_closed()
    await asyncio.sleep(0.05)

    await server.advance(30)

    assert (await ada_sock.wait_for("userLeave", timeout=2.0)) == [
        {"a": "userLeave", "p": bram_id, "s": slug}
    ]


async def test_logging_out_a_session_whose_socket_was_replaced_keeps_the_account_in_its_room(
    server: Server,
):
    slug, (ada, bram), (ada_sock, first) = await room_with(server, "ada", "bram")
    elsewhere = server.client()
    assert (await elsewhere.login(str(bram.email), "hunter2hunter2")).http_status == 200
    second = await authed(elsewhere)
    assert await first.wait_closed() == 1000

    await bram.ok("DELETE", "auth/session")
    await server.advance(31)
    await sync(ada_sock, second)

    assert ada_sock.named("userLeave") == []
    assert second.named("killSession") == []
    assert not second.ws.closed
    state = (await ada.ok("GET", "rooms/state"))[0]
    assert [user["id"] for user in state["users"]] == [bram.user_id]


# ------------------------------------------------------------------------ frame framing


async def test_every_event_frame_is_an_array_of_exactly_one_event(server: Server):
    slug, (ada, bram, cleo), socks = await room_with(server, "ada", "bram", "cleo")
    ada_sock, bram_sock, cleo_sock = socks
    dex = await server.user("dex")
    await dex.join(slug)
    for index in range(5):
        await bram_sock.chat(f"one {index}")
        await ada_sock.chat(f"two {index}")
    await dex.join((await dex.create_room("Elsewhere"))["slug"])
    await sync(cleo_sock, ada_sock, bram_sock)

    for sock in socks:
        frames = event_frames(sock)
        assert len(frames) == len(sock.events) >= 12
        for frame in frames:
            assert isinstance(frame, list) and len(frame) == 1
            assert set(frame[0]) == {"a", "p", "s"}
            assert frame[0]["s"] == slug or frame[0]["a"] == "ack"


async def test_events_arrive_in_the_same_order_on_every_socket_of_a_room(server: Server):
    slug, _, socks = await room_with(server, "ada", "bram", "cleo")

    for index in range(6):
        await socks[index % 3].chat(f"message {index}")
    for sock in socks:
        await wait_chat(sock, "message 5")

    orders = [chats(sock) for sock in socks]
    assert orders[0] == orders[1] == orders[2]
    assert sorted(orders[0]) == [f"message {index}" for index in range(6)]
