"""The bubblewrap launcher: what the child sees, and the command that starts it.

The child gets a minimal filesystem: `/usr` and the system library links
read-only (with every site-/dist-packages directory covered by an empty tmpfs),
the Python runtime of this process (stdlib only), numpy's own directories, the
child runner, a sized tmpfs work dir holding `solution.py` read-only, and a
read-only directory of shared `.npy` inputs. No network, new PID/IPC/UTS/user
namespaces, no capabilities, a clean environment. Paths are derived at run time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import signal
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from plugins.types import Limits

log = logging.getLogger(__name__)

WORK_DIR = "/sandbox"
SHARED_DIR = "/shared"
LIB_DIR = "/opt/ng/lib"
CHILD_DIR = "/opt/ng/child"
PYTHON_DIR = "/opt/python"
SANDBOX_UID = 65534  #: the uid inside the sandbox, and the host uid a root worker drops to
HOST_CHILD_DIR = Path(__file__).resolve().parent / "child"
STDLIB_SKIP = {"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo",
               "ensurepip", "lib2to3"}

INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`) and allow "
                "unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`, "
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


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be started; grading fails closed with this message."""


@dataclass(frozen=True)
class Layout:
    """What the sandbox binds: host path -> sandbox path, and the interpreter to run."""

    python: str
    binds: tuple[tuple[str, str], ...]
    hide: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def sandbox_disabled() -> bool:
    return os.environ.get("NEUROGRADE_SANDBOX", "").lower() == "none"


def drop_uid() -> int | None:
    """The uid to run bwrap as: unprivileged when the worker is root, else unchanged."""
    return int(os.environ.get("NEUROGRADE_SANDBOX_UID", SANDBOX_UID)) if os.geteuid() == 0 else None


@functools.lru_cache(maxsize=1)
def grading_layout() -> Layout:
    """The grading environment: this interpreter's stdlib plus numpy, nothing else."""
    prefix = Path(sys.base_prefix).resolve()
    exe = Path(sys.executable).resolve()
    unprivileged = drop_uid() is not None
    numpy_dir = Path(numpy.__file__).resolve().parent
    binds = [(_reachable(numpy_dir, unprivileged), f"{LIB_DIR}/numpy"),
             (_reachable(HOST_CHILD_DIR, unprivileged), CHILD_DIR)]
    libs = numpy_dir.parent / "numpy.libs"
    if libs.is_dir():
        binds.append((_reachable(libs, unprivileged), f"{LIB_DIR}/numpy.libs"))
    hide = [str(p) for p in _package_dirs(Path("/usr"))]
    env: dict[str, str] = {}
    if prefix.is_relative_to("/usr") and exe.is_relative_to("/usr"):
        python = str(exe)
    else:
        if not exe.is_relative_to(prefix):
            raise SandboxUnavailable(f"cannot locate the interpreter {exe} under {prefix}")
        source = _reachable(prefix, unprivileged, python_prefix=exe)
        binds.insert(0, (source, PYTHON_DIR))
        hide += [f"{PYTHON_DIR}/{p.relative_to(source)}" for p in _package_dirs(Path(source))]
        python = f"{PYTHON_DIR}/{exe.relative_to(prefix)}"
        env["LD_LIBRARY_PATH"] = f"{PYTHON_DIR}/lib"  # its RUNPATH names the host prefix
    return Layout(python=python, binds=tuple((str(s), d) for s, d in binds),
                  hide=tuple(hide), env=env)


@functools.lru_cache(maxsize=1)
def seccomp_program() -> bytes | None:
    """The compiled seccomp denylist (BPF) for bwrap's `--seccomp`, or None when the
    optional layer is unavailable (Debian/Ubuntu: `apt-get install python3-seccomp`)."""
    if os.environ.get("NEUROGRADE_SECCOMP", "").lower() == "off":
        return None
    module = _load_seccomp()
    if module is None:
        log.warning("seccomp layer unavailable: install python3-seccomp for this Python")
        return None
    program = module.SyscallFilter(module.ALLOW)
    for name in SECCOMP_DENY:
        try:
            program.add_rule(module.ERRNO(1), name)  # EPERM
        except (RuntimeError, ValueError):  # unknown on this architecture
            continue
    with tempfile.TemporaryFile() as handle:
        program.export_bpf(handle)
        handle.seek(0)
        return handle.read()


