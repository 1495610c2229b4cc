"""The room engine's rules, one behaviour per test (behaviour.md §2–§9, events.md, rest.md §5–§6).

Every test drives the engine through `tests.engine.driver.Room`, which applies outcomes the way
the runtime does, and asserts the exact events (names, payloads, recipients, slugs, order) and
the exact records.
"""

from __future__ import annotations

import re

import pytest

from replug.engine.events import HistoryEnded, HistoryStarted, PlaylistCycled
from replug.engine.room import PlaylistHead, RoomEngine
from replug.protocol.errors import BoothFull, Forbidden, NoValidPlaylist, RequestError
from tests.engine.driver import (
    ADA,
    BRAM,
    CLEO,
    DEX,
    EMPTY_ADVANCE,
    EVE,
    FINN,
    GUEST,
    SLUG,
    T0,
    Room,
    advance,
    ev,
    guest_moved_in,
    guest_moved_out,
    moved_in,
    moved_out,
    room_user,
    song,
    stamp,
)

BOUNCER, MANAGER, RESIDENT_DJ = 2000, 3000, 1000


# =============================================================================== presence §2


def test_join_moves_the_joiners_sockets_in_then_announces_them_to_everyone_but_themselves():
    room = Room()

    events = room.enter(ADA)

    assert events == [moved_in(ADA), ev("userJoin", room_user(ADA), exclude_user=ADA)]
    assert room.engine.is_present(ADA)
    assert room.engine.population == 1


def test_joining_the_room_one_is_already_in_sends_nothing():
    room = Room()
    room.enter(ADA)

    assert room.enter(ADA) == []
    assert room.engine.population == 1


def test_leave_moves_the_sockets_out_then_tells_the_room_the_user_id():
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)

    events = room.leave(BRAM)

    assert events == [moved_out(BRAM), ev("userLeave", BRAM)]
    assert not room.engine.is_present(BRAM)
    assert room.engine.population == 1


def test_leave_of_someone_not_present_sends_nothing():
    room = Room()
    room.enter(ADA)

    assert room.leave(BRAM) == []


def test_guest_join_announces_the_guest_object_to_everyone_but_that_session():
    room = Room()

    events = room.enter_guest("session-1")

    assert events == [
        guest_moved_in("session-1"),
        ev("userJoin", GUEST, exclude_session="session-1"),
    ]
    assert room.engine.population == 0
    assert room.engine.guests == {"session-1"}


def test_guest_joining_again_sends_nothing():
    room = Room()
    room.enter_guest("session-1")

    assert room.enter_guest("session-1") == []


def test_guest_leave_sends_user_leave_with_zero():
    room = Room()
    room.enter_guest("session-1")

    events = room.leave_guest("session-1")

    assert events == [guest_moved_out("session-1"), ev("userLeave", 0)]
    assert room.engine.guests == set()


def test_closed_socket_keeps_the_account_present_until_just_before_30_seconds():
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)
    room.close_socket(BRAM)

    assert room.wait(29.5) == []
    assert room.engine.is_present(BRAM)


def test_closed_socket_makes_the_account_leave_after_exactly_30_seconds():
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)
    room.close_socket(BRAM)
    room.wait(29.5)

    events = room.wait(0.5)

    assert events == [moved_out(BRAM), ev("userLeave", BRAM)]
    assert not room.engine.is_present(BRAM)
    assert room.engine.next_deadline() is None


def test_reconnecting_within_the_grace_period_keeps_the_place_in_the_wait_list():
    room = Room()
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user, 600)
        room.queue(user)
    room.close_socket(BRAM)
    room.wait(20)

    assert room.reconnect(BRAM) == []
    assert room.wait(40) == []
    assert room.engine.is_present(BRAM)
    assert room.waitlist == [BRAM, CLEO]


def test_join_without_a_socket_expires_after_30_seconds():
    room = Room()
    room.enter(ADA)

    joined = room.enter(BRAM, connected=False)
    early = room.wait(29.5)
    expired = room.wait(0.5)

    assert joined == [moved_in(BRAM), ev("userJoin", room_user(BRAM), exclude_user=BRAM)]
    assert early == []
    assert expired == [moved_out(BRAM), ev("userLeave", BRAM)]


def test_join_without_a_socket_stays_once_a_socket_connects():
    room = Room()
    room.enter(BRAM, connected=False)
    room.wait(10)

    room.reconnect(BRAM)

    assert room.wait(60) == []
    assert room.engine.is_present(BRAM)


def test_joining_again_with_a_socket_during_the_grace_period_cancels_the_leave():
    room = Room()
    room.enter(BRAM)
    room.close_socket(BRAM)
    room.wait(10)

    assert room.enter(BRAM) == []
    assert room.wait(60) == []
    assert room.engine.is_present(BRAM)


def test_joining_again_without_a_socket_does_not_restart_the_grace_period():
    room = Room()
    room.enter(BRAM)
    room.close_socket(BRAM)
    room.wait(20)
    room.enter(BRAM, connected=False)

    assert room.wait(10) == [moved_out(BRAM), ev("userLeave", BRAM)]


