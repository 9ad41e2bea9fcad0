"""Per-process resource limits of the sandbox launcher, set between fork and exec."""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Callable

from plugins.types import Limits

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
