"""The booth end to end over REST and real sockets, with the fake clock ending plays."""

from __future__ import annotations

from tests.conftest import Server


async def test_joining_an_empty_booth_plays_at_once_and_the_room_sees_the_advance(server: Server):
    ada, bram = await server.user("ada"), await server.user("bram")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    await bram.join(room["slug"])
    bram_socket = await bram.socket()
    await bram_socket.wait_for("ack")
    playlist = await ada.playlist(180, 200)

    await ada.ok("POST", "booth")

    advance = (await bram_socket.wait_for("advance"))[0]
    assert advance["s"] == room["slug"]
    assert advance["p"]["c"] == ada.user_id
    assert advance["p"]["d"] == []
    assert advance["p"]["p"] == playlist["id"]
    assert advance["p"]["m"]["duration"] == 180
    state = (await bram.ok("GET", "rooms/state"))[0]
    assert state["booth"]["currentDJ"] == ada.user_id
    assert state["playback"]["historyID"] == advance["p"]["h"]


async def test_a_play_ends_after_its_duration_and_the_lone_dj_plays_the_next_item(
    server: Server,
):
    ada = await server.user("ada")
    room = await ada.create_room("Night Owls")
    await ada.join(room["slug"])
    sock = await ada.socket()
    await sock.wait_for("ack")
    playlist = await ada.playlist(180, 200)
    await ada.ok("POST", "booth")
    first = (await sock.wait_for("advance"))[0]["p"]

    await server.advance(179.5)
    assert len(sock.named("advance")) == 1
    await server.advance(0.5)

    second = (await sock.wait_for("advance", count=2))[1]["p"]
    assert second["c"] == ada.user_id
    assert second["m"]["id"] != first["m"]["id"]
    cycled = await sock.wait_for("playlistCycle")
    assert cycled[0]["p"] == playlist["id"]
    media = await ada.ok("GET", f"playlists/{playlist['id']}/media")
    assert [item["id"] for item in media][-1] == first["m"]["id"]
