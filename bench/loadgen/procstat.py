"""CPU time and resident memory of a process, read from /proc (Linux)."""

from __future__ import annotations

import os

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of every thread of `pid` so far (10 ms resolution)."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    # After the command name: state is field 3; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (all processes)."""
    with open("/proc/stat", "rb") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


def family_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that were waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
