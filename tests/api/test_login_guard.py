"""Password guessing is slowed: the 11th failure within 15 minutes answers 429 floodAPI."""

from __future__ import annotations

import asyncio

from tests.conftest import Server


async def test_too_many_failed_logins_for_one_address_are_refused_for_a_while(server: Server):
    await server.user("ada")
    guesser = server.client()

    answers = [await guesser.login("ada@example.test", f"guess{n}") for n in range(10)]
    blocked = await guesser.login("ADA@example.test", "hunter2hunter2")
    server.clock.advance(15 * 60 + 1)
    later = await guesser.login("ada@example.test", "hunter2hunter2")

    assert {(a.http_status, a.status) for a in answers} == {(401, "badLogin")}
    assert (blocked.http_status, blocked.status) == (429, "floodAPI")
    assert (later.http_status, later.status) == (200, "ok")


async def test_failures_for_another_address_do_not_block_this_one(server: Server):
    await server.user("ada")
    guesser = server.client()
    for n in range(11):
        await guesser.login("someone@example.test", f"guess{n}")

    answer = await guesser.login("ada@example.test", "hunter2hunter2")

    assert (answer.http_status, answer.status) == (200, "ok")


async def test_padding_or_case_in_the_address_is_the_same_address(server: Server):
    await server.user("ada")
    guesser = server.client()
    variants = ("ada@example.test", " ada@example.test", "ADA@example.test\t")
    for n in range(10):
        await guesser.login(variants[n % 3], f"guess{n}")

    answers = [await guesser.login(variant, "hunter2hunter2") for variant in variants]

    assert {(a.http_status, a.status) for a in answers} == {(429, "floodAPI")}


async def test_a_burst_of_simultaneous_guesses_gets_no_more_than_ten_checked(server: Server):
    await server.user("ada")
    guessers = [server.client() for _ in range(30)]
    for guesser in guessers:
        await guesser.csrf()

    answers = await asyncio.gather(
        *(guesser.login("ada@example.test", f"guess{n}") for n, guesser in enumerate(guessers))
    )

    statuses = [(a.http_status, a.status) for a in answers]
    assert statuses.count((401, "badLogin")) == 10
    assert statuses.count((429, "floodAPI")) == 20