def test_closed_guest_socket_makes_the_guest_leave_after_30_seconds_with_user_leave_zero():
    room = Room()
    room.enter_guest("session-1")
    room.close_guest_socket("session-1")

    assert room.wait(29.5) == []
    assert room.wait(0.5) == [guest_moved_out("session-1"), ev("userLeave", 0)]


def test_guest_reconnecting_within_the_grace_period_stays_without_events():
    room = Room()
    room.enter_guest("session-1")
    room.close_guest_socket("session-1")
    room.wait(10)

    assert room.enter_guest("session-1") == []
    assert room.wait(60) == []
    assert room.engine.guests == {"session-1"}


def test_waiting_member_who_leaves_is_taken_out_of_the_list_before_user_leave():
    room = Room()
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)

    events = room.leave(BRAM)

    assert events == [moved_out(BRAM), ev("djListUpdate", [CLEO]), ev("userLeave", BRAM)]
    assert room.waitlist == [CLEO]
    assert room.dj == ADA


# ============================================================================ booth §3, §4


def test_joining_an_empty_booth_plays_at_once_with_an_empty_wait_list():
    room = Room()
    room.enter(ADA)
    playlist = room.give_playlist(ADA, 241, 200)

    events = room.queue(ADA)

    first = song(playlist.id * 100 + 1, 241)
    assert events == [advance(ADA, [], "history-1", first, playlist.id, T0)]
    assert room.last_records == [HistoryStarted("history-1", ADA, playlist.id, first, T0)]
    assert room.dj == ADA
    assert room.waitlist == []


def test_advance_time_is_utc_with_six_fractional_digits():
    room = Room(now=1_714_586_649.512033)
    room.enter(ADA)
    room.give_playlist(ADA)

    events = room.queue(ADA)

    assert events[0].payload["t"] == "2024-05-01 18:04:09.512033"


def test_default_history_ids_are_lowercase_uuid4():
    engine = RoomEngine(1, SLUG)
    engine.join(T0, room_user(ADA), 0, True)
    outcome = engine.join_waitlist(T0, ADA, PlaylistHead(10, song(1001)))

    history_id = outcome.events[0].payload["h"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", history_id
    )


def test_joining_a_busy_booth_appends_to_the_wait_list_with_dj_list_update():
    room = Room()
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user)
    room.queue(ADA)

    assert room.queue(BRAM) == [ev("djListUpdate", [BRAM])]
    assert room.queue(CLEO) == [ev("djListUpdate", [BRAM, CLEO])]
    assert room.last_records == []
    assert room.dj == ADA


def test_joining_again_while_waiting_changes_nothing():
    room = Room()
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)

    assert room.queue(BRAM) == []
    assert room.waitlist == [BRAM]


def test_joining_again_while_playing_changes_nothing():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA)
    room.queue(ADA)

    assert room.queue(ADA) == []
    assert room.dj == ADA
    assert room.waitlist == []
    assert room.history_id == "history-1"


def test_joining_while_already_waiting_succeeds_even_when_the_list_became_locked():
    room = Room()
    room.enter(DEX, power=MANAGER)
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)
    room.lock(DEX, True)

    assert room.queue(BRAM) == []


def test_locked_wait_list_refuses_power_below_1000():
    room = Room(is_locked=True)
    room.enter(ADA)
    room.give_playlist(ADA)

    with pytest.raises(Forbidden) as refused:
        room.queue(ADA)

    assert refused.value.status == "notAuthorized"
    assert refused.value.data == ["The wait list is locked."]
    assert room.dj is None
    assert room.waitlist == []


@pytest.mark.parametrize("power", [RESIDENT_DJ, BOUNCER, MANAGER])
def test_locked_wait_list_admits_power_1000_and_above(power: int):
    room = Room(is_locked=True)
    room.enter(ADA)
    room.give_playlist(ADA)
    room.enter(BRAM, power=power)
    room.give_playlist(BRAM)
    room.enter(CLEO, power=power)
    room.give_playlist(CLEO)

    started = room.queue(BRAM)
    waiting = room.queue(CLEO)

    assert [event.name for event in started] == ["advance"]
    assert waiting == [ev("djListUpdate", [CLEO])]


def test_joining_without_a_valid_playlist_is_refused_with_no_valid_playlist():
    room = Room()
    room.enter(ADA)

    with pytest.raises(NoValidPlaylist) as refused:
        room.queue(ADA)

    assert refused.value.status == "noValidPlaylist"
    assert refused.value.data == ["This request was understood but is forbidden."]
    assert room.dj is None


def test_joining_with_an_empty_active_playlist_is_refused_with_no_valid_playlist():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA).items.clear()

    with pytest.raises(NoValidPlaylist):
        room.queue(ADA)


