"""Parent side of one sandboxed child: start, call, wall clock, output capture, usage.

One `Session` is one single-use child. Every wait is a `select` with a deadline over
the reply pipe and the student's stdout/stderr, so a silent, chatty or hung child
never blocks the parent. When the child ends early the session kills the whole
sandbox, reaps it (`wait4` gives CPU time and peak memory) and raises `ChildGone`
saying which limit ended the run and during which call.

Every reply is the student's data: their code shares the runner's process and can
write any frame to the reply pipe. Replies are validated (`protocol.check_reply`); a
malformed or unexpected one ends the run as `crashed`, never as our error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from grader import protocol
from grader.cgroups import Cgroups
from grader.errors import SandboxUnavailable
from grader.proctree import end_tree, killpg, tree_cpu_ns, tree_usage
from grader.result import Status
from grader.rlimits import make_preexec
from grader.sandbox import INSTALL_HINT, launch_command, make_run_dir
from grader.wording import describe_end, exit_code
from plugins.types import Limits, StudentCallError

log = logging.getLogger(__name__)

STARTUP_SECONDS = 30.0  #: starting the sandbox and importing numpy (not the student's time)
GRACE_SECONDS = 1.0  #: for a child to exit after its call pipe closes
CHUNK = 1 << 20


class ChildGone(Exception):
    """The child ended (time, memory, crash): the run is over."""

    def __init__(self, status: Status, message: str, hit: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.limit_hit = status, message, hit


class ImportFailed(Exception):
    """The student's module raised while being imported."""

    def __init__(self, error: dict) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


