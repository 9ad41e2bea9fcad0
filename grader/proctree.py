"""The sandbox's process tree, seen from the host (through /proc): who is in it, what
it used, and how to end it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from grader.sandbox import sandbox_disabled


def children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree(pid: int) -> list[int]:
    """`pid` and all its live descendants (from /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in found:
            found.append(p)
            todo += children(p)
    return found


def tree_usage(pid: int) -> tuple[float, int]:
    """CPU seconds and peak RSS (KiB) of a process tree, read from /proc.

    The CPU time is each live process's own plus what it has reaped (cutime/cstime), so
    children that already exited count too (the namespace's init reaps the orphans). The
    peak is the largest process's high-water mark; see `tree_memory_kb` for the sum.
    `pid` must be an unreaped child of the caller, or it may name another process."""
    cpu, peak, tick = 0.0, 0, os.sysconf("SC_CLK_TCK")
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += sum(int(n) for n in fields[11:15]) / tick  # utime stime cutime cstime
            peak = max(peak, _status_kb(p, "VmHWM:"))
        except (OSError, IndexError, ValueError):
            continue
    return cpu, peak


def tree_cpu_ns(pid: int) -> int:
    """CPU time (ns) the live threads of a process tree have run so far, from each
    thread's schedstat: nanosecond resolution, where /proc/<pid>/stat counts clock ticks
    (10 ms), too coarse to time one call of a few milliseconds."""
    total = 0
    for p in tree(pid):
        for task in Path(f"/proc/{p}/task").glob("*/schedstat"):
            try:
                total += int(task.read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue
    return total


def tree_memory_kb(pid: int) -> int:
    """Memory the tree holds now (KiB): the sum of proportional set sizes, so pages a
    fork shares with its parent are counted once, not once per process."""
    total = 0
    for p in tree(pid):
        try:
            lines = Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
            total += next(int(line.split()[1]) for line in lines if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError, IndexError):
            total += _status_kb(p, "VmRSS:")
    return total


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def end_tree(pid: int) -> None:
    """SIGKILL the PID namespace's init under launcher `pid` (the kernel then kills
    everything inside), and the launcher's process group when there is no such init."""
    inner = children(pid)
    for p in inner:
        kill(p)
    if not inner or sandbox_disabled():
        killpg(pid)


def kill(pid: int) -> None:
    """SIGKILL, ignoring processes that are already gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def killpg(pid: int) -> None:
    """SIGKILL to a whole process group, ignoring one that is already gone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
