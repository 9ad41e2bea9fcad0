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


_SIGNAL_DEATHS = {128 + s for s in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT,
                                    signal.SIGBUS)}


def exit_code(status: int | None) -> int | None:
    """A wait status as an exit code, signals as 128 + number (like a shell and bwrap)."""
    if status is None:
        return None
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def describe_end(lim: Limits, label: str, *, code: int | None, cpu_s: float, peak_mb: float,
                 timed_out: bool, memory_error: bool, oom: bool,
                 corrupt: str | None) -> tuple[str, str, dict | None]:
    """Why a child ended early: (status, message for the student, limit_hit or None)."""
    where = f"while running `{label}`"
    if timed_out:
        msg = (f"ran for more than the {lim.wall_seconds:g} s time limit {where} "
               "(look for an infinite loop or a very slow loop; vectorize with numpy)")
        return "timeout", msg, limit_hit("wall_seconds", lim.wall_seconds, label, msg)
    if code == 128 + signal.SIGXCPU or (code == 128 + signal.SIGKILL
                                        and cpu_s >= lim.cpu_seconds):
        msg = f"used {cpu_s:.1f} s of the {lim.cpu_seconds:g} s CPU time limit {where}"
        return "timeout", msg, limit_hit("cpu_seconds", lim.cpu_seconds, label, msg)
    if memory_error or oom or (code in _SIGNAL_DEATHS and peak_mb >= 0.9 * lim.memory_mb):
        if memory_error and peak_mb < 0.9 * lim.memory_mb:
            msg = (f"asked for more than the {lim.memory_mb} MiB memory limit {where} "
                   f"(MemoryError; peak measured {peak_mb:.0f} MiB)")
        else:
            how = "MemoryError" if memory_error else "the process was killed"
            msg = f"ran out of memory {where}: {describe_usage(peak_mb, lim.memory_mb)} ({how})"
        msg += ". Avoid building huge arrays; process the data in batches."
        return "memory_limit", msg, limit_hit("memory_mb", lim.memory_mb, label, msg)
    if code == 128 + signal.SIGXFSZ:
        msg = f"wrote a file larger than the {lim.max_file_mb} MiB file-size limit {where}"
        return "crashed", msg, limit_hit("max_file_mb", lim.max_file_mb, label, msg)
    if corrupt:
        return "crashed", (f"the grader's channel was corrupted {where} ({corrupt}); do not "
                           "write to file descriptors your code did not open"), None
    if code is not None and code > 128:
        how = f"was killed by {signal_name(code - 128)}"
    elif code is not None:
        how = f"exited with code {code} (sys.exit or os._exit ends grading)"
    else:
        how = "stopped answering"
    return "crashed", f"the Python process {how} {where}", None


class Cgroups:
    """cgroup v1 `memory` and `pids` groups for one run, when this worker may create them.

    The memory group caps resident memory (tmpfs files the student writes count too) and
    records the peak and OOM kills; the pids group caps processes whatever the uid. Both
    are created under this process's own groups and removed after the run. Where they
    are unavailable (cgroup v2 without delegation, an unprivileged worker) RLIMIT_AS
    alone limits memory.
    """

    ROOT = Path("/sys/fs/cgroup")
    CONTROLLERS = ("memory", "pids")
    _cleaned = False

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    @classmethod
    def create(cls, limits: Limits) -> Cgroups | None:
        if os.environ.get("NEUROGRADE_CGROUPS", "").lower() == "off":
            return None
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
