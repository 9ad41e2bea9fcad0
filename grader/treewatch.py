"""The tree watcher: ends a run whose whole process tree goes over its CPU or memory limit."""

from __future__ import annotations

import logging
import os
import select
import threading
from typing import TYPE_CHECKING

from grader.proctree import end_tree, tree_memory_kb, tree_usage
from plugins.types import Limits

if TYPE_CHECKING:
    from grader.cgroups import Cgroups

log = logging.getLogger(__name__)

#: How often the watcher reads the whole tree's CPU time and memory.
WATCH_SECONDS = 0.05


class TreeWatch:
    """A thread that ends the run when the whole sandbox goes over a limit that rlimits
    only apply per process: `cpu_seconds` of CPU for the tree (reaped children included),
    an OOM kill in the memory cgroup (which may hit a forked child and leave the runner
    going), or, without a memory cgroup, `memory_mb` held by the tree (summed PSS).

    It polls every `WATCH_SECONDS` until the launcher exits or `stop`, and ends the tree
    as the session's own kill does (`end_tree`).

    It reads and signals the tree by pid only while holding `lock` and after seeing the
    launcher still running; the session reaps the launcher under the same lock, so that
    pid cannot meanwhile belong to another process (another run's launcher, say)."""

    def __init__(self, group: Cgroups, limits: Limits) -> None:
        self.group, self.limits = group, limits
        self.reason: str | None = None  #: "cpu" or "memory" once the watcher ended the run
        self.peak_kb = 0  #: the tree's largest summed PSS seen (only without a memory cgroup)
        self.cpu_s = 0.0  #: the tree's CPU time at the last poll
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        """Watch launcher `pid`, a child of this process not yet reaped; raises OSError."""
        pidfd = os.pidfd_open(pid)
        self._thread = threading.Thread(target=self._run, args=(pid, pidfd),
                                        name="neurograde-watch", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            os.close(pidfd)
            raise

    def stop(self) -> None:
        """Stop watching; returns once the thread has ended (it never outlives its run)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2 * WATCH_SECONDS + 1.0)

    def _run(self, pid: int, pidfd: int) -> None:
        try:
            while not self._stop.is_set():
                if select.select([pidfd], [], [], WATCH_SECONDS)[0]:
                    return  # the launcher exited
                with self.lock:
                    if self._stop.is_set() or select.select([pidfd], [], [], 0)[0]:
                        return
                    self.reason = self._over(pid)
                    if self.reason:
                        log.info("ending run %d: the process tree exceeded its %s limit",
                                 pid, self.reason)
                        end_tree(pid)  # the launcher then reports SIGKILL
                        return
        finally:
            os.close(pidfd)

    def _over(self, pid: int) -> str | None:
        if "memory" in self.group.dirs:
            if self.group.kernel_oom_kills():
                return "memory"
        else:
            self.peak_kb = max(self.peak_kb, tree_memory_kb(pid))
            if self.peak_kb > self.limits.memory_mb * 1024:
                return "memory"
        cpu = self.group.cpu_seconds()
        self.cpu_s = max(self.cpu_s, tree_usage(pid)[0] if cpu is None else cpu)
        return "cpu" if self.cpu_s > self.limits.cpu_seconds else None