def test_joining_during_a_waitlist_ban_is_refused():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA)

    with pytest.raises(Forbidden) as refused:
        room.queue(ADA, banned=True)

    assert refused.value.data == ["You are banned from the wait list."]
    assert room.dj is None


def test_joining_the_booth_from_outside_the_room_is_refused():
    room = Room()
    room.give_playlist(ADA)

    with pytest.raises(RequestError) as refused:
        room.queue(ADA)

    assert refused.value.data == ["not in a room."]


def test_fifty_waiting_refuses_the_next_with_booth_full():
    room = Room()
    dj, *waiting = range(1, 52)
    for user in (dj, *waiting):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)
    room.enter(999)
    room.give_playlist(999)

    with pytest.raises(BoothFull) as refused:
        room.queue(999)

    assert refused.value.status == "boothFull"
    assert refused.value.data == []
    assert room.waitlist == waiting
    assert len(room.waitlist) == 50


def test_leaving_the_wait_list_sends_dj_list_update():
    room = Room()
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)

    assert room.step_down(BRAM) == [ev("djListUpdate", [CLEO])]
    assert room.last_records == []
    assert room.dj == ADA


def test_leaving_the_booth_when_in_neither_booth_nor_list_does_nothing():
    room = Room()
    room.enter(ADA)

    assert room.step_down(ADA) == []


# ================================================================== ends of plays §4, §5, §6


def test_play_does_not_end_before_its_duration():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA, 180)
    room.queue(ADA)

    assert room.wait(179.5) == []
    assert room.history_id == "history-1"
    assert room.engine.next_deadline() == T0 + 180


def test_natural_end_after_exactly_the_duration_closes_history_cycles_the_item_and_plays_next():
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)
    ada_list = room.give_playlist(ADA, 180, 200)
    bram_list = room.give_playlist(BRAM, 240)
    room.queue(ADA)
    room.queue(BRAM)
    ada_first, ada_second = (dict(item) for item in ada_list.items)
    room.wait(179.5)

    events = room.wait(0.5)

    bram_first = song(bram_list.id * 100 + 1, 240)
    assert events == [advance(BRAM, [ADA], "history-2", bram_first, bram_list.id, T0 + 180)]
    assert room.last_records == [
        HistoryEnded("history-1", 0, 0, 0, listeners=1, skipped=False),
        PlaylistCycled(ADA, ada_list.id, ada_first["id"]),
        HistoryStarted("history-2", BRAM, bram_list.id, bram_first, T0 + 180),
    ]
    assert ada_list.items == [ada_second, ada_first]


def test_with_cycle_on_the_dj_is_appended_to_the_end_of_the_wait_list():
    room = Room(should_cycle=True)
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)

    events = room.wait(180)

    assert [event.payload["c"] for event in events] == [BRAM]
    assert events[0].payload["d"] == [CLEO, ADA]
    assert room.waitlist == [CLEO, ADA]


def test_with_cycle_off_the_dj_leaves_the_booth_after_the_play():
    room = Room(should_cycle=False)
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)

    events = room.wait(180)

    assert [event.name for event in events] == ["advance"]
    assert events[0].payload["c"] == BRAM
    assert events[0].payload["d"] == [CLEO]
    assert room.waitlist == [CLEO]
    assert room.last_records[0] == HistoryEnded("history-1", 0, 0, 0, 2, skipped=False)
    assert isinstance(room.last_records[1], PlaylistCycled)


def test_lone_dj_with_cycle_on_plays_their_next_item_at_once():
    room = Room()
    room.enter(ADA)
    playlist = room.give_playlist(ADA, 180, 200)
    first, second = (dict(item) for item in playlist.items)
    room.queue(ADA)

    events = room.wait(180)

    assert events == [advance(ADA, [], "history-2", second, playlist.id, T0 + 180)]
    assert room.last_records == [
        HistoryEnded("history-1", 0, 0, 0, listeners=0, skipped=False),
        PlaylistCycled(ADA, playlist.id, first["id"]),
        HistoryStarted("history-2", ADA, playlist.id, second, T0 + 180),
    ]


def test_lone_dj_with_cycle_off_leaves_an_empty_booth():
    room = Room(should_cycle=False)
    room.enter(ADA)
    playlist = room.give_playlist(ADA, 180)
    room.queue(ADA)

    events = room.wait(180)

    assert events == [EMPTY_ADVANCE]
    assert room.last_records == [
        HistoryEnded("history-1", 0, 0, 0, listeners=0, skipped=False),
        PlaylistCycled(ADA, playlist.id, playlist.id * 100 + 1),
    ]
    assert room.dj is None
    assert room.engine.next_deadline() is None


def test_turning_cycle_off_takes_effect_at_the_end_of_the_current_play():
    room = Room(should_cycle=True)
    room.enter(DEX, power=MANAGER)
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)
    room.wait(60)
    room.cycle(DEX, False)

    events = room.wait(120)

    assert events[0].payload["c"] == BRAM
    assert events[0].payload["d"] == []


