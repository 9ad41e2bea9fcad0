"""Hostile submissions, each graded through the real sandbox with short limits.

Every case must end with the right status, no credit, no leaked secret, nothing
left running, nothing written on the host, and the next correct submission must
still be graded correctly. Cases that could hurt the machine if the sandbox were
broken depend on `isolation_probe` and fail instead of running without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.engine import grade_submission
from grader.sandbox import drop_uid

from .conftest import FAST, GOOD

pytestmark = pytest.mark.sandbox

TOKEN = "ngsecret-" + secrets.token_hex(8)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _tracked(tracker):
    """Every case tracks the sandboxes it starts."""


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """Secrets the sandbox must never see, and host paths it must never write."""
    hidden = tmp_path_factory.mktemp("hidden")
    os.chmod(hidden, 0o755)
    (hidden / "labels.txt").write_text(TOKEN)
    (hidden / "grades.db").write_bytes(b"SQLite format 3\0" + TOKEN.encode())
    for path in hidden.iterdir():
        os.chmod(path, 0o644)  # readable by anyone on the host: only the sandbox stops it
    mp = pytest.MonkeyPatch()
    mp.setenv("NEUROGRADE_SECRET_KEY", TOKEN)
    mp.setenv("DATABASE_URL", f"postgresql://postgres:{TOKEN}@127.0.0.1/test")
    tag = secrets.token_hex(6)
    markers = [Path("/tmp") / f"pwned-{tag}", hidden / "pwned", REPO / f"pwned-{tag}"]
    yield {"hidden": hidden, "markers": markers,
           "subst": {"HIDDEN": str(hidden), "MARKERS": [str(m) for m in markers],
                     "REPO": str(REPO)}}
    mp.undo()


def grade(host, make_assignment, template: str):
    """Grade a hostile template with the host's paths filled in."""
    source = template
    for key, value in host["subst"].items():
        source = source.replace(f"<{key}>", repr(value))
    return grade_submission(source, make_assignment(), seed=1)


def assert_contained(result, host, make_assignment, status: str | set[str], tracker,
                     exclude: tuple[int, ...] = ()):
    """The common verdict of every hostile case."""
    allowed = {status} if isinstance(status, str) else status
    assert tracker.launchers, "no sandbox was started"
    assert result.status in allowed, (result.status, result.message)
    assert result.score == 0, [c.message for c in result.checks]
    assert TOKEN not in json.dumps(result.to_dict())
    deadline = time.monotonic() + 3
    while tracker.leftovers(exclude) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tracker.leftovers(exclude) == []
    for marker in host["markers"]:
        assert not marker.exists(), f"{marker} was written on the host"
    good = grade_submission(GOOD, make_assignment())
    assert good.status == "graded" and good.score == good.max_score, good.message


# -- time ------------------------------------------------------------------------------

def test_infinite_loop_at_import(host, make_assignment, tracker):
    result = grade(host, make_assignment, "while True:\n    pass\n")
    assert_contained(result, host, make_assignment, "timeout", tracker)
    assert result.limit_hit["name"] in ("wall_seconds", "cpu_seconds")
    assert "importing solution.py" in result.message and "2 s" in result.message


def test_infinite_loop_in_a_call_keeps_nothing_after_it(host, make_assignment, tracker):
    result = grade(host, make_assignment, "def add(a, b):\n    while True:\n        pass\n")
    assert_contained(result, host, make_assignment, "timeout", tracker)
    assert result.limit_hit["during"] == "add([1., 2.], 3)"
    assert result.checks[1].message.startswith("not run")


def test_sleeping_forever_is_a_wall_clock_timeout(host, make_assignment, tracker):
    result = grade(host, make_assignment, "import time\ndef add(a, b):\n    time.sleep(10**6)\n")
    assert_contained(result, host, make_assignment, "timeout", tracker)
    assert result.limit_hit["name"] == "wall_seconds" and result.usage["cpu_s"] < 1.5
    assert "while running `add([1., 2.], 3)`" in result.message


# -- memory, processes, disk (dangerous without the sandbox) ----------------------------

