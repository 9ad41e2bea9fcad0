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
import hashlib
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
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
    python_tree = _stage(prefix, python_prefix=exe)
    trees = [(python_tree, PYTHON_DIR), (_stage(numpy_dir), f"{LIB_DIR}/numpy"),
             (_stage(HOST_CHILD_DIR), CHILD_DIR)]
    libs = numpy_dir.parent / "numpy.libs"
    if libs.is_dir():
        trees.append((_stage(libs), f"{LIB_DIR}/numpy.libs"))
    python = f"{PYTHON_DIR}/{exe.relative_to(prefix)}"
    elves = [python_tree / exe.relative_to(prefix)]
    for tree, _ in trees:
        elves += sorted(p for p in tree.rglob("*.so*") if p.is_file())
    # what the staged trees already hold; not all of `prefix`: for Debian's own Python it
    # is /usr, which also holds the system libraries the interpreter and numpy load
    staged = [prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}",
              *(prefix / "lib").glob("libpython*"), *(t for t, _ in trees)]
    libraries, libs_tree = _stage_libraries(elves, skip=staged)
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


# -- staging: every tree the sandbox binds is mirrored once with hard links (copies across
# filesystems) into a world-readable staging directory, keyed by the source's contents.
# The sandbox uid can reach it even when the source is under /root, and the sandbox's
# /proc/self/mountinfo names only `neurograde-stage/<tree>-<key>`.

STAGE_VERSION = "3"  #: bump when what a staged tree contains changes
#: A staged tree no run has used for this long (its mtime, touched at every launch) is
#: removed when a new tree is staged: old keys would otherwise pile up with every upgrade.
STAGE_MAX_IDLE_SECONDS = 24 * 3600


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


def _stage(source: Path, python_prefix: Path | None = None) -> Path:
    stamps = [f"{e.name}:{e.stat().st_mtime_ns}:{e.stat().st_size}" for e in os.scandir(source)]
    key = _key(f"{STAGE_VERSION}|{source}|{python_prefix}|{sorted(stamps)}")
    ignore = _prefix_filter(source, python_prefix) if python_prefix else None
    return _build(stage_root() / f"{source.name}-{key}", lambda tree: shutil.copytree(
        source, tree, symlinks=True, ignore=ignore, copy_function=_link_or_copy))