def test_turning_cycle_on_during_a_play_cycles_that_play_s_dj():
    room = Room(should_cycle=False)
    room.enter(DEX, power=MANAGER)
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)
    room.wait(60)
    room.cycle(DEX, True)

    events = room.wait(120)

    assert events[0].payload["d"] == [ADA]


def test_a_locked_list_does_not_stop_the_dj_cycling_back():
    room = Room(should_cycle=True)
    room.enter(DEX, power=MANAGER)
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)
    room.lock(DEX, True)

    events = room.wait(180)

    assert events[0].payload["d"] == [ADA]


def test_a_full_wait_list_keeps_the_finished_dj_from_cycling_back():
    room = Room(should_cycle=True)
    dj, *waiting = range(1, 52)
    for user in (dj, *waiting):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)

    events = room.wait(180)

    assert events[0].payload["c"] == waiting[0]
    assert events[0].payload["d"] == waiting[1:]
    assert dj not in room.waitlist


def test_self_skip_sends_skip_then_advance_and_ends_as_skipped():
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)
    ada_list = room.give_playlist(ADA, 180, 200)
    bram_list = room.give_playlist(BRAM, 240)
    room.queue(ADA)
    room.queue(BRAM)
    room.wait(30)

    events = room.skip_self(ADA)

    bram_first = song(bram_list.id * 100 + 1, 240)
    assert events == [
        ev("skip", ADA),
        advance(BRAM, [ADA], "history-2", bram_first, bram_list.id, T0 + 30),
    ]
    assert room.last_records == [
        HistoryEnded("history-1", 0, 0, 0, listeners=1, skipped=True),
        PlaylistCycled(ADA, ada_list.id, ada_list.id * 100 + 1),
        HistoryStarted("history-2", BRAM, bram_list.id, bram_first, T0 + 30),
    ]
    assert room.waitlist == [ADA]


def test_self_skip_by_someone_other_than_the_dj_is_refused():
    room = Room()
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)

    with pytest.raises(RequestError) as refused:
        room.skip_self(BRAM)

    assert refused.value.data == ["You are not the current DJ."]
    assert room.history_id == "history-1"


def test_self_skip_when_nothing_plays_is_refused():
    room = Room()
    room.enter(ADA)

    with pytest.raises(RequestError) as refused:
        room.skip_self(ADA)

    assert refused.value.data == ["You are not the current DJ."]


def test_moderator_skip_sends_mod_skip_then_advance_and_cycles_the_dj():
    room = Room()
    room.enter(DEX, power=BOUNCER)
    room.enter(ADA)
    room.enter(BRAM)
    ada_list = room.give_playlist(ADA, 180)
    bram_list = room.give_playlist(BRAM, 240)
    room.queue(ADA)
    room.queue(BRAM)
    room.wait(45)

    events = room.mod_skip(DEX, ADA, "history-1")

    bram_first = song(bram_list.id * 100 + 1, 240)
    assert events == [
        ev("modSkip", {"m": "dex", "mi": DEX}),
        advance(BRAM, [ADA], "history-2", bram_first, bram_list.id, T0 + 45),
    ]
    assert room.last_records == [
        HistoryEnded("history-1", 0, 0, 0, listeners=2, skipped=True),
        PlaylistCycled(ADA, ada_list.id, ada_list.id * 100 + 1),
        HistoryStarted("history-2", BRAM, bram_list.id, bram_first, T0 + 45),
    ]


def test_moderator_skip_with_a_stale_history_id_is_refused():
    room = Room()
    room.enter(DEX, power=BOUNCER)
    room.enter(ADA)
    room.give_playlist(ADA, 180, 200)
    room.queue(ADA)
    room.wait(180)  # ADA's second song is now history-2

    with pytest.raises(RequestError) as refused:
        room.mod_skip(DEX, ADA, "history-1")

    assert refused.value.data == ["Not the current play."]
    assert room.history_id == "history-2"
    assert len(room.ended()) == 1


def test_moderator_skip_naming_the_wrong_dj_is_refused():
    room = Room()
    room.enter(DEX, power=BOUNCER)
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)

    with pytest.raises(RequestError) as refused:
        room.mod_skip(DEX, BRAM, "history-1")

    assert refused.value.data == ["Not the current play."]
    assert room.dj == ADA
    assert room.ended() == []


def test_moderator_skip_when_nothing_plays_says_nothing_is_playing():
    room = Room()
    room.enter(DEX, power=BOUNCER)

    with pytest.raises(RequestError) as refused:
        room.mod_skip(DEX, ADA, "history-1")

    assert refused.value.data == ["Nothing is playing."]


def test_dj_stepping_down_does_not_cycle_back():
    room = Room(should_cycle=True)
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)
    room.wait(10)

    events = room.step_down(ADA)

    assert [event.name for event in events] == ["advance"]
    assert events[0].payload["c"] == BRAM
    assert events[0].payload["d"] == [CLEO]
    assert room.last_records[:2] == [
        HistoryEnded("history-1", 0, 0, 0, listeners=2, skipped=True),
        PlaylistCycled(ADA, ADA * 10, ADA * 1000 + 1),
    ]
    assert ADA not in room.waitlist


