"""Rooms over REST: create, validate, list, rooms/me, join, state and history.

Spec: rest.md §0 and §3, conventions.md §2–§3, §7.3 and §8.5, login-and-socket.md §5.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.expect import (
    MEDIA_KEYS,
    NOT_AUTHORIZED,
    ROOM_USER_KEYS,
    expect_error,
    expect_ok,
    guest,
)
from tests.conftest import Server
from tests.plug import PlugClient

NOT_IN_ROOM = "not in a room."
UNAVAILABLE = "Room name unavailable"
LISTING_KEYS = {
    "capacity",
    "cid",
    "dj",
    "favorite",
    "format",
    "guests",
    "host",
    "id",
    "image",
    "media",
    "name",
    "nsfw",
    "population",
    "private",
    "slug",
}
STATE_KEYS = {"booth", "fx", "grabs", "meta", "mutes", "playback", "role", "users", "votes"}
META_KEYS = {
    "description",
    "favorite",
    "guests",
    "hostID",
    "hostName",
    "id",
    "minChatLevel",
    "name",
    "population",
    "slug",
    "welcome",
}


# --------------------------------------------------------------------------- helpers


async def listing(client: PlugClient, query: str = "") -> list[dict[str, Any]]:
    return expect_ok(await client.get(f"rooms{query}"))


def names(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["name"] for entry in entries]


async def state(client: PlugClient) -> dict[str, Any]:
    data = expect_ok(await client.get("rooms/state"))
    assert len(data) == 1
    return dict(data[0])


async def play_in_a_new_room(client: PlugClient) -> dict[str, Any]:
    """`client` hosts "Night Owls", joins it and DJs one 180 s song; answers the playlist."""
    room = await client.create_room("Night Owls")
    await client.join(room["slug"])
    playlist = await client.playlist(180)
    await client.ok("POST", "booth")
    return playlist


# ------------------------------------------------------------------------ POST rooms


async def test_creating_a_room_answers_exactly_id_name_and_slug(server: Server):
    ada = await server.user("ada")

    data = expect_ok(await ada.post("rooms", {"name": "Night Owls"}))

    assert len(data) == 1
    assert set(data[0]) == {"id", "name", "slug"}
    assert isinstance(data[0]["id"], int) and data[0]["id"] > 0
    assert data[0]["name"] == "Night Owls"
    assert data[0]["slug"] == "night-owls"


async def test_creating_a_room_slugs_angle_brackets_as_lt_and_gt_and_escapes_the_name(
    server: Server,
):
    ada = await server.user("ada")

    room = expect_ok(await ada.post("rooms", {"name": "Night <Owls>"}))[0]

    assert room["slug"] == "night-lt-owls-gt"
    assert room["name"] == "Night &lt;Owls&gt;"


async def test_creating_a_room_slugs_apostrophes_and_runs_of_symbols_to_one_dash(server: Server):
    ada = await server.user("ada")

    first = expect_ok(await ada.post("rooms", {"name": "Ada's Room"}))[0]
    second = expect_ok(await ada.post("rooms", {"name": "--Jazz  &  Blues!!"}))[0]

    assert first["slug"] == "ada-s-room"
    assert second["slug"] == "jazz-blues"


async def test_creating_a_room_does_not_join_it(server: Server):
    ada = await server.user("ada")
    await ada.create_room("Night Owls")

    expect_error(await ada.get("rooms/state"), 400, "requestError", NOT_IN_ROOM)


async def test_the_creator_becomes_host_with_role_5000(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])

    room_state = await state(ada)

    assert room_state["role"] == 5000
    assert room_state["meta"]["hostID"] == ada.user_id
    assert room_state["meta"]["hostName"] == "ada"


async def test_a_private_room_gets_a_random_numeric_slug_starting_with_a_dash(server: Server):
    ada = await server.user("ada")

    first = expect_ok(await ada.post("rooms", {"name": "Secret Den", "private": True}))[0]
    second = expect_ok(await ada.post("rooms", {"name": "Secret Den", "private": True}))[0]

    for room in (first, second):
        assert set(room) == {"id", "name", "slug"}
        assert re.fullmatch(r"-\d+", room["slug"]), room
        assert room["name"] == "Secret Den"
    assert first["slug"] != second["slug"]


async def test_a_private_room_can_be_joined_by_its_slug(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    room = await ada.create_room("Secret Den", private=True)

    await bram.join(room["slug"])

    assert (await state(bram))["meta"]["slug"] == room["slug"]


async def test_creating_a_room_whose_slug_is_taken_is_room_name_unavailable(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    await ada.create_room("Night Owls")

    answer = await bram.post("rooms", {"name": "night owls!"})

    expect_error(answer, 400, "requestError", UNAVAILABLE)


@pytest.mark.parametrize("name", ["Socket", "dashboard", "Plug Socket Test"])
async def test_creating_a_room_with_a_reserved_slug_is_room_name_unavailable(
    server: Server, name: str
):
    ada = await server.user("ada")

    answer = await ada.post("rooms", {"name": name})

    expect_error(answer, 400, "requestError", UNAVAILABLE)


async def test_creating_a_room_whose_name_yields_no_slug_is_refused(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("rooms", {"name": "!!!"})

    # rest.md §3 allows either text for this case.
    expect_error(answer, 400, "requestError")
    assert answer.data[0] in (UNAVAILABLE, "name is invalid")


@pytest.mark.parametrize(
    "name", ["A", "x" * 51, "   b   "], ids=["1-char", "51-chars", "1-trimmed"]
)
async def test_creating_a_room_with_a_name_outside_2_to_50_characters_is_name_is_invalid(
    server: Server, name: str
):
    ada = await server.user("ada")

    answer = await ada.post("rooms", {"name": name})

    expect_error(answer, 400, "requestError", "name is invalid")


async def test_creating_a_room_with_names_of_2_and_50_characters_works(server: Server):
    ada = await server.user("ada")
    short = expect_ok(await ada.post("rooms", {"name": "Ab"}))[0]
    long = expect_ok(await ada.post("rooms", {"name": "L" * 50}))[0]
    assert short["slug"] == "ab"
    assert long["slug"] == "l" * 50


async def test_creating_a_room_without_a_name_is_name_is_required(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("rooms", {"private": False})

    expect_error(answer, 400, "requestError", "name is required")


@pytest.mark.parametrize("name", [42, ["Night Owls"], True])
async def test_creating_a_room_with_a_name_that_is_not_a_string_is_name_is_invalid(
    server: Server, name: Any
):
    ada = await server.user("ada")

    answer = await ada.post("rooms", {"name": name})

    expect_error(answer, 400, "requestError", "name is invalid")


async def test_creating_a_room_with_private_that_is_not_a_boolean_is_private_is_invalid(
    server: Server,
):
    ada = await server.user("ada")

    answer = await ada.post("rooms", {"name": "Night Owls", "private": "yes"})

    expect_error(answer, 400, "requestError", "private is invalid")


async def test_a_sixth_hosted_room_is_403_host_limit_reached(server: Server):
    ada = await server.user("ada")
    for index in range(5):
        await ada.create_room(f"Room {index}")

    answer = await ada.post("rooms", {"name": "One Too Many"})

    expect_error(answer, 403, "requestError", "Host limit reached")
    assert [room["name"] for room in expect_ok(await ada.get("rooms/me"))] == [
        f"Room {index}" for index in range(5)
    ]


async def test_private_rooms_count_towards_the_host_limit(server: Server):
    ada = await server.user("ada")
    for index in range(4):
        await ada.create_room(f"Room {index}")
    await ada.create_room("Hidden", private=True)

    answer = await ada.post("rooms", {"name": "One Too Many"})

    expect_error(answer, 403, "requestError", "Host limit reached")


async def test_creating_a_room_as_a_guest_is_401_not_authorized(server: Server):
    client = await guest(server)
    answer = await client.post("rooms", {"name": "Night Owls"})
    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


async def test_creating_a_room_without_a_session_is_401_not_authorized(server: Server):
    answer = await server.client().post("rooms", {"name": "Night Owls"})
    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


@pytest.mark.parametrize(
    "raw", [b"{'name': 'single quotes'}", b'"Night Owls"'], ids=["not-json", "json-string"]
)
async def test_creating_a_room_with_a_body_that_is_not_a_json_object_is_400_request_error(
    server: Server, raw: bytes
):
    ada = await server.user("ada")
    answer = await ada.request("POST", "rooms", raw=raw)
    expect_error(answer, 400, "requestError")


async def test_creating_a_room_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    room = expect_ok(await ada.post("rooms/", {"name": "Night Owls"}))[0]
    assert room["slug"] == "night-owls"


# ------------------------------------------------------------- rooms/validate/:name


async def test_rooms_validate_answers_the_slug_of_a_free_name(server: Server):
    ada = await server.user("ada")

    assert expect_ok(await ada.get("rooms/validate/Night%20Owls")) == [{"slug": "night-owls"}]
    assert expect_ok(await ada.get("rooms/validate/Night%20%3COwls%3E")) == [
        {"slug": "night-lt-owls-gt"}
    ]


async def test_rooms_validate_of_a_taken_slug_is_room_name_unavailable(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    await ada.create_room("Night Owls")

    answer = await bram.get("rooms/validate/NIGHT%20OWLS")

    expect_error(answer, 400, "requestError", UNAVAILABLE)


async def test_rooms_validate_of_a_reserved_slug_is_room_name_unavailable(server: Server):
    ada = await server.user("ada")

    answer = await ada.get("rooms/validate/socket")

    expect_error(answer, 400, "requestError", UNAVAILABLE)


async def test_rooms_validate_of_a_name_without_a_slug_is_room_name_unavailable(server: Server):
    ada = await server.user("ada")

    answer = await ada.get("rooms/validate/%21%21%21")

    expect_error(answer, 400, "requestError", UNAVAILABLE)


async def test_rooms_validate_does_not_reserve_the_name(server: Server):
    ada = await server.user("ada")
    expect_ok(await ada.get("rooms/validate/Night%20Owls"))
    assert (await ada.create_room("Night Owls"))["slug"] == "night-owls"


async def test_rooms_validate_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get("rooms/validate/Night%20Owls/")) == [{"slug": "night-owls"}]


async def test_rooms_validate_as_a_guest_is_401_not_authorized(server: Server):
    client = await guest(server)
    answer = await client.get("rooms/validate/Night%20Owls")
    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


# ------------------------------------------------------------------------- GET rooms


async def test_room_listing_entries_have_exactly_the_room_listing_keys(server: Server):
    host = await server.user("<b>ob")
    room = await host.create_room("Night <Owls>")

    entries = await listing(host)

    assert len(entries) == 1
    entry = entries[0]
    assert set(entry) == LISTING_KEYS
    assert entry == {
        "capacity": None,
        "cid": "",
        "dj": "",
        "favorite": False,
        "format": "",
        "guests": 0,
        "host": "&lt;b&gt;ob",
        "id": room["id"],
        "image": "",
        "media": "",
        "name": "Night &lt;Owls&gt;",
        "nsfw": False,
        "population": 0,
        "private": False,
        "slug": "night-lt-owls-gt",
    }


async def test_room_listing_shows_the_current_play(server: Server):
    ada = await server.user("ada")
    await play_in_a_new_room(ada)

    entry = (await listing(ada))[0]

    assert entry["dj"] == "ada"
    assert entry["cid"] == "vidada0"
    assert entry["format"] == 1
    assert entry["media"] == "Artist - Song 0"
    assert entry["population"] == 1


async def test_room_listing_search_is_case_insensitive(server: Server):
    ada = await server.user("ada")
    await ada.create_room("Night Owls")
    await ada.create_room("Morning Larks")
    await ada.create_room("owlish tunes")

    assert sorted(names(await listing(ada, "?q=OWL"))) == ["Night Owls", "owlish tunes"]
    assert names(await listing(ada, "?q=larks")) == ["Morning Larks"]
    assert names(await listing(ada, "?q=nothing-like-this")) == []


async def test_room_listing_search_treats_percent_and_underscore_literally(server: Server):
    ada = await server.user("ada")
    await ada.create_room("100% Jazz")
    await ada.create_room("Jazz Bar")
    await ada.create_room("snake_case club")

    assert names(await listing(ada, "?q=%25")) == ["100% Jazz"]
    assert names(await listing(ada, "?q=_")) == ["snake_case club"]


async def test_room_listing_escapes_the_current_djs_name(server: Server):
    odd = await server.user("<b>ob")
    await play_in_a_new_room(odd)

    entry = (await listing(odd))[0]

    assert entry["dj"] == "&lt;b&gt;ob"
    assert entry["host"] == "&lt;b&gt;ob"


async def test_room_listing_with_an_empty_query_lists_every_public_room(server: Server):
    ada = await server.user("ada")
    await ada.create_room("Alpha Room")
    await ada.create_room("Bravo Room")

    assert names(await listing(ada, "?q=")) == ["Alpha Room", "Bravo Room"]


async def test_room_listing_never_shows_private_rooms(server: Server):
    ada = await server.user("ada")
    await ada.create_room("Open House")
    await ada.create_room("Secret House", private=True)

    assert names(await listing(ada)) == ["Open House"]
    assert names(await listing(ada, "?q=secret")) == []


async def test_room_listing_puts_the_most_populated_first_then_orders_by_name(server: Server):
    ada, bram, cleo = (
        await server.user("ada"),
        await server.user("bram"),
        await server.user("cleo"),
    )
    await ada.create_room("Alpha Room")
    bravo = await ada.create_room("Bravo Room")
    charlie = await ada.create_room("Charlie Room")
    await ada.create_room("Delta Room")
    await ada.join(charlie["slug"])
    await bram.join(charlie["slug"])
    await cleo.join(bravo["slug"])

    entries = await listing(ada)

    assert names(entries) == ["Charlie Room", "Bravo Room", "Alpha Room", "Delta Room"]
    assert [entry["population"] for entry in entries] == [2, 1, 0, 0]


async def test_room_listing_pages_are_zero_based_and_limit_sized(server: Server):
    ada = await server.user("ada")
    for name in ("Alpha Room", "Bravo Room", "Charlie Room"):
        await ada.create_room(name)

    assert names(await listing(ada, "?page=0&limit=2")) == ["Alpha Room", "Bravo Room"]
    assert names(await listing(ada, "?page=1&limit=2")) == ["Charlie Room"]
    assert names(await listing(ada, "?page=2&limit=2")) == []


@pytest.mark.parametrize("query", ["?page=abc", "?page=", "?page=1.5&limit=zz", "?limit=x"])
async def test_room_listing_falls_back_to_defaults_for_unparsable_numbers(
    server: Server, query: str
):
    ada = await server.user("ada")
    for name in ("Alpha Room", "Bravo Room", "Charlie Room"):
        await ada.create_room(name)

    assert names(await listing(ada, query)) == ["Alpha Room", "Bravo Room", "Charlie Room"]


async def test_room_listing_limit_is_at_most_50(server: Server):
    hosts = [await server.user(f"host{index}") for index in range(11)]
    for index in range(51):
        await hosts[index // 5].create_room(f"Room {index:02d}")

    default = await listing(hosts[0])
    capped = await listing(hosts[0], "?limit=100")
    second_page = await listing(hosts[0], "?page=1&limit=100")

    assert len(default) == 50
    assert len(capped) == 50
    assert names(second_page) == ["Room 50"]


async def test_room_listing_is_open_to_guests(server: Server):
    ada = await server.user("ada")
    await ada.create_room("Night Owls")
    client = await guest(server)

    assert names(await listing(client)) == ["Night Owls"]


async def test_room_listing_counts_guests_apart_from_population(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    visitor = await guest(server)
    await visitor.join(room["slug"])
    sock = await visitor.socket()
    try:
        assert (await sock.wait_for("ack"))[0]["p"] == "1"
        entry = (await listing(ada))[0]
    finally:
        await sock.close()

    assert entry["population"] == 1
    assert entry["guests"] == 1


async def test_room_listing_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    await ada.create_room("Night Owls")
    assert names(await listing(ada, "/")) == ["Night Owls"]


# -------------------------------------------------------------------------- rooms/me


async def test_rooms_me_lists_the_rooms_the_caller_hosts_private_ones_included(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    public = await ada.create_room("Night Owls")
    private = await ada.create_room("Secret Den", private=True)
    await bram.create_room("Not Mine")

    entries = expect_ok(await ada.get("rooms/me"))

    assert [entry["id"] for entry in entries] == [public["id"], private["id"]]
    for entry in entries:
        assert set(entry) == LISTING_KEYS - {"guests"}
        assert entry["dj"] is None
        assert entry["cid"] == ""
        assert entry["format"] == ""
        assert entry["host"] == "ada"
    assert [entry["private"] for entry in entries] == [False, True]
    assert entries[1]["slug"] == private["slug"]


async def test_rooms_me_shows_the_current_dj_as_a_room_user(server: Server):
    ada = await server.user("ada")
    await play_in_a_new_room(ada)

    entry = expect_ok(await ada.get("rooms/me"))[0]

    assert set(entry["dj"]) == ROOM_USER_KEYS
    assert entry["dj"]["id"] == ada.user_id
    assert entry["dj"]["role"] == 5000


async def test_rooms_me_is_empty_for_a_user_who_hosts_nothing(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get("rooms/me")) == []


async def test_rooms_me_as_a_guest_is_401_not_authorized(server: Server):
    client = await guest(server)
    expect_error(await client.get("rooms/me"), 401, "notAuthorized", NOT_AUTHORIZED)


# ------------------------------------------------------------------------ rooms/join


async def test_joining_a_room_answers_200_with_empty_data(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")

    assert expect_ok(await ada.post("rooms/join", {"slug": room["slug"]})) == []

    assert (await state(ada))["meta"]["slug"] == "night-owls"


async def test_joining_without_a_slug_is_slug_is_required(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("rooms/join", {})

    expect_error(answer, 400, "requestError", "slug is required")


async def test_joining_with_an_empty_body_is_slug_is_required(server: Server):
    ada = await server.user("ada")

    answer = await ada.request("POST", "rooms/join", raw=b"")

    expect_error(answer, 400, "requestError", "slug is required")


async def test_joining_an_unknown_slug_is_404_not_found(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("rooms/join", {"slug": "no-such-room"})

    expect_error(answer, 404, "notFound")


async def test_joining_with_a_slug_that_is_not_a_string_is_400_request_error(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("rooms/join", {"slug": 12345})

    expect_error(answer, 400, "requestError")


async def test_joining_the_same_room_twice_is_fine_and_changes_nothing(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    await bram.join(room["slug"])

    assert expect_ok(await bram.post("rooms/join", {"slug": room["slug"]})) == []

    room_state = await state(ada)
    assert [user["id"] for user in room_state["users"]] == [bram.user_id]
    assert room_state["meta"]["population"] == 2


async def test_joining_another_room_leaves_the_first(server: Server):
    ada, bram, cleo = (
        await server.user("ada"),
        await server.user("bram"),
        await server.user("cleo"),
    )
    owls = await ada.create_room("Night Owls")
    larks = await bram.create_room("Morning Larks")
    await ada.join(owls["slug"])
    await bram.join(larks["slug"])
    await cleo.join(owls["slug"])

    await cleo.join(larks["slug"])

    owls_state = await state(ada)
    larks_state = await state(bram)
    assert owls_state["users"] == []
    assert owls_state["meta"]["population"] == 1
    assert [user["id"] for user in larks_state["users"]] == [cleo.user_id]
    assert (await state(cleo))["meta"]["slug"] == "morning-larks"
    populations = {entry["slug"]: entry["population"] for entry in await listing(cleo)}
    assert populations == {"night-owls": 1, "morning-larks": 2}


async def test_an_account_that_joined_without_a_socket_is_present_for_30_seconds(
    server: Server,
):
    ada, bram = await server.user("ada"), await server.user("bram")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    sock = await ada.socket()
    try:
        assert (await sock.wait_for("ack"))[0]["p"] == "1"
        await bram.join(room["slug"])

        await server.advance(29)
        assert [user["id"] for user in (await state(ada))["users"]] == [bram.user_id]
        await server.advance(1)

        assert (await state(ada))["users"] == []
        expect_error(await bram.get("rooms/state"), 400, "requestError", NOT_IN_ROOM)
    finally:
        await sock.close()


async def test_a_guest_can_join_a_room_and_read_its_state(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    visitor = await guest(server)

    assert expect_ok(await visitor.post("rooms/join", {"slug": room["slug"]})) == []

    room_state = await state(visitor)
    assert room_state["role"] == 0
    assert room_state["meta"]["slug"] == "night-owls"
    assert room_state["meta"]["population"] == 1
    assert [user["id"] for user in room_state["users"]] == [ada.user_id]


async def test_joining_without_a_session_is_401_not_authorized(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    answer = await server.client().post("rooms/join", {"slug": room["slug"]})
    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


@pytest.mark.parametrize(
    "raw", [b"slug=night-owls", b'["night-owls"]'], ids=["not-json", "json-array"]
)
async def test_joining_with_a_body_that_is_not_a_json_object_is_400_request_error(
    server: Server, raw: bytes
):
    ada = await server.user("ada")
    answer = await ada.request("POST", "rooms/join", raw=raw)
    expect_error(answer, 400, "requestError")


async def test_joining_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    assert expect_ok(await ada.post("rooms/join/", {"slug": room["slug"]})) == []


# ----------------------------------------------------------------------- rooms/state


async def test_room_state_of_an_idle_room_for_its_host(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night <Owls>")
    await ada.join(room["slug"])

    room_state = await state(ada)

    assert set(room_state) == STATE_KEYS
    assert room_state["booth"] == {
        "currentDJ": -1,
        "isLocked": False,
        "shouldCycle": True,
        "waitingDJs": [],
    }
    assert room_state["fx"] == []
    assert room_state["grabs"] == {}
    assert room_state["mutes"] == {}
    assert room_state["votes"] == {}
    assert room_state["playback"] == {}
    assert room_state["role"] == 5000
    assert room_state["users"] == []
    assert room_state["meta"] == {
        "description": "",
        "favorite": False,
        "guests": 0,
        "hostID": ada.user_id,
        "hostName": "ada",
        "id": room["id"],
        "minChatLevel": 1,
        "name": "Night &lt;Owls&gt;",
        "population": 1,
        "slug": "night-lt-owls-gt",
        "welcome": "",
    }


async def test_room_state_lists_everyone_else_as_room_users_and_counts_the_caller(
    server: Server,
):
    ada, bram, cleo = (
        await server.user("ada"),
        await server.user("bram"),
        await server.user("cleo"),
    )
    room = await ada.create_room("Night Owls")
    for client in (ada, bram, cleo):
        await client.join(room["slug"])

    room_state = await state(bram)

    assert room_state["role"] == 0
    assert room_state["meta"]["population"] == 3
    assert set(room_state["meta"]) == META_KEYS
    users = {user["id"]: user for user in room_state["users"]}
    assert set(users) == {ada.user_id, cleo.user_id}
    for user in users.values():
        assert set(user) == ROOM_USER_KEYS
    assert users[ada.user_id]["role"] == 5000
    assert users[cleo.user_id]["role"] == 0
    assert users[cleo.user_id]["username"] == "cleo"


async def test_room_state_during_a_play_has_playback_and_the_current_dj(server: Server):
    ada = await server.user("ada")
    playlist = await play_in_a_new_room(ada)

    room_state = await state(ada)

    assert room_state["booth"]["currentDJ"] == ada.user_id
    playback = room_state["playback"]
    assert set(playback) == {"historyID", "media", "playlistID", "startTime"}
    assert playback["playlistID"] == playlist["id"]
    assert set(playback["media"]) == MEDIA_KEYS
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", playback["startTime"])
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        playback["historyID"],
    )


async def test_room_state_outside_a_room_is_400_not_in_a_room(server: Server):
    ada = await server.user("ada")
    expect_error(await ada.get("rooms/state"), 400, "requestError", NOT_IN_ROOM)


async def test_room_state_for_a_guest_outside_a_room_is_400_not_in_a_room(server: Server):
    client = await guest(server)
    expect_error(await client.get("rooms/state"), 400, "requestError", NOT_IN_ROOM)


async def test_room_state_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    assert expect_ok(await ada.get("rooms/state/"))[0]["meta"]["id"] == room["id"]


# --------------------------------------------------------------------- rooms/history


async def test_room_history_of_a_fresh_room_is_empty(server: Server):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])

    assert expect_ok(await ada.get("rooms/history")) == []


async def test_room_history_puts_the_play_in_progress_first(server: Server):
    ada = await server.user("ada")
    await play_in_a_new_room(ada)
    history_id = (await state(ada))["playback"]["historyID"]

    entries = expect_ok(await ada.get("rooms/history"))

    assert len(entries) == 1
    entry = entries[0]
    assert set(entry) == {"id", "media", "room", "score", "timestamp", "user"}
    assert entry["id"] == history_id
    assert entry["room"] == {"name": "Night Owls", "private": False, "slug": "night-owls"}
    assert entry["user"] == {"id": ada.user_id, "username": "ada"}
    assert set(entry["score"]) == {"grabs", "listeners", "negative", "positive", "skipped"}


async def test_room_history_outside_a_room_is_400_not_in_a_room(server: Server):
    ada = await server.user("ada")
    expect_error(await ada.get("rooms/history"), 400, "requestError", NOT_IN_ROOM)


async def test_chat_history_outside_a_room_is_400_not_in_a_room(server: Server):
    ada = await server.user("ada")
    expect_error(await ada.get("chat/history"), 400, "requestError", NOT_IN_ROOM)


# --------------------------------------------------------- a fresh user can read all


async def test_a_fresh_user_with_no_playlist_can_call_every_read_endpoint(server: Server):
    host = await server.user("host")
    room = await host.create_room("Night Owls")
    await host.join(room["slug"])
    fresh = await server.user("fresh")

    me = expect_ok(await fresh.get("users/me"))
    assert me[0]["id"] == fresh.user_id
    assert expect_ok(await fresh.get("playlists")) == []
    assert names(expect_ok(await fresh.get("rooms"))) == ["Night Owls"]
    assert expect_ok(await fresh.get("rooms/me")) == []
    assert expect_ok(await fresh.get(f"users/{fresh.user_id}"))[0]["id"] == fresh.user_id
    assert expect_ok(await fresh.get(f"users/{host.user_id}"))[0]["id"] == host.user_id
    assert isinstance(expect_ok(await fresh.get("auth/token"))[0], str)

    assert expect_ok(await fresh.post("rooms/join", {"slug": room["slug"]})) == []

    room_state = expect_ok(await fresh.get("rooms/state"))[0]
    assert room_state["role"] == 0
    assert room_state["meta"]["population"] == 2
    assert expect_ok(await fresh.get("rooms/history")) == []
    assert expect_ok(await fresh.get("chat/history")) == [{"history": [], "users": []}]