def test_allocating_tens_of_gigabytes(host, make_assignment, tracker, isolation_probe):
    result = grade(host, make_assignment,
                   "import numpy as np\ndef add(a, b):\n    return np.ones(5 * 10**9)\n")
    assert_contained(result, host, make_assignment, "memory_limit", tracker)
    assert result.limit_hit == {"name": "memory_mb", "value": 256, "during": "add([1., 2.], 3)",
                                "message": result.message}
    assert "256 MiB" in result.message


def test_growing_memory_until_the_cap(host, make_assignment, tracker, isolation_probe):
    source = "import numpy as np\nkeep = []\nwhile True:\n    keep.append(np.ones(2 * 10**6))\n"
    result = grade_submission(source, make_assignment(limits=replace(FAST, memory_mb=128)))
    assert_contained(result, host, make_assignment, "memory_limit", tracker)
    assert result.usage["peak_memory_mb"] > 100 and "128 MiB" in result.message


def test_fork_bomb(host, make_assignment, tracker, isolation_probe):
    source = ("import os\nwhile True:\n    try:\n        os.fork()\n"
              "    except OSError:\n        pass\n")
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "timeout", tracker)


def test_filling_the_disk(host, make_assignment, tracker, isolation_probe):
    source = (f"import os\nerrors = []\nfor d in ('/tmp', '/sandbox', '/dev/shm', '/dev'):\n"
              f"    for i in range(10000):\n        try:\n"
              f"            with open(f'{{d}}/fill-{TOKEN[:4]}-{{i}}', 'wb') as f:\n"
              f"                f.write(b'x' * 2**20 * 8)\n"
              f"        except OSError as e:\n            errors.append(e.strerror)\n"
              f"            break\nraise RuntimeError(sorted(set(errors)))\n")
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "import_error", tracker)
    assert "File too large" in result.message or "No space left" in result.message
    assert "Read-only file system" in result.message  # /dev itself
    assert not list(Path("/tmp").glob(f"fill-{TOKEN[:4]}-*"))


def test_signalling_the_parent_and_everything_else(host, make_assignment, tracker, isolation_probe):
    uid = drop_uid()
    sentinel = subprocess.Popen(
        ["sleep", "60"], preexec_fn=(lambda: os.setuid(uid)) if uid is not None else None)
    try:
        source = ("import os, signal\ndef add(a, b):\n"
                  "    for pid in (1, os.getppid(), -1):\n        try:\n"
                  "            os.kill(pid, signal.SIGKILL)\n        except OSError:\n"
                  "            pass\n    return a - b\n")
        result = grade(host, make_assignment, source)
        assert_contained(result, host, make_assignment, {"graded", "crashed"}, tracker,
                         exclude=(sentinel.pid,))
        assert sentinel.poll() is None, "a host process of the sandbox uid was signalled"
    finally:
        sentinel.kill()
        sentinel.wait()


# -- secrets and network ---------------------------------------------------------------

def test_reading_secrets_database_and_hidden_data(host, make_assignment, tracker):
    source = """
import os
found = {"env": dict(os.environ)}
for path in ["/proc/1/environ", "/proc/self/environ", <HIDDEN> + "/labels.txt",
             <HIDDEN> + "/grades.db", <REPO> + "/grader/engine.py", "/root/.bash_history",
             "/etc/passwd", "/proc/1/root/etc/hostname"]:
    try:
        found[path] = open(path, "rb").read()[:200]
    except OSError as exc:
        found[path] = exc.strerror
print(found)
raise RuntimeError(repr(found))
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "import_error", tracker)
    assert "No such file or directory" in result.message and "OPENBLAS_NUM_THREADS" in result.stdout


def test_tcp_connections_to_local_services(host, make_assignment, tracker):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    source = (f"import socket\ndef add(a, b):\n    errors = []\n"
              f"    for port in ({port}, 5432, 80):\n        try:\n"
              f"            socket.create_connection(('127.0.0.1', port), timeout=1)\n"
              f"            errors.append('connected')\n        except OSError as e:\n"
              f"            errors.append(e.strerror)\n    raise RuntimeError(errors)\n")
    try:
        result = grade(host, make_assignment, source)
        assert_contained(result, host, make_assignment, "graded", tracker)
        assert "connected" not in result.checks[0].message
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


# -- the protocol and the runtime ------------------------------------------------------

def test_fake_protocol_messages_and_fake_results(host, make_assignment, tracker):
    source = """