def _load_seccomp():
    try:
        import seccomp  # type: ignore[import-not-found]

        return seccomp
    except ImportError:
        pass
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    for folder in ("/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages"):
        path = Path(folder) / f"seccomp{suffix}"
        if path.is_file():
            import importlib.util

            try:
                spec = importlib.util.spec_from_file_location("seccomp", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
            except ImportError as exc:
                log.warning("cannot load %s: %s", path, exc)
    return None


def _package_dirs(root: Path) -> list[Path]:
    found = []
    for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages",
                    "local/lib/python3*/site-packages", "local/lib/python3*/dist-packages"):
        found += [p for p in root.glob(pattern) if p.is_dir()]
    return found


def bwrap_command(layout: Layout, run_dir: Path, *, threads: int, tmp_mb: int,
                  argv: list[str], seccomp_fd: int | None = None) -> list[str]:
    """The full bwrap invocation; `argv` runs inside (after the interpreter)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed. " + INSTALL_HINT)
    size = str(tmp_mb * 1024 * 1024)
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
           "--cap-drop", "ALL", "--unshare-user", "--uid", str(SANDBOX_UID),
           "--gid", str(SANDBOX_UID), "--disable-userns",
           "--size", size, "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    if Path("/etc/ld.so.cache").exists():
        cmd += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for source, dest in layout.binds:
        cmd += ["--ro-bind", source, dest]
    for dest in layout.hide:
        cmd += ["--tmpfs", dest, "--remount-ro", dest]
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
        cmd = bwrap_command(grading_layout(), run_dir, threads=limits.threads,
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


# -- staging: a root worker drops privileges before bwrap, so every bind source must be
# reachable by the sandbox uid. A tree that is not (e.g. an interpreter under /root) is
# mirrored with hard links into a world-readable staging directory, once.

def _reachable(path: Path, unprivileged: bool, python_prefix: Path | None = None) -> Path:
    if not unprivileged or _world_reachable(path):
        return path
    return _stage(path, python_prefix)


def _world_reachable(path: Path) -> bool:
    for parent in [path, *path.parents]:
        mode = os.stat(parent).st_mode
        if not mode & stat.S_IXOTH or (parent == path and not mode & stat.S_IROTH):
            return False
    return True


def stage_root() -> Path:
    root = Path(os.environ.get("NEUROGRADE_STAGE_DIR", "/var/tmp/neurograde-stage"))
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    info = os.lstat(root)
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        raise SandboxUnavailable(f"staging directory {root} must be a directory owned by this "
                                 "user and writable by nobody else")
    os.chmod(root, 0o755)
    return root


def _stage(source: Path, python_prefix: Path | None) -> Path:
    stamps = [f"{e.name}:{e.stat().st_mtime_ns}:{e.stat().st_size}" for e in os.scandir(source)]
    key = hashlib.sha256(f"{source}|{sorted(stamps)}".encode()).hexdigest()[:16]
    target = stage_root() / f"{source.name}-{key}"
    if target.is_dir():
        return target
    log.info("staging %s for the sandbox at %s", source, target)
    building = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    ignore = (_prefix_filter(source, python_prefix) if python_prefix
              else shutil.ignore_patterns("__pycache__"))
    shutil.copytree(source, building / "tree", symlinks=True, ignore=ignore,
                    copy_function=_link_or_copy)
    os.chmod(building / "tree", 0o755)
    try:
        os.rename(building / "tree", target)
    except OSError:  # another worker staged it first
        pass
    shutil.rmtree(building, ignore_errors=True)
    return target


def _prefix_filter(prefix: Path, exe: Path):
    """Keep only the interpreter, libpython and the stdlib (no site-packages, tests, GUI)."""
    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        if here == prefix:
            return {n for n in names if n not in ("bin", "lib")}
        if here == prefix / "bin":
            return {n for n in names if n != exe.name}
        if here == prefix / "lib":
            return {n for n in names if not (n.startswith("libpython") or n.startswith("python3"))}
        if here.parent == prefix / "lib":
            return {n for n in names if n in STDLIB_SKIP}
        return set()
    return ignore


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# -- the sandbox's process tree, seen from the host

def children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_usage(pid: int) -> tuple[float, int]:
    """CPU seconds and peak RSS (KiB) of a live process tree, read from /proc."""
    cpu, peak, todo, seen = 0.0, 0, [pid], set()
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(stat[11]) + int(stat[12])) / tick
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
        todo += children(p)
    return cpu, peak


def kill(pid: int) -> None:
    """SIGKILL, ignoring processes that are already gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def killpg(pid: int) -> None:
    """SIGKILL to a whole process group, ignoring one that is already gone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