def test_last_dj_stepping_down_leaves_an_empty_booth_with_an_empty_advance():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA)
    room.queue(ADA)

    events = room.step_down(ADA)

    assert events == [EMPTY_ADVANCE]
    assert events[0].payload == {}
    assert room.dj is None
    assert room.waitlist == []


def test_next_dj_without_a_playlist_drops_out_silently_and_the_one_after_plays():
    room = Room()
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)
    del room.playlists[BRAM]

    events = room.wait(180)

    cleo_first = song(CLEO * 1000 + 1, 180)
    assert events == [advance(CLEO, [ADA], "history-2", cleo_first, CLEO * 10, T0 + 180)]
    assert room.waitlist == [ADA]
    assert room.engine.is_present(BRAM)


def test_when_nobody_in_line_has_a_playlist_the_booth_empties():
    room = Room(should_cycle=False)
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)
    del room.playlists[BRAM]
    room.playlists[CLEO].items.clear()

    events = room.wait(180)

    assert events == [EMPTY_ADVANCE]
    assert room.waitlist == []
    assert room.dj is None


def test_the_next_play_uses_the_playlist_active_at_that_moment():
    room = Room()
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user, 180)
        room.queue(user)
    other = room.give_playlist(BRAM, 90, playlist_id=777)

    events = room.wait(180)

    assert events == [advance(BRAM, [ADA], "history-2", song(77701, 90), other.id, T0 + 180)]


def test_the_next_play_ends_after_its_own_duration_from_its_own_start():
    room = Room()
    for user in (ADA, BRAM):
        room.enter(user)
    room.give_playlist(ADA, 180)
    room.give_playlist(BRAM, 60)
    room.queue(ADA)
    room.queue(BRAM)
    room.wait(100)
    room.skip_self(ADA)  # BRAM starts at T0 + 100

    assert room.wait(59.5) == []
    assert [event.payload["c"] for event in room.wait(0.5)] == [ADA]
    assert room.engine.play is not None and room.engine.play.started_at == T0 + 160


# =================================================================================== votes §7


def _playing_with_listeners(*listeners: int, **settings: object) -> Room:
    """ADA plays a 180-second song; the listeners are present and not in line."""
    room = Room(**settings)  # type: ignore[arg-type]
    room.enter(ADA)
    room.give_playlist(ADA, 180, 200)
    room.queue(ADA)
    for user in listeners:
        room.enter(user)
    return room


def test_first_vote_sends_vote():
    room = _playing_with_listeners(BRAM)

    assert room.vote(BRAM, 1) == [ev("vote", {"i": BRAM, "v": 1})]


def test_changing_a_vote_sends_vote_again():
    room = _playing_with_listeners(BRAM)
    room.vote(BRAM, 1)

    assert room.vote(BRAM, -1) == [ev("vote", {"i": BRAM, "v": -1})]
    assert room.vote(BRAM, 1) == [ev("vote", {"i": BRAM, "v": 1})]


def test_repeating_the_same_vote_sends_nothing():
    room = _playing_with_listeners(BRAM)
    room.vote(BRAM, -1)

    assert room.vote(BRAM, -1) == []


def test_vote_by_the_dj_succeeds_and_is_ignored():
    room = _playing_with_listeners()

    assert room.vote(ADA, 1) == []
    room.step_down(ADA)
    assert room.ended() == [HistoryEnded("history-1", 0, 0, 0, listeners=0, skipped=True)]


def test_vote_with_a_stale_history_id_is_refused():
    room = _playing_with_listeners(BRAM)

    with pytest.raises(RequestError) as refused:
        room.vote(BRAM, 1, "some-other-play")

    assert refused.value.data == ["Not the current play."]


def test_vote_when_nothing_plays_is_refused():
    room = Room()
    room.enter(BRAM)

    with pytest.raises(RequestError) as refused:
        room.vote(BRAM, 1, "history-1")

    assert refused.value.data == ["Not the current play."]


def test_vote_carrying_the_previous_plays_history_id_after_an_advance_is_refused():
    room = _playing_with_listeners(BRAM)
    room.wait(180)
    assert room.history_id == "history-2"

    with pytest.raises(RequestError) as refused:
        room.vote(BRAM, 1, "history-1")

    assert refused.value.data == ["Not the current play."]
    room.step_down(ADA)
    assert room.ended()[-1] == HistoryEnded("history-2", 0, 0, 0, listeners=1, skipped=True)


def test_vote_from_outside_the_room_is_refused():
    room = _playing_with_listeners()

    with pytest.raises(RequestError) as refused:
        room.vote(BRAM, 1)

    assert refused.value.data == ["not in a room."]


