"""Measurements against one running server: connecting, rate steps, the ramp.

A *delivery* is one chat frame arriving at one listener. A step sends chats at a fixed rate
for a fixed time (round robin over the senders), then waits for the last deliveries; it
passes when every listener got every chat (no loss, no socket closed) and the 99th
percentile of the delivery latencies is at or under the limit. The ramp looks for the highest
passing rate: doubling from a low rate until a step fails, then bisecting (geometrically)
between the last pass and the first fail, then re-running the best rate to confirm it and
reporting the median of those runs.

Every loop here is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loadgen.native import make_reader
from loadgen.procstat import cpu_seconds, own_cpu_seconds, rss_bytes
from loadgen.wsclient import (
    Client,
    ConnectError,
    Tally,
    handshake_request,
    now_us,
    open_client,
)

SATURATED = 0.90  # a process using this much of its core is taken as saturated


@dataclass
class ConnectResult:
    wanted: int
    opened: int
    seconds: float
    failures: int
    errors: list[str]
    wrong_room: int
    join_frames: int  # frames other than chat/ack/h the listeners had received when all were in

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.wrong_room == 0


@dataclass
class StepResult:
    chat_rate: float
    listeners: int
    seconds: float  # sending time
    wall: float  # sending + draining
    sent: int
    expected: int
    received: int
    lost: int
    duplicated: int
    stale: int
    closed: int
    echo_lost: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float
    loadgen_cpu: float
    limit_ms: float
    floods: int = 0  # floodChat / rateLimit events received during the step
    copies: int = 1  # frames per chat per listener (1 but for the trivial source's --copies)
    errors: list[str] = field(default_factory=list)

    @property
    def offered(self) -> float:
        """Deliveries per second asked of the server: chat rate × listeners."""
        return self.chat_rate * self.listeners * self.copies

    @property
    def passed(self) -> bool:
        return (
            self.lost == 0
            and self.closed == 0
            and self.duplicated == 0
            and self.received > 0
            and self.p99_ms <= self.limit_ms
        )

    @property
    def server_util(self) -> float:
        return self.server_cpu / self.wall if self.wall else 0.0

    @property
    def loadgen_util(self) -> float:
        return self.loadgen_cpu / self.wall if self.wall else 0.0

    @property
    def server_us_per_delivery(self) -> float:
        return self.server_cpu / self.received * 1e6 if self.received else math.nan

    @property
    def loadgen_us_per_delivery(self) -> float:
        return self.loadgen_cpu / self.received * 1e6 if self.received else math.nan

    def line(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        extra = ""
        if self.lost or self.closed or self.duplicated:
            extra = f" lost={self.lost} closed={self.closed} dup={self.duplicated}"
        if self.floods:
            extra += f" floodChat/rateLimit={self.floods}"
        if self.errors:
            extra += f" ({'; '.join(self.errors[:2])})"
        return (
            f"{self.offered:>9,.0f} deliv/s ({self.chat_rate:,.1f} chats/s): {verdict} "
            f"p50={self.p50_ms:.1f}ms p99={self.p99_ms:.1f}ms max={self.max_ms:.0f}ms "
            f"server {self.server_util:.0%} ({self.server_us_per_delivery:.1f}us/deliv) "
            f"loadgen {self.loadgen_util:.0%}{extra}"
        )


@dataclass
class RampResult:
    best: float | None  # deliveries/s of the best confirmed passing rate
    trials: list[StepResult]
    confirm_runs: list[StepResult]
    first_fail: StepResult | None
    loadgen_bound: bool

    def median(self, key: Callable[[StepResult], float]) -> float:
        values = [key(run) for run in self.confirm_runs if not math.isnan(key(run))]
        return statistics.median(values) if values else math.nan


def percentile(ordered: list[int], fraction: float) -> float:
    if not ordered:
        return math.nan
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index] / 1000.0


class Bench:
    """The sockets of one benchmark against one server process."""

    def __init__(
        self,
        host: str,
        port: int,
        server_pid: int,
        log: Callable[[str], None] = print,
        connect_timeout: float = 30.0,
        limit_ms: float = 100.0,
        poll_interval: float = 0.001,
        copies: int = 1,
        reader: str = "native",
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the benchmark only talks to servers on this machine")
        self.host = host
        self.port = port
        self.pid = server_pid
        self.log = log
        self.connect_timeout = connect_timeout
        self.limit_ms = limit_ms
        self.request = handshake_request(host, port)
        self.tally = Tally()
        self.echo = Tally()
        self.listeners: list[Client] = []
        self.listener_tokens: list[str] = []
        self.senders: list[Client] = []
        self.sender_tokens: list[str] = []
        self.slug: str | None = None
        self.server_errors: list[str] = []
        self.copies = copies
        self.reader = make_reader(reader, poll_interval)
        self.reader.start()

    # ------------------------------------------------------------ connecting

    async def _open_many(
        self, tokens: list[str], tally: Tally, concurrency: int, deadline: float
    ) -> tuple[list[Client | None], list[str]]:
        results: list[Client | None] = [None] * len(tokens)
        errors: list[str] = []
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int, token: str) -> None:
            async with gate:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    errors.append("not started before the deadline")
                    return
                try:
                    results[index] = await open_client(
                        self.host,
                        self.port,
                        token,
                        tally,
                        self.reader,
                        min(remaining, self.connect_timeout),
                        self.request,
                    )
                except (ConnectError, OSError) as error:
                    errors.append(str(error) or type(error).__name__)
                except TimeoutError:
                    errors.append("timed out")

        await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))
        return results, errors

    async def connect_senders(self, tokens: list[str]) -> None:
        self.sender_tokens = list(tokens)
        deadline = time.monotonic() + self.connect_timeout
        opened, errors = await self._open_many(tokens, self.echo, 16, deadline)
        if errors:
            raise ConnectError(f"senders could not connect: {errors[:3]}")
        self.senders = [c for c in opened if c is not None]
        self.slug = self.senders[0].slug if self.senders else None

    async def connect_listeners(
        self, tokens: list[str], concurrency: int, budget: float
    ) -> ConnectResult:
        """Open, authenticate and join with every token at once (at most `concurrency` at a
        time in the handshake); timed from the first connect to the last ack."""
        self.listener_tokens = list(tokens)
        started = time.monotonic()
        opened, errors = await self._open_many(tokens, self.tally, concurrency, started + budget)
        seconds = time.monotonic() - started
        self.listeners = [c for c in opened if c is not None]
        wrong = sum(1 for c in self.listeners if self.slug is not None and c.slug != self.slug)
        joins = sum(c.others for c in self.listeners)
        distinct = sorted(set(errors))
        return ConnectResult(
            len(tokens), len(self.listeners), seconds, len(errors), distinct[:5], wrong, joins
        )

    async def reconnect_closed(self) -> int:
        """Replace listeners the server closed (bounded: one attempt each)."""
        closed = [i for i, c in enumerate(self.listeners) if not c.is_open]
        if not closed:
            return 0
        deadline = time.monotonic() + self.connect_timeout
        tokens = [self.listener_tokens[i] for i in closed]
        opened, errors = await self._open_many(tokens, self.tally, 64, deadline)
        for index, client in zip(closed, opened, strict=True):
            if client is not None:
                self.listeners[index] = client
        if errors:
            self.log(f"    could not reopen {len(errors)} listeners: {sorted(set(errors))[:3]}")
        return len(closed)

    async def close_all(self) -> None:
        for client in self.listeners + self.senders:
            client.close()
        self.listeners = []
        self.senders = []
        await self.reader.stop()

    # ------------------------------------------------------------- observing

    def total_frames(self) -> int:
        return sum(c.frames for c in self.listeners) + sum(c.frames for c in self.senders)

    async def quiesce(self, quiet: float = 0.3, limit: float = 30.0) -> float:
        """Wait until no frame arrives for `quiet` seconds (at most `limit`)."""
        started = time.monotonic()
        last = self.total_frames()
        still_since = started
        while time.monotonic() - started < limit:
            await asyncio.sleep(0.05)
            now = self.total_frames()
            if now != last:
                last = now
                still_since = time.monotonic()
            elif time.monotonic() - still_since >= quiet:
                break
        return time.monotonic() - started

    async def settle(self, limit: float = 90.0) -> float:
        """Wait until the server has caught up with everything sent so far: the senders'
        unsent bytes are gone, then one probe chat per sender comes back to every socket
        (the server relays each sender's chats in order), then nothing arrives for a moment.
        Without this, an overloaded step's backlog would spill into the next step."""
        started = time.monotonic()
        deadline = started + limit
        while any(c.outbox for c in self.senders if c.is_open):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        probes = []
        for sender in self.senders:
            if sender.is_open:
                probe = now_us()
                sender.send_chat(probe)
                probes.append(probe)
        if probes:
            first = min(probes)
            while time.monotonic() < deadline:
                sockets = [c for c in self.listeners + self.senders if c.is_open]
                if all(c.newest >= first for c in sockets) and not any(
                    c.outbox for c in self.senders if c.is_open
                ):
                    break
                await asyncio.sleep(0.02)
            else:
                self.log(f"    (the server had not caught up after {limit:.0f}s)")
        await self.quiesce(limit=max(1.0, deadline - time.monotonic()))
        return time.monotonic() - started

    def rss(self) -> int:
        return rss_bytes(self.pid)

    # -------------------------------------------------------------- one step

    async def step(self, chat_rate: float, seconds: float, drain: float = 3.0) -> StepResult:
        await self.reconnect_closed()
        listeners = [c for c in self.listeners if c.is_open]
        senders = [c for c in self.senders if c.is_open]
        if not senders:
            raise ConnectError("no sender socket is open")
        for client in listeners + senders:
            client.chats = 0
        floods0 = sum(c.floods for c in listeners + senders)
        total = max(2, round(chat_rate * seconds))
        cpu_server0 = cpu_seconds(self.pid)
        cpu_self0 = own_cpu_seconds()
        start_us = now_us()
        self.tally.reset(start_us)
        self.echo.reset(start_us)
        loop = asyncio.get_running_loop()
        t0 = loop.time()

        sent = 0
        turn = 0
        count = len(senders)
        hard_stop = t0 + seconds * 2 + 5
        while sent < total:
            now = loop.time()
            if now > hard_stop:
                break
            due = min(total, int((now - t0) * chat_rate) + 1)
            while sent < due:
                senders[turn].send_chat(now_us())
                turn = turn + 1 if turn + 1 < count else 0
                sent += 1
            if sent < total:
                wait = t0 + sent / chat_rate - loop.time()
                await asyncio.sleep(max(wait, 0.0005))
        # A step lasts its full time even when its few chats were sent early.
        await asyncio.sleep(max(0.0, t0 + seconds - loop.time()))
        sending = loop.time() - t0

        per_socket = sent * self.copies
        expected = per_socket * len(listeners)
        drain_end = loop.time() + drain
        while loop.time() < drain_end:
            if self.tally.count >= expected and self.echo.count >= per_socket * len(senders):
                break
            await asyncio.sleep(0.01)
        wall = loop.time() - t0
        server_cpu = cpu_seconds(self.pid) - cpu_server0
        loadgen_cpu = own_cpu_seconds() - cpu_self0

        lost = sum(max(0, per_socket - c.chats) for c in listeners)
        dup = sum(max(0, c.chats - per_socket) for c in listeners)
        echo_lost = sum(max(0, per_socket - c.chats) for c in senders)
        closed = [c for c in listeners + senders if not c.is_open]
        errors = sorted({c.error or "closed" for c in closed})
        ordered = sorted(self.tally.latencies)
        result = StepResult(
            chat_rate=chat_rate,
            listeners=len(listeners),
            seconds=sending,
            wall=wall,
            sent=sent,
            expected=expected,
            received=len(ordered),
            lost=lost,
            duplicated=dup,
            stale=self.tally.stale,
            closed=len(closed),
            echo_lost=echo_lost,
            p50_ms=percentile(ordered, 0.50),
            p99_ms=percentile(ordered, 0.99),
            max_ms=ordered[-1] / 1000.0 if ordered else math.nan,
            server_cpu=server_cpu,
            loadgen_cpu=loadgen_cpu,
            limit_ms=self.limit_ms,
            floods=sum(c.floods for c in listeners + senders) - floods0,
            copies=self.copies,
            errors=errors,
        )
        if errors:
            self.server_errors.extend(errors)
        return result

    # ------------------------------------------------------------------ ramp

    async def ramp(
        self,
        start: float,
        seconds: float,
        refine: int,
        confirm: int,
        ceiling: float = 3_000_000,
        drain: float = 3.0,
        max_chat_rate: float = 20_000,
    ) -> RampResult:
        """Highest deliveries/s that passes, in at most 10 + refine + 3 * confirm steps."""
        listeners = max(1, len([c for c in self.listeners if c.is_open]))
        trials: list[StepResult] = []
        results: dict[float, list[StepResult]] = {}

        async def run(dps: float) -> StepResult:
            rate = min(dps / listeners / self.copies, max_chat_rate)
            outcome = await self.step(rate, seconds, drain)
            self.log("    " + outcome.line())
            trials.append(outcome)
            results.setdefault(dps, []).append(outcome)
            await self.settle()
            return outcome

        lo: float | None = None
        hi: float | None = None
        dps = start
        for _ in range(10):
            if (await run(dps)).passed:
                lo = dps
                if dps * 2 > min(ceiling, max_chat_rate * listeners * self.copies):
                    break
                dps *= 2
            else:
                hi = dps
                break
        if lo is None:  # even the starting rate failed: come down
            for _ in range(4):
                dps /= 3
                if (await run(dps)).passed:
                    lo = dps
                    break
                hi = dps
        if lo is None:
            return RampResult(None, trials, [], trials[-1] if trials else None, False)

        for _ in range(refine):
            if hi is None or hi / lo < 1.06:
                break
            mid = math.sqrt(lo * hi)
            if (await run(mid)).passed:
                lo = mid
            else:
                hi = mid

        # Confirm: the best rate must pass in most of its runs, else step down (bounded).
        accepted = False
        for _ in range(4):
            runs = results.setdefault(lo, [])
            while len(runs) < confirm:
                await run(lo)
            if sum(r.passed for r in runs) * 2 > len(runs):
                accepted = True
                break
            hi = lo
            lo = lo / 1.12
        if not accepted:
            failed = results.get(hi, []) if hi is not None else []
            return RampResult(None, trials, [], _first_failure(failed), False)
        confirm_runs = [r for r in results[lo] if r.passed]

        first_fail = _first_failure(results.get(hi, [])) if hi is not None else None
        bound = any(r.loadgen_util >= SATURATED for r in confirm_runs) or (
            first_fail is not None
            and first_fail.loadgen_util >= SATURATED
            and first_fail.server_util < SATURATED
        )
        return RampResult(lo, trials, confirm_runs, first_fail, bound)


def _first_failure(runs: list[StepResult]) -> StepResult | None:
    return next((run for run in runs if not run.passed), runs[0] if runs else None)
