"""How limit hits are worded, and the rlimits handed to the launcher."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys

import pytest

from grader.limits import describe_end, exit_code, rlimits
from grader.sandbox import tree_usage
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
        assert tree_usage(proc.pid)[0] >= 0.3  # the child is gone; its time is the parent's
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
    from grader.limits import Cgroups

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