def test_a_new_play_starts_with_no_votes():
    room = _playing_with_listeners(BRAM, CLEO)
    room.vote(BRAM, 1)
    room.vote(CLEO, -1)
    room.wait(180)

    assert room.vote(BRAM, 1) == [ev("vote", {"i": BRAM, "v": 1})]
    room.wait(200)
    assert room.ended()[-1] == HistoryEnded("history-2", 1, 0, 0, listeners=2, skipped=False)


def test_history_score_counts_woots_mehs_and_grabs_at_the_end():
    room = _playing_with_listeners(BRAM, CLEO, EVE, FINN)
    room.vote(BRAM, 1)
    room.vote(CLEO, 1)
    room.vote(EVE, 1)
    room.vote(EVE, -1)
    room.grab(FINN)
    room.grab(BRAM)

    room.wait(180)

    assert room.ended() == [
        HistoryEnded("history-1", positive=2, negative=1, grabs=2, listeners=4, skipped=False)
    ]


# =================================================================================== grabs §8


def test_first_grab_sends_grab_and_counts():
    room = _playing_with_listeners(BRAM)

    assert room.grab(BRAM) == [ev("grab", BRAM)]


def test_a_second_grab_of_the_same_play_counts_and_sends_nothing():
    room = _playing_with_listeners(BRAM)
    room.grab(BRAM)

    assert room.grab(BRAM) == []
    room.wait(180)
    assert room.ended()[0].grabs == 1


def test_dj_grabbing_their_own_play_does_not_count():
    room = _playing_with_listeners(BRAM)

    assert room.grab(ADA) == []
    room.wait(180)
    assert room.ended()[0].grabs == 0


def test_grab_with_a_stale_history_id_is_refused():
    room = _playing_with_listeners(BRAM)
    room.wait(180)

    with pytest.raises(RequestError) as refused:
        room.grab(BRAM, "history-1")

    assert refused.value.data == ["Not the current play."]


def test_media_to_grab_is_a_copy_of_the_current_media():
    room = _playing_with_listeners(BRAM)

    media = room.engine.media_to_grab(BRAM, "history-1")
    media["title"] = "changed"

    assert media["id"] == ADA * 1000 + 1
    assert room.engine.play is not None
    assert room.engine.play.media["title"] == f"Song {ADA * 1000 + 1}"


def test_media_to_grab_from_outside_the_room_is_refused():
    room = _playing_with_listeners()

    with pytest.raises(RequestError) as refused:
        room.engine.media_to_grab(BRAM, "history-1")

    assert refused.value.data == ["not in a room."]


def test_grabs_are_per_play():
    room = _playing_with_listeners(BRAM)
    room.grab(BRAM)
    room.wait(180)

    assert room.grab(BRAM) == [ev("grab", BRAM)]


# ============================================================================ history §2, §9


def test_a_leaving_listeners_vote_and_grab_are_removed_from_the_score():
    room = _playing_with_listeners(BRAM, CLEO)
    room.vote(BRAM, 1)
    room.grab(BRAM)
    room.vote(CLEO, -1)

    room.leave(BRAM)
    room.wait(180)

    assert room.ended() == [HistoryEnded("history-1", 0, 1, 0, listeners=1, skipped=False)]


def test_a_leaving_listeners_vote_does_not_come_back_when_they_return():
    room = _playing_with_listeners(BRAM)
    room.vote(BRAM, 1)
    room.leave(BRAM)
    room.enter(BRAM)

    assert room.vote(BRAM, 1) == [ev("vote", {"i": BRAM, "v": 1})]


def test_history_listeners_count_present_members_except_the_dj_plus_guests():
    room = _playing_with_listeners(BRAM, CLEO)
    room.enter_guest("session-1")
    room.enter_guest("session-2")
    room.enter(EVE)
    room.leave(EVE)

    room.wait(180)

    assert room.ended()[0].listeners == 4


def test_listeners_include_members_in_their_grace_period():
    room = _playing_with_listeners(BRAM)
    room.wait(170)
    room.close_socket(BRAM)

    room.wait(10)

    assert room.ended()[0].listeners == 1


# ==================================================================================== chat §11


def test_chat_echo_payload_is_exactly_cid_message_sub_uid_un():
    room = Room()
    room.enter(BRAM)

    events = room.chat(BRAM, "this one's great")

    assert events == [
        ev(
            "chat",
            {
                "cid": f"{BRAM}-1714586649500",
                "message": "this one&#39;s great",
                "sub": 0,
                "uid": BRAM,
                "un": "bram",
            },
        )
    ]
    assert events[0].exclude_user is None


def test_chat_carries_the_subscriber_flag():
    room = Room()
    room.enter(BRAM, sub=1)

    assert room.chat(BRAM, "hi")[0].payload["sub"] == 1


def test_chat_username_is_the_members_escaped_name_not_escaped_twice():
    room = Room()
    user = room_user(BRAM) | {"username": "b&lt;r&gt;am"}
    room.run(lambda engine, now: engine.join(now, user, 0, True))

    assert room.chat(BRAM, "hi")[0].payload["un"] == "b&lt;r&gt;am"


