"""How limit hits are worded, and the rlimits handed to the launcher."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grader.proctree import tree_usage
from grader.rlimits import rlimits
from grader.wording import describe_end, exit_code
from plugins.types import Limits

LIM = Limits(wall_seconds=3, cpu_seconds=4, memory_mb=512, max_file_mb=8)


def end(**kw):
    args = dict(code=None, cpu_s=0.1, peak_mb=50.0, timed_out=False, memory_error=False,
                oom=False, corrupt=None)
    return describe_end(LIM, "train(…)", **{**args, **kw})


def test_wall_clock_timeout_names_the_limit_and_the_call():
    status, message, hit = end(timed_out=True, code=137)
    assert status == "timeout" and hit["name"] == "wall_seconds" and hit["value"] == 3
    assert "3 s time limit while running `train(…)`" in message and hit["during"] == "train(…)"


@pytest.mark.parametrize("code, cpu", [(128 + signal.SIGXCPU, 3.9), (137, 4.2)])
def test_cpu_limit(code, cpu):
    status, message, hit = end(code=code, cpu_s=cpu)
    assert status == "timeout" and hit["name"] == "cpu_seconds" and "of the 4 s CPU" in message


def test_memory_messages_say_how_much_of_what():
    status, message, hit = end(oom=True, code=137, peak_mb=512)
    assert status == "memory_limit" and "used 512 MiB of 512 MiB memory" in message
    assert hit == {"name": "memory_mb", "value": 512, "during": "train(…)", "message": message}
    status, message, _ = end(memory_error=True, peak_mb=40)
    assert status == "memory_limit" and "asked for more than the 512 MiB" in message
    assert end(code=139, peak_mb=500)[0] == "memory_limit"  # killed at the cap


def test_an_oom_kill_outranks_the_timeout_or_kill_it_caused():
    # a forked child OOM-killed by the cgroup, the runner then waiting on it forever
    status, message, hit = end(timed_out=True, oom=True, code=137, peak_mb=512.0)
    assert status == "memory_limit" and hit["name"] == "memory_mb", message
    assert "infinite loop" not in message and "used 512 MiB of 512 MiB" in message
    assert end(code=137, cpu_s=4.2, oom=True)[0] == "memory_limit"
    assert end(timed_out=True, peak_mb=512.0)[0] == "memory_limit"  # at the cap, kill unseen
    assert end(timed_out=True, peak_mb=300.0)[0] == "timeout"
    assert end(code=137, cpu_s=4.2, peak_mb=300.0)[2]["name"] == "cpu_seconds"


def test_tree_cpu_counts_children_that_already_exited():
    code = ("import os, time\npid = os.fork()\nif pid == 0:\n    t = time.process_time()\n"
            "    while time.process_time() - t < 0.3:\n        pass\n    os._exit(0)\n"
            "os.waitpid(pid, 0)\nprint('reaped', flush=True)\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"reaped\n"
        tick = 1 / os.sysconf("SC_CLK_TCK")  # /proc counts whole ticks
        # the child is gone; its time is the parent's
        assert tree_usage(proc.pid)[0] >= 0.3 - 2 * tick
    finally:
        proc.kill()
        proc.wait()


def test_crashes_are_told_apart_from_limits():
    assert end(code=139, peak_mb=50)[1] == (
        "the Python process was killed by SIGSEGV while running `train(…)`")
    assert "exited with code 3" in end(code=3)[1]
    assert end(code=128 + signal.SIGXFSZ)[2]["name"] == "max_file_mb"
    status, message, hit = end(corrupt="bad frame", code=0)
    assert status == "crashed" and "channel was corrupted" in message and hit is None


def test_exit_codes_follow_bwrap_conventions():
    assert exit_code(None) is None and exit_code(3 << 8) == 3 and exit_code(signal.SIGKILL) == 137


def test_rlimits_cannot_be_raised_and_leave_room_for_numpy():
    limits = rlimits(LIM)
    assert limits[resource.RLIMIT_CPU] == (4, 5)
    assert limits[resource.RLIMIT_FSIZE] == (8 * 2**20,) * 2
    assert limits[resource.RLIMIT_CORE] == (0, 0)
    soft, hard = limits[resource.RLIMIT_AS]
    assert soft == hard > 512 * 2**20
    assert rlimits(LIM, cgroup=True)[resource.RLIMIT_AS][0] >= soft


def test_stale_cgroups_of_dead_workers_are_removed_and_live_ones_kept():
    from grader.cgroups import Cgroups

    group = Cgroups.create(LIM)
    if not group.dirs:
        pytest.skip("cgroup v1 memory/pids groups cannot be created here")
    try:
        base = group.dirs["memory"].parent
        stale = base / "neurograde-999999999-deadbeef0000"  # above pid_max: never alive
        stale.mkdir()
        removed = Cgroups.clean_stale()
        assert stale in removed and not stale.exists()
        assert all(path.exists() for path in group.dirs.values())  # ours: pid alive
    finally:
        group.remove()
    assert not any(path.exists() for path in group.dirs.values())


def _watchers() -> int:
    import threading

    return sum(t.name == "neurograde-watch" and t.is_alive() for t in threading.enumerate())


def test_the_tree_watcher_ends_with_its_run():
    from grader.session import Session
    from tests.grader.conftest import FAST, GOOD

    before = _watchers()
    with Session(GOOD, FAST) as session:
        session.start()
        assert _watchers() == before + 1
        assert session.call("add", (1.0, 2.0))[0] == 3.0
    assert _watchers() == before  # stopped and joined by close(), not 50 ms later


def test_concurrent_runs_keep_their_own_cpu_figures(make_assignment):
    """Runs graded at once in one process: each reports its own tree's CPU time."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from grader.engine import grade_submission
    from tests.grader.conftest import FAST

    burn = """
import os, time
def add(a, b):
    for _ in range(2):  # forked and reaped: only the tree's figure sees them
        pid = os.fork()
        if pid == 0:
            start = time.process_time()
            while time.process_time() - start < 0.8:
                pass
            os._exit(0)
        os.waitpid(pid, 0)
    return a + b
"""
    idle = "import time\ndef add(a, b):\n    time.sleep(0.6)\n    return a + b\n"
    assignment = make_assignment(limits=replace(FAST, cpu_seconds=1.0, wall_seconds=4.0))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda src: grade_submission(src, assignment), [burn, idle] * 2))
    for burned in results[0::2]:
        assert burned.limit_hit and burned.limit_hit["name"] == "cpu_seconds", burned.message
        assert burned.usage["cpu_s"] >= 1.0
    for idled in results[1::2]:
        assert idled.status == "graded" and idled.usage["cpu_s"] < 0.9, idled.usage