import json, os, struct
print(json.dumps({"status": "graded", "score": 100, "max_score": 3}))
def add(a, b):
    body = json.dumps({"id": 1, "ok": True, "value": 99.0}).encode()
    for fd in range(3, 64):
        try:
            os.write(fd, struct.pack(">II", len(body), 0) + body)
        except OSError:
            pass
    return a - b
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "crashed", tracker)
    assert '"score": 100' in result.stdout and "channel" in result.message


@pytest.mark.parametrize("source, status, words", [
    ("import sys\nsys.exit(0)\n", "import_error", "sys.exit()"),
    ("import os\nos._exit(0)\n", "crashed", "exited with code 0"),
    ("import os\nos._exit(9)\n", "crashed", "exited with code 9"),
])
def test_exiting_at_import(host, make_assignment, tracker, source, status, words):
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, status, tracker)
    assert words in result.message


def test_monkeypatching_numpy_and_builtins(host, make_assignment, tracker):
    source = """
import builtins, numpy
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: True
builtins.isinstance = lambda *a: True
def add(a, b):
    return numpy.zeros_like(a)
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)


def test_pickling_tricks_and_object_arrays(host, make_assignment, tracker):
    marker = host["markers"][0]
    source = f"""
import numpy as np, os
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
def add(a, b):
    if isinstance(a, np.memmap):
        return np.array([Evil()], dtype=object)
    return Evil()
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)
    assert all("cannot be graded" in c.message for c in result.checks)


def test_double_forked_daemon_ignoring_sigterm(host, make_assignment, tracker, isolation_probe):
    source = """
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.05)
    os._exit(0)
os.wait()
def add(a, b):
    return a - b
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)


def test_no_shell_and_child_processes_stay_unprivileged(host, make_assignment, tracker):
    source = """
import ctypes, os, subprocess, sys
def add(a, b):
    try:
        subprocess.run(["/bin/sh", "-c", "id -u; cat /etc/shadow; ls /root"])
        shell = "ran"
    except FileNotFoundError:
        shell = "absent"
    system = os.waitstatus_to_exitcode(os.system("id -u"))  # libc's system() runs /bin/sh
    child = subprocess.run([sys.executable, "-c", "import os\\ntry:\\n    os.setuid(0)\\n"
                            "except OSError:\\n    print(os.getuid(), 'refused')"],
                           capture_output=True, text=True)
    libc = ctypes.CDLL("libc.so.6")
    raise RuntimeError(f"shell={shell} system={system} child={child.stdout.strip()!r} "
                       f"setuid={libc.setuid(0)} setgid={libc.setgid(0)} "
                       f"chroot={libc.chroot(b'/')}")
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)
    message = result.checks[0].message
    assert "shell=absent system=127" in message, message
    assert "child='65534 refused'" in message, message  # setuid(0) fails in a subprocess too
    assert "setuid=-1" in message and "setgid=-1" in message and "chroot=-1" in message


def test_no_other_interpreter_shell_or_package_directory_is_visible(host, make_assignment,
                                                                   tracker):
    source = """
import os, sys
def add(a, b):
    stdlib, found, files = os.path.dirname(os.__file__), [], 0
    for top, dirs, names in os.walk("/"):
        if top in ("/proc", "/sys", "/dev"):
            dirs.clear()
            continue
        for name in dirs:
            path = os.path.join(top, name)
            if name in ("site-packages", "dist-packages") or (
                    name.startswith("python") and not stdlib.startswith(path)):
                found.append(path)
        for name in names:
            path, files = os.path.join(top, name), files + 1
            if path == sys.executable or not os.path.isfile(path) or not os.access(path, os.X_OK):
                continue
            with open(path, "rb") as f:
                elf = f.read(4) == b"\\x7fELF"
            if name.startswith("python") or (elf and ".so" not in name):
                found.append(path)
    raise RuntimeError(f"files={files} exe={sys.executable} found={sorted(found)}")
"""
    slow = replace(FAST, wall_seconds=10.0, cpu_seconds=10.0)  # a broken layout is big
    result = grade_submission(source, make_assignment(limits=slow))
    assert_contained(result, host, make_assignment, "graded", tracker)
    message = result.checks[0].message
    assert "exe=/opt/python/bin/python3" in message and "found=[]" in message, message
    assert int(message.split("files=")[1].split()[0]) > 500  # the walk saw the stdlib


