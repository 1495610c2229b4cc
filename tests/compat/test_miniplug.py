"""Compatibility test: the unmodified npm package miniplug@2.0.3 against a real Replug server.

One session fixture starts `python -m replug serve` on a free loopback port with a fresh
SQLite database, another runs the Node driver (`node -r ./shim.cjs driver.cjs`) once; the
tests below then assert on the parts of its JSON report, one scenario phase per test, so a
failure names the phase and shows the checks that failed, the driver's log and the server's
log. Node and npm are required: their absence is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

COMPAT_DIR = Path(__file__).resolve().parent
REPO_ROOT = COMPAT_DIR.parent.parent
MINIPLUG_VERSION = "2.0.3"

SERVER_START_TIMEOUT = 30.0
DRIVER_TIMEOUT = 100.0
NPM_TIMEOUT = 300.0

PHASES = [
    "signup",
    "login",
    "room",
    "chat",
    "playlists",
    "booth",
    "votes",
    "grab",
    "advance",
    "playlistCycle",
    "leave",
    "protocol",
]


def _tail(text: str, limit: int = 12000) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return "<no log file>"


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH: the miniplug compatibility test needs Node.js and npm "
            "(install them, e.g. `apt-get install nodejs npm`); this test must not be skipped",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """Install tests/compat/node_modules from package-lock.json when missing or stale."""
    node = _require_tool("node")
    npm = _require_tool("npm")
    installed = COMPAT_DIR / "node_modules" / "miniplug" / "package.json"
    version = None
    if installed.exists():
        version = json.loads(installed.read_text()).get("version")
    if version != MINIPLUG_VERSION:
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=COMPAT_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"`npm ci` in {COMPAT_DIR} failed with exit code {proc.returncode}:\n"
                f"{_tail(proc.stdout)}\n{_tail(proc.stderr)}",
                pytrace=False,
            )
        version = json.loads(installed.read_text()).get("version")
    assert version == MINIPLUG_VERSION, f"node_modules has miniplug {version}"
    subprocess.run([node, "--version"], check=True, capture_output=True)
    return COMPAT_DIR / "node_modules"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return _read(self.log_path)


def _wait_until_ready(server: Server) -> None:
    url = f"http://127.0.0.1:{server.port}/_/mobile/init"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"the server exited with code {server.process.returncode} before answering "
                f"{url}\n--- server log ---\n{_tail(server.log())}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = json.loads(response.read())
                if response.status == 200 and body.get("status") == "ok":
                    return
                last_error = f"HTTP {response.status}: {body!r}"
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}: {exc.read()[:300]!r}"
        except (OSError, ValueError) as exc:
            last_error = repr(exc)
        time.sleep(0.2)
    pytest.fail(
        f"the server did not answer GET {url} within {SERVER_START_TIMEOUT:.0f} s "
        f"(last attempt: {last_error})\n--- server log ---\n{_tail(server.log())}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def replug_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `python -m replug serve` on a free 127.0.0.1 port with a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("replug-compat")
    port = _free_port()
    log_path = tmp / "server.log"
    command = [
        sys.executable,
        "-m",
        "replug",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{tmp}/replug.db",
        "--log-level",
        "info",
    ]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port=port, process=process, log_path=log_path)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@dataclass
class DriverRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None
    server: Server

    def diagnostics(self, limit: int = 12000) -> str:
        # Passing checks are left out of the driver log shown here (see the JSON report).
        lines = [line for line in self.stderr.splitlines() if "  ok   " not in line]
        return (
            f"--- driver exit code {self.returncode}; driver log without passing checks ---\n"
            f"{_tail(chr(10).join(lines), limit)}\n"
            f"--- server log ---\n{_tail(self.server.log(), limit)}"
        )


@pytest.fixture(scope="session")
def miniplug_run(node_modules: Path, replug_server: Server, tmp_path_factory) -> DriverRun:
    """Run the miniplug scenario once against the server and keep its JSON report."""
    node = _require_tool("node")
    report_path = tmp_path_factory.mktemp("miniplug-report") / "report.json"
    env = dict(os.environ)
    env.update(
        REPLUG_PORT=str(replug_server.port),
        COMPAT_REPORT=str(report_path),
        COMPAT_TIMEOUT_MS="15000",
        COMPAT_TOTAL_TIMEOUT_MS="90000",
    )
    env.pop("NODE_OPTIONS", None)
    try:
        proc = subprocess.run(
            [node, "-r", "./shim.cjs", "driver.cjs"],
            cwd=COMPAT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT,
        )
        returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        returncode = -1
        stdout = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        stderr += f"\n<driver killed after {DRIVER_TIMEOUT:.0f} s>"
    report = None
    if report_path.exists():
        try:
            report = json.loads(report_path.read_text())
        except ValueError:
            report = None
    return DriverRun(returncode, stdout, stderr, report, replug_server)


def _failed_checks(phase: dict) -> list[str]:
    lines = []
    for item in phase.get("checks", []):
        if not item.get("ok"):
            detail = item.get("detail")
            lines.append(f"  - {item['name']}" + (f"\n      {detail}" if detail else ""))
    return lines


def test_driver_ran_to_completion(miniplug_run: DriverRun) -> None:
    run = miniplug_run
    assert run.report is not None, "the driver wrote no JSON report\n" + run.diagnostics()
    failed = [name for name in PHASES if not run.report["phases"][name]["ok"]]
    fatal = run.report.get("fatal")
    message = (
        f"phases failed: {', '.join(failed) or 'none'}"
        + (f"\nstopped in phase {fatal['phase']}: {fatal['message']}" if fatal else "")
        + "\n"
        + run.diagnostics()
    )
    assert run.report["ok"] and run.returncode == 0, message


@pytest.mark.parametrize("phase", PHASES)
def test_phase(miniplug_run: DriverRun, phase: str) -> None:
    run = miniplug_run
    assert run.report is not None, "the driver wrote no JSON report\n" + run.diagnostics()
    data = run.report["phases"][phase]
    failed = _failed_checks(data)
    fatal = run.report.get("fatal")
    if failed:
        pytest.fail(
            f"phase {phase!r}: {len(failed)} check(s) failed:\n"
            + "\n".join(failed)
            + (
                "\n(the scenario stopped here: " + fatal["message"] + ")"
                if fatal and fatal["phase"] == phase
                else ""
            )
            + "\n"
            + run.diagnostics(limit=4000),
            pytrace=False,
        )
    if not data["done"]:
        reason = (
            f"the scenario stopped earlier, in phase {fatal['phase']!r}: {fatal['message']}"
            if fatal
            else "the driver did not finish this phase"
        )
        pytest.fail(f"phase {phase!r} was not reached: {reason}", pytrace=False)
    assert data["checks"], f"phase {phase!r} recorded no checks"
