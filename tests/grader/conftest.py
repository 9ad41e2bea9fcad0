"""Fixtures for the grader: throwaway assignments (a tiny reference written to a temp
folder) and the isolation probe that guards the dangerous hostile cases."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from plugins.types import AssignmentDef, CheckDef, Limits, Outcome

REFERENCE = "import numpy as np\n\ndef add(a, b):\n    return np.asarray(a) + b\n"
GOOD = "import numpy as np\n\ndef add(a, b):\n    return np.asarray(a) + b\n"
FAST = Limits(wall_seconds=2.0, cpu_seconds=2.0, memory_mb=256, max_processes=8,
              max_file_mb=4, max_open_files=32, max_output_kb=8)


def check_visible_add(ctx) -> Outcome:
    got = ctx.call("add", np.array([1.0, 2.0]), 3)
    expected = ctx.reference.add([1.0, 2.0], 3)
    ok = isinstance(got, np.ndarray) and got.shape == expected.shape and np.allclose(got, expected)
    extra = "" if ok else f", expected {expected}"
    return Outcome(ok, f"add([1, 2], 3) returned {got!r}{extra}")


def check_hidden_add(ctx) -> Outcome:
    x = ctx.rng.normal(size=(20, 3))
    got = ctx.call("add", ctx.share(x), 0.5)
    ok = isinstance(got, np.ndarray) and got.shape == x.shape and np.allclose(got, x + 0.5)
    return Outcome(ok, "matches on random arrays" if ok else "wrong on random arrays")


@pytest.fixture
def make_assignment(tmp_path: Path) -> Callable[..., AssignmentDef]:
    """`make_assignment(checks=..., limits=..., **overrides)` -> an AssignmentDef."""
    reference = tmp_path / "reference.py"
    reference.write_text(REFERENCE)

    def make(checks=None, limits: Limits = FAST, **overrides) -> AssignmentDef:
        checks = checks or (CheckDef("visible add", check_visible_add, 1.0, "visible"),
                            CheckDef("hidden add", check_hidden_add, 2.0, "hidden",
                                     hint="return a + b"))
        fields = dict(slug="adder", title="Adder", handout="", starter="",
                      reference_path=reference, checks=tuple(checks), limits=limits)
        return AssignmentDef(**{**fields, **overrides})

    return make


class SandboxTracker:
    """Records every sandbox this process starts (the outer bwrap pid and the PID
    namespace inside), so a test can assert that none of them left anything running
    even while other graders run on the same machine."""

    def __init__(self) -> None:
        self.namespaces: set[str] = set()
        self.launchers: set[int] = set()

    def record(self, session) -> None:
        from grader.proctree import children

        self.launchers.add(session.proc.pid)
        # if the namespace's init is already gone, the kernel has emptied the namespace
        for pid in children(session.proc.pid):
            try:
                self.namespaces.add(os.readlink(f"/proc/{pid}/ns/pid"))
            except OSError:
                pass

    def leftovers(self, exclude: tuple[int, ...] = ()) -> list[str]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in exclude:
                continue
            try:
                ns = os.readlink(entry / "ns" / "pid")
                state = next(line for line in (entry / "status").read_text().splitlines()
                             if line.startswith("State:"))
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, StopIteration):
                continue
            if "zombie" in state:
                continue
            if ns in self.namespaces or int(entry.name) in self.launchers:
                found.append(f"{entry.name} {state} {cmdline[:80]}")
        return found


@pytest.fixture
def tracker(monkeypatch) -> SandboxTracker:
    """Tracks the sandboxes started during the test (see SandboxTracker)."""
    from grader.session import Session

    tracker = SandboxTracker()
    original = Session._await_hello

    def await_hello(self) -> None:
        original(self)
        tracker.record(self)

    monkeypatch.setattr(Session, "_await_hello", await_hello)
    return tracker


PROBE = """
import os
def probe():
    return {"pid": os.getpid(), "uid": os.getuid(), "root_entries": sorted(os.listdir("/")),
            "host_paths": [p for p in HOST_PATHS if os.path.exists(p)],
            "proc_pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
"""


@pytest.fixture(scope="session")
def isolation_probe() -> dict:
    """Shows, through the real launcher, that the child is in its own PID namespace,
    runs unprivileged on the host and cannot see the host's files. A dangerous hostile
    case depends on this fixture and fails loudly instead of running without it."""
    from grader.proctree import children
    from grader.sandbox import sandbox_disabled
    from grader.session import Session

    if sandbox_disabled():
        pytest.fail("NEUROGRADE_SANDBOX=none: refusing to run dangerous hostile cases")
    repo = str(Path(__file__).resolve().parents[2])
    host_paths = [repo, "/root", "/home", "/var/lib/postgresql", "/etc/passwd", "/work"]
    source = f"HOST_PATHS = {host_paths!r}\n" + PROBE
    with Session(source, FAST) as session:
        session.start()
        seen, _ = session.call("probe")
        host_uids = set()
        todo = children(session.proc.pid)
        while todo:
            pid = todo.pop()
            todo += children(pid)
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Uid:"):
                    host_uids.add(int(line.split()[1]))
    problems = []
    if seen["pid"] > 10 or len(seen["proc_pids"]) > 10:
        problems.append(f"not in its own PID namespace (pid {seen['pid']}, "
                        f"{len(seen['proc_pids'])} processes visible)")
    if 0 in host_uids or not host_uids:
        problems.append(f"runs as host uid {sorted(host_uids)}")
    if seen["host_paths"]:
        problems.append(f"sees host files {seen['host_paths']}")
    if problems:
        pytest.fail("sandbox isolation probe failed: " + "; ".join(problems))
    return seen