def test_installed_packages_stay_out_of_reach_without_the_import_blocker(host, make_assignment,
                                                                        tracker):
    """Even with the import hook removed and every host package directory put on sys.path
    (a venv's, the base interpreter's, Debian's, one bundled under an unusual /usr path),
    nothing but the stdlib and numpy can be imported."""
    import glob
    import importlib.util
    import sys

    names = ["scipy", "sklearn", "flask", "sqlalchemy", "pytest", "pip", "setuptools",
             "cryptography", "crcmod", "grpc", "seccomp", "grader", "plugins"]
    installed = [n for n in names if importlib.util.find_spec(n) is not None]
    assert {"scipy", "sklearn", "flask", "pytest"} <= set(installed)  # else this proves nothing
    patterns = [f"{sys.base_prefix}/lib/python3*/site-packages", "/usr/lib/python3*/*-packages",
                "/usr/local/lib/python3*/*-packages", "/usr/lib/*/platform/*/lib/py*/*-packages",
                "/usr/lib/*/platform/*/third_party/*/python3"]
    dirs = sorted({str(Path(np.__file__).parents[1]), str(REPO),
                   *(found for pattern in patterns for found in glob.glob(pattern))})
    source = f"""
import sys
def add(a, b):
    before = len(sys.meta_path)
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
    sys.path.extend({dirs!r})
    results = {{"blockers removed": before - len(sys.meta_path)}}
    for name in {names!r}:
        try:
            __import__(name)
            results[name] = "imported"
        except ImportError as exc:
            results[name] = type(exc).__name__
    raise RuntimeError(repr(results))
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)
    message = result.checks[0].message
    assert "'blockers removed': 1" in message and "imported" not in message, message
    assert all(f"'{n}': 'ModuleNotFoundError'" in message for n in names), message


def test_planting_sitecustomize_and_editing_installed_packages(host, make_assignment, tracker):
    numpy_init = Path(np.__file__)
    before = hashlib.sha256(numpy_init.read_bytes()).hexdigest()
    source = """
import os, numpy
stdlib = os.path.dirname(os.__file__)
targets = [numpy.__file__, os.path.dirname(numpy.__file__) + "/pwned.py",
           stdlib + "/sitecustomize.py", stdlib + "/os.py", "/usr/lib/python3/pwned.py",
           "/sandbox/numpy.py", "/tmp/sitecustomize.py"] + <MARKERS>
results = {}
for path in targets:
    try:
        with open(path, "a") as f:
            f.write("raise SystemExit('planted')\\n")
        results[path] = "written"
    except OSError as exc:
        results[path] = exc.strerror
raise RuntimeError(results)
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "import_error", tracker)
    assert result.message.count("'written'") == 3  # only the sandbox's private tmpfs dirs
    assert hashlib.sha256(numpy_init.read_bytes()).hexdigest() == before
    probe = "import importlib.util\ndef add(a, b):\n" \
            "    assert importlib.util.find_spec('sitecustomize') is None\n    return a + b\n"
    assert grade(host, make_assignment, probe).score == 3


def test_unbounded_recursion(host, make_assignment, tracker):
    source = "def add(a, b):\n    return add(a, b)\n"
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)
    assert "RecursionError" in result.checks[0].message


