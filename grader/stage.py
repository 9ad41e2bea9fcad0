"""Staging: every tree the sandbox binds is mirrored once with hard links (copies across
filesystems) into a world-readable staging directory, keyed by the source's contents.
The sandbox uid can reach it even when the source is under /root, and the sandbox's
/proc/self/mountinfo names only `neurograde-stage/<tree>-<key>`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.errors import SandboxUnavailable

log = logging.getLogger(__name__)

#: what the interpreter's own stdlib directory is called under `<prefix>/lib`
STDLIB = f"python{sys.version_info.major}.{sys.version_info.minor}"
STDLIB_SKIP = {"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo",
               "ensurepip", "lib2to3"}

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


def stage_tree(source: Path, python_prefix: Path | None = None) -> Path:
    stamps = [f"{e.name}:{e.stat().st_mtime_ns}:{e.stat().st_size}" for e in os.scandir(source)]
    key = _key(f"{STAGE_VERSION}|{source}|{python_prefix}|{sorted(stamps)}")
    ignore = _prefix_filter(source, python_prefix) if python_prefix else None
    return _build(stage_root() / f"{source.name}-{key}", lambda tree: shutil.copytree(
        source, tree, symlinks=True, ignore=ignore, copy_function=_link_or_copy))


def stage_libraries(elves: list[Path],
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


def stage_bwrap(binary: Path) -> Path:
    """A copy of a packaged `bwrap` and the libraries bundled beside it (auditwheel's
    `<package>.libs`, found through its RPATH `$ORIGIN/../../<package>.libs`), so the
    sandbox uid can run it wherever the virtual environment lives (e.g. under /root)."""
    package = binary.parent.parent
    libs = package.parent / f"{package.name}.libs"
    files = [binary, *(sorted(libs.iterdir()) if libs.is_dir() else [])]
    key = _key(f"{STAGE_VERSION}|" + "|".join(
        f"{p}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in files))
    inner = Path(package.name, binary.parent.name, binary.name)

    def build(tree: Path) -> None:
        for path in files:
            target = tree / (inner if path == binary else Path(libs.name, path.name))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            os.chmod(target, 0o755 if path == binary else 0o644)
        for here, dirs, _files in os.walk(tree):
            for name in dirs:
                os.chmod(Path(here, name), 0o755)
    return _build(stage_root() / f"bwrap-{key}", build) / inner


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
    """`<tree>-<key>` as `stage_tree` names it, or a build left by a worker that died."""
    tree, _, key = name.rpartition("-")
    return name.startswith(".build-") or (
        bool(tree) and len(key) == 16 and all(c in "0123456789abcdef" for c in key))


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def python_lib_entries(prefix: Path) -> list[Path]:
    """What the interpreter's staged tree takes from `<prefix>/lib`: libpython and its own
    stdlib; for Debian's Python (prefix /usr) not the system libraries beside them."""
    lib = prefix / "lib"
    return sorted(lib / n for n in os.listdir(lib) if _is_python_lib_entry(n))


def _is_python_lib_entry(name: str) -> bool:
    return name.startswith("libpython") or name == STDLIB


def _prefix_filter(prefix: Path, exe: Path):
    """Keep only the interpreter, libpython and its own stdlib (no site-packages, tests,
    GUI, nor a distribution's shared `python3/dist-packages`)."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        if here == prefix:
            return {n for n in names if n not in ("bin", "lib")}
        if here == prefix / "bin":
            return {n for n in names if n != exe.name}
        if here == prefix / "lib":
            return {n for n in names if not _is_python_lib_entry(n)}
        if here == prefix / "lib" / STDLIB:  # config-*: static libpython, build scripts
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


