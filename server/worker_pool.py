"""A group of grading worker processes on one machine, supervised and stopped gracefully.

Processes are spawned, not forked: each builds its own plugin registry, datasets and
database engine (`server.worker.worker_main`), and nothing of the parent (open
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

from server.worker import GradeFn, WorkerSettings, worker_main

log = logging.getLogger(__name__)


class WorkerPool:
    """N worker processes (spawned, not forked) with a supervisor thread that restarts
    any that die; `stop()` shuts them down gracefully."""

    def __init__(self, config: Mapping[str, Any], n: int, grade: GradeFn | None = None) -> None:
        self.config, self.grade = portable_config(config), grade
        self.settings = WorkerSettings.from_config(self.config)
        self._ctx = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self.processes: list[Any] = [self._spawn(i) for i in range(n)]
        self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                            name="neurograde-worker-supervisor")
        self._supervisor.start()

    def _spawn(self, index: int) -> Any:
        proc = self._ctx.Process(target=worker_main, name=f"neurograde-worker-{index}",
                                 args=(self.config, index, self.grade, os.getpid()), daemon=True)
        proc.start()
        return proc

    def _supervise(self) -> None:
        while not self._stopping.wait(1.0):
            for i, proc in enumerate(self.processes):
                if not proc.is_alive() and not self._stopping.is_set():
                    log.error("worker process %s exited with %s; starting a new one",
                              proc.pid, proc.exitcode)
                    self.processes[i] = self._spawn(i)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def alive(self) -> int:
        return sum(p.is_alive() for p in self.processes)

    def stop(self, grace_seconds: float | None = None) -> None:
        """SIGTERM (finish the current job), then SIGINT after `grace_seconds` (release
        it), then SIGKILL as a last resort (its lease expires and the job is reclaimed)."""
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
