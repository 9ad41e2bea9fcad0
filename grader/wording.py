"""How a run that ended early is worded for the student: which limit, during which call."""

from __future__ import annotations

import os
import signal

from grader.result import Status
from plugins.types import Limits


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
                 corrupt: str | None) -> tuple[Status, str, dict | None]:
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
                memory_error: bool) -> tuple[Status, str, dict]:
    where = f"while running `{label}`"
    if memory_error and peak_mb < 0.9 * lim.memory_mb:
        msg = (f"asked for more than the {lim.memory_mb} MiB memory limit {where} "
               f"(MemoryError; peak measured {peak_mb:.0f} MiB)")
    else:
        how = "MemoryError" if memory_error else "the process was killed"
        msg = f"ran out of memory {where}: {describe_usage(peak_mb, lim.memory_mb)} ({how})"
    msg += ". Avoid building huge arrays; process the data in batches."
    return "memory_limit", msg, limit_hit("memory_mb", lim.memory_mb, label, msg)
