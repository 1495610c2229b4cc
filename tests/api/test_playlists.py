"""Playlists and their media over REST.

Spec: rest.md §0 and §8, conventions.md §1–§3, §5, §7.1 and §8.2–§8.3.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.expect import MEDIA_KEYS, NOT_AUTHORIZED, expect_error, expect_ok, guest
from tests.conftest import Server
from tests.plug import PlugClient

PLAYLIST_KEYS = {"active", "count", "id", "name"}


# --------------------------------------------------------------------------- helpers


def song(cid: str, duration: int = 180, **extra: Any) -> dict[str, Any]:
    item = {
        "id": 0,
        "format": 1,
        "cid": cid,
        "duration": duration,
        "author": "Artist",
        "title": f"Title {cid}",
        "image": f"https://i.ytimg.com/vi/{cid}/default.jpg",
    }
    item.update(extra)
    return item


def song_with(cid: str, /, **changes: Any) -> dict[str, Any]:
    """`song(cid)` with `changes` applied; a key changed to None is left out."""
    item = {**song(cid), **changes}
    return {key: value for key, value in item.items() if value is not None}


async def new_playlist(client: PlugClient, name: str = "main", *cids: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if cids:
        body["media"] = [song(cid) for cid in cids]
    data = expect_ok(await client.post("playlists", body))
    assert len(data) == 1
    return dict(data[0])


async def media_of(client: PlugClient, playlist_id: int) -> list[dict[str, Any]]:
    return expect_ok(await client.get(f"playlists/{playlist_id}/media"))


def cids(items: list[dict[str, Any]]) -> list[str]:
    return [item["cid"] for item in items]


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


# ------------------------------------------------------------------- GET/POST playlists


async def test_a_new_account_has_no_playlists(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get("playlists")) == []


async def test_the_first_playlist_is_active_and_later_ones_start_inactive(server: Server):
    ada = await server.user("ada")

    first = await new_playlist(ada, "first")
    second = await new_playlist(ada, "second")

    assert set(first) == PLAYLIST_KEYS
    assert first["active"] is True and first["count"] == 0 and first["name"] == "first"
    assert isinstance(first["id"], int) and first["id"] > 0
    assert second["active"] is False and second["count"] == 0 and second["name"] == "second"
    assert expect_ok(await ada.get("playlists")) == [first, second]


async def test_playlists_are_listed_in_creation_order_with_their_counts(server: Server):
    ada = await server.user("ada")
    zulu = await new_playlist(ada, "zulu", "a1", "a2", "a3")
    alpha = await new_playlist(ada, "alpha", "b1")

    listed = expect_ok(await ada.get("playlists"))

    assert [(p["id"], p["name"], p["count"]) for p in listed] == [
        (zulu["id"], "zulu", 3),
        (alpha["id"], "alpha", 1),
    ]
    for playlist in listed:
        assert set(playlist) == PLAYLIST_KEYS


async def test_creating_a_playlist_with_media_stores_them_in_the_order_given(server: Server):
    ada = await server.user("ada")

    playlist = await new_playlist(ada, "main", "c", "a", "b")

    assert playlist["count"] == 3
    items = await media_of(ada, playlist["id"])
    assert cids(items) == ["c", "a", "b"]
    for item in items:
        assert set(item) == MEDIA_KEYS


async def test_only_the_callers_playlists_are_listed(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    await new_playlist(ada, "ada's")

    assert expect_ok(await bram.get("playlists")) == []


async def test_playlist_names_are_not_escaped(server: Server):
    ada = await server.user("ada")

    playlist = await new_playlist(ada, "<b>Tom & Jerry's</b>")

    assert playlist["name"] == "<b>Tom & Jerry's</b>"
    assert expect_ok(await ada.get("playlists"))[0]["name"] == "<b>Tom & Jerry's</b>"


async def test_creating_a_playlist_without_a_name_is_name_is_required(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("playlists", {"media": [song("a")]})

    expect_error(answer, 400, "requestError", "name is required")


@pytest.mark.parametrize(
    "name", ["x" * 31, 42, ["main"], True], ids=["31-chars", "int", "list", "bool"]
)
async def test_creating_a_playlist_with_a_bad_name_is_name_is_invalid(server: Server, name: Any):
    ada = await server.user("ada")

    answer = await ada.post("playlists", {"name": name})

    expect_error(answer, 400, "requestError", "name is invalid")


async def test_creating_playlists_with_names_of_1_and_30_characters_works(server: Server):
    ada = await server.user("ada")
    assert (await new_playlist(ada, "x"))["name"] == "x"
    assert (await new_playlist(ada, "y" * 30))["name"] == "y" * 30


async def test_creating_a_playlist_with_invalid_media_is_refused_and_creates_nothing(
    server: Server,
):
    ada = await server.user("ada")

    answer = await ada.post(
        "playlists", {"name": "main", "media": [song("a"), song("b", format=3)]}
    )

    expect_error(answer, 400, "requestError", "Not a valid media format")
    assert expect_ok(await ada.get("playlists")) == []


async def test_creating_a_playlist_with_more_than_200_media_is_playlist_is_full(server: Server):
    ada = await server.user("ada")
    media = [song(f"v{index}") for index in range(201)]

    answer = await ada.post("playlists", {"name": "main", "media": media})

    expect_error(answer, 400, "requestError", "Playlist is full")


async def test_a_101st_playlist_is_403_playlist_limit_reached(server: Server):
    ada = await server.user("ada")
    for index in range(100):
        expect_ok(await ada.post("playlists", {"name": f"list {index}"}))

    answer = await ada.post("playlists", {"name": "one too many"})

    expect_error(answer, 403, "requestError", "Playlist limit reached")
    assert len(expect_ok(await ada.get("playlists"))) == 100


async def test_creating_playlists_as_a_guest_is_401_not_authorized(server: Server):
    client = await guest(server)
    expect_error(
        await client.post("playlists", {"name": "main"}), 401, "notAuthorized", NOT_AUTHORIZED
    )
    expect_error(await client.get("playlists"), 401, "notAuthorized", NOT_AUTHORIZED)


async def test_playlists_without_a_session_are_401_not_authorized(server: Server):
    client = server.client()
    expect_error(await client.get("playlists"), 401, "notAuthorized", NOT_AUTHORIZED)


@pytest.mark.parametrize("raw", [b'{"name": "main",', b"12"], ids=["not-json", "json-number"])
async def test_creating_a_playlist_with_a_body_that_is_not_a_json_object_is_400_request_error(
    server: Server, raw: bytes
):
    ada = await server.user("ada")
    answer = await ada.request("POST", "playlists", raw=raw)
    expect_error(answer, 400, "requestError")


async def test_playlists_tolerate_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    playlist = expect_ok(await ada.post("playlists/", {"name": "main"}))[0]
    assert expect_ok(await ada.get("playlists/")) == [playlist]
    assert expect_ok(await ada.get(f"playlists/{playlist['id']}/media/")) == []


# --------------------------------------------------------------- DELETE playlists/:id


async def test_deleting_an_inactive_playlist_removes_it(server: Server):
    ada = await server.user("ada")
    active = await new_playlist(ada, "main", "a")
    spare = await new_playlist(ada, "spare", "b")

    assert expect_ok(await ada.delete(f"playlists/{spare['id']}")) == []

    assert [p["id"] for p in expect_ok(await ada.get("playlists"))] == [active["id"]]
    expect_error(await ada.get(f"playlists/{spare['id']}/media"), 404, "notFound")


async def test_deleting_a_playlist_ignores_any_body_even_invalid_json(server: Server):
    ada = await server.user("ada")
    await new_playlist(ada, "main")
    spare = await new_playlist(ada, "spare")

    answer = await ada.request("DELETE", f"playlists/{spare['id']}", raw=b"{not json")

    assert expect_ok(answer) == []


async def test_activating_with_an_empty_body_works(server: Server):
    ada = await server.user("ada")
    await new_playlist(ada, "main")
    spare = await new_playlist(ada, "spare")

    answer = await ada.request("PUT", f"playlists/{spare['id']}/activate", raw=b"")

    assert expect_ok(answer) == [{"activated": spare["id"]}]


async def test_deleting_the_active_playlist_is_refused(server: Server):
    ada = await server.user("ada")
    active = await new_playlist(ada, "main", "a")

    answer = await ada.delete(f"playlists/{active['id']}")

    expect_error(answer, 400, "requestError", "Cannot delete the active playlist")
    assert [p["id"] for p in expect_ok(await ada.get("playlists"))] == [active["id"]]


async def test_deleting_an_unknown_playlist_is_404_not_found(server: Server):
    ada = await server.user("ada")
    await new_playlist(ada)
    expect_error(await ada.delete("playlists/987654321"), 404, "notFound")


async def test_deleting_someone_elses_playlist_is_404_and_keeps_it(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    await new_playlist(ada, "main")
    spare = await new_playlist(ada, "spare")

    expect_error(await bram.delete(f"playlists/{spare['id']}"), 404, "notFound")

    assert len(expect_ok(await ada.get("playlists"))) == 2


# -------------------------------------------------------- PUT playlists/:id/activate


async def test_activating_a_playlist_answers_activated_and_deactivates_the_previous(
    server: Server,
):
    ada = await server.user("ada")
    first = await new_playlist(ada, "first")
    second = await new_playlist(ada, "second")

    data = expect_ok(await ada.put(f"playlists/{second['id']}/activate"))

    assert data == [{"activated": second["id"]}]
    listed = {p["id"]: p["active"] for p in expect_ok(await ada.get("playlists"))}
    assert listed == {first["id"]: False, second["id"]: True}


async def test_activating_ignores_any_body(server: Server):
    ada = await server.user("ada")
    await new_playlist(ada, "first")
    second = await new_playlist(ada, "second")

    data = expect_ok(await ada.put(f"playlists/{second['id']}/activate", {"id": 1, "x": [1]}))

    assert data == [{"activated": second["id"]}]


async def test_after_activating_another_the_old_active_playlist_can_be_deleted(server: Server):
    ada = await server.user("ada")
    first = await new_playlist(ada, "first")
    second = await new_playlist(ada, "second")
    expect_ok(await ada.put(f"playlists/{second['id']}/activate"))

    assert expect_ok(await ada.delete(f"playlists/{first['id']}")) == []
    expect_error(
        await ada.delete(f"playlists/{second['id']}"),
        400,
        "requestError",
        "Cannot delete the active playlist",
    )


async def test_activating_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada)
    await new_playlist(bram)

    expect_error(await bram.put(f"playlists/{playlist['id']}/activate"), 404, "notFound")


async def test_activating_an_unknown_playlist_is_404_not_found(server: Server):
    ada = await server.user("ada")
    expect_error(await ada.put("playlists/987654321/activate"), 404, "notFound")


# ---------------------------------------------------------- PUT playlists/:id/rename


async def test_renaming_a_playlist_changes_its_name(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "old name")

    assert expect_ok(await ada.put(f"playlists/{playlist['id']}/rename", {"name": "new"})) == []

    assert expect_ok(await ada.get("playlists"))[0]["name"] == "new"


async def test_renaming_without_a_name_is_name_is_required(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)

    answer = await ada.put(f"playlists/{playlist['id']}/rename", {"id": playlist["id"]})

    expect_error(answer, 400, "requestError", "name is required")


async def test_renaming_to_more_than_30_characters_is_name_is_invalid(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main")

    answer = await ada.put(f"playlists/{playlist['id']}/rename", {"name": "n" * 31})

    expect_error(answer, 400, "requestError", "name is invalid")
    assert expect_ok(await ada.get("playlists"))[0]["name"] == "main"


async def test_renaming_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada, "main")

    answer = await bram.put(f"playlists/{playlist['id']}/rename", {"name": "mine now"})

    expect_error(answer, 404, "notFound")
    assert expect_ok(await ada.get("playlists"))[0]["name"] == "main"


async def test_renaming_with_a_body_that_is_not_json_is_400_request_error(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)
    answer = await ada.request("PUT", f"playlists/{playlist['id']}/rename", raw=b"name=new")
    expect_error(answer, 400, "requestError")


# --------------------------------------------------------- PUT playlists/:id/shuffle


async def test_shuffling_keeps_the_same_items_and_the_list_follows_the_new_order(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", *[f"v{index}" for index in range(12)])
    before = await media_of(ada, playlist["id"])

    shuffled = expect_ok(await ada.put(f"playlists/{playlist['id']}/shuffle"))

    assert sorted(ids(shuffled)) == sorted(ids(before))
    assert sorted(shuffled, key=lambda item: item["id"]) == sorted(
        before, key=lambda item: item["id"]
    )
    assert await media_of(ada, playlist["id"]) == shuffled


async def test_shuffling_an_empty_playlist_answers_an_empty_list(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)
    assert expect_ok(await ada.put(f"playlists/{playlist['id']}/shuffle")) == []


async def test_shuffling_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada, "main", "a", "b")
    expect_error(await bram.put(f"playlists/{playlist['id']}/shuffle"), 404, "notFound")


# ------------------------------------------------------------ GET playlists/:id/media


async def test_media_list_has_the_seven_media_keys_in_play_order(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "first", "second", "third")

    items = await media_of(ada, playlist["id"])

    assert cids(items) == ["first", "second", "third"]
    assert items[0] == {
        "author": "Artist",
        "cid": "first",
        "duration": 180,
        "format": 1,
        "id": items[0]["id"],
        "image": "https://i.ytimg.com/vi/first/default.jpg",
        "title": "Title first",
    }
    assert all(isinstance(item["id"], int) and item["id"] > 0 for item in items)
    assert len(set(ids(items))) == 3


async def test_media_of_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada, "main", "a")
    expect_error(await bram.get(f"playlists/{playlist['id']}/media"), 404, "notFound")


async def test_media_of_an_unknown_playlist_is_404_not_found(server: Server):
    ada = await server.user("ada")
    expect_error(await ada.get("playlists/987654321/media"), 404, "notFound")


async def test_media_as_a_guest_is_401_not_authorized(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")
    client = await guest(server)
    expect_error(
        await client.get(f"playlists/{playlist['id']}/media"), 401, "notAuthorized", NOT_AUTHORIZED
    )


# ----------------------------------------------------- POST playlists/:id/media/insert


async def test_inserting_appends_by_default_and_answers_the_full_list(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert", {"media": [song("c"), song("d")]}
        )
    )

    assert cids(items) == ["a", "b", "c", "d"]
    assert all(set(item) == MEDIA_KEYS for item in items)
    assert all(isinstance(item["id"], int) and item["id"] > 0 for item in items)
    assert len(set(ids(items))) == 4
    assert await media_of(ada, playlist["id"]) == items
    assert expect_ok(await ada.get("playlists"))[0]["count"] == 4


async def test_inserting_with_append_true_puts_items_at_the_end(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert", {"media": [song("z")], "append": True}
        )
    )

    assert cids(items) == ["a", "z"]


async def test_inserting_with_append_false_puts_items_at_the_start_in_the_order_given(
    server: Server,
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert",
            {"media": [song("x"), song("y")], "append": False},
        )
    )

    assert cids(items) == ["x", "y", "a", "b"]
    assert await media_of(ada, playlist["id"]) == items


async def test_prepending_twice_keeps_the_newest_first(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")
    path = f"playlists/{playlist['id']}/media/insert"

    expect_ok(await ada.post(path, {"media": [song("b")], "append": False}))
    items = expect_ok(await ada.post(path, {"media": [song("c")], "append": False}))

    assert cids(items) == ["c", "b", "a"]


async def test_inserting_into_an_empty_playlist_works_both_ways(server: Server):
    ada = await server.user("ada")
    first = await new_playlist(ada, "first")
    second = await new_playlist(ada, "second")

    appended = expect_ok(
        await ada.post(f"playlists/{first['id']}/media/insert", {"media": [song("a"), song("b")]})
    )
    prepended = expect_ok(
        await ada.post(
            f"playlists/{second['id']}/media/insert",
            {"media": [song("a"), song("b")], "append": False},
        )
    )

    assert cids(appended) == ["a", "b"]
    assert cids(prepended) == ["a", "b"]


async def test_inserting_skips_items_already_in_the_playlist_or_repeated_in_the_request(
    server: Server,
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")
    original = await media_of(ada, playlist["id"])

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert",
            {
                "media": [
                    song("a", title="again"),
                    song("b"),
                    song("b", title="twice"),
                    song("a", format=2),
                ]
            },
        )
    )

    assert [(item["format"], item["cid"]) for item in items] == [(1, "a"), (1, "b"), (2, "a")]
    assert items[0] == original[0]
    assert items[1]["title"] == "Title b"


async def test_inserting_ignores_the_incoming_media_id(server: Server):
    ada = await server.user("ada")
    first = await new_playlist(ada, "first", "a")
    second = await new_playlist(ada, "second")
    taken_id = (await media_of(ada, first["id"]))[0]["id"]

    items = expect_ok(
        await ada.post(
            f"playlists/{second['id']}/media/insert", {"media": [song("a", id=taken_id)]}
        )
    )

    assert items[0]["id"] != taken_id
    assert await media_of(ada, first["id"]) == [{**items[0], "id": taken_id}]


async def test_inserting_a_numeric_cid_stores_it_as_a_string(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert",
            {"media": [{**song("unused", format=2), "cid": 184003927}]},
        )
    )

    assert items[0]["cid"] == "184003927"
    assert items[0]["format"] == 2


async def test_inserting_without_author_title_and_image_stores_empty_strings(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert",
            {"media": [{"format": 1, "cid": "bare", "duration": 200}]},
        )
    )

    assert items == [
        {
            "author": "",
            "cid": "bare",
            "duration": 200,
            "format": 1,
            "id": items[0]["id"],
            "image": "",
            "title": "",
        }
    ]


async def test_inserting_keeps_author_and_title_unescaped(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert",
            {"media": [song("q", author="Tom & Jerry", title="<i>Don't</i>")]},
        )
    )

    assert items[0]["author"] == "Tom & Jerry"
    assert items[0]["title"] == "<i>Don't</i>"


async def test_inserting_without_media_is_media_is_required(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)

    answer = await ada.post(f"playlists/{playlist['id']}/media/insert", {"append": True})

    expect_error(answer, 400, "requestError", "media is required")


async def test_inserting_an_empty_media_array_is_400_request_error(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)

    answer = await ada.post(f"playlists/{playlist['id']}/media/insert", {"media": []})

    expect_error(answer, 400, "requestError")


@pytest.mark.parametrize(
    "override",
    [{"format": 3}, {"format": 0}, {"format": None}, {"format": "youtube"}],
    ids=["3", "0", "missing", "text"],
)
async def test_inserting_an_unknown_format_is_not_a_valid_media_format(
    server: Server, override: dict[str, Any]
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")
    item = song_with("b", **override)

    answer = await ada.post(f"playlists/{playlist['id']}/media/insert", {"media": [item]})

    expect_error(answer, 400, "requestError", "Not a valid media format")
    assert cids(await media_of(ada, playlist["id"])) == ["a"]


@pytest.mark.parametrize("cid", [None, ""], ids=["missing", "empty"])
async def test_inserting_without_a_cid_is_cid_is_required(server: Server, cid: Any):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)
    item = song_with("x", cid=cid)

    answer = await ada.post(f"playlists/{playlist['id']}/media/insert", {"media": [item]})

    expect_error(answer, 400, "requestError", "cid is required")


@pytest.mark.parametrize(
    "duration",
    [0, -5, 1.5, "abc", None, True],
    ids=["zero", "negative", "fraction", "text", "missing", "bool"],
)
async def test_inserting_a_bad_duration_is_duration_is_invalid(server: Server, duration: Any):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)
    item = song_with("x", duration=duration)

    answer = await ada.post(f"playlists/{playlist['id']}/media/insert", {"media": [item]})

    expect_error(answer, 400, "requestError", "duration is invalid")


async def test_inserting_one_bad_item_inserts_nothing(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)

    answer = await ada.post(
        f"playlists/{playlist['id']}/media/insert",
        {"media": [song("good"), song("bad", duration=0)]},
    )

    expect_error(answer, 400, "requestError", "duration is invalid")
    assert await media_of(ada, playlist["id"]) == []


async def test_inserting_past_200_items_is_playlist_is_full(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", *[f"v{index}" for index in range(200)])
    assert playlist["count"] == 200

    answer = await ada.post(f"playlists/{playlist['id']}/media/insert", {"media": [song("new")]})

    expect_error(answer, 400, "requestError", "Playlist is full")
    assert expect_ok(await ada.get("playlists"))[0]["count"] == 200


async def test_inserting_only_duplicates_into_a_full_playlist_succeeds(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", *[f"v{index}" for index in range(200)])

    items = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/insert", {"media": [song("v0"), song("v199")]}
        )
    )

    assert len(items) == 200


async def test_inserting_into_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada, "main", "a")

    answer = await bram.post(f"playlists/{playlist['id']}/media/insert", {"media": [song("b")]})

    expect_error(answer, 404, "notFound")
    assert cids(await media_of(ada, playlist["id"])) == ["a"]


@pytest.mark.parametrize(
    "raw", [b"{media:[]}", b'[{"format": 1}]'], ids=["not-json", "json-array"]
)
async def test_inserting_with_a_body_that_is_not_a_json_object_is_400_request_error(
    server: Server, raw: bytes
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada)
    answer = await ada.request("POST", f"playlists/{playlist['id']}/media/insert", raw=raw)
    expect_error(answer, 400, "requestError")


# ----------------------------------------------------- POST playlists/:id/media/delete


async def test_deleting_media_answers_the_remaining_list_and_ignores_unknown_ids(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b", "c", "d")
    a, b, c, d = await media_of(ada, playlist["id"])

    remaining = expect_ok(
        await ada.post(
            f"playlists/{playlist['id']}/media/delete", {"ids": [b["id"], 987654321, d["id"]]}
        )
    )

    assert remaining == [a, c]
    assert await media_of(ada, playlist["id"]) == [a, c]
    assert expect_ok(await ada.get("playlists"))[0]["count"] == 2


async def test_deleting_media_accepts_ids_given_as_digit_strings(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")
    a, b = await media_of(ada, playlist["id"])

    remaining = expect_ok(
        await ada.post(f"playlists/{playlist['id']}/media/delete", {"ids": [str(a["id"])]})
    )

    assert remaining == [b]


async def test_deleting_media_of_another_playlist_by_id_leaves_it_alone(server: Server):
    ada = await server.user("ada")
    first = await new_playlist(ada, "first", "a")
    second = await new_playlist(ada, "second", "b")
    (other,) = await media_of(ada, second["id"])

    remaining = expect_ok(
        await ada.post(f"playlists/{first['id']}/media/delete", {"ids": [other["id"]]})
    )

    assert cids(remaining) == ["a"]
    assert await media_of(ada, second["id"]) == [other]


async def test_deleting_media_without_ids_is_ids_is_required(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")

    answer = await ada.post(f"playlists/{playlist['id']}/media/delete", {})

    expect_error(answer, 400, "requestError", "ids is required")


async def test_deleting_media_with_a_non_numeric_id_is_ids_is_invalid(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")

    answer = await ada.post(f"playlists/{playlist['id']}/media/delete", {"ids": ["abc"]})

    expect_error(answer, 400, "requestError", "ids is invalid")


async def test_deleting_media_of_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada, "main", "a")
    (item,) = await media_of(ada, playlist["id"])

    answer = await bram.post(f"playlists/{playlist['id']}/media/delete", {"ids": [item["id"]]})

    expect_error(answer, 404, "notFound")
    assert await media_of(ada, playlist["id"]) == [item]


# -------------------------------------------------------- PUT playlists/:id/media/move


async def test_moving_items_before_another_places_them_there_in_the_order_given(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b", "c", "d")
    a, b, c, d = await media_of(ada, playlist["id"])

    moved = expect_ok(
        await ada.put(
            f"playlists/{playlist['id']}/media/move",
            {"ids": [d["id"], a["id"]], "beforeID": c["id"]},
        )
    )

    assert cids(moved) == ["b", "d", "a", "c"]
    assert await media_of(ada, playlist["id"]) == moved


async def test_moving_items_before_minus_one_puts_them_at_the_end(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b", "c", "d")
    a, b, c, d = await media_of(ada, playlist["id"])

    moved = expect_ok(
        await ada.put(
            f"playlists/{playlist['id']}/media/move", {"ids": [b["id"], a["id"]], "beforeID": -1}
        )
    )

    assert cids(moved) == ["c", "d", "b", "a"]


async def test_moving_accepts_ids_and_before_id_as_digit_strings(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b", "c")
    a, b, c = await media_of(ada, playlist["id"])

    moved = expect_ok(
        await ada.put(
            f"playlists/{playlist['id']}/media/move",
            {"ids": [str(c["id"])], "beforeID": str(a["id"])},
        )
    )

    assert cids(moved) == ["c", "a", "b"]


async def test_moving_ignores_unknown_ids(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b", "c")
    a, b, c = await media_of(ada, playlist["id"])

    moved = expect_ok(
        await ada.put(
            f"playlists/{playlist['id']}/media/move",
            {"ids": [987654321, c["id"]], "beforeID": b["id"]},
        )
    )

    assert cids(moved) == ["a", "c", "b"]


async def test_moving_before_an_item_that_is_not_in_the_playlist_is_before_id_is_invalid(
    server: Server,
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")
    a, b = await media_of(ada, playlist["id"])

    answer = await ada.put(
        f"playlists/{playlist['id']}/media/move", {"ids": [a["id"]], "beforeID": 987654321}
    )

    expect_error(answer, 400, "requestError", "beforeID is invalid")
    assert await media_of(ada, playlist["id"]) == [a, b]


async def test_moving_before_an_item_that_is_itself_moved_is_before_id_is_invalid(
    server: Server,
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b", "c")
    a, b, c = await media_of(ada, playlist["id"])

    answer = await ada.put(
        f"playlists/{playlist['id']}/media/move",
        {"ids": [a["id"], b["id"]], "beforeID": b["id"]},
    )

    expect_error(answer, 400, "requestError", "beforeID is invalid")


@pytest.mark.parametrize(
    "before", ["abc", -2, 1.5, [1]], ids=["text", "minus-two", "fraction", "list"]
)
async def test_moving_with_a_malformed_before_id_is_before_id_is_invalid(
    server: Server, before: Any
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")
    a, _ = await media_of(ada, playlist["id"])

    answer = await ada.put(
        f"playlists/{playlist['id']}/media/move", {"ids": [a["id"]], "beforeID": before}
    )

    expect_error(answer, 400, "requestError", "beforeID is invalid")


async def test_moving_without_ids_is_ids_is_required(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")

    answer = await ada.put(f"playlists/{playlist['id']}/media/move", {"beforeID": -1})

    expect_error(answer, 400, "requestError", "ids is required")


async def test_moving_without_before_id_is_before_id_is_required(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")
    a, _ = await media_of(ada, playlist["id"])

    answer = await ada.put(f"playlists/{playlist['id']}/media/move", {"ids": [a["id"]]})

    expect_error(answer, 400, "requestError", "beforeID is required")


async def test_moving_in_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada, "main", "a", "b")
    a, b = await media_of(ada, playlist["id"])

    answer = await bram.put(
        f"playlists/{playlist['id']}/media/move", {"ids": [a["id"]], "beforeID": -1}
    )

    expect_error(answer, 404, "notFound")
    assert await media_of(ada, playlist["id"]) == [a, b]


# ------------------------------------------------------ PUT playlists/:id/media/update


async def test_updating_media_answers_author_and_title_and_stores_them(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a", "b")
    a, b = await media_of(ada, playlist["id"])

    data = expect_ok(
        await ada.put(
            f"playlists/{playlist['id']}/media/update",
            {"id": a["id"], "author": "New & Improved", "title": "<Remix>"},
        )
    )

    assert data == [{"author": "New & Improved", "title": "<Remix>"}]
    assert await media_of(ada, playlist["id"]) == [
        {**a, "author": "New & Improved", "title": "<Remix>"},
        b,
    ]


async def test_updating_media_accepts_the_id_as_a_digit_string(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")
    (a,) = await media_of(ada, playlist["id"])

    data = expect_ok(
        await ada.put(
            f"playlists/{playlist['id']}/media/update",
            {"id": str(a["id"]), "author": "X", "title": "Y"},
        )
    )

    assert data == [{"author": "X", "title": "Y"}]


async def test_updating_an_unknown_media_id_is_404_not_found(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")

    answer = await ada.put(
        f"playlists/{playlist['id']}/media/update",
        {"id": 987654321, "author": "X", "title": "Y"},
    )

    expect_error(answer, 404, "notFound")


async def test_updating_media_of_another_of_ones_playlists_is_404_not_found(server: Server):
    ada = await server.user("ada")
    first = await new_playlist(ada, "first", "a")
    second = await new_playlist(ada, "second", "b")
    (other,) = await media_of(ada, second["id"])

    answer = await ada.put(
        f"playlists/{first['id']}/media/update", {"id": other["id"], "author": "X", "title": "Y"}
    )

    expect_error(answer, 404, "notFound")
    assert await media_of(ada, second["id"]) == [other]


@pytest.mark.parametrize("missing", ["id", "author", "title"])
async def test_updating_media_with_a_missing_field_is_field_is_required(
    server: Server, missing: str
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")
    (a,) = await media_of(ada, playlist["id"])
    body = {"id": a["id"], "author": "X", "title": "Y"}
    del body[missing]

    answer = await ada.put(f"playlists/{playlist['id']}/media/update", body)

    expect_error(answer, 400, "requestError", f"{missing} is required")


async def test_updating_media_with_a_non_numeric_id_is_id_is_invalid(server: Server):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")

    answer = await ada.put(
        f"playlists/{playlist['id']}/media/update", {"id": "abc", "author": "X", "title": "Y"}
    )

    expect_error(answer, 400, "requestError", "id is invalid")


async def test_updating_media_with_a_title_that_is_not_a_string_is_title_is_invalid(
    server: Server,
):
    ada = await server.user("ada")
    playlist = await new_playlist(ada, "main", "a")
    (a,) = await media_of(ada, playlist["id"])

    answer = await ada.put(
        f"playlists/{playlist['id']}/media/update", {"id": a["id"], "author": "X", "title": 5}
    )

    expect_error(answer, 400, "requestError", "title is invalid")


async def test_updating_media_of_someone_elses_playlist_is_404_not_found(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    playlist = await new_playlist(ada, "main", "a")
    (a,) = await media_of(ada, playlist["id"])

    answer = await bram.put(
        f"playlists/{playlist['id']}/media/update", {"id": a["id"], "author": "X", "title": "Y"}
    )

    expect_error(answer, 404, "notFound")
    assert await media_of(ada, playlist["id"]) == [a]