def test_chat_escapes_html_with_the_one_table():
    room = Room()
    room.enter(BRAM)

    events = room.chat(BRAM, """<b>Tom & "Jerry"'s</b>""")

    assert events[0].payload["message"] == ("&lt;b&gt;Tom &amp; &#34;Jerry&#34;&#39;s&lt;/b&gt;")


@pytest.mark.parametrize("text", ["hello\nworld", "hello\rworld", "hello\n", "\r\n"])
def test_chat_with_a_line_break_is_dropped(text: str):
    room = Room()
    room.enter(BRAM)

    assert room.chat(BRAM, text) == []
    assert room.engine.recent_chat() == []


@pytest.mark.parametrize("text", ["", " ", "   \t  "])
def test_chat_of_only_whitespace_is_dropped(text: str):
    room = Room()
    room.enter(BRAM)

    assert room.chat(BRAM, text) == []


def test_chat_is_trimmed():
    room = Room()
    room.enter(BRAM)

    assert room.chat(BRAM, "   hi there \t")[0].payload["message"] == "hi there"


def test_chat_of_exactly_250_escaped_bytes_is_kept_whole():
    room = Room()
    room.enter(BRAM)

    message = room.chat(BRAM, "a" * 245 + "&")[0].payload["message"]

    assert message == "a" * 245 + "&amp;"
    assert len(message.encode()) == 250


def test_chat_is_cut_at_250_bytes_measured_on_the_escaped_text():
    room = Room()
    room.enter(BRAM)

    message = room.chat(BRAM, "<" * 63)[0].payload["message"]

    assert message == "&lt;" * 62
    assert len(message.encode()) == 248


def test_chat_cut_does_not_split_an_entity():
    room = Room()
    room.enter(BRAM)

    message = room.chat(BRAM, "a" * 248 + "&b")[0].payload["message"]

    assert message == "a" * 248


def test_chat_cut_does_not_split_a_utf8_character():
    room = Room()
    room.enter(BRAM)

    two_bytes = room.chat(BRAM, "a" * 249 + "é")[0].payload["message"]
    three_bytes = room.chat(BRAM, "a" * 248 + "€b")[0].payload["message"]
    four_bytes = room.chat(BRAM, "a" * 247 + "🎵")[0].payload["message"]

    assert two_bytes == "a" * 249
    assert three_bytes == "a" * 248
    assert four_bytes == "a" * 247


def test_chat_cut_keeps_a_whole_multibyte_character_that_fits():
    room = Room()
    room.enter(BRAM)

    message = room.chat(BRAM, "é" * 130)[0].payload["message"]

    assert message == "é" * 125


@pytest.mark.parametrize("text", ["/me dances", "/em waves"])
def test_chat_emotes_keep_their_prefix(text: str):
    room = Room()
    room.enter(BRAM)

    assert room.chat(BRAM, text)[0].payload["message"] == text


def test_chat_ids_stay_unique_for_one_user_within_the_same_millisecond():
    room = Room()
    room.enter(BRAM)

    first = room.chat(BRAM, "one")[0].payload["cid"]
    second = room.chat(BRAM, "two")[0].payload["cid"]
    room.now += 0.0004
    third = room.chat(BRAM, "three")[0].payload["cid"]
    room.now += 1
    later = room.chat(BRAM, "four")[0].payload["cid"]

    assert [first, second, third] == [
        f"{BRAM}-1714586649500",
        f"{BRAM}-1714586649501",
        f"{BRAM}-1714586649502",
    ]
    assert later == f"{BRAM}-1714586650500"


def test_chat_ids_of_different_users_in_the_same_millisecond_each_keep_the_time():
    room = Room()
    room.enter(BRAM)
    room.enter(CLEO)

    assert room.chat(BRAM, "one")[0].payload["cid"] == f"{BRAM}-1714586649500"
    assert room.chat(CLEO, "two")[0].payload["cid"] == f"{CLEO}-1714586649500"


def test_chat_below_the_minimum_chat_level_is_dropped():
    room = Room(min_chat_level=2)
    room.enter(BRAM, level=1)

    assert room.chat(BRAM, "hello") == []
    assert room.engine.recent_chat() == []


def test_chat_at_the_minimum_chat_level_is_accepted():
    room = Room(min_chat_level=2)
    room.enter(BRAM, level=2)

    assert [event.name for event in room.chat(BRAM, "hello")] == ["chat"]


def test_chat_below_the_minimum_level_is_accepted_from_power_1000():
    room = Room(min_chat_level=3)
    room.enter(BRAM, level=1, power=RESIDENT_DJ)

    assert [event.name for event in room.chat(BRAM, "hello")] == ["chat"]


def test_chat_from_outside_the_room_is_dropped():
    room = Room()
    room.enter(ADA)

    assert room.chat(BRAM, "hello") == []


