"""Resource limits applied to the sandboxed child, and how limit hits are worded."""

from __future__ import annotations

import logging
import math
import os
import resource
import select
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from grader.proctree import end_tree, tree_memory_kb, tree_usage
from plugins.types import Limits

log = logging.getLogger(__name__)

#: Virtual address space the interpreter, numpy and OpenBLAS reserve before any student
#: data; RLIMIT_AS is memory_mb plus this when it is the only memory limit.
AS_ALLOWANCE_MB = 512
#: With a memory cgroup enforcing memory_mb, RLIMIT_AS only stops absurd single requests
#: early (a clean MemoryError instead of an OOM kill).
AS_FACTOR_WITH_CGROUP = 4
#: How often the watcher reads the whole tree's CPU time and memory.
WATCH_SECONDS = 0.05


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
    # an OOM kill (or a peak at the cap) explains the hang or SIGKILL that follows it
    at_cap = peak_mb >= lim.memory_mb and (timed_out or code in _SIGNAL_DEATHS)
    if oom or memory_error or at_cap:
        return _memory_end(lim, label, peak_mb, memory_error)
    if timed_out:
        msg = (f"ran for more than the {lim.wall_seconds:g} s time limit {where} "
               "(look for an infinite loop or a very slow loop; vectorize with numpy)")
        return "timeout", msg, limit_hit("wall_seconds", lim.wall_seconds, label, msg)
    if code == 128 + signal.SIGXCPU or (code == 128 + signal.SIGKILL
                                        and cpu_s >= lim.cpu_seconds):
        msg = f"used {cpu_s:.1f} s of the {lim.cpu_seconds:g} s CPU time limit {where}"
        return "timeout", msg, limit_hit("cpu_seconds", lim.cpu_seconds, label, msg)
    if code in _SIGNAL_DEATHS and peak_mb >= 0.9 * lim.memory_mb:
        return _memory_end(lim, label, peak_mb, memory_error)
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


def _memory_end(lim: Limits, label: str, peak_mb: float,
                memory_error: bool) -> tuple[str, str, dict]:
    where = f"while running `{label}`"
    if memory_error and peak_mb < 0.9 * lim.memory_mb:
        msg = (f"asked for more than the {lim.memory_mb} MiB memory limit {where} "
               f"(MemoryError; peak measured {peak_mb:.0f} MiB)")
    else:
        how = "MemoryError" if memory_error else "the process was killed"
        msg = f"ran out of memory {where}: {describe_usage(peak_mb, lim.memory_mb)} ({how})"
    msg += ". Avoid building huge arrays; process the data in batches."
    return "memory_limit", msg, limit_hit("memory_mb", lim.memory_mb, label, msg)


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
