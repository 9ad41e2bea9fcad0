"""Resource limits applied to the sandboxed child, and how limit hits are worded."""

from __future__ import annotations

import math
import os
import resource
import signal
from collections.abc import Callable

from plugins.types import Limits

#: Virtual address space the interpreter, numpy and OpenBLAS reserve before any student
#: data (measured ~350 MiB with one BLAS thread); RLIMIT_AS is memory_mb plus this.
AS_ALLOWANCE_MB = 512


def rlimits(limits: Limits) -> dict[int, tuple[int, int]]:
    """rlimits for the launcher and everything it starts (NPROC is set inside the sandbox,
    where it counts only the sandbox's processes)."""
    cpu = max(1, math.ceil(limits.cpu_seconds))
    memory = (limits.memory_mb + AS_ALLOWANCE_MB) * 1024 * 1024
    fsize = limits.max_file_mb * 1024 * 1024
    return {
        resource.RLIMIT_CPU: (cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL one second later
        resource.RLIMIT_AS: (memory, memory),
        resource.RLIMIT_FSIZE: (fsize, fsize),
        resource.RLIMIT_NOFILE: (limits.max_open_files, limits.max_open_files),
        resource.RLIMIT_CORE: (0, 0),
    }


def make_preexec(limits: Limits, uid: int | None) -> Callable[[], None]:
    """Runs in the forked child before exec: set rlimits (hard = soft, so they cannot be
    raised) and, for a root worker, drop to an unprivileged uid so bwrap maps to it."""
    items = list(rlimits(limits).items())

    def preexec() -> None:
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
