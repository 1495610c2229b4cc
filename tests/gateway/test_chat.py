"""Chat over the socket, deleting it over REST, and chat/history.

login-and-socket.md §8.7; conventions.md §5 and §7.2; events.md `chat`, `chatDelete`, D19–D21;
rest.md §4; behaviour.md §11.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

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
    without_sync,
)


def wire_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def now_ms(server: Server) -> int:
    return int(server.clock.now() * 1000)


# ------------------------------------------------------------------------------- relaying


async def test_chat_reaches_the_sender_and_every_member_with_exactly_five_keys(server: Server):
    slug, (ada, bram, cleo), (ada_sock, bram_sock, cleo_sock) = await room_with(
        server, "ada", "bram", "cleo"
    )

    await bram_sock.chat("hello there")

    expected = {
        "a": "chat",
        "p": {
            "cid": f"{bram.user_id}-{now_ms(server)}",
            "message": "hello there",
            "sub": 0,
            "uid": bram.user_id,
            "un": "bram",
        },
        "s": slug,
    }
    for sock in (ada_sock, bram_sock, cleo_sock):
        assert await wait_chat(sock, "hello there") == expected


async def test_the_chat_cid_is_the_sender_id_and_the_server_time_in_milliseconds(
    server: Server,
):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    server.clock.set(1_714_586_650.123)

    await ada_sock.chat("timed")

    event = await wait_chat(ada_sock, "timed")
    assert event["p"]["cid"] == f"{ada.user_id}-1714586650123"


async def test_two_messages_in_the_same_millisecond_get_distinct_cids(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    millis = now_ms(server)

    await ada_sock.chat("first")
    await ada_sock.chat("second")

    first = await wait_chat(ada_sock, "first")
    second = await wait_chat(ada_sock, "second")
    assert first["p"]["cid"] == f"{ada.user_id}-{millis}"
    assert second["p"]["cid"] == f"{ada.user_id}-{millis + 1}"


async def test_chat_ignores_the_t_field(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")

    for t in (0, 1714586650, 1714586650123, "later", None, -1):
        await ada_sock.send({"a": "chat", "p": f"t is {t}", "t": t})
    await ada_sock.send({"a": "chat", "p": "no t at all"})

    await wait_chat(ada_sock, "no t at all")
    assert len(chats(ada_sock)) == 7


async def test_a_member_of_another_room_does_not_receive_the_chat(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    other, (cleo,), (cleo_sock,) = await room_with(server, "cleo")

    await bram_sock.chat("only for ada")
    await wait_chat(ada_sock, "only for ada")
    await sync(cleo_sock)

    assert chats(cleo_sock) == []


async def test_an_account_not_in_a_room_cannot_chat(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    bram = await server.user("bram")
    bram_sock = await authed(bram)

    await bram_sock.chat("from the dashboard")
    await bram.join(slug)
    await bram_sock.chat("from the room")

    await wait_chat(ada_sock, "from the room")
    await wait_chat(bram_sock, "from the room")
    assert chats(ada_sock) == ["from the room"]
    assert chats(bram_sock) == ["from the room"]


async def test_a_guest_cannot_chat(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest = server.client()
    await load_page(guest, slug)
    guest_sock = await guest.socket()
    assert (await guest_sock.wait_for("ack")) == [ack("1", slug)]

    await guest_sock.chat("I have no name")
    await guest_sock.send({"a": "chat", "p": "/me lurks", "t": 0})
    await sync(ada_sock, guest_sock)

    assert chats(ada_sock) == []
    assert chats(guest_sock) == []
    history = (await ada.ok("GET", "chat/history"))[0]["history"]
    assert [line["uid"] for line in history] == [ada.user_id]  # only the sync mark


async def test_a_guest_in_the_room_receives_members_chat(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    guest = server.client()
    await load_page(guest, slug)
    guest_sock = await guest.socket()
    await guest_sock.wait_for("ack")

    await ada_sock.chat("welcome, whoever you are")

    event = await wait_chat(guest_sock, "welcome, whoever you are")
    assert event["s"] == slug
    assert event["p"]["uid"] == ada.user_id


# ------------------------------------------------------------------------------ text rules


async def relay(server: Server, sent: Any) -> tuple[list[str], list[str]]:
    """Send one chat `p` from bram; return what ada and bram received (sync marks removed)."""
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await bram_sock.send({"a": "chat", "p": sent, "t": 0})
    await sync(bram_sock, ada_sock)
    return chats(ada_sock), chats(bram_sock)


async def test_chat_text_is_html_escaped(server: Server):
    received = await relay(server, "<b>\"x\"&'y'</b>")

    assert received == (["&lt;b&gt;&#34;x&#34;&amp;&#39;y&#39;&lt;/b&gt;"],) * 2


async def test_chat_escaping_matches_the_spec_example(server: Server):
    received = await relay(server, "<b>\"x\"&'y'")

    assert received == (["&lt;b&gt;&#34;x&#34;&amp;&#39;y&#39;"],) * 2


async def test_an_already_escaped_looking_text_is_escaped_again(server: Server):
    assert await relay(server, "&amp; &lt;") == (["&amp;amp; &amp;lt;"],) * 2


@pytest.mark.parametrize(
    "text", ["line one\nline two", "line one\rline two", "ends with newline\n", "\r\n", "a\r"]
)
async def test_a_message_with_a_line_break_is_dropped(server: Server, text: str):
    assert await relay(server, text) == ([], [])


@pytest.mark.parametrize("text", ["", " ", "   \t  ", "\t", "\u00a0 \u2003"])
async def test_an_empty_or_whitespace_only_message_is_dropped(server: Server, text: str):
    assert await relay(server, text) == ([], [])


async def test_surrounding_whitespace_is_trimmed(server: Server):
    assert await relay(server, "  \t spaced out \t ") == (["spaced out"],) * 2


@pytest.mark.parametrize(
    "text", ["/me waves at everyone", "/em dances", "/me", "/clear", "/help me"]
)
async def test_emotes_and_commands_are_relayed_verbatim(server: Server, text: str):
    assert await relay(server, text) == ([text],) * 2


async def test_a_long_message_is_cut_to_250_bytes(server: Server):
    assert await relay(server, "a" * 300) == (["a" * 250],) * 2


async def test_a_message_of_exactly_250_bytes_is_kept_whole(server: Server):
    assert await relay(server, "b" * 250) == (["b" * 250],) * 2


async def test_the_250_byte_cut_is_measured_after_escaping(server: Server):
    # 100 ampersands escape to 500 bytes; 50 whole entities fit.
    assert await relay(server, "&" * 100) == (["&amp;" * 50],) * 2


async def test_the_cut_never_splits_an_entity(server: Server):
    # "a" + 50 entities would be 251 bytes; the half entity at the end goes.
    assert await relay(server, "a" + "&" * 100) == (["a" + "&amp;" * 49],) * 2


async def test_the_cut_never_splits_a_utf8_sequence(server: Server):
    # "a" + 125 two-byte characters would be 251 bytes.
    assert await relay(server, "a" + "é" * 200) == (["a" + "é" * 124],) * 2


async def test_multibyte_text_is_cut_on_its_byte_length(server: Server):
    assert await relay(server, "é" * 200) == (["é" * 125],) * 2


async def test_four_byte_characters_are_cut_whole(server: Server):
    # Each note is 4 bytes: 62 of them are 248 bytes, a 63rd would make 252.
    assert await relay(server, "\U0001f3b5" * 70) == (["\U0001f3b5" * 62],) * 2


@pytest.mark.parametrize(("sent", "text"), [(42, "42"), (0, "0"), (-7, "-7"), (1.5, "1.5")])
async def test_a_number_sent_as_p_is_relayed_as_text(server: Server, sent: Any, text: str):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    await bram_sock.send({"a": "chat", "p": sent, "t": 0})

    event = await wait_chat(ada_sock, text)
    assert isinstance(event["p"]["message"], str)
    assert event["p"]["uid"] == bram.user_id


# -------------------------------------------------------------------------------- deletion


async def test_the_host_deletes_a_message_and_the_room_gets_chat_delete(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await bram_sock.chat("delete me")
    cid = (await wait_chat(ada_sock, "delete me"))["p"]["cid"]

    answer = await ada.delete(f"chat/{cid}")

    assert answer.http_status == 200 and answer.status == "ok" and answer.data == []
    expected = {"a": "chatDelete", "p": {"c": cid, "mi": ada.user_id}, "s": slug}
    assert (await ada_sock.wait_for("chatDelete")) == [expected]
    assert (await bram_sock.wait_for("chatDelete")) == [expected]


async def test_a_member_without_staff_role_cannot_delete_chat(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await ada_sock.chat("mine")
    cid = (await wait_chat(bram_sock, "mine"))["p"]["cid"]

    answer = await bram.delete(f"chat/{cid}")

    assert answer.http_status == 403
    assert answer.status == "notAuthorized"
    await sync(ada_sock, bram_sock)
    assert ada_sock.named("chatDelete") == bram_sock.named("chatDelete") == []
    history = (await ada.ok("GET", "chat/history"))[0]["history"]
    assert history[0]["cid"] == cid
    assert [line["message"] for line in history] == ["mine", history[1]["message"]]


async def test_a_member_cannot_delete_even_their_own_message(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await bram_sock.chat("oops")
    cid = (await wait_chat(bram_sock, "oops"))["p"]["cid"]

    answer = await bram.delete(f"chat/{cid}")

    assert (answer.http_status, answer.status) == (403, "notAuthorized")


async def test_deleting_an_unknown_cid_succeeds_without_an_event(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")

    answer = await ada.delete(f"chat/{bram.user_id}-1234")

    assert answer.http_status == 200 and answer.data == []
    await sync(ada_sock, bram_sock)
    assert ada_sock.named("chatDelete") == []


async def test_deleting_a_message_twice_sends_chat_delete_once(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await bram_sock.chat("twice")
    cid = (await wait_chat(ada_sock, "twice"))["p"]["cid"]

    await ada.ok("DELETE", f"chat/{cid}")
    await ada.ok("DELETE", f"chat/{cid}")
    await sync(ada_sock, bram_sock)

    assert len(bram_sock.named("chatDelete")) == 1


async def test_chat_delete_does_not_reach_another_room(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    other, (cleo,), (cleo_sock,) = await room_with(server, "cleo")
    await bram_sock.chat("local")
    cid = (await wait_chat(ada_sock, "local"))["p"]["cid"]

    await ada.ok("DELETE", f"chat/{cid}")
    await ada_sock.wait_for("chatDelete")
    await sync(cleo_sock)

    assert cleo_sock.named("chatDelete") == []


# ------------------------------------------------------------------------------- history


async def test_chat_history_lists_messages_oldest_first_with_every_author(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    sent = []
    for sock, text in ((ada_sock, "one"), (bram_sock, "two"), (ada_sock, "three")):
        await sock.chat(text)
        sent.append((await wait_chat(ada_sock, text))["p"])
        server.clock.advance(1)

    history = (await bram.ok("GET", "chat/history"))[0]

    assert set(history) == {"history", "users"}
    start = server.clock.now() - 3
    assert history["history"] == [
        {**payload, "timestamp": wire_time(start + index)} for index, payload in enumerate(sent)
    ]
    users = {user["id"]: user for user in history["users"]}
    assert set(users) == {ada.user_id, bram.user_id}
    assert len(history["users"]) == 2
    assert users[ada.user_id]["username"] == "ada"
    assert users[bram.user_id]["username"] == "bram"


async def test_chat_history_keeps_authors_who_have_left(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await bram_sock.chat("bye all")
    await wait_chat(ada_sock, "bye all")
    await bram.join((await bram.create_room("Bram's place"))["slug"])
    await ada_sock.wait_for("userLeave")

    history = (await ada.ok("GET", "chat/history"))[0]

    assert [line["message"] for line in history["history"]] == ["bye all"]
    assert [user["id"] for user in history["users"]] == [bram.user_id]
    assert history["users"][0]["username"] == "bram"


async def test_a_deleted_message_disappears_from_chat_history(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    for text in ("keep one", "remove me", "keep two"):
        await bram_sock.chat(text)
        await wait_chat(ada_sock, text)
        server.clock.advance(0.5)
    removed = [e["p"]["cid"] for e in ada_sock.named("chat") if e["p"]["message"] == "remove me"]

    await ada.ok("DELETE", f"chat/{removed[0]}")

    history = (await ada.ok("GET", "chat/history"))[0]
    assert [line["message"] for line in history["history"]] == ["keep one", "keep two"]
    assert removed[0] not in [line["cid"] for line in history["history"]]


async def test_chat_history_holds_the_last_30_messages(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    for index in range(35):
        await ada_sock.chat(f"n{index}")
    await wait_chat(ada_sock, "n34")

    history = (await ada.ok("GET", "chat/history"))[0]["history"]

    assert [line["message"] for line in history] == [f"n{index}" for index in range(5, 35)]


async def test_dropped_messages_never_reach_chat_history(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await bram_sock.chat("bad\nline")
    await bram_sock.chat("   ")
    await bram_sock.chat("fine")
    await wait_chat(ada_sock, "fine")

    history = (await ada.ok("GET", "chat/history"))[0]["history"]

    assert [line["message"] for line in history] == ["fine"]


async def test_a_guest_in_the_room_can_read_chat_history(server: Server):
    slug, (ada,), (ada_sock,) = await room_with(server, "ada")
    await ada_sock.chat("for the record")
    await wait_chat(ada_sock, "for the record")
    guest = server.client()
    await load_page(guest, slug)

    history = (await guest.ok("GET", "chat/history"))[0]

    assert [line["message"] for line in history["history"]] == ["for the record"]
    assert [user["id"] for user in history["users"]] == [ada.user_id]


async def test_chat_reaches_a_member_who_reconnected(server: Server):
    slug, (ada, bram), (ada_sock, bram_sock) = await room_with(server, "ada", "bram")
    await close_and_settle(server, bram_sock)
    again = await authed(bram)

    await ada_sock.chat("you are back")

    await wait_chat(again, "you are back")
    assert without_sync(again.events)[0] == ack("1", slug)
    assert ada_sock.named("userLeave") == []
    assert [e["p"]["id"] for e in ada_sock.named("userJoin")] == [bram.user_id]