def _stage_libraries(elves: list[Path],
                     skip: list[Path]) -> tuple[list[tuple[Path, str]], Path]:
    """Stage the shared libraries `elves` load (outside `skip`) at their sandbox paths;
    returns one bind per top-level directory holding them (usually two), and the tree."""
    stamps = sorted(f"{p}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in elves)
    key = _key(f"{STAGE_VERSION}|{stamps}")

    def build(tree: Path) -> None:
        for dest, source in _resolve_libraries(elves, skip).items():
            target = tree / dest.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(source, str(target))
    target = _build(stage_root() / f"libs-{key}", build)
    binds = []
    for here, dirs, files in os.walk(target):
        if files:  # this directory covers everything under it
            binds.append((Path(here), "/" + str(Path(here).relative_to(target))))
            dirs.clear()
    return binds, target


def _resolve_libraries(elves: list[Path], skip: list[Path]) -> dict[str, str]:
    """Sandbox path -> host file of every library the dynamic loader resolves for `elves`
    (one `ldd` run; symlinked names are bound as the file they point to)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        raise SandboxUnavailable("ldd (glibc's libc-bin) is needed to find the libraries "
                                 "the sandbox needs")
    out = subprocess.run([ldd, *map(str, elves)], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}).stdout
    found = {}
    for line in out.splitlines():
        words = line.split("=>")[-1].split()
        if not line.startswith(("\t", " ")) or not words or not words[0].startswith("/"):
            continue  # a file's header, the vDSO or "not found"
        path = Path(words[0])
        real = path.resolve()
        if real.is_file() and not any(real.is_relative_to(s) or path.is_relative_to(s)
                                      for s in skip):
            found[str(path.parent.resolve() / path.name)] = str(real)
    if not found:
        raise SandboxUnavailable(f"ldd found no libraries for {elves[0]}")
    return found


def _build(target: Path, fill) -> Path:
    """`target`, filled by `fill(path)` in a private directory and renamed into place once."""
    try:
        os.utime(target)  # in use: `prune_stage` keeps it
        return target
    except FileNotFoundError:
        pass
    log.info("staging %s for the sandbox", target)
    building = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        fill(building / "tree")
        (building / "tree").mkdir(exist_ok=True)
        os.chmod(building / "tree", 0o755)
        os.utime(building / "tree")  # copytree copied the source's (old) mtime
        try:
            os.rename(building / "tree", target)
        except OSError:  # another worker staged it first
            pass
    finally:
        shutil.rmtree(building, ignore_errors=True)
    prune_stage(target.parent, keep=target)
    return target


def prune_stage(root: Path, keep: Path | None = None) -> list[Path]:
    """Remove staged trees (and abandoned builds) in `root` unused for
    `STAGE_MAX_IDLE_SECONDS`; returns what was removed."""
    cutoff = time.time() - STAGE_MAX_IDLE_SECONDS
    removed = []
    for entry in os.scandir(root):
        if not _is_staged(entry.name) or entry.path == str(keep) or entry.is_symlink():
            continue
        try:
            idle = entry.is_dir() and entry.stat().st_mtime < cutoff
        except FileNotFoundError:  # another worker removed it first
            continue
        if idle:
            log.info("removing the unused staged tree %s", entry.path)
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _is_staged(name: str) -> bool:
    """`<tree>-<key>` as `_stage` names it, or a build left by a worker that died."""
    tree, _, key = name.rpartition("-")
    return name.startswith(".build-") or (
        bool(tree) and len(key) == 16 and all(c in "0123456789abcdef" for c in key))


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _prefix_filter(prefix: Path, exe: Path):
    """Keep only the interpreter, libpython and its own stdlib (no site-packages, tests,
    GUI, nor a distribution's shared `python3/dist-packages`)."""
    stdlib = f"python{sys.version_info.major}.{sys.version_info.minor}"

    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        if here == prefix:
            return {n for n in names if n not in ("bin", "lib")}
        if here == prefix / "bin":
            return {n for n in names if n != exe.name}
        if here == prefix / "lib":
            return {n for n in names if not (n.startswith("libpython") or n == stdlib)}
        if here == prefix / "lib" / stdlib:  # config-*: static libpython, build scripts
            return {n for n in names if n in STDLIB_SKIP or n.startswith("config-")}
        if here.name == "lib-dynload":
            return {n for n in names if n.startswith("_tkinter")}  # would pull in X11
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


def tree(pid: int) -> list[int]:
    """`pid` and all its live descendants (from /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in found:
            found.append(p)
            todo += children(p)
    return found


def tree_usage(pid: int) -> tuple[float, int]:
    """CPU seconds and peak RSS (KiB) of a process tree, read from /proc.

    The CPU time is each live process's own plus what it has reaped (cutime/cstime), so
    children that already exited count too (the namespace's init reaps the orphans). The
    peak is the largest process's high-water mark; see `tree_memory_kb` for the sum.
    `pid` must be an unreaped child of the caller, or it may name another process."""
    cpu, peak, tick = 0.0, 0, os.sysconf("SC_CLK_TCK")
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += sum(int(n) for n in fields[11:15]) / tick  # utime stime cutime cstime
            peak = max(peak, _status_kb(p, "VmHWM:"))
        except (OSError, IndexError, ValueError):
            continue
    return cpu, peak


def tree_memory_kb(pid: int) -> int:
    """Memory the tree holds now (KiB): the sum of proportional set sizes, so pages a
    fork shares with its parent are counted once, not once per process."""
    total = 0
    for p in tree(pid):
        try:
            lines = Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
            total += next(int(line.split()[1]) for line in lines if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError, IndexError):
            total += _status_kb(p, "VmRSS:")
    return total


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def end_tree(pid: int) -> None:
    """SIGKILL the PID namespace's init under launcher `pid` (the kernel then kills
    everything inside), and the launcher's process group when there is no such init."""
    inner = children(pid)
    for p in inner:
        kill(p)
    if not inner or sandbox_disabled():
        killpg(pid)


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
