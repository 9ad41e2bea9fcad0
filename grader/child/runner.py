"""Child-side runner, executed inside the sandbox (stdlib and numpy only).

Started as `python -I -S -B -u runner.py CONFIG_JSON`. Imports numpy, applies the
limits that must be set inside the sandbox, imports the student's module, then
answers calls read from the call pipe with frames on the reply pipe (never stdout).
Frame ids: -1 = the sandbox is up, 0 = the student's module is imported (after the
parent's "import" frame), n = call n.
"""

import builtins as _builtins
import json
import os
import resource
import sys
import time
import traceback

# Bound as module globals so a student's monkeypatching of builtins cannot reach us.
(BaseException, Exception, MemoryError, ModuleNotFoundError, SystemExit, callable, dict,
 getattr, isinstance, len, memoryview, repr, sorted, str, tuple, type, vars) = (
    _builtins.BaseException, _builtins.Exception, _builtins.MemoryError,
    _builtins.ModuleNotFoundError, _builtins.SystemExit, _builtins.callable, _builtins.dict,
    _builtins.getattr, _builtins.isinstance, _builtins.len, _builtins.memoryview,
    _builtins.repr, _builtins.sorted, _builtins.str, _builtins.tuple, _builtins.type,
    _builtins.vars
)

_BUILTINS = dict(vars(_builtins))
MAX_MESSAGE = 2000
TRACEBACK_LINES = 12


def main() -> None:
    cfg = json.loads(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [cfg["lib"], here]
    if cfg.get("nproc"):
        # Counted per user namespace, so set here: only this sandbox's processes count.
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"], cfg["nproc"]))
    import numpy  # noqa: F401  (imported before the student's code can shadow it)
    import wire

    sys.path.remove(here)
    sys.meta_path.insert(0, _Blocker(tuple(cfg.get("forbidden", ()))))
    replies = cfg["reply_fd"]
    calls = os.fdopen(cfg["call_fd"], "rb")
    _send(replies, wire, {"id": -1, "ok": True, "hello": True})
    # a pre-started child waits here until the parent has written solution.py
    frame = wire.read_frame(calls)
    if frame is None or frame[0].get("op") != "import":
        os._exit(0)
    module = _import_student(cfg["module"], replies, wire)
    if module is not None:
        _serve(module, calls, replies, cfg["shared"], wire)
    _flush()
    os._exit(0)  # skip the student's atexit handlers and non-daemon threads


class _Blocker:
    """Refuses forbidden frameworks with a clear message (they are absent anyway)."""

    def __init__(self, names: tuple) -> None:
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in self.names:
            raise ModuleNotFoundError(f"{top} may not be used in this assignment", name=top)
        return None


def _import_student(path: str, replies: int, wire):
    import importlib.util

    start = time.perf_counter()
    try:
        spec = importlib.util.spec_from_file_location("solution", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["solution"] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # the student's module decides what it raises
        _send(replies, wire, {"id": 0, "ok": False, "error": _describe(exc, path)})
        return None
    functions = sorted(k for k, v in vars(module).items()
                       if callable(v) and not k.startswith("_"))
    _send(replies, wire, {"id": 0, "ok": True, "value": None, "functions": functions,
                          "seconds": time.perf_counter() - start})
    return module


def _serve(module, calls, replies: int, shared_dir: str, wire) -> None:
    import numpy as np

    def open_shared(name: str):
        if "/" in name or name.startswith("."):
            raise wire.WireError("bad shared handle")
        return np.load(os.path.join(shared_dir, name), mmap_mode="r", allow_pickle=False)

    while True:
        frame = wire.read_frame(calls)
        if frame is None:
            return
        header, blobs = frame
        cid = header.get("id")
        try:
            args = wire.decode(header["args"], blobs, trusted=True, open_shared=open_shared)
            kwargs = wire.decode(header["kwargs"], blobs, trusted=True, open_shared=open_shared)
        except Exception as exc:
            _send(replies, wire, {"id": cid, "ok": False,
                                  "error": {"kind": "internal", "message": repr(exc)}})
            continue
        _send(replies, wire, _call(module, header.get("function"), args, kwargs, cid, wire))


def _call(module, name, args, kwargs, cid, wire) -> object:
    function = getattr(module, name, None) if isinstance(name, str) else None
    if not callable(function):
        return {"id": cid, "ok": False,
                "error": {"kind": "missing", "message": f"solution.py defines no function {name}"}}
    try:
        value = function(*args, **kwargs)
        _flush()
        vars(_builtins).update(_BUILTINS)
        tree, blobs = wire.encode(value)
        return {"id": cid, "ok": True, "value": tree}, blobs
    except wire.WireError as exc:
        return {"id": cid, "ok": False, "error": {"kind": "unsendable", "message": str(exc)}}
    except BaseException as exc:
        return {"id": cid, "ok": False, "error": _describe(exc, module.__file__)}


def _describe(exc: BaseException, path: str) -> dict:
    """The student's error, with only the frames from their own file."""
    kind = "raised"
    if isinstance(exc, MemoryError):
        kind = "memory"
    elif isinstance(exc, SystemExit):
        kind = "exit"
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        lines = "".join(traceback.format_list(frames[-TRACEBACK_LINES:]))
        last = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = str(exc)
    except BaseException:  # a hostile __str__ must not take the runner down
        lines, last, message = "", type(exc).__name__, "(unprintable)"
    text = (lines + last).replace(path, "solution.py")
    return {"kind": kind, "type": type(exc).__name__, "message": message[:MAX_MESSAGE],
            "traceback": text[-4 * MAX_MESSAGE:], "rss_kb": _rss_kb()}


def _send(fd: int, wire, reply) -> None:
    # undo a student's patching of builtins before the stdlib and numpy encode the reply
    vars(_builtins).update(_BUILTINS)
    header, blobs = reply if isinstance(reply, tuple) else (reply, [])
    header.setdefault("rss_kb", _rss_kb())
    _flush()
    try:
        data = memoryview(wire.pack(header, blobs))
    except MemoryError:
        data = memoryview(wire.pack({"id": header.get("id"), "ok": False, "error": {
            "kind": "memory", "message": "out of memory while sending the result"}}, []))
    while data:
        data = data[os.write(fd, data):]


def _rss_kb() -> int:
    """This process's own peak (VmHWM). Not ru_maxrss: Linux carries the grader's RSS at
    fork into it across exec, so a big grading worker would make every run look huge."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return 0


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


if __name__ == "__main__":
    main()
