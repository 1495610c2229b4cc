"""Wait list, skips, votes and grabs over REST, checked against what other members receive."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server
from tests.plug import PlugClient, PlugSocket


async def _room_with(server: Server, *names: str) -> tuple[dict[str, Any], list[PlugClient]]:
    """Users in one room; without a socket they would leave after 30 s of fake time (D41)."""
    clients = [await server.user(name) for name in names]
    room = await clients[0].create_room("Night Owls")
    for client in clients[:-1]:
        await client.join(room["slug"])
        client.listener = await _listening(client)  # type: ignore[attr-defined]
    await clients[-1].join(room["slug"])
    return room, clients


async def _listening(client: PlugClient) -> PlugSocket:
    sock = await client.socket()
    await sock.wait_for("ack")
    return sock


async def test_second_dj_waits_and_everyone_sees_the_wait_list(server: Server):
    _, (ada, bram, cleo) = await _room_with(server, "ada", "bram", "cleo")
    watcher = await _listening(cleo)
    await ada.playlist(200)
    await bram.playlist(200)

    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")

    update = (await watcher.wait_for("djListUpdate"))[0]
    assert update["p"] == [bram.user_id]
    state = (await cleo.ok("GET", "rooms/state"))[0]
    assert state["booth"] == {
        "currentDJ": ada.user_id,
        "isLocked": False,
        "shouldCycle": True,
        "waitingDJs": [bram.user_id],
    }


async def test_joining_the_booth_twice_changes_nothing(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    watcher = await _listening(bram)
    await ada.playlist(200)
    await ada.ok("POST", "booth")
    await watcher.wait_for("advance")

    await ada.ok("POST", "booth")

    state = (await bram.ok("GET", "rooms/state"))[0]
    assert state["booth"]["waitingDJs"] == []
    assert len(watcher.named("advance")) == 1
    assert watcher.named("djListUpdate") == []


async def test_booth_join_without_a_playlist_is_refused(server: Server):
    _, (ada,) = await _room_with(server, "ada")

    answer = await ada.post("booth")

    assert (answer.http_status, answer.status) == (403, "noValidPlaylist")
    assert answer.data == ["This request was understood but is forbidden."]


async def test_booth_join_with_an_empty_active_playlist_is_refused(server: Server):
    _, (ada,) = await _room_with(server, "ada")
    await ada.ok("POST", "playlists", {"name": "empty"})

    answer = await ada.post("booth")

    assert (answer.http_status, answer.status) == (403, "noValidPlaylist")


async def test_booth_calls_outside_a_room_are_refused(server: Server):
    ada = await server.user("ada")
    await ada.playlist(200)

    for method, path in [("POST", "booth"), ("DELETE", "booth"), ("POST", "booth/skip/me")]:
        answer = await ada.request(method, path, {})
        assert (answer.http_status, answer.status, answer.data) == (
            400,
            "requestError",
            ["not in a room."],
        ), path


async def test_guests_cannot_join_the_booth_or_vote(server: Server):
    room, _ = await _room_with(server, "ada")
    guest = server.client()
    await guest.csrf()
    await guest.join(room["slug"])

    for path, body in [("booth", {}), ("votes", {"direction": 1, "historyID": "x"})]:
        answer = await guest.post(path, body)
        assert (answer.http_status, answer.status) == (401, "notAuthorized"), path


async def test_locked_wait_list_refuses_users_but_the_dj_plays_on(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    await ada.playlist(200)
    await bram.playlist(200)
    await ada.ok("POST", "booth")
    watcher = await _listening(bram)

    await ada.ok("PUT", "booth/lock", {"isLocked": True, "removeAllDJs": False})
    answer = await bram.post("booth")

    locked = (await watcher.wait_for("djListLocked"))[0]["p"]
    assert locked == {"c": False, "f": True, "m": "ada", "mi": ada.user_id}
    assert (answer.http_status, answer.status, answer.data) == (
        403,
        "notAuthorized",
        ["The wait list is locked."],
    )
    state = (await bram.ok("GET", "rooms/state"))[0]
    assert state["booth"]["isLocked"] is True
    assert state["booth"]["currentDJ"] == ada.user_id


async def test_locking_and_cycling_need_a_manager(server: Server):
    _, (_, bram) = await _room_with(server, "ada", "bram")

    lock = await bram.put("booth/lock", {"isLocked": True, "removeAllDJs": True})
    cycle = await bram.put("booth/cycle", {"shouldCycle": False})

    assert (lock.http_status, lock.status) == (403, "notAuthorized")
    assert (cycle.http_status, cycle.status) == (403, "notAuthorized")


async def test_lock_with_clear_empties_the_wait_list(server: Server):
    _, (ada, bram, cleo) = await _room_with(server, "ada", "bram", "cleo")
    for client in (ada, bram, cleo):
        await client.playlist(200)
        await client.ok("POST", "booth")
    watcher = await _listening(cleo)

    await ada.ok("PUT", "booth/lock", {"isLocked": True, "removeAllDJs": True})

    await watcher.wait_for("djListUpdate")
    assert [event["a"] for event in watcher.events[-2:]] == ["djListLocked", "djListUpdate"]
    assert watcher.events[-1]["p"] == []


async def test_lock_and_cycle_reject_non_booleans(server: Server):
    _, (ada,) = await _room_with(server, "ada")

    missing = await ada.put("booth/lock", {"removeAllDJs": True})
    wrong = await ada.put("booth/cycle", {"shouldCycle": "yes"})

    assert (missing.http_status, missing.data) == (400, ["isLocked is required"])
    assert (wrong.http_status, wrong.data) == (400, ["shouldCycle is invalid"])


async def test_full_wait_list_is_refused(server: Server, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("replug.engine.room.WAITLIST_LIMIT", 1)
    _, (ada, bram, cleo) = await _room_with(server, "ada", "bram", "cleo")
    for client in (ada, bram, cleo):
        await client.playlist(200)
    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")

    answer = await cleo.post("booth")

    assert (answer.http_status, answer.status, answer.data) == (403, "boothFull", [])


async def test_leaving_the_wait_list_and_stepping_down(server: Server):
    _, (ada, bram, cleo) = await _room_with(server, "ada", "bram", "cleo")
    watcher = await _listening(cleo)
    await ada.playlist(200)
    await bram.playlist(200)
    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")

    await bram.ok("DELETE", "booth")
    await watcher.wait_for("djListUpdate", count=2)
    await ada.ok("DELETE", "booth")

    advances = await watcher.wait_for("advance", count=2)
    assert advances[-1]["p"] == {}
    history = await cleo.ok("GET", "rooms/history")
    assert history[0]["score"]["skipped"] == 1


async def test_self_skip_announces_skip_then_advance_and_cycles_the_dj(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    watcher = await _listening(bram)
    playlist = await ada.playlist(200, 210)
    await ada.ok("POST", "booth")
    await watcher.wait_for("advance")

    await ada.ok("POST", "booth/skip/me")

    await watcher.wait_for("advance", count=2)
    names = [event["a"] for event in watcher.events if event["a"] in ("skip", "advance")]
    assert names == ["advance", "skip", "advance"]
    assert watcher.named("skip")[0]["p"] == ada.user_id
    media = await ada.ok("GET", f"playlists/{playlist['id']}/media")
    assert [item["duration"] for item in media] == [210, 200]


async def test_self_skip_by_someone_else_is_refused(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    await ada.playlist(200)
    await ada.ok("POST", "booth")

    answer = await bram.post("booth/skip/me")

    assert (answer.http_status, answer.data) == (400, ["You are not the current DJ."])


async def test_moderator_skip_checks_the_current_play(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    watcher = await _listening(bram)
    await bram.playlist(200)
    idle = await ada.post("booth/skip", {"userID": bram.user_id, "historyID": "x"})
    await bram.ok("POST", "booth")
    play = (await watcher.wait_for("advance"))[0]["p"]

    stale = await ada.post("booth/skip", {"userID": bram.user_id, "historyID": "old"})
    wrong_user = await ada.post("booth/skip", {"userID": ada.user_id, "historyID": play["h"]})
    by_listener = await bram.post("booth/skip", {"userID": bram.user_id, "historyID": play["h"]})
    await ada.ok("POST", "booth/skip", {"userID": bram.user_id, "historyID": play["h"]})

    assert (idle.http_status, idle.data) == (400, ["Nothing is playing."])
    assert (stale.http_status, stale.data) == (400, ["Not the current play."])
    assert (wrong_user.http_status, wrong_user.data) == (400, ["Not the current play."])
    assert (by_listener.http_status, by_listener.status) == (403, "notAuthorized")
    skip = (await watcher.wait_for("modSkip"))[0]
    assert skip["p"] == {"m": "ada", "mi": ada.user_id}


async def test_votes_are_announced_once_per_change(server: Server):
    _, (ada, bram, cleo) = await _room_with(server, "ada", "bram", "cleo")
    watcher = await _listening(cleo)
    await ada.playlist(200)
    await ada.ok("POST", "booth")
    play = (await watcher.wait_for("advance"))[0]["p"]

    await bram.ok("POST", "votes", {"direction": 1, "historyID": play["h"]})
    await bram.ok("POST", "votes", {"direction": 1, "historyID": play["h"]})
    await bram.ok("POST", "votes", {"direction": -1, "historyID": play["h"]})
    await ada.ok("POST", "votes", {"direction": 1, "historyID": play["h"]})

    votes = await watcher.wait_for("vote", count=2)
    assert [vote["p"] for vote in votes] == [
        {"i": bram.user_id, "v": 1},
        {"i": bram.user_id, "v": -1},
    ]
    state = (await cleo.ok("GET", "rooms/state"))[0]
    assert state["votes"] == {str(bram.user_id): -1}
    history = await cleo.ok("GET", "rooms/history")
    assert history[0]["score"]["negative"] == 1


async def test_votes_with_bad_input_are_refused(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    await ada.playlist(200)
    await ada.ok("POST", "booth")
    play = (await bram.ok("GET", "rooms/state"))[0]["playback"]

    cases = [
        ({"historyID": play["historyID"]}, "direction is required"),
        ({"direction": 2, "historyID": play["historyID"]}, "direction is invalid"),
        ({"direction": True, "historyID": play["historyID"]}, "direction is invalid"),
        ({"direction": 1}, "historyID is required"),
        ({"direction": 1, "historyID": 5}, "historyID is invalid"),
        (
            {"direction": 1, "historyID": "3f0c6a52-9b7e-4d1a-8c55-0e9f2b7d4a13"},
            "Not the current play.",
        ),
    ]
    for body, text in cases:
        answer = await bram.post("votes", body)
        assert (answer.http_status, answer.status, answer.data) == (400, "requestError", [text])


async def test_a_vote_for_the_previous_play_is_refused_after_an_advance(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    watcher = await _listening(bram)
    await ada.playlist(60, 70)
    await ada.ok("POST", "booth")
    first = (await watcher.wait_for("advance"))[0]["p"]

    await server.advance(60)
    await watcher.wait_for("advance", count=2)
    vote = await bram.post("votes", {"direction": 1, "historyID": first["h"]})
    playlist = (await bram.playlist(100))["id"]
    grab = await bram.post("grabs", {"playlistID": playlist, "historyID": first["h"]})

    assert (vote.http_status, vote.data) == (400, ["Not the current play."])
    assert (grab.http_status, grab.data) == (400, ["Not the current play."])


async def test_grab_copies_the_media_and_counts_once(server: Server):
    _, (ada, bram, cleo) = await _room_with(server, "ada", "bram", "cleo")
    watcher = await _listening(cleo)
    await ada.playlist(200)
    await ada.ok("POST", "booth")
    play = (await watcher.wait_for("advance"))[0]["p"]
    target = await bram.ok("POST", "playlists", {"name": "grabs"})

    first = await bram.ok("POST", "grabs", {"playlistID": target[0]["id"], "historyID": play["h"]})
    again = await bram.ok("POST", "grabs", {"playlistID": target[0]["id"], "historyID": play["h"]})

    assert first[0] == {"active": True, "count": 1, "id": target[0]["id"], "name": "grabs"}
    assert again[0]["count"] == 1
    grabs = await watcher.wait_for("grab")
    assert [event["p"] for event in grabs] == [bram.user_id]
    copied = await bram.ok("GET", f"playlists/{target[0]['id']}/media")
    assert copied[0]["cid"] == play["m"]["cid"]
    assert copied[0]["id"] != play["m"]["id"]
    state = (await cleo.ok("GET", "rooms/state"))[0]
    assert state["grabs"] == {str(bram.user_id): 1}


async def test_grab_into_someone_elses_playlist_is_not_found(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    ada_playlist = await ada.playlist(200)
    await ada.ok("POST", "booth")
    play = (await bram.ok("GET", "rooms/state"))[0]["playback"]

    answer = await bram.post(
        "grabs", {"playlistID": ada_playlist["id"], "historyID": play["historyID"]}
    )
    missing = await bram.post("grabs", {"historyID": play["historyID"]})

    assert (answer.http_status, answer.status) == (404, "notFound")
    assert (missing.http_status, missing.data) == (400, ["playlistID is required"])


async def test_the_dj_leaving_mid_song_hands_the_booth_to_the_next_in_line(server: Server):
    room, (ada, bram, cleo) = await _room_with(server, "ada", "bram", "cleo")
    other = await ada.create_room("Elsewhere")
    watcher = await _listening(cleo)
    await ada.playlist(200)
    await bram.playlist(200)
    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")

    await ada.join(other["slug"])

    advances = await watcher.wait_for("advance", count=2)
    assert advances[-1]["p"]["c"] == bram.user_id
    assert advances[-1]["p"]["d"] == []
    await watcher.wait_for("userLeave")
    tail = [event["a"] for event in watcher.events[-2:]]
    assert tail == ["advance", "userLeave"]
    state = (await cleo.ok("GET", "rooms/state"))[0]
    assert ada.user_id not in state["booth"]["waitingDJs"]
    assert room["slug"] == state["meta"]["slug"]


async def test_the_next_dj_with_an_empty_playlist_drops_out(server: Server):
    _, (ada, bram, cleo, dex) = await _room_with(server, "ada", "bram", "cleo", "dex")
    watcher = await _listening(dex)
    ada_list = await ada.playlist(60)
    bram_list = await bram.playlist(60)
    await cleo.playlist(60)
    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")
    await cleo.ok("POST", "booth")
    await ada.ok("PUT", "booth/cycle", {"shouldCycle": False})
    media = await bram.ok("GET", f"playlists/{bram_list['id']}/media")
    await bram.ok("POST", f"playlists/{bram_list['id']}/media/delete", {"ids": [media[0]["id"]]})

    await server.advance(60)

    advances = await watcher.wait_for("advance", count=2)
    assert advances[-1]["p"]["c"] == cleo.user_id
    assert advances[-1]["p"]["d"] == []
    assert ada_list["id"] != bram_list["id"]


async def test_skip_racing_the_natural_end_advances_exactly_once(server: Server):
    _, (ada, bram) = await _room_with(server, "ada", "bram")
    watcher = await _listening(bram)
    await ada.playlist(1, 1)
    await bram.playlist(1)
    await ada.ok("PUT", "booth/cycle", {"shouldCycle": True})
    await ada.ok("POST", "booth")
    await bram.ok("POST", "booth")
    await watcher.wait_for("advance")

    server.clock.advance(1)
    results = await __import__("asyncio").gather(ada.post("booth/skip/me"), server.advance(0))

    await watcher.wait_for("advance", count=2)
    assert results[0].http_status in (200, 400)
    advances = watcher.named("advance")
    assert len(advances) == 2
    assert advances[1]["p"]["c"] == bram.user_id
    assert advances[1]["p"]["d"] == [ada.user_id]
    history = await bram.ok("GET", "rooms/history")
    assert len(history) == 2