def test_deleting_a_chat_message_sends_chat_delete_once():
    room = Room()
    room.enter(DEX, power=BOUNCER)
    room.enter(BRAM)
    cid = room.chat(BRAM, "spam")[0].payload["cid"]

    assert room.delete_chat(DEX, cid) == [ev("chatDelete", {"c": cid, "mi": DEX})]
    assert room.delete_chat(DEX, cid) == []
    assert room.engine.chat_author(cid) is None


def test_deleting_an_unknown_chat_message_sends_nothing():
    room = Room()
    room.enter(DEX, power=BOUNCER)

    assert room.delete_chat(DEX, f"{BRAM}-1714586649500") == []


def test_chat_older_than_the_last_512_messages_cannot_be_deleted():
    room = Room()
    room.enter(DEX, power=BOUNCER)
    room.enter(BRAM)
    oldest = room.chat(BRAM, "message 0")[0].payload["cid"]
    for n in range(1, 512):
        room.chat(BRAM, f"message {n}")
    assert room.engine.chat_author(oldest) is not None
    room.chat(BRAM, "message 512")

    assert room.delete_chat(DEX, oldest) == []


def test_chat_author_is_known_for_a_remembered_message():
    room = Room()
    room.enter(BRAM)
    cid = room.chat(BRAM, "hi")[0].payload["cid"]

    assert room.engine.chat_author(cid) == room_user(BRAM)


def test_recent_chat_keeps_the_last_30_messages_that_were_not_deleted():
    room = Room()
    room.enter(DEX, power=BOUNCER)
    room.enter(BRAM)
    cids = [room.chat(BRAM, f"message {n}")[0].payload["cid"] for n in range(35)]
    room.delete_chat(DEX, cids[33])
    room.delete_chat(DEX, cids[20])

    recent = room.engine.recent_chat()

    kept = [n for n in range(35) if n not in (20, 33)][-30:]
    assert [line.payload["message"] for line in recent] == [f"message {n}" for n in kept]
    assert [line.payload["cid"] for line in recent] == [cids[n] for n in kept]


# ======================================================================== lock and cycle §10


def test_lock_with_clear_sends_dj_list_locked_then_an_empty_dj_list_update():
    room = Room()
    room.enter(DEX, power=MANAGER)
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)

    events = room.lock(DEX, True, clear=True)

    assert events == [
        ev("djListLocked", {"c": True, "f": True, "m": "dex", "mi": DEX}),
        ev("djListUpdate", []),
    ]
    assert room.waitlist == []
    assert room.dj == ADA
    assert room.engine.is_locked


def test_lock_without_clear_keeps_everyone_waiting():
    room = Room()
    room.enter(DEX, power=MANAGER)
    for user in (ADA, BRAM):
        room.enter(user)
        room.give_playlist(user)
        room.queue(user)

    events = room.lock(DEX, True, clear=False)

    assert events == [ev("djListLocked", {"c": False, "f": True, "m": "dex", "mi": DEX})]
    assert room.waitlist == [BRAM]


def test_clearing_an_already_empty_list_sends_no_dj_list_update():
    room = Room()
    room.enter(DEX, power=MANAGER)

    events = room.lock(DEX, False, clear=True)

    assert events == [ev("djListLocked", {"c": True, "f": False, "m": "dex", "mi": DEX})]


def test_unlocking_lets_power_zero_join_again():
    room = Room(is_locked=True)
    room.enter(DEX, power=MANAGER)
    room.enter(ADA)
    room.give_playlist(ADA)
    room.lock(DEX, False)

    assert [event.name for event in room.queue(ADA)] == ["advance"]


def test_set_cycle_sends_dj_list_cycle_with_f_m_mi_even_when_unchanged():
    room = Room(should_cycle=True)
    room.enter(DEX, power=MANAGER)

    off = room.cycle(DEX, False)
    again = room.cycle(DEX, False)
    on = room.cycle(DEX, True)

    assert off == [ev("djListCycle", {"f": False, "m": "dex", "mi": DEX})]
    assert again == off
    assert on == [ev("djListCycle", {"f": True, "m": "dex", "mi": DEX})]
    assert room.engine.should_cycle is True


def test_stamp_helper_matches_the_documented_example():
    """Guards the expected values above: the helper itself follows conventions §6."""
    assert stamp(1_714_586_649.512033) == "2024-05-01 18:04:09.512033"


# ============================================================================ role changes §22


def test_a_role_change_applies_at_once_to_joining_a_locked_list():
    room = Room(is_locked=True)
    room.enter(ADA)
    room.give_playlist(ADA)
    with pytest.raises(Forbidden):
        room.queue(ADA)

    room.engine.update_member(room_user(ADA, role=RESIDENT_DJ), RESIDENT_DJ)

    assert [event.name for event in room.queue(ADA)] == ["advance"]
    assert room.engine.power_of(ADA) == RESIDENT_DJ


def test_a_role_change_of_someone_not_present_is_ignored():
    room = Room()

    room.engine.update_member(room_user(ADA, role=MANAGER), MANAGER)

    assert not room.engine.is_present(ADA)
    assert room.engine.power_of(ADA) == 0
