"""The run's cgroup v1 groups (memory, pids, cpuacct), where this worker may create them."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from pathlib import Path

from grader.treewatch import TreeWatch
from plugins.types import Limits

log = logging.getLogger(__name__)


class Cgroups:
    """The run's resource groups: cgroup v1 `memory`, `pids` and (where writable)
    `cpuacct` groups when this worker may create them, and in every case a `TreeWatch`.

    The memory group caps resident memory (tmpfs files the student writes count too) and
    records the peak and OOM kills; the pids group caps processes whatever the uid; the
    cpuacct group counts the CPU time of every process that ever ran in the run. All are
    created under this process's own groups and removed after the run. Where they are
    unavailable (cgroup v2 without delegation, an unprivileged worker,
    NEUROGRADE_CGROUPS=off) the group has no directories: rlimits and the watcher (which
    then reads the tree from /proc) limit the run.
    """

    ROOT = Path("/sys/fs/cgroup")
    CONTROLLERS = ("memory", "pids", "cpuacct")
    _cleaned = False

    def __init__(self, dirs: dict[str, Path], limits: Limits | None = None) -> None:
        self.dirs = dirs
        self.watch = TreeWatch(self, limits) if limits is not None else None

    @classmethod
    def create(cls, limits: Limits) -> Cgroups:
        if os.environ.get("NEUROGRADE_CGROUPS", "").lower() == "off":
            return cls({}, limits)
        if not Cgroups._cleaned:
            Cgroups._cleaned = True
            cls.clean_stale()
        dirs: dict[str, Path] = {}
        name = f"neurograde-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            for controller, settings in (
                    ("memory", {"memory.limit_in_bytes": limits.memory_mb * 2**20,
                                "memory.swappiness": 0}),
                    ("pids", {"pids.max": limits.max_processes + 2})):  # + bwrap's two
                dirs[controller] = cls._make(controller, name, settings)
        except OSError as exc:
            log.debug("cgroup limits unavailable (%s); using rlimits only", exc)
            cls(dirs).remove()
            return cls({}, limits)
        try:  # optional: without it the watcher sums the tree's times from /proc
            dirs["cpuacct"] = cls._make("cpuacct", name, {})
        except OSError as exc:
            log.debug("cpuacct group unavailable (%s)", exc)
        return cls(dirs, limits)

    @classmethod
    def _make(cls, controller: str, name: str, settings: dict) -> Path:
        base = cls._own_group(controller)
        if base is None or not os.access(base, os.W_OK):
            raise PermissionError(controller)
        path = base / name
        path.mkdir()
        try:
            for key, value in settings.items():
                (path / key).write_text(str(value))
        except OSError:
            path.rmdir()
            raise
        return path

    @classmethod
    def clean_stale(cls) -> list[Path]:
        """Remove the groups of workers that died mid-run (their pid is in the name)."""
        removed = []
        for controller in cls.CONTROLLERS:
            base = cls._own_group(controller)
            for path in base.glob("neurograde-*-*") if base else ():
                owner = path.name.split("-")[1]
                if owner.isdigit() and not _alive(int(owner)):
                    cls({controller: path}).remove()
                    removed.append(path)
        if removed:
            log.info("removed %d stale cgroups of dead workers", len(removed))
        return removed

    @classmethod
    def _own_group(cls, controller: str) -> Path | None:
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                base = cls.ROOT / controller / path.lstrip("/")
                return base if (base / "cgroup.procs").exists() else None
        return None

    def open_procs(self) -> list[int]:
        """Each group's `cgroup.procs`, which the launcher joins (in preexec, before
        dropping root); the caller closes them."""
        fds: list[int] = []
        try:
            for path in self.dirs.values():
                fds.append(os.open(path / "cgroup.procs", os.O_WRONLY))
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        return fds

    def peak_mb(self) -> float:
        watched = self.watch.peak_kb / 1024 if self.watch else 0.0
        return max(self._read("memory", "memory.max_usage_in_bytes") / 2**20, watched)

    def oom_killed(self) -> bool:
        """The kernel OOM-killed a process of the run, or the watcher ended it for memory."""
        return self.kernel_oom_kills() > 0 or bool(self.watch and self.watch.reason == "memory")

    def kernel_oom_kills(self) -> int:
        text = self._text("memory", "memory.oom_control")
        kills = [line.split()[1] for line in text.splitlines() if line.startswith("oom_kill ")]
        return int(kills[0]) if kills and kills[0].isdigit() else 0

    def cpu_seconds(self) -> float | None:
        """CPU time of everything that ran in the run so far, when cpuacct counts it."""
        return self._read("cpuacct", "cpuacct.usage") / 1e9 if "cpuacct" in self.dirs else None

    def tree_cpu_s(self) -> float:
        """The whole tree's CPU time as far as known: cpuacct's count, or the watcher's
        last reading (`wait4` on the launcher misses the sandbox's orphans)."""
        watched = self.watch.cpu_s if self.watch else 0.0
        return max(self.cpu_seconds() or 0.0, watched)

    def kill_all(self) -> None:
        for path in self.dirs.values():
            for pid in self._text_path(path / "cgroup.procs").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass

    def remove(self) -> None:
        if self.watch:
            self.watch.stop()
        for path in self.dirs.values():
            for _ in range(50):  # killed processes leave the group asynchronously
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.01)

    def _read(self, controller: str, key: str) -> int:
        text = self._text(controller, key).strip()
        return int(text) if text.isdigit() else 0

    def _text(self, controller: str, key: str) -> str:
        path = self.dirs.get(controller)
        return self._text_path(path / key) if path else ""

    @staticmethod
    def _text_path(path: Path) -> str:
        try:
            return path.read_text()
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
