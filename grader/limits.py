"""Resource limits applied to the sandboxed child, and how limit hits are worded."""

from __future__ import annotations

import logging
import math
import os
import resource
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from plugins.types import Limits

log = logging.getLogger(__name__)

#: Virtual address space the interpreter, numpy and OpenBLAS reserve before any student
#: data; RLIMIT_AS is memory_mb plus this when it is the only memory limit.
AS_ALLOWANCE_MB = 512
#: With a memory cgroup enforcing memory_mb, RLIMIT_AS only stops absurd single requests
#: early (a clean MemoryError instead of an OOM kill).
AS_FACTOR_WITH_CGROUP = 4


def rlimits(limits: Limits, *, cgroup: bool = False) -> dict[int, tuple[int, int]]:
    """rlimits for the launcher and everything it starts (NPROC is set inside the sandbox,
    where it counts only the sandbox's processes)."""
    cpu = max(1, math.ceil(limits.cpu_seconds))
    memory_mb = limits.memory_mb + AS_ALLOWANCE_MB
    if cgroup:
        memory_mb = max(memory_mb, limits.memory_mb * AS_FACTOR_WITH_CGROUP)
    memory = memory_mb * 1024 * 1024
    fsize = limits.max_file_mb * 1024 * 1024
    return {
        resource.RLIMIT_CPU: (cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL one second later
        resource.RLIMIT_AS: (memory, memory),
        resource.RLIMIT_FSIZE: (fsize, fsize),
        resource.RLIMIT_NOFILE: (limits.max_open_files, limits.max_open_files),
        resource.RLIMIT_CORE: (0, 0),
    }


def make_preexec(limits: Limits, uid: int | None,
                  cgroup_fds: list[int] | None = None) -> Callable[[], None]:
    """Runs in the forked child before exec: join the run's cgroups, set rlimits
    (hard = soft, so they cannot be raised) and, for a root worker, drop to an
    unprivileged uid so that bwrap maps the sandbox to it."""
    items = list(rlimits(limits, cgroup=bool(cgroup_fds)).items())
    fds = list(cgroup_fds or ())

    def preexec() -> None:
        for fd in fds:
            os.write(fd, b"0")  # "0" = the writing process
        for which, value in items:
            resource.setrlimit(which, value)
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return preexec


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def limit_hit(name: str, value: float, during: str, message: str) -> dict:
    return {"name": name, "value": value, "during": during, "message": message}


def describe_usage(used_mb: float, limit_mb: float) -> str:
    return f"used {_mib(used_mb)} of {_mib(limit_mb)} memory"


def _mib(mb: float) -> str:
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.0f} MiB"


class Cgroups:
    """cgroup v1 `memory` and `pids` groups for one run, when this worker may create them.

    The memory group caps resident memory (tmpfs files the student writes count too) and
    records the peak and OOM kills; the pids group caps processes whatever the uid. Both
    are created under this process's own groups and removed after the run. Where they
    are unavailable (cgroup v2 without delegation, an unprivileged worker) RLIMIT_AS
    alone limits memory.
    """

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    @classmethod
    def create(cls, limits: Limits) -> Cgroups | None:
        if os.environ.get("NEUROGRADE_CGROUPS", "").lower() == "off":
            return None
        dirs: dict[str, Path] = {}
        name = f"neurograde-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            for controller, settings in (
                    ("memory", {"memory.limit_in_bytes": limits.memory_mb * 2**20,
                                "memory.swappiness": 0}),
                    ("pids", {"pids.max": limits.max_processes + 2})):  # + bwrap's two
                base = cls._own_group(controller)
                if base is None or not os.access(base, os.W_OK):
                    raise PermissionError(controller)
                path = base / name
                path.mkdir()
                dirs[controller] = path
                for key, value in settings.items():
                    (path / key).write_text(str(value))
        except OSError as exc:
            log.debug("cgroup limits unavailable (%s); using rlimits only", exc)
            cls(dirs).remove()
            return None
        return cls(dirs)

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
        """Descriptors the launcher writes its pid to (in preexec, before dropping root)."""
        return [os.open(p / "cgroup.procs", os.O_WRONLY) for p in self.dirs.values()]

    def peak_mb(self) -> float:
        return self._read("memory", "memory.max_usage_in_bytes") / 2**20

    def oom_killed(self) -> bool:
        text = self._text("memory", "memory.oom_control")
        kills = [line.split()[1] for line in text.splitlines() if line.startswith("oom_kill ")]
        return bool(kills and int(kills[0]) > 0)

    def kill_all(self) -> None:
        for path in self.dirs.values():
            for pid in self._text_path(path / "cgroup.procs").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass

    def remove(self) -> None:
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
