#!/usr/bin/env python3
"""Replug's benchmark: Replug against a bare Node.js `ws` broadcaster, in one run.

    python3 bench/run.py --quick      # N=100 only, short steps: about a minute
    python3 bench/run.py              # N=100, 1,000 and 4,000: about 15 minutes

Each server is started here on 127.0.0.1 (a free port), pinned to one core with taskset; this
process, which is the load generator, pins itself to the other core. For every N the servers
are started afresh, N listeners connect, and the run measures memory per idle connection,
latency at a moderate chat rate, and the highest sustained delivery rate with p99 at or under
the limit and no loss; the same ramp against a trivial Python source measures the load
generator's own ceiling. See bench/README.md for what each number means.

Every process started here is stopped on the way out, whatever happens; every loop is bounded
in count and time, and the whole run by --max-minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from loadgen import replug_setup  # noqa: E402
from loadgen.http import HttpClient  # noqa: E402
from loadgen.procstat import cpu_seconds, family_cpu_seconds, machine_busy_seconds  # noqa: E402
from loadgen.scenario import Bench, ConnectResult, RampResult, StepResult  # noqa: E402

HOST = "127.0.0.1"
SERVER_CORE = 0
LOADGEN_CORE = 1
TARGETS = ("source", "reference", "replug")
LABEL = {"replug": "Replug", "reference": "reference", "source": "trivial source"}


class RunTimeout(Exception):
    pass


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Server:
    """One server process pinned to SERVER_CORE; always stopped by `stop`."""

    def __init__(self, name: str, argv: list[str], log_path: Path, cwd: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self._log_offset = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, port: int | None, timeout: float = 60.0) -> None:
        """Start; `port` None means the server prints "listening <port>" itself."""
        pinned = ["taskset", "-c", str(SERVER_CORE)] if PIN else []
        log = open(self.log_path, "a")  # noqa: SIM115 - handed to the child
        self._log_offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(
            pinned + self.argv,
            cwd=self.cwd,
            stdout=subprocess.PIPE if port is None else log,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        log.close()
        STARTED.append(self)
        deadline = time.monotonic() + timeout
        if port is None:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()  # the servers print it at once
            if not line.startswith("listening "):
                raise RuntimeError(f"{self.name} did not start: {line!r} {self.log_tail()}")
            self.port = int(line.split()[1])
        else:
            self.port = port
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start: {self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def new_log_lines(self) -> list[str]:
        """Log lines written since the last call (warnings and errors: the server logs at
        warning level)."""
        try:
            with open(self.log_path, errors="replace") as log:
                log.seek(self._log_offset)
                text = log.read()
                self._log_offset = log.tell()
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()]

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def make_server(target: str, args: argparse.Namespace, workdir: Path) -> Server:
    if target == "replug":
        argv = [
            args.replug_python,
            "-m",
            "replug",
            "serve",
            "--host",
            HOST,
            "--port",
            "@PORT@",
            "--database-url",
            f"sqlite:///{workdir / 'bench.db'}",
            "--log-level",
            "warning",
        ]
    elif target == "reference":
        argv = [
            args.node,
            str(BENCH / "reference" / "broadcaster.cjs"),
            "--host",
            HOST,
            "--port",
            "0",
            "--mode",
            args.reference_mode,
        ]
    else:
        argv = [
            sys.executable,
            "-m",
            "loadgen.source",
            "--port",
            "0",
            "--copies",
            str(args.source_copies),
        ]
    # Replug runs from the repository root: `python -m replug` then imports the work tree
    # even where the editable install's finder does not (see README, "Known problems").
    cwd = ROOT if target == "replug" else BENCH
    return Server(target, argv, workdir / f"{target}.log", cwd)


# ------------------------------------------------------------------------ results


@dataclass
class Measured:
    target: str
    listeners: int
    connect: dict[str, Any] | None = None
    memory_kb: float | None = None
    moderate: dict[str, Any] | None = None
    best: float | None = None
    best_runs: list[dict[str, Any]] = field(default_factory=list)
    first_fail: dict[str, Any] | None = None
    loadgen_bound: bool = False
    trials: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    room_guests: int | None = None

    def median(self, key: str) -> float:
        values = [run[key] for run in self.best_runs if not _nan(run.get(key))]
        if not values:
            return math.nan
        values.sort()
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def step_dict(step: StepResult) -> dict[str, Any]:
    data = asdict(step)
    data.update(
        offered=step.offered,
        passed=step.passed,
        server_util=step.server_util,
        loadgen_util=step.loadgen_util,
        server_us_per_delivery=step.server_us_per_delivery,
        loadgen_us_per_delivery=step.loadgen_us_per_delivery,
    )
    return data


MEDIAN_FIELDS = ("p50_ms", "p99_ms", "server_us_per_delivery", "loadgen_us_per_delivery")


def median_of_steps(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One step's figures from several runs of it: the median of each, the runs kept."""
    summary = dict(runs[len(runs) // 2])
    for name in MEDIAN_FIELDS:
        values = [run[name] for run in runs if not math.isnan(run[name])]
        summary[name] = statistics.median(values) if values else math.nan
    summary["passed"] = all(run["passed"] for run in runs)
    summary["runs"] = runs
    return summary


# ------------------------------------------------------------------------ the run


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.deadline = time.monotonic() + args.max_minutes * 60
        self.cast: replug_setup.Cast | None = None
        self.results: list[Measured] = []
        self.connect_test: dict[str, Any] | None = None
        self.started = time.monotonic()
        self.busy0 = machine_busy_seconds()
        self.family0 = family_cpu_seconds()
        self.others_cores = math.nan
        self.reader_kind = "not started"

    def measure_others(self) -> None:
        """Average cores used by other processes on the machine during the run."""
        wall = time.monotonic() - self.started
        others = (machine_busy_seconds() - self.busy0) - (family_cpu_seconds() - self.family0)
        self.others_cores = max(0.0, others / wall) if wall > 0 else math.nan

    def log(self, text: str) -> None:
        print(text, flush=True)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RunTimeout(f"the run passed --max-minutes {self.args.max_minutes}")

    async def measure(self, target: str, n: int) -> Measured:
        args = self.args
        result = Measured(target, n)
        server = make_server(target, args, self.workdir)
        port = free_port() if target == "replug" else None
        if port is not None:
            server.argv = [str(port) if a == "@PORT@" else a for a in server.argv]
        self.log(f"\n== {LABEL[target]}, N = {n:,}")
        bench: Bench | None = None
        try:
            server.start(port)
            listener_tokens, sender_tokens = await self.tokens(target, server.port, n)
            bench = Bench(
                HOST,
                server.port,
                server.pid,
                log=self.log,
                limit_ms=args.limit_ms,
                poll_interval=args.poll_ms / 1000,
                reader=args.reader,
                connect_timeout=args.connect_limit,
                copies=args.source_copies if target == "source" else 1,
            )
            self.reader_kind = bench.reader.kind
            await bench.connect_senders(sender_tokens)
            await bench.quiesce()
            await asyncio.sleep(0.5)
            rss0 = bench.rss()
            cpu0 = cpu_seconds(server.pid)
            connected = await bench.connect_listeners(
                listener_tokens, args.connect_concurrency, args.connect_limit
            )
            settle = await bench.quiesce(quiet=0.5, limit=120)
            result.connect = self.connect_summary(
                connected, settle, cpu_seconds(server.pid) - cpu0
            )
            self.log(
                f"  connected {connected.opened:,}/{n:,} in {connected.seconds:.2f}s "
                f"(+{settle:.1f}s until quiet; {connected.join_frames:,} other frames; "
                f"server CPU {result.connect['server_cpu']:.1f}s)"
                + (
                    f"; failures {connected.failures}: {connected.errors}"
                    if connected.failures
                    else ""
                )
                + (
                    f"; {connected.wrong_room} acked outside the room"
                    if connected.wrong_room
                    else ""
                )
            )
            if connected.failures:
                result.problems.append(
                    f"{connected.failures} of {n} sockets failed to connect/authenticate: "
                    f"{connected.errors}"
                )
            if target == "replug" and self.cast is not None:
                result.room_guests = await self.room_guests(server.port)
                if result.room_guests != connected.opened:
                    result.problems.append(
                        f"rooms/state reports {result.room_guests} guests, "
                        f"{connected.opened} guest sockets are in"
                    )
            if not bench.listeners:
                raise RuntimeError("no listener could connect")
            await asyncio.sleep(1.0)
            result.memory_kb = (bench.rss() - rss0) / len(bench.listeners) / 1024
            self.log(f"  memory per idle connection: {result.memory_kb:.1f} KB")

            if target != "source":
                runs = []
                for _ in range(args.repeats):
                    step = await bench.step(args.moderate_rate, args.moderate_seconds, args.drain)
                    self.log(f"  moderate rate: {step.line()}")
                    runs.append(step_dict(step))
                    await bench.settle()
                result.moderate = median_of_steps(runs)
            self.check_time()

            self.log(f"  ramp (p99 <= {args.limit_ms:g} ms, no loss), {args.seconds:g}s steps:")
            ramp: RampResult = await bench.ramp(
                # The source writes --source-copies frames at once: start it higher.
                start=args.start_rate * (args.source_copies if target == "source" else 1),
                seconds=args.seconds,
                refine=args.refine,
                confirm=args.repeats if target != "source" else 1,
                drain=args.drain,
            )
            result.best = ramp.best
            result.best_runs = [step_dict(s) for s in ramp.confirm_runs]
            result.first_fail = step_dict(ramp.first_fail) if ramp.first_fail else None
            result.loadgen_bound = ramp.loadgen_bound
            result.trials = [step_dict(s) for s in ramp.trials]
            best = f"{ramp.best:,.0f}" if ramp.best else "none"
            self.log(
                f"  => {best} deliveries/s"
                + (" (load generator bound!)" if ramp.loadgen_bound else "")
            )
            if bench.server_errors:
                result.problems.append(
                    f"sockets closed by the server: {sorted(set(bench.server_errors))[:3]}"
                )
        except RunTimeout:
            raise
        except Exception as error:  # noqa: BLE001 - reported, and the run goes on
            result.problems.append(f"{type(error).__name__}: {error}")
            self.log(f"  !! {type(error).__name__}: {error}")
        finally:
            if bench is not None:
                await bench.close_all()
            server.stop()
            if server.proc is not None and server.proc.returncode not in (0, None, -2, 130):
                result.problems.append(f"server exited with code {server.proc.returncode}")
            lines = server.new_log_lines()
            if lines and target == "replug":
                counted = summarize_log(lines)
                for key, count in list(counted.items())[:6]:
                    result.problems.append(f"server log ({count}x): {key}")
                if counted:
                    self.log(f"  server logged {sum(counted.values())} warnings/errors")
            if args.logs:
                keep = Path(args.logs)
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(server.log_path, keep / f"{target}-{n}.log")
        for problem in result.problems:
            self.log(f"  problem: {problem}")
        self.results.append(result)
        return result

    def connect_summary(
        self, connected: ConnectResult, settle: float, cpu: float
    ) -> dict[str, Any]:
        return {
            "wanted": connected.wanted,
            "opened": connected.opened,
            "seconds": connected.seconds,
            "settle_seconds": settle,
            "failures": connected.failures,
            "errors": connected.errors,
            "wrong_room": connected.wrong_room,
            "other_frames": connected.join_frames,
            "server_cpu": cpu,
            "ok": connected.ok,
        }

    async def tokens(self, target: str, port: int, n: int) -> tuple[list[str], list[str]]:
        senders = self.args.senders
        if target != "replug":
            return ["bench"] * n, ["bench"] * senders
        if self.cast is None:
            self.cast = await replug_setup.make_senders(HOST, port, senders, log=self.log)
        await replug_setup.rejoin(HOST, port, self.cast)
        await replug_setup.make_guests(HOST, port, self.cast, n, log=self.log)
        return self.cast.guest_tokens[:n], [a.token for a in self.cast.senders]

    async def room_guests(self, port: int) -> int | None:
        assert self.cast is not None
        http = HttpClient(HOST, port)
        try:
            answer = await http.request(
                "GET", "/_/rooms/state", cookie=self.cast.senders[0].cookie
            )
            return int(answer.json()["data"][0]["meta"]["guests"])
        except Exception:  # noqa: BLE001
            return None
        finally:
            await http.close()


# ------------------------------------------------------------------------ reporting


def fmt(value: Any, spec: str = ",.0f", suffix: str = "") -> str:
    if _nan(value):
        return "-"
    return f"{value:{spec}}{suffix}"


def ratio(a: Any, b: Any) -> str:
    if _nan(a) or _nan(b) or not b:
        return "-"
    return f"{a / b:.2f}"


def report(run: Run) -> str:
    args = run.args
    by = {(r.target, r.listeners): r for r in run.results}
    lines = [
        "",
        f"Replug benchmark, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, "
        f"Node {node_version(args.node)}, Replug {replug_version()}",
        f"server pinned to core {SERVER_CORE}, load generator to core {LOADGEN_CORE}"
        if PIN
        else "NOT pinned (fewer than 2 cores)",
        f"{args.senders} sender accounts; steps of {args.seconds:g}s; moderate rate "
        f"{args.moderate_rate:g} chats/s; latency limit p99 <= {args.limit_ms:g} ms; "
        f"ratio = Replug / reference; load generator reader: {run.reader_kind}",
        f"other processes on the machine used {run.others_cores:.2f} cores on average meanwhile",
    ]
    for n in args.sizes:
        rep, ref, src = by.get(("replug", n)), by.get(("reference", n)), by.get(("source", n))
        lines.append("")
        lines.append(
            f"N = {n:,} listeners (+{args.senders} senders){'':<13}"
            f"{'Replug':>12}{'reference':>12}{'ratio':>8}"
        )

        def row(label: str, get, spec: str = ",.0f", rep=rep, ref=ref) -> None:
            a = get(rep) if rep else math.nan
            b = get(ref) if ref else math.nan
            lines.append(f"  {label:<44}{fmt(a, spec):>12}{fmt(b, spec):>12}{ratio(a, b):>8}")

        row("max deliveries/s (p99<=limit, no loss)", lambda r: r.best if r.best else math.nan)
        row("  p99 at that rate (ms, median of runs)", lambda r: r.median("p99_ms"), ".1f")
        row("  server core busy at that rate (%)", lambda r: 100 * r.median("server_util"), ".0f")
        row(
            "p50 at moderate rate (ms)",
            lambda r: (r.moderate or {}).get("p50_ms", math.nan),
            ".1f",
        )
        row(
            "p99 at moderate rate (ms)",
            lambda r: (r.moderate or {}).get("p99_ms", math.nan),
            ".1f",
        )
        row(
            "server CPU per delivery at max rate (us)",
            lambda r: r.median("server_us_per_delivery"),
            ".1f",
        )
        row(
            "server CPU per delivery at moderate rate (us)",
            lambda r: (r.moderate or {}).get("server_us_per_delivery", math.nan),
            ".1f",
        )
        row(
            "load generator core busy at max rate (%)",
            lambda r: 100 * r.median("loadgen_util"),
            ".0f",
        )
        row(
            "load generator CPU per delivery (us)",
            lambda r: r.median("loadgen_us_per_delivery"),
            ".1f",
        )
        row("memory per idle connection (KB)", lambda r: r.memory_kb or math.nan, ".1f")
        row(
            f"open+auth+join {n:,} sockets (s)",
            lambda r: (r.connect or {}).get("seconds", math.nan),
            ".2f",
        )
        if src is not None:
            capped = (
                " (source-bound: ceiling is higher)"
                if src.best_runs and not src.loadgen_bound
                else ""
            )
            lines.append(
                f"  load generator ceiling vs trivial source:  {fmt(src.best)} deliveries/s, "
                f"generator core {fmt(100 * src.median('loadgen_util'), '.0f')}%, source core "
                f"{fmt(100 * src.median('server_util'), '.0f')}%, generator "
                f"{fmt(src.median('loadgen_us_per_delivery'), '.1f')} us/delivery{capped}"
            )
        if rep is not None and rep.best:
            per_sender = rep.best / n / args.senders
            floods = sum(t.get("floods", 0) for t in rep.trials)
            if per_sender > 2 or floods:
                seen = (
                    f"the server sent {floods:,} floodChat/rateLimit events: it enforces them"
                    if floods
                    else "no floodChat/rateLimit event came: not enforced yet"
                )
                lines.append(
                    f"  note: Replug's best rate is {per_sender:,.0f} chats/s per sender account; "
                    f"behaviour §20 allows 2/s per account and slow mode ({seen})"
                )
        for result in (rep, ref):
            if result is None:
                continue
            near = result.median("loadgen_util")
            if not result.loadgen_bound and not _nan(near) and near >= 0.8:
                lines.append(
                    f"  ~ {LABEL[result.target]}: the load generator's core was {near:.0%} busy "
                    "at the best rate: the server saturated first, but the latency there includes "
                    "some queueing in the generator"
                )
            if result.loadgen_bound:
                lines.append(
                    f"  ! {LABEL[result.target]}: the load generator's core saturated: "
                    "its figure is a floor, not the server's ceiling"
                )
            if result.first_fail and result.best:
                fail = result.first_fail
                lines.append(
                    f"  {LABEL[result.target]} first failing step: {fail['offered']:,.0f}/s, "
                    f"p99 {fail['p99_ms']:.0f} ms, lost {fail['lost']:,}, server core "
                    f"{100 * fail['server_util']:.0f}%, "
                    f"generator core {100 * fail['loadgen_util']:.0f}%"
                )
            if result.best and result.first_fail is None:
                lines.append(
                    f"  {LABEL[result.target]}: no step failed before the ramp's ceiling, so its "
                    f"limit is above {result.best:,.0f}/s"
                )
            for problem in result.problems:
                lines.append(f"  ! {LABEL[result.target]}: {problem}")
    if run.connect_test:
        test = run.connect_test
        verdict = "PASS" if test["passed"] else "FAIL"
        lines.append("")
        lines.append(
            f"Connect test (Replug): {test['opened']:,}/{test['wanted']:,} sockets opened, "
            f"authenticated and in the room in {test['seconds']:.2f}s "
            f"(limit {args.connect_budget:g}s, "
            f"{test['failures']} failures, room reports {test['room_guests']} guests): {verdict}"
        )
        if test.get("reference_seconds") is not None:
            lines.append(
                f"  reference, same {test['wanted']:,} sockets: {test['reference_seconds']:.2f}s"
            )
    return "\n".join(lines)


def summarize_log(lines: list[str]) -> dict[str, int]:
    """Warnings and errors of a server log, each with the last line of its traceback."""
    counted: dict[str, int] = {}
    for index, line in enumerate(lines):
        if " WARNING " not in line and " ERROR " not in line and " CRITICAL " not in line:
            continue
        key = line.split(": ", 1)[-1][:90]
        cause = ""
        for follow in lines[index + 1 : index + 200]:
            if follow[:4].isdigit():  # the next log record: the traceback (if any) ended
                break
            if not follow.startswith((" ", "Traceback")) and ":" in follow:
                cause = follow  # a traceback's last line names the exception
        if cause:
            key += " <- " + cause[:120]
        counted[key] = counted.get(key, 0) + 1
    return counted


def replug_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "replug"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"
    return commit + (" + uncommitted changes in replug/" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def node_version(node: str) -> str:
    try:
        return subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


# ------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="N=100 only, 2 s steps, no repeats: a smoke test of about a minute",
    )
    parser.add_argument("--sizes", help="comma-separated listener counts (default 100,1000,4000)")
    parser.add_argument(
        "--targets",
        default="source,reference,replug",
        help="any of source (the generator's ceiling), reference, replug",
    )
    parser.add_argument("--senders", type=int, default=4, help="sender accounts (default 4)")
    parser.add_argument("--seconds", type=float, help="sending time of one ramp step (default 4)")
    parser.add_argument(
        "--repeats", type=int, help="runs at the best rate; the median is reported (default 3)"
    )
    parser.add_argument(
        "--refine", type=int, help="bisection steps after the first failure (default 3)"
    )
    parser.add_argument(
        "--start-rate", type=float, default=10_000, help="first ramp step, deliveries/s"
    )
    parser.add_argument(
        "--moderate-rate", type=float, default=20.0, help="chats/s of the latency step"
    )
    parser.add_argument(
        "--moderate-seconds", type=float, help="length of the latency step (default 5)"
    )
    parser.add_argument("--limit-ms", type=float, default=100.0, help="p99 latency limit")
    parser.add_argument(
        "--drain",
        type=float,
        default=3.0,
        help="seconds to wait for the last deliveries of a step before counting loss",
    )
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=1.0,
        help="the generator's read interval in ms (see bench/README.md)",
    )
    parser.add_argument(
        "--reader",
        default="native",
        choices=("native", "python"),
        help="the generator's socket reader: C (built with cc; Python if that fails) or Python",
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=256,
        help="sockets in the handshake at once while connecting",
    )
    parser.add_argument(
        "--connect-budget",
        type=float,
        default=20.0,
        help="the connect test's limit in seconds (4,000 sockets)",
    )
    parser.add_argument(
        "--connect-limit",
        type=float,
        default=120.0,
        help="give up connecting after this many seconds",
    )
    parser.add_argument(
        "--source-copies",
        type=int,
        default=8,
        help="frames per chat per write from the trivial source (see README)",
    )
    parser.add_argument("--reference-mode", default="prebuilt", choices=("prebuilt", "send"))
    parser.add_argument("--replug-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--node", default=shutil.which("node") or "node")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="stop the run after this")
    parser.add_argument("--json", help="also write every measurement to this file")
    parser.add_argument("--logs", help="keep the servers' logs in this folder")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([100] if quick else [100, 1000, 4000])
    )
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for target in args.targets:
        if target not in TARGETS:
            parser.error(f"unknown target {target}")
    args.seconds = args.seconds or (2.0 if quick else 4.0)
    args.repeats = args.repeats or (1 if quick else 3)
    args.refine = args.refine if args.refine is not None else (2 if quick else 3)
    args.moderate_seconds = args.moderate_seconds or (2.0 if quick else 5.0)
    if quick:
        args.drain = min(args.drain, 2.0)
    return args