class Capture:
    """Keeps the first and the last `limit / 2` bytes of a stream and counts what lies
    between: the end of a log (the final loss, the traceback) matters as much as its start."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data, self.tail, self.dropped = limit, bytearray(), bytearray(), 0

    def feed(self, chunk: bytes) -> None:
        room = self.limit // 2 - len(self.data)
        if room > 0:
            self.data += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        extra = len(self.tail) - (self.limit - self.limit // 2)
        if extra > 0:
            del self.tail[:extra]
            self.dropped += extra

    def text(self) -> str:
        head = self.data.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes not shown ...]\n{tail}"
        return head + tail


class Session:
    """One sandboxed child running the student's `solution.py`."""

    def __init__(self, source: str, limits: Limits, *, forbidden: tuple[str, ...] = ()) -> None:
        self.source, self.limits, self.forbidden = source, limits, forbidden
        self.stdout = Capture(limits.max_output_kb * 1024)
        self.stderr = Capture(limits.max_output_kb * 1024)
        self.used_s = 0.0  # wall seconds spent waiting for the student's code
        self.last_cpu_s = 0.0  # CPU seconds the sandbox used during the last call
        self.calls: dict[str, list[float]] = {}  # function -> wall seconds of each call
        self.usage: dict[str, float] = {}
        self.functions: list[str] = []
        self.gone: ChildGone | None = None
        self.proc: subprocess.Popen | None = None
        self.run_dir: Path | None = None
        self._next_id = 0
        self._shared = 0
        self._fds: dict[str, int] = {}
        self._pending = memoryview(b"")
        self._buffer = protocol.ReplyBuffer()
        self._corrupt: str | None = None  # why the reply stream became unusable
        self._peak_kb = 0
        self._status: int | None = None
        self._timed_out = False
        self._started = 0.0
        self._sample = (0.0, 0)  # (CPU s, peak KiB) read from /proc while the tree lived
        self._waiting_since: float | None = None  # start of the counted wait in progress
        self._function = ""  # the call in progress (for limit messages)
        self._oom = False
        self.cgroups: Cgroups | None = None

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> list[str]:
        """Start the child and import the student's module; returns its public names.

        Raises SandboxUnavailable (our side), ImportFailed or ChildGone (the student's)."""
        if self.proc is None:
            self.launch()
        return self.load(self.source)

    def launch(self) -> None:
        """Start the sandbox up to the point where numpy is imported (raises
        SandboxUnavailable); a pre-started session waits here for `load`."""
        self.run_dir = make_run_dir(self.source)
        call_r, call_w = os.pipe()
        reply_r, reply_w = os.pipe()
        child_fds = [call_r, reply_w]  # closed here once the child has them (or failed)
        try:
            launch = launch_command(self.run_dir, self.limits, call_r, reply_w, self.forbidden)
            child_fds += launch.fds
            self.cgroups = Cgroups.create(self.limits)
            cgroup_fds = self.cgroups.open_procs()
            child_fds += cgroup_fds
            self._started = time.monotonic()
            self.proc = subprocess.Popen(
                launch.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(call_r, reply_w, *launch.fds),
                preexec_fn=make_preexec(self.limits, launch.uid, cgroup_fds),
                start_new_session=True, cwd=launch.cwd, env=launch.env)
        except BaseException as exc:
            _close(call_w, reply_r)
            if isinstance(exc, (OSError, subprocess.SubprocessError)):
                raise SandboxUnavailable(f"the sandbox could not be started ({exc}). "
                                         + INSTALL_HINT) from None
            raise
        finally:
            _close(*child_fds)
        # both pipes were asked for, and the watcher exists because limits were given
        assert self.proc.stdout is not None and self.proc.stderr is not None
        assert self.cgroups is not None and self.cgroups.watch is not None
        self._fds = {"call": call_w, "reply": reply_r, "stdout": self.proc.stdout.fileno(),
                     "stderr": self.proc.stderr.fileno()}
        for fd in self._fds.values():
            os.set_blocking(fd, False)
        try:
            self.cgroups.watch.start(self.proc.pid)
        except (OSError, RuntimeError) as exc:  # close() ends the started child
            raise SandboxUnavailable(f"cannot watch the sandbox's processes ({exc})") from None
        self._await_hello()

    def load(self, source: str) -> list[str]:
        """Write the student's module into the sandbox and import it."""
        assert self.run_dir is not None and self.proc is not None
        if self.gone is not None:
            raise self.gone
        self.source = source
        (self.run_dir / "solution.py").write_text(source, encoding="utf-8")  # same inode
        self._pending = memoryview(protocol.wire.pack({"id": 0, "op": "import"}, []))
        header, _ = self._wait(0, "importing solution.py")
        if not header["ok"]:  # fields validated by protocol.check_reply
            if header["error"]["kind"] == "memory":
                self._end("importing solution.py", memory_error=True)
            raise ImportFailed(header["error"])
        self.functions = list(header["functions"])
        return self.functions

    def _await_hello(self) -> None:
        try:
            self._wait(-1, "starting the sandbox", budget=STARTUP_SECONDS, count=False)
        except ChildGone as gone:
            detail = self.stderr.text().strip()[-800:] or gone.message
            raise SandboxUnavailable(f"the sandbox failed to start: {detail}. "
                                     + INSTALL_HINT) from None

    def alive(self) -> bool:
        """Started, not ended, and its launcher still running."""
        return self.proc is not None and self.gone is None and not self._reap(block=False)

    def close(self) -> None:
        """End the child (politely, then by force) and remove the run directory."""
        if self.proc is not None:
            if self.gone is None and self._status is None:
                self._note_tree()  # idle runner: its totals are final
                self._close_fd("call")
                deadline = time.monotonic() + GRACE_SECONDS
                while self._status is None and time.monotonic() < deadline:
                    self._pump(min(0.05, deadline - time.monotonic()))
                    self._reap(block=False)
            self._terminate()
        self._finish_cgroups()
        self._cleanup()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls --------------------------------------------------------------------------

    def share(self, array: np.ndarray) -> protocol.Shared:
        """Write `array` as a read-only `.npy` the child memory-maps."""
        assert self.run_dir is not None
        array = np.ascontiguousarray(array)
        self._shared += 1
        name = f"a{self._shared}-{os.urandom(6).hex()}.npy"
        path = self.run_dir / "shared" / name
        np.save(path, array, allow_pickle=False)
        os.chmod(path, 0o444)
        return protocol.Shared(name, array.shape, str(array.dtype))

    def call(self, function: str, args: tuple = (), kwargs: dict | None = None,
             label: str | None = None) -> tuple[Any, float]:
        """Call `function` in the child; returns (value, wall seconds measured here)."""
        label = label or f"{function}(...)"
        if self.gone is not None:
            raise self.gone
        self._function = function
        self._next_id += 1
        self._pending = memoryview(protocol.call_frame(self._next_id, function, args,
                                                       kwargs or {}))
        cpu_before = self._cpu_s()
        start = time.monotonic()
        header, blobs = self._wait(self._next_id, label)
        seconds = time.monotonic() - start
        self.last_cpu_s = max(self._cpu_s() - cpu_before, 0.0)
        self.calls.setdefault(function, []).append(seconds)
        if not header["ok"]:
            self._raise_student_error(header["error"], function, label)
        try:
            return protocol.decode_value(header, blobs), seconds
        except protocol.WireError as exc:
            raise StudentCallError(f"`{label}` returned a value that cannot be graded: {exc}. "
                                   "Return numbers, numpy arrays of numbers, or "
                                   "lists/tuples/dicts of those.") from None

    def _cpu_s(self) -> float:
        """CPU seconds the sandbox has used so far, read here (the child could lie about
        its own): the cpuacct group's count where there is one, else the tree's threads."""
        if self.cgroups is not None and (cpu := self.cgroups.cpu_seconds()) is not None:
            return cpu
        return tree_cpu_ns(self.proc.pid) / 1e9 if self.proc is not None else 0.0

    def _raise_student_error(self, error: dict, function: str, label: str) -> None:
        kind = error.get("kind")
        if kind == "memory":
            self._end(label, memory_error=True)
        if kind == "missing":
            raise StudentCallError(f"solution.py does not define a function `{function}`.")
        if kind == "unsendable":
            raise StudentCallError(f"`{label}` returned a value that cannot be graded: "
                                   f"{error.get('message', '')}")
        if kind == "exit":
            raise StudentCallError(f"`{label}` called sys.exit(); return a value instead.")
        if kind == "internal":
            # The runner could not read the call's arguments. The parent encoded them
            # itself, and the student's code can patch numpy or forge this reply, so it
            # counts as the student's; logged in case it ever is ours.
            detail = error.get("message", "")[:300]
            log.warning("the child reported it could not decode `%s`: %s", label, detail)
            raise StudentCallError(f"`{label}` could not be run: the grader's code inside the "
                                   f"sandbox could not read its arguments ({detail}). This "
                                   "happens when solution.py changes numpy or the grader's "
                                   "modules.")
        trace = str(error.get("traceback", ""))[-3000:]
        raise StudentCallError(f"`{label}` raised {error.get('type', 'an exception')}: "
                               f"{str(error.get('message', ''))[:1000]}"
                               + (f"\n{trace}" if trace else ""))

    # -- waiting ------------------------------------------------------------------------

    def _wait(self, call_id: int, label: str, *, budget: float | None = None,
              count: bool = True) -> tuple[dict, list[bytes]]:
        """Pump pipes until the reply `call_id` arrives, the child ends or time runs out."""
        if budget is None:
            budget = self.limits.wall_seconds - self.used_s
        start = time.monotonic()
        deadline = start + max(budget, 0.0)
        self._waiting_since = start if count else None
        try:
            while True:
                try:
                    frame = None if self._corrupt else self._buffer.next_frame()
                except protocol.WireError as exc:
                    self._corrupt = str(exc)
                if self._corrupt:
                    self._end(label, corrupt=self._corrupt)
                if frame is not None:
                    return self._accept(frame, call_id, label)
                if "reply" not in self._fds:
                    self._end(label, grace=GRACE_SECONDS)  # the child is exiting: let it
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._timed_out = True
                    self._end(label)
                self._pump(remaining)
        finally:
            self._waiting_since = None
            if count:
                self.used_s += time.monotonic() - start

    def _note_tree(self) -> None:
        """Fold the tree's CPU time and peak (/proc) into the sample. Only before the
        launcher is reaped: after that its pid may be another process's."""
        if self.proc is not None and self._status is None:
            cpu, peak = tree_usage(self.proc.pid)
            self._sample = (max(self._sample[0], cpu), max(self._sample[1], peak))

    def _accept(self, frame: tuple[dict, list[bytes]], call_id: int, label: str):
        header, blobs = frame
        try:
            protocol.check_reply(header, call_id)
        except protocol.WireError as exc:
            self._end(label, corrupt=str(exc))
        self._peak_kb = max(self._peak_kb, header.get("rss_kb", 0))
        return header, blobs

    def _pump(self, timeout: float) -> None:
        """One select round: write pending call bytes, read replies and output."""
        readers = {self._fds[k]: k for k in ("reply", "stdout", "stderr") if k in self._fds}
        writers = [self._fds["call"]] if self._pending and "call" in self._fds else []
        if not readers and not writers:
            time.sleep(max(0.0, min(timeout, 0.05)))
            return
        ready_r, ready_w, _ = select.select(list(readers), writers, [], max(timeout, 0.0))
        if ready_w:
            self._write_some()
        for fd in ready_r:
            self._read_some(readers[fd])

    def _write_some(self) -> None:
        try:
            n = os.write(self._fds["call"], self._pending[:CHUNK])
            self._pending = self._pending[n:]
        except BlockingIOError:
            pass
        except (BrokenPipeError, OSError):
            self._pending = memoryview(b"")
            self._close_fd("call")

    def _read_some(self, name: str) -> None:
        try:
            chunk = os.read(self._fds[name], CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close_fd(name)
        elif name == "reply":
            if self._corrupt:
                return  # drained and dropped: the stream is already unusable
            try:
                self._buffer.feed(chunk)
            except protocol.WireError as exc:
                # recorded, not raised: this also runs while closing, where no call waits
                self._corrupt = str(exc)
        else:
            (self.stdout if name == "stdout" else self.stderr).feed(chunk)

    # -- ending -------------------------------------------------------------------------

    def _end(self, label: str, *, memory_error: bool = False, corrupt: str | None = None,
             grace: float = 0.0):
        """Kill and reap the child, then raise ChildGone describing why it ended."""
        self._terminate(grace)
        self.gone = self._classify(label, memory_error, corrupt)
        raise self.gone

    def _classify(self, label: str, memory_error: bool, corrupt: str | None) -> ChildGone:
        status, message, hit = describe_end(
            self.limits, label, code=exit_code(self._status), cpu_s=self.usage.get("cpu_s", 0.0),
            peak_mb=self.usage.get("peak_memory_mb", 0.0), timed_out=self._timed_out,
            memory_error=memory_error, oom=self._oom, corrupt=corrupt)
        if status == "timeout" and hit is not None:
            message += self._calls_note(hit["value"])
            hit["message"] = message
        return ChildGone(status, message, hit)

    def _calls_note(self, budget: float) -> str:
        """What the budget covered: a student who timed one call locally sees why the
        whole run did not fit (e.g. 9 train() calls of 8.6 s each in 30 s)."""
        done = self.calls.get(self._function, [])
        if not done:
            return ""
        others = sum(len(v) for k, v in self.calls.items() if k != self._function)
        besides = f" (and {others} calls of other functions)" if others else ""
        plural = "call" if len(done) == 1 else "calls"
        return (f". The {budget:g} s cover every call of the run: {len(done)} "
                f"{self._function}() {plural} had finished before this one{besides}; one "
                f"took {max(done):.1f} s, so the run needs each call to be faster")

    def _terminate(self, grace: float = 0.0) -> None:
        """Make sure nothing of the sandbox is left running, then record its usage."""
        if self.proc is None:
            return
        deadline = time.monotonic() + grace
        while not self._reap(block=False) and time.monotonic() < deadline:
            self._pump(min(0.01, max(deadline - time.monotonic(), 0)))
        self._note_tree()
        if self._status is None and not self._reap(block=False):
            end_tree(self.proc.pid)
            deadline = time.monotonic() + GRACE_SECONDS
            while not self._reap(block=False) and time.monotonic() < deadline:
                time.sleep(0.005)
            if self._status is None:
                killpg(self.proc.pid)
                self._reap(block=True)
        for key in ("call", "reply"):
            self._close_fd(key)
        deadline = time.monotonic() + 0.5
        while any(k in self._fds for k in ("stdout", "stderr")) and time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        for key in list(self._fds):
            self._close_fd(key)
        self._finish_cgroups()
        cpu_s, sample_kb = self._sample
        self.usage["cpu_s"] = round(max(self.usage.get("cpu_s", 0.0), cpu_s), 3)
        peak_kb = max(self._peak_kb, sample_kb)
        self.usage["peak_memory_mb"] = round(peak_kb / 1024, 1)
        # the wait that is ending now is added to used_s only after this returns
        waiting = time.monotonic() - self._waiting_since if self._waiting_since else 0.0
        self.usage["wall_s"] = round(self.used_s + waiting, 3)

    def _finish_cgroups(self) -> None:
        if self.cgroups is None:
            return
        self.cgroups.kill_all()  # nothing of the run may outlive it
        if self.cgroups.watch:
            self.cgroups.watch.stop()  # its figures are final
        self._oom = self.cgroups.oom_killed()
        self._sample = (max(self._sample[0], self.cgroups.tree_cpu_s()), self._sample[1])
        self._peak_kb = max(self._peak_kb, int(self.cgroups.peak_mb() * 1024))
        self.cgroups.remove()
        self.cgroups = None

    def _reap(self, *, block: bool) -> bool:
        if self._status is not None:
            return True
        assert self.proc is not None
        try:
            with self._reap_lock():
                pid, status, rusage = os.wait4(self.proc.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self._status = 0
            return True
        if pid == 0:
            return False
        self._status = status
        self.proc.returncode = exit_code(status)
        self.usage["cpu_s"] = rusage.ru_utime + rusage.ru_stime
        # not ru_maxrss: it holds this (grading) process's RSS at fork (see runner._rss_kb);
        # the cgroup, the watcher and /proc give the tree's real peak
        return True

    def _reap_lock(self) -> contextlib.AbstractContextManager:
        """The watcher's lock: it must not read the tree by a pid that reaping frees."""
        watch = self.cgroups.watch if self.cgroups else None
        return watch.lock if watch else contextlib.nullcontext()

    def _close_fd(self, key: str) -> None:
        fd = self._fds.pop(key, None)
        if fd is None:
            return
        if self.proc is not None and key in ("stdout", "stderr"):
            getattr(self.proc, key).close()
        else:
            os.close(fd)

    def _cleanup(self) -> None:
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)
