"""Looking up users over REST: users/me, users/:id, users/bulk, users/validate/:name.

Spec: rest.md §2, conventions.md §2–§3, §7 and §8.1.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.expect import (
    GUEST_USER,
    NOT_AUTHORIZED,
    PUBLIC_USER_KEYS,
    WIRE_TIME,
    expect_error,
    expect_ok,
    guest,
)
from tests.conftest import Server

SELF_KEYS = PUBLIC_USER_KEYS | {
    "blurb",
    "ignores",
    "notifications",
    "pp",
    "pw",
    "settings",
    "xp",
}
DEFAULT_SETTINGS = {
    "chatImages": True,
    "chatTimestamps": 12,
    "emoji": True,
    "friendAvatarsOnly": False,
    "notifyDJ": True,
    "notifyFriendJoin": True,
    "notifyScore": True,
    "nsfw": False,
    "tooltips": True,
    "videoOnly": False,
}


# -------------------------------------------------------------------------- users/me


async def test_users_me_for_a_guest_is_the_guest_object_plus_empty_self_fields(server: Server):
    client = await guest(server)

    data = expect_ok(await client.get("users/me"))

    assert len(data) == 1
    me = dict(data[0])
    settings = me.pop("settings")
    assert me == {
        **GUEST_USER,
        "blurb": "",
        "ignores": [],
        "notifications": [],
        "pp": 0,
        "pw": False,
        "xp": 0,
    }
    # "settings: {} (defaults)": an empty object or the default settings.
    assert settings in ({}, DEFAULT_SETTINGS)


async def test_users_me_for_an_account_has_exactly_the_self_keys(server: Server):
    ada = await server.user("ada")

    data = expect_ok(await ada.get("users/me"))

    assert len(data) == 1
    me = data[0]
    assert set(me) == SELF_KEYS
    assert me["id"] == ada.user_id
    assert me["username"] == "ada"
    assert me["guest"] is False
    assert me["blurb"] == ""
    assert me["ignores"] == []
    assert me["notifications"] == []
    assert me["pp"] == 0
    assert me["xp"] == 0
    assert me["pw"] is True
    assert me["settings"] == DEFAULT_SETTINGS
    assert me["gRole"] == 0
    assert me["sub"] == 0
    assert me["silver"] is False
    assert WIRE_TIME.match(me["joined"])


async def test_users_me_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get("users/me/"))[0]["id"] == ada.user_id


async def test_users_me_without_a_session_is_401_not_authorized(server: Server):
    expect_error(await server.client().get("users/me"), 401, "notAuthorized", NOT_AUTHORIZED)


# -------------------------------------------------------------------------- users/:id


async def test_users_id_answers_exactly_the_public_user_keys(server: Server):
    ada = await server.user("ada")
    bram = await server.user("bram")

    data = expect_ok(await bram.get(f"users/{ada.user_id}"))

    assert len(data) == 1
    user = data[0]
    assert set(user) == PUBLIC_USER_KEYS
    assert user["id"] == ada.user_id
    assert user["username"] == "ada"
    assert user["slug"] == "ada"
    assert user["guest"] is False
    assert user["avatarID"] == "base01"
    assert user["badge"] is None
    assert user["gRole"] == 0
    assert user["level"] == 1
    assert user["silver"] is False
    assert user["sub"] == 0
    assert user["language"] is None or isinstance(user["language"], str)
    assert WIRE_TIME.match(user["joined"])


async def test_users_id_escapes_the_username_and_slugs_it_by_d25(server: Server):
    odd = await server.user("<b>Ob's")
    ada = await server.user("ada")

    user = expect_ok(await ada.get(f"users/{odd.user_id}"))[0]

    assert user["username"] == "&lt;b&gt;Ob&#39;s"
    assert user["slug"] == "lt-b-gt-ob-s"


async def test_users_id_works_for_a_guest_session(server: Server):
    ada = await server.user("ada")
    client = await guest(server)

    user = expect_ok(await client.get(f"users/{ada.user_id}"))[0]

    assert user["id"] == ada.user_id


async def test_users_id_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get(f"users/{ada.user_id}/"))[0]["id"] == ada.user_id


@pytest.mark.parametrize("bad_id", ["abc", "12x", "-5", "1.5"])
async def test_users_id_that_is_not_numeric_is_400_id_is_invalid(server: Server, bad_id: str):
    ada = await server.user("ada")

    answer = await ada.get(f"users/{bad_id}")

    expect_error(answer, 400, "requestError", "id is invalid")


async def test_users_id_of_an_unknown_user_is_404_not_found(server: Server):
    ada = await server.user("ada")

    answer = await ada.get("users/987654321")

    expect_error(answer, 404, "notFound")


async def test_users_id_without_a_session_is_401_not_authorized(server: Server):
    ada = await server.user("ada")
    answer = await server.client().get(f"users/{ada.user_id}")
    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)


# ------------------------------------------------------------------------ users/bulk


async def test_users_bulk_keeps_the_order_asked_and_leaves_unknown_ids_out(server: Server):
    ada, bram, cleo = (
        await server.user("ada"),
        await server.user("bram"),
        await server.user("cleo"),
    )

    data = expect_ok(
        await ada.post("users/bulk", {"ids": [cleo.user_id, 987654321, ada.user_id, bram.user_id]})
    )

    assert [user["id"] for user in data] == [cleo.user_id, ada.user_id, bram.user_id]
    for user in data:
        assert set(user) == PUBLIC_USER_KEYS


async def test_users_bulk_accepts_ids_given_as_digit_strings(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")

    data = expect_ok(await ada.post("users/bulk", {"ids": [str(bram.user_id), ada.user_id]}))

    assert [user["id"] for user in data] == [bram.user_id, ada.user_id]


async def test_users_bulk_works_for_a_guest_session(server: Server):
    ada = await server.user("ada")
    client = await guest(server)

    data = expect_ok(await client.post("users/bulk", {"ids": [ada.user_id]}))

    assert [user["username"] for user in data] == ["ada"]


async def test_users_bulk_with_no_ids_found_answers_an_empty_list(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.post("users/bulk", {"ids": [987654321]})) == []


async def test_users_bulk_accepts_500_ids(server: Server):
    ada = await server.user("ada")
    ids = [ada.user_id] + list(range(900_000, 900_499))
    assert len(ids) == 500

    data = expect_ok(await ada.post("users/bulk", {"ids": ids}))

    assert [user["id"] for user in data] == [ada.user_id]


async def test_users_bulk_with_more_than_500_ids_is_ids_is_invalid(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("users/bulk", {"ids": list(range(1, 502))})

    expect_error(answer, 400, "requestError", "ids is invalid")


async def test_users_bulk_without_ids_is_ids_is_required(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("users/bulk", {})

    expect_error(answer, 400, "requestError", "ids is required")


async def test_users_bulk_with_ids_that_are_not_an_array_is_ids_is_required(server: Server):
    ada = await server.user("ada")

    answer = await ada.post("users/bulk", {"ids": ada.user_id})

    expect_error(answer, 400, "requestError", "ids is required")


@pytest.mark.parametrize("entry", ["abc", None, True, {"id": 1}, 1.5])
async def test_users_bulk_with_a_non_numeric_entry_is_ids_is_invalid(server: Server, entry: Any):
    ada = await server.user("ada")

    answer = await ada.post("users/bulk", {"ids": [ada.user_id, entry]})

    expect_error(answer, 400, "requestError", "ids is invalid")


@pytest.mark.parametrize("raw", [b"ids=1,2,3", b"[1, 2, 3]"], ids=["not-json", "json-array"])
async def test_users_bulk_with_a_body_that_is_not_a_json_object_is_400_request_error(
    server: Server, raw: bytes
):
    ada = await server.user("ada")

    answer = await ada.request("POST", "users/bulk", raw=raw)

    expect_error(answer, 400, "requestError")


async def test_users_bulk_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    data = expect_ok(await ada.post("users/bulk/", {"ids": [ada.user_id]}))
    assert [user["id"] for user in data] == [ada.user_id]


# ------------------------------------------------------------ users/validate/:name


async def test_users_validate_answers_the_slug_of_a_free_name(server: Server):
    ada = await server.user("ada")

    data = expect_ok(await ada.get("users/validate/Night%20Owl"))

    assert data == [{"slug": "night-owl"}]


async def test_users_validate_slugs_angle_brackets_and_apostrophes_by_d25(server: Server):
    ada = await server.user("ada")

    assert expect_ok(await ada.get("users/validate/%3COwl%3E")) == [{"slug": "lt-owl-gt"}]
    assert expect_ok(await ada.get("users/validate/Ada's%20Name")) == [{"slug": "ada-s-name"}]


async def test_users_validate_works_for_a_guest_session(server: Server):
    client = await guest(server)
    assert expect_ok(await client.get("users/validate/newcomer")) == [{"slug": "newcomer"}]


async def test_users_validate_of_a_taken_name_is_username_unavailable(server: Server):
    ada = await server.user("ada")

    answer = await ada.get("users/validate/ada")

    expect_error(answer, 400, "requestError", "Username unavailable")


async def test_users_validate_compares_taken_names_case_insensitively(server: Server):
    ada = await server.user("ada")

    answer = await ada.get("users/validate/ADA")

    expect_error(answer, 400, "requestError", "Username unavailable")


@pytest.mark.parametrize(
    "name",
    ["a", "x" * 26, "%21%21%21", "tab%09here", "%20%20%20"],
    ids=["one-char", "26-chars", "no-slug", "control-char", "blank-after-trim"],
)
async def test_users_validate_of_an_invalid_name_is_username_is_invalid(server: Server, name: str):
    ada = await server.user("ada")

    answer = await ada.get(f"users/validate/{name}")

    expect_error(answer, 400, "requestError", "Username is invalid")


async def test_users_validate_accepts_names_of_2_and_25_characters(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get("users/validate/ab")) == [{"slug": "ab"}]
    assert expect_ok(await ada.get(f"users/validate/{'z' * 25}")) == [{"slug": "z" * 25}]


async def test_users_validate_tolerates_a_trailing_slash(server: Server):
    ada = await server.user("ada")
    assert expect_ok(await ada.get("users/validate/newcomer/")) == [{"slug": "newcomer"}]


async def test_users_validate_without_a_session_is_401_not_authorized(server: Server):
    answer = await server.client().get("users/validate/newcomer")
    expect_error(answer, 401, "notAuthorized", NOT_AUTHORIZED)
