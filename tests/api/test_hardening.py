"""Inputs and races a careless or hostile client can produce, answered in the protocol's form."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from replug.listener import listen
from replug.services import Services
from tests.api.expect import expect_error, expect_ok
from tests.conftest import Server, server_config


@pytest.mark.parametrize("duration", ["1e30", str(2**70), "9223372036854775808", "86401"])
async def test_absurd_media_durations_are_invalid_not_a_server_error(server: Server, duration):
    ada = await server.user("ada")
    playlist = await ada.playlist(200)
    body = '{"media": [{"format": 1, "cid": "long", "duration": ' + duration + "}]}"

    answer = await ada.request(
        "POST", f"playlists/{playlist['id']}/media/insert", raw=body.encode()
    )

    assert (answer.http_status, answer.status, answer.data) == (
        400,
        "requestError",
        ["duration is invalid"],
    )


async def test_a_body_over_the_size_limit_is_refused_in_the_envelope(server: Server):
    ada = await server.user("ada")

    answer = await ada.request("POST", "playlists", raw=b'{"name": "' + b"x" * 300_000 + b'"}')

    assert (answer.http_status, answer.status) == (413, "requestError")
    assert "larger than" in answer.data[0]


async def test_rooms_created_all_at_once_still_stop_at_the_host_limit(server: Server):
    ada = await server.user("ada")

    answers = await asyncio.gather(*(ada.post("rooms", {"name": f"Room {n}"}) for n in range(9)))

    assert sorted(answer.http_status for answer in answers) == [200] * 5 + [403] * 4
    assert len(await ada.ok("GET", "rooms/me")) == 5


async def test_inserts_sent_all_at_once_still_stop_at_two_hundred_items(server: Server):
    ada = await server.user("ada")
    playlist = await ada.ok("POST", "playlists", {"name": "big"})
    batches = [
        [{"format": 1, "cid": f"c{batch}-{n}", "duration": 60} for n in range(60)]
        for batch in range(4)
    ]

    answers = await asyncio.gather(
        *(
            ada.post(f"playlists/{playlist[0]['id']}/media/insert", {"media": media})
            for media in batches
        )
    )

    assert sorted(answer.http_status for answer in answers) == [200, 200, 200, 400]
    media = await ada.ok("GET", f"playlists/{playlist[0]['id']}/media")
    assert len(media) == 180


async def test_names_with_control_or_direction_override_characters_are_refused(server: Server):
    ada = await server.user("ada")
    newcomer = server.client()
    await newcomer.csrf()

    playlist = await ada.post("playlists", {"name": "a\u0007b"})
    renamed = await ada.post("playlists", {"name": "a\nb"})
    spoofed = await newcomer.get("users/validate/%E2%80%AE%E2%80%AEab")

    assert (playlist.http_status, playlist.data) == (400, ["name is invalid"])
    assert (renamed.http_status, renamed.data) == (400, ["name is invalid"])
    assert (spoofed.http_status, spoofed.data) == (400, ["Username is invalid"])


async def test_a_second_server_on_the_same_database_fails_before_touching_plays(
    server: Server, database_url: str, start_server: Callable[[], Awaitable[Server]]
):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    await ada.playlist(200)
    await ada.ok("POST", "booth")
    second = await Services.start(server_config(database_url), server.clock)

    with pytest.raises(OSError):
        await listen(second, "127.0.0.1", server.listener.port)
    await second.stop()

    history = await ada.ok("GET", "rooms/history")
    assert history[0]["score"]["skipped"] == 0
    stored = await server.services.store.history.for_room(int(room["id"]))
    assert stored[0]["score"]["skipped"] == 0


async def test_a_nul_character_anywhere_in_a_request_is_a_clear_400(server: Server):
    ada = await server.user("ada")
    guesser = server.client()

    login = await guesser.login("\u0000ada@example.test", "hunter2hunter2")
    playlist = await ada.post("playlists", {"name": "lists", "media": [{"title": "a\u0000b"}]})
    search = await ada.get("rooms?q=%00")

    expect_error(login, 400, "requestError", "The request body holds a NUL character.")
    expect_error(playlist, 400, "requestError", "The request body holds a NUL character.")
    expect_error(search, 400, "requestError", "The request holds a NUL character.")
    assert expect_ok(await ada.get("playlists")) == []