async def main_async(args: argparse.Namespace, workdir: Path) -> Run:
    run = Run(args, workdir)
    order = [t for t in TARGETS if t in args.targets]  # source, reference, replug
    try:
        for n in args.sizes:
            for target in order:
                run.check_time()
                await run.measure(target, n)
    except RunTimeout as error:
        run.log(f"\n!! {error}; reporting what was measured")
    biggest = max(args.sizes)
    replug = next(
        (r for r in run.results if r.target == "replug" and r.listeners == biggest), None
    )
    if replug is not None and replug.connect is not None and biggest >= 4000:
        reference = next(
            (r for r in run.results if r.target == "reference" and r.listeners == biggest), None
        )
        c = replug.connect
        run.connect_test = {
            "wanted": c["wanted"],
            "opened": c["opened"],
            "seconds": c["seconds"],
            "failures": c["failures"],
            "room_guests": replug.room_guests,
            "passed": c["ok"]
            and c["opened"] == c["wanted"]
            and c["seconds"] <= args.connect_budget
            and replug.room_guests == c["wanted"],
            "reference_seconds": reference.connect["seconds"]
            if reference and reference.connect
            else None,
        }
    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global PIN
    PIN = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    if PIN:
        os.sched_setaffinity(0, {LOADGEN_CORE})
    else:
        print("warning: fewer than 2 cores or no taskset: server and generator share the CPU")
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * max(args.sizes) + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if "replug" in args.targets and not Path(args.replug_python).exists():
        print(
            f"no Python at {args.replug_python}: "
            "run ./run serve once (it makes .venv) or pass --replug-python"
        )
        return 2
    if "reference" in args.targets and not (BENCH / "reference" / "node_modules" / "ws").is_dir():
        print("installing the reference's npm packages (bench/reference/package-lock.json)")
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BENCH / "reference",
            check=True,
            timeout=300,
        )

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="replug-bench-") as tmp:
        workdir = Path(tmp)
        print(f"Replug benchmark: sizes {args.sizes}, targets {args.targets}, work dir {workdir}")
        try:
            run = asyncio.run(main_async(args, workdir))
            for server in STARTED:
                server.stop()
            run.measure_others()
        except KeyboardInterrupt:
            print("\ninterrupted: stopping every server started here")
            return 130
        finally:
            for server in STARTED:
                server.stop()
        text = report(run)
        print(text)
        print(f"\n(run took {(time.monotonic() - started) / 60:.1f} min)")
        if args.json:
            payload = {
                "date": datetime.datetime.now().isoformat(timespec="seconds"),
                "cores": os.cpu_count(),
                "cpu": cpu_model(),
                "args": {k: v for k, v in vars(args).items()},
                "results": [asdict(r) for r in run.results],
                "connect_test": run.connect_test,
                "report": text,
            }
            Path(args.json).write_text(json.dumps(payload, indent=1, default=str))
    return 0


PIN = False
STARTED: list[Server] = []

if __name__ == "__main__":
    sys.exit(main())
