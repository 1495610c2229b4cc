"""Ways other servers broke that must not happen here (behaviour.md §1, §2, §4, §6).

Each test sets up the exact moment where two things meet and checks that the room stays whole:
one advance per end, one history close per play, nobody twice in line, nobody skipped.
"""

from __future__ import annotations

from collections import Counter

import pytest

from replug.engine.events import HistoryEnded, HistoryStarted, PlaylistCycled
from replug.protocol.errors import RequestError
from tests.engine.driver import (
    ADA,
    BRAM,
    CLEO,
    DEX,
    EMPTY_ADVANCE,
    T0,
    Room,
    advance,
    ev,
    moved_out,
    names,
    song,
    stamp,
)

BOUNCER = 2000


def _line_of_three(ada_duration: int = 180) -> Room:
    """ADA plays, BRAM then CLEO wait; everyone has a playlist."""
    room = Room()
    for user in (ADA, BRAM, CLEO):
        room.enter(user)
    room.give_playlist(ADA, ada_duration, 200)
    room.give_playlist(BRAM, 240)
    room.give_playlist(CLEO, 300)
    for user in (ADA, BRAM, CLEO):
        room.queue(user)
    return room


def _assert_nobody_twice(room: Room) -> None:
    booth = [room.dj] if room.dj is not None else []
    counts = Counter(booth + room.waitlist)
    assert all(n == 1 for n in counts.values()), counts


# ---------------------------------------------------------- the DJ leaves the room mid-song


def test_dj_leaving_the_room_mid_song_hands_over_to_the_next_in_line_before_user_leave():
    room = _line_of_three()
    room.wait(60)

    events = room.leave(ADA)

    bram_first = song(BRAM * 1000 + 1, 240)
    assert events == [
        moved_out(ADA),
        advance(BRAM, [CLEO], "history-2", bram_first, BRAM * 10, T0 + 60),
        ev("userLeave", ADA),
    ]
    assert room.last_records == [
        HistoryEnded("history-1", 0, 0, 0, listeners=2, skipped=True),
        PlaylistCycled(ADA, ADA * 10, ADA * 1000 + 1),
        HistoryStarted("history-2", BRAM, BRAM * 10, bram_first, T0 + 60),
    ]


def test_dj_leaving_the_room_mid_song_skips_nobody_in_line_afterwards():
    room = _line_of_three()
    room.wait(60)
    room.leave(ADA)

    bram_end = room.wait(240)
    cleo_end = room.wait(300)

    assert [(e.payload["c"], e.payload["d"]) for e in bram_end] == [(CLEO, [BRAM])]
    assert [(e.payload["c"], e.payload["d"]) for e in cleo_end] == [(BRAM, [CLEO])]
    assert [r.skipped for r in room.ended()] == [True, False, False]


def test_lone_dj_leaving_the_room_mid_song_empties_the_booth_before_user_leave():
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)
    room.give_playlist(ADA)
    room.queue(ADA)

    events = room.leave(ADA)

    assert events == [moved_out(ADA), EMPTY_ADVANCE, ev("userLeave", ADA)]
    assert room.dj is None


def test_dj_whose_grace_period_runs_out_mid_song_hands_over_like_a_leave():
    room = _line_of_three()
    room.wait(10)
    room.close_socket(ADA)

    events = room.wait(30)

    assert names(events) == ["_room", "advance", "userLeave"]
    assert events[1].payload["c"] == BRAM
    assert events[1].payload["d"] == [CLEO]
    assert events[1].payload["t"] == stamp(T0 + 40)
    assert room.ended() == [HistoryEnded("history-1", 0, 0, 0, listeners=2, skipped=True)]


def test_dj_who_left_is_not_cycled_back_even_with_cycle_on():
    room = _line_of_three()

    room.leave(ADA)

    assert room.waitlist == [CLEO]
    assert ADA not in room.engine.members


# ----------------------------------------------- a very short media ends while a skip arrives


def test_short_media_ending_then_a_late_self_skip_gives_exactly_one_advance():
    room = _line_of_three(ada_duration=1)
    room.now += 1  # the end of ADA's song and her skip are due at the same moment

    ended = room.tick()
    with pytest.raises(RequestError) as refused:
        room.skip_self(ADA)

    assert names(ended) == ["advance"]
    assert ended[0].payload["c"] == BRAM
    assert refused.value.data == ["You are not the current DJ."]
    assert room.ended() == [HistoryEnded("history-1", 0, 0, 0, listeners=2, skipped=False)]
    assert names(room.published).count("advance") == 2  # ADA's start and BRAM's start
    assert room.waitlist == [CLEO, ADA]
    _assert_nobody_twice(room)


def test_self_skip_then_the_due_end_of_the_same_short_media_gives_exactly_one_advance():
    room = _line_of_three(ada_duration=1)
    room.now += 1

    skipped = room.skip_self(ADA)
    due = room.tick()

    assert names(skipped) == ["skip", "advance"]
    assert skipped[1].payload["c"] == BRAM
    assert due == []
    assert room.ended() == [HistoryEnded("history-1", 0, 0, 0, listeners=2, skipped=True)]
    assert names(room.published).count("advance") == 2
    assert room.waitlist == [CLEO, ADA]
    _assert_nobody_twice(room)