def test_unbounded_recursion_through_c_with_the_limit_lifted(host, make_assignment, tracker):
    source = ("import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n"
              "    return list(map(f, [n + 1]))\ndef add(a, b):\n    return f(0)\n")
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "crashed", tracker)
    assert "killed by SIGSEGV while running `add([1., 2.], 3)`" in result.message


def test_fd_exhaustion(host, make_assignment, tracker):
    source = ("keep = []\ntry:\n    while True:\n        keep.append(open('/dev/null'))\n"
              "except OSError as exc:\n    raise RuntimeError(f'{len(keep)} {exc.strerror}')\n")
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "import_error", tracker)
    assert "Too many open files" in result.message


def test_raising_its_own_rlimits(host, make_assignment, tracker):
    source = """
import resource, numpy as np
for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE"):
    which = getattr(resource, name)
    try:
        resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        print(name, "raised")
    except (ValueError, OSError) as exc:
        print(name, "refused", type(exc).__name__)
def add(a, b):
    return np.ones(2 * 10**9)
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "memory_limit", tracker)
    assert result.stdout.count("refused") == 5 and "raised" not in result.stdout


def test_seccomp_denies_kernel_interfaces_the_child_never_needs(host, make_assignment, tracker):
    from grader.sandbox import seccomp_program

    if seccomp_program() is None:
        pytest.skip("seccomp layer unavailable here (libseccomp2 missing; see neurograde doctor)")
    source = """
import ctypes
def add(a, b):
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    traced = libc.ptrace(0, 0, 0, 0)  # PTRACE_TRACEME succeeds without the filter
    errno = ctypes.get_errno()
    raise RuntimeError(f"ptrace={traced} errno={errno} unshare={libc.unshare(0x20000)}")
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)
    assert "ptrace=-1 errno=1 unshare=-1" in result.checks[0].message


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_process_cap_holds_with_and_without_cgroups(host, make_assignment, tracker,
                                                    isolation_probe, monkeypatch, cgroups):
    monkeypatch.setenv("NEUROGRADE_CGROUPS", cgroups)
    source = """
import os, time
def add(a, b):
    n = 0
    try:
        while n < 200:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            n += 1
    except OSError as exc:
        raise RuntimeError(f"forked {n} then {exc.strerror}")
    raise RuntimeError(f"forked {n}")
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "graded", tracker)
    forked = int(result.checks[0].message.split("forked ")[1].split()[0])
    assert forked < 8 and "Resource temporarily unavailable" in result.checks[0].message


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_forked_children_share_one_cpu_budget(host, make_assignment, tracker, isolation_probe,
                                              monkeypatch, cgroups):
    monkeypatch.setenv("NEUROGRADE_CGROUPS", cgroups)
    source = """
import os, time
def add(a, b):
    pids = []
    for _ in range(3):  # each stays under RLIMIT_CPU; together they use 2.7 s
        pid = os.fork()
        if pid == 0:
            start = time.process_time()
            while time.process_time() - start < 0.9:
                pass
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return a + b
"""
    limits = replace(FAST, cpu_seconds=1.0, wall_seconds=6.0)
    result = grade_submission(source, make_assignment(limits=limits))
    assert_contained(result, host, make_assignment, "timeout", tracker)
    assert result.limit_hit["name"] == "cpu_seconds", result.message
    assert "of the 1 s CPU time limit" in result.message and result.usage["cpu_s"] >= 1.0
    assert result.usage["wall_s"] < 3


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_forked_children_share_one_memory_budget(host, make_assignment, tracker,
                                                 isolation_probe, monkeypatch, cgroups):
    monkeypatch.setenv("NEUROGRADE_CGROUPS", cgroups)
    source = """
import os, time
import numpy as np
def add(a, b):
    pids = []
    for _ in range(3):  # ~100 MiB each, under the 256 MiB limit alone, not together
        pid = os.fork()
        if pid == 0:
            keep = np.ones(13 * 10**6)
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return a + b
"""
    result = grade(host, make_assignment, source)
    assert_contained(result, host, make_assignment, "memory_limit", tracker)
    assert result.limit_hit["name"] == "memory_mb" and "256 MiB" in result.message
    assert result.usage["peak_memory_mb"] >= 200, result.usage