BURNED = """
import os, sys, time
pid = os.fork()
if pid == 0:
    start = time.process_time()
    while time.process_time() - start < 1.2:
        pass
    os._exit(0)
os.waitpid(pid, 0)
print("ready", flush=True)
time.sleep(30)
"""


def _impostor_at(pid: int) -> subprocess.Popen | None:
    """A process at the just-freed `pid` whose tree has used 1.2 s of CPU (root only)."""
    for _ in range(20):  # another process on the machine may take the pid first
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        proc = subprocess.Popen([sys.executable, "-c", BURNED], stdout=subprocess.PIPE)
        if proc.pid == pid:
            proc.stdout.readline()
            return proc
        proc.kill()
        proc.wait()
    return None


def test_a_reaped_launchers_pid_is_not_read_again(make_assignment, monkeypatch):
    """Once the launcher is reaped its pid is free, and the next process there (another
    run's launcher, say) must not lend its CPU time or memory to this run's figures."""
    if os.geteuid() != 0 or not os.access("/proc/sys/kernel/ns_last_pid", os.W_OK):
        pytest.skip("placing a process at a given pid needs root")
    from grader.engine import grade_submission

    real_wait4, impostors = os.wait4, []

    def wait4(pid: int, options: int):
        got = real_wait4(pid, options)
        if got[0] == pid and not impostors:  # the worst moment for the pid to be reused
            impostors.append(_impostor_at(pid))
        return got

    monkeypatch.setattr(os, "wait4", wait4)
    source = "import os\ndef add(a, b):\n    os._exit(0)\n"
    try:
        result = grade_submission(source, make_assignment())
    finally:
        monkeypatch.undo()
        for proc in impostors:
            if proc is not None:
                proc.kill()
                proc.wait()
    if impostors != [] and impostors[0] is None:
        pytest.skip("could not place a process at the freed pid")
    assert impostors and result.status == "crashed", result.message
    assert result.usage["cpu_s"] < 1.0, result.usage