def test_short_media_ending_then_a_moderator_skip_of_that_play_is_refused():
    room = _line_of_three(ada_duration=1)
    room.enter(DEX, power=BOUNCER)
    room.now += 1

    room.tick()
    with pytest.raises(RequestError) as refused:
        room.mod_skip(DEX, ADA, "history-1")

    assert refused.value.data == ["Not the current play."]
    assert len(room.ended()) == 1
    assert room.dj == BRAM
    _assert_nobody_twice(room)


def test_moderator_skip_then_the_due_end_of_the_same_short_media_does_nothing_more():
    room = _line_of_three(ada_duration=1)
    room.enter(DEX, power=BOUNCER)
    room.now += 1

    skipped = room.mod_skip(DEX, ADA, "history-1")
    due = room.tick()

    assert names(skipped) == ["modSkip", "advance"]
    assert due == []
    assert len(room.ended()) == 1
    _assert_nobody_twice(room)


def test_short_media_ending_then_a_late_step_down_only_leaves_the_list():
    room = _line_of_three(ada_duration=1)
    room.now += 1

    room.tick()
    stepped = room.step_down(ADA)

    assert stepped == [ev("djListUpdate", [CLEO])]
    assert room.dj == BRAM
    assert len(room.ended()) == 1


def test_lone_dj_with_two_short_songs_plays_each_once_as_time_passes():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA, 1, 1)
    room.queue(ADA)

    events = room.wait(1)
    events += room.wait(1)

    assert [e.payload["h"] for e in events] == ["history-2", "history-3"]
    assert [r.history_id for r in room.ended()] == ["history-1", "history-2"]
    assert room.waitlist == []


def test_requeueing_right_after_the_end_never_puts_the_dj_in_line_twice():
    room = _line_of_three(ada_duration=1)
    room.now += 1
    room.tick()

    assert room.queue(ADA) == []
    assert room.waitlist == [CLEO, ADA]


# ------------------------------------------------------------ the next DJ's playlist is empty


def test_next_dj_whose_active_playlist_was_emptied_drops_out_and_the_one_after_plays():
    room = _line_of_three()
    room.playlists[BRAM].items.clear()

    events = room.wait(180)

    cleo_first = song(CLEO * 1000 + 1, 300)
    assert events == [advance(CLEO, [ADA], "history-2", cleo_first, CLEO * 10, T0 + 180)]
    assert BRAM not in room.waitlist
    assert room.engine.is_present(BRAM)
    assert [type(r) for r in room.last_records] == [HistoryEnded, PlaylistCycled, HistoryStarted]


def test_next_dj_with_an_emptied_playlist_drops_out_on_a_skip_too():
    room = _line_of_three()
    room.playlists[BRAM].items.clear()

    events = room.skip_self(ADA)

    assert names(events) == ["skip", "advance"]
    assert events[1].payload["c"] == CLEO
    assert events[1].payload["d"] == [ADA]


def test_lone_dj_whose_playlist_was_emptied_mid_play_leaves_an_empty_booth():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA, 180)
    room.queue(ADA)
    room.playlists[ADA].items.clear()

    assert room.wait(180) == [EMPTY_ADVANCE]
    assert room.dj is None
    assert room.waitlist == []


# ------------------------------------------------------------------- overdue timers, in order


def test_a_play_that_ran_out_before_its_djs_grace_ended_still_ends_naturally_when_both_are_late():
    """§1: what is overdue is processed in time order, so the play ended (naturally) at T0+60,
    before ADA's presence ran out at T0+70; only then does she leave (from the wait list)."""
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)
    room.give_playlist(ADA, 60)
    room.give_playlist(BRAM, 300)
    room.queue(ADA)
    room.queue(BRAM)
    room.wait(40)
    room.close_socket(ADA)  # grace ends at T0 + 70, after the song's end at T0 + 60

    events = room.wait(40)  # the timer fires late: at T0 + 80 both are overdue

    assert room.ended() == [HistoryEnded("history-1", 0, 0, 0, listeners=1, skipped=False)]
    assert names(events) == ["advance", "_room", "djListUpdate", "userLeave"]
    assert events[0].payload["c"] == BRAM
    assert events[0].payload["d"] == [ADA]
    assert events[2].payload == []


def test_a_grace_period_that_ran_out_before_the_play_ended_is_processed_first():
    room = Room()
    room.enter(ADA)
    room.enter(BRAM)
    room.give_playlist(ADA, 60)
    room.give_playlist(BRAM, 300)
    room.queue(ADA)
    room.queue(BRAM)
    room.wait(20)
    room.close_socket(ADA)  # grace ends at T0 + 50, before the song's end at T0 + 60

    events = room.wait(60)

    assert names(events) == ["_room", "advance", "userLeave"]
    assert room.ended() == [HistoryEnded("history-1", 0, 0, 0, listeners=1, skipped=True)]
