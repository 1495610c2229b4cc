"""The gap between two plays, as several nodes see it: every node applies the same commands,
and the node that ended a play starts the next one; if it is gone, anyone may retry."""

from __future__ import annotations

import orjson

from replug.engine.room import NEXT_PLAY_RETRY_SECONDS, RoomEngine
from tests.engine.driver import ADA, BRAM, CLEO, EMPTY_ADVANCE, Room, names


def _two_djs() -> Room:
    room = Room()
    for user_id in (ADA, BRAM, CLEO):
        room.enter(user_id)
        room.give_playlist(user_id, 60, 70)
    room.queue(ADA)
    room.queue(BRAM)
    return room


def test_ending_a_play_leaves_the_room_waiting_for_the_next_one():
    room = _two_djs()

    outcome = room.engine.skip_self(room.now, ADA)

    assert outcome.next_play_needed
    assert room.engine.play is None
    assert room.engine.awaiting_next_since == room.now
    assert room.engine.waitlist == [BRAM, ADA]


def test_a_second_start_for_the_same_gap_changes_nothing():
    room = _two_djs()
    room.engine.skip_self(room.now, ADA)
    heads = room.heads(room.engine.line())

    first = room.engine.start_next_play(room.now, heads)
    second = room.engine.start_next_play(room.now, heads)

    assert names(first.events) == ["advance"]
    assert second.events == [] and second.records == []
    assert room.engine.play is not None and room.engine.play.dj_id == BRAM


def test_someone_who_was_not_looked_up_asks_for_another_look():
    room = Room()
    for user_id in (ADA, BRAM):
        room.enter(user_id)
        room.give_playlist(user_id, 60)
    room.queue(ADA)
    room.engine.leave_booth(room.now, ADA)

    waiting = room.engine.join_waitlist(room.now, BRAM, room.head(BRAM))
    again = room.engine.start_next_play(room.now, {})

    assert names(waiting.events) == ["djListUpdate"]
    assert again.next_play_needed
    assert room.engine.waitlist == [BRAM]
    assert room.engine.awaiting_next_since is not None


def test_joining_during_the_gap_queues_instead_of_jumping_the_line():
    room = _two_djs()
    room.engine.skip_self(room.now, ADA)

    outcome = room.engine.join_waitlist(room.now, CLEO, room.head(CLEO))

    assert names(outcome.events) == ["djListUpdate"]
    assert room.engine.waitlist == [BRAM, ADA, CLEO]
    assert room.engine.play is None


def test_an_abandoned_gap_is_retried_after_the_retry_delay():
    room = _two_djs()
    room.engine.skip_self(room.now, ADA)

    early = room.engine.tick(room.now + NEXT_PLAY_RETRY_SECONDS - 0.01)
    late = room.engine.tick(room.now + NEXT_PLAY_RETRY_SECONDS)

    assert room.engine.next_deadline() == room.now + NEXT_PLAY_RETRY_SECONDS
    assert not early.next_play_needed
    assert late.next_play_needed and late.events == []


def test_an_empty_line_after_a_gap_ends_with_the_empty_advance():
    room = Room()
    room.enter(ADA)
    room.give_playlist(ADA, 60)
    room.queue(ADA)
    room.engine.leave_booth(room.now, ADA)

    outcome = room.engine.start_next_play(room.now, {})

    assert outcome.events == [EMPTY_ADVANCE]
    assert room.engine.awaiting_next_since is None


def test_a_snapshot_restores_an_identical_room():
    room = _two_djs()
    room.enter_guest("guest-1")
    room.vote(CLEO, 1)
    room.grab(CLEO)
    room.chat(CLEO, "hello <there>")
    room.close_socket(CLEO)
    room.engine.skip_self(room.now, ADA)

    copy = RoomEngine.restore(orjson.loads(orjson.dumps(room.engine.snapshot())))

    assert orjson.dumps(copy.snapshot()) == orjson.dumps(room.engine.snapshot())
    assert copy.recent_chat()[0].payload["message"] == "hello &lt;there&gt;"
    assert copy.next_deadline() == room.engine.next_deadline()
    heads = room.heads(copy.line())
    assert copy.start_next_play(room.now, heads).events[0].payload["c"] == BRAM
