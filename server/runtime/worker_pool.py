"""A group of grading worker processes on one machine, supervised and stopped gracefully.

Processes are spawned, not forked: each builds its own plugin registry, datasets and
database engine (`server.runtime.worker.worker_main`), and nothing of the parent (open
connections, the web app) leaks into them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Mapping
from typing import Any

from server.runtime.worker import GradeFn, WorkerSettings, worker_main

log = logging.getLogger(__name__)


#: restart delays of a worker that keeps dying soon after it started: 1 s, 2 s, 4 s … 30 s
RESTART_FIRST_DELAY, RESTART_MAX_DELAY = 1.0, 30.0
#: a worker that lived this long before dying counts as healthy: its restart is immediate
STABLE_SECONDS = 60.0


class WorkerPool:
    """N worker processes (spawned, not forked) with a supervisor thread that restarts
    any that die, backing off while they keep dying; `stop()` shuts them down gracefully."""

    def __init__(self, config: Mapping[str, Any], n: int, grade: GradeFn | None = None) -> None:
        self.config, self.grade = portable_config(config), grade
        self.settings = WorkerSettings.from_config(self.config)
        self._ctx = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        #: held while spawning and while `stop()` takes its snapshot, so no worker started
        #: during shutdown escapes the signals
        self._lock = threading.Lock()
        self.restarts = 0
        self._started: list[float] = [0.0] * n
        self._crashes: list[int] = [0] * n
        self._restart_at: list[float | None] = [None] * n
        self.processes: list[Any] = []
        with self._lock:
            self.processes = [self._spawn(i) for i in range(n)]
        self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                            name="neurograde-worker-supervisor")
        self._supervisor.start()

    def _spawn(self, index: int) -> Any:
        proc = self._ctx.Process(target=worker_main, name=f"neurograde-worker-{index}",
                                 args=(self.config, index, self.grade, os.getpid()), daemon=True)
        proc.start()
        self._started[index] = time.monotonic()
        return proc

    def _supervise(self) -> None:
        while not self._stopping.wait(0.25):
            for i, proc in enumerate(self.processes):
                if not proc.is_alive():
                    self._restart(i, proc)

    def _restart(self, index: int, proc: Any) -> None:
        now = time.monotonic()
        restart_at = self._restart_at[index]
        if restart_at is None:
            delay = self._backoff(index, now)
            restart_at = self._restart_at[index] = now + delay
            log.error("worker process %s exited with %s; starting a new one in %.1f s%s",
                      proc.pid, proc.exitcode, delay,
                      f" ({self._crashes[index]} quick exits in a row)"
                      if self._crashes[index] > 1 else "")
        if now < restart_at:
            return
        with self._lock:
            if self._stopping.is_set():
                return
            self.processes[index] = self._spawn(index)
            self._restart_at[index] = None
            self.restarts += 1

    def _backoff(self, index: int, now: float) -> float:
        """No wait after a worker that ran a while; doubling waits while it keeps dying at
        start (a broken configuration must not become a busy restart loop)."""
        if now - self._started[index] >= STABLE_SECONDS:
            self._crashes[index] = 0
        self._crashes[index] += 1
        if self._crashes[index] == 1:
            return 0.0
        return min(RESTART_FIRST_DELAY * 2 ** (self._crashes[index] - 2), RESTART_MAX_DELAY)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def alive(self) -> int:
        return sum(p.is_alive() for p in self.processes)

    def stop(self, grace_seconds: float | None = None) -> None:
        """SIGTERM (finish the current job), then SIGINT after `grace_seconds` (release
        it), then SIGKILL as a last resort (its lease expires and the job is reclaimed)."""
        with self._lock:  # after this, the supervisor starts nothing new
            self._stopping.set()
        grace = self.settings.stop_grace_seconds if grace_seconds is None else grace_seconds
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGINT, 10.0),
                          (signal.SIGKILL, 5.0)):
            live = [p for p in self.processes if p.is_alive()]
            if not live:
                break
            for proc in live:
                _signal(proc.pid, sig)
            deadline = time.monotonic() + wait
            for proc in live:
                proc.join(max(0.0, deadline - time.monotonic()))

    def join(self) -> None:
        """Block until every worker process has exited."""
        while any(p.is_alive() for p in self.processes):
            for proc in list(self.processes):
                proc.join(0.5)


def portable_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a worker process can be handed: plain values only (an app's config
    also holds live objects such as a plugin manager, which each worker builds itself)."""
    plain = (str, int, float, bool, type(None))

    def portable(value: Any) -> bool:
        if isinstance(value, list | tuple):
            return all(isinstance(v, plain) for v in value)
        return isinstance(value, plain)

    return {k: v for k, v in config.items() if portable(v)}


def _signal(pid: int | None, sig: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
