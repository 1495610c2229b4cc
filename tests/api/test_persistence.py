"""What people made survives a restart: accounts, rooms, playlists, media and history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.conftest import Server


async def test_accounts_rooms_playlists_and_history_survive_a_restart(
    start_server: Callable[[], Awaitable[Server]],
):
    first = await start_server()
    ada = await first.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    playlist = await ada.playlist(200, 210)
    await ada.ok("POST", "booth")
    await ada.ok("POST", "booth/skip/me")
    history_before = await ada.ok("GET", "rooms/history")
    await first.close()

    second = await start_server()
    back = second.client()
    assert (await back.login("ADA@example.test", "hunter2hunter2")).status == "ok"
    await back.join(room["slug"])

    me = (await back.ok("GET", "users/me"))[0]
    assert me["username"] == "ada"
    playlists = await back.ok("GET", "playlists")
    assert playlists == [{"active": True, "count": 2, "id": playlist["id"], "name": "main"}]
    media = await back.ok("GET", f"playlists/{playlist['id']}/media")
    assert [item["duration"] for item in media] == [210, 200]  # the skipped item cycled
    history = await back.ok("GET", "rooms/history")
    assert [entry["id"] for entry in history] == [entry["id"] for entry in history_before]
    assert all(entry["score"]["skipped"] == 1 for entry in history)
    listed = await back.ok("GET", "rooms")
    assert [entry["slug"] for entry in listed] == [room["slug"]]


async def test_an_old_session_cookie_still_works_after_a_restart(
    start_server: Callable[[], Awaitable[Server]],
):
    first = await start_server()
    ada = await first.user("ada")
    cookie = ada.cookie
    await first.close()

    second = await start_server()
    again = second.client()
    again.cookie = cookie

    me = (await again.ok("GET", "users/me"))[0]
    assert me["username"] == "ada"
