"""An in-process stand-in for the grader's check context, for fast unit tests of checks.

It imports a solution file directly (no sandbox) and round-trips every argument
and return value through `.npy` bytes and JSON like the wire does, so checks
see the same kinds of values as under the real engine.
"""

from __future__ import annotations

import importlib.util
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from plugins import AssignmentDef, CheckContext, Limits, Outcome, StudentCallError
from plugins.datasets import DatasetStore


def load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wire(value: Any) -> Any:
    """What survives the trip: arrays as npy, numbers/strings/None, lists, dicts."""
    if isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        buf.seek(0)
        return np.load(buf, allow_pickle=False)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise StudentCallError("dict keys must be strings")
        return {k: wire(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise StudentCallError(f"returned a {type(value).__name__}, which cannot be sent back")


class FakeContext(CheckContext):
    def __init__(self, solution: Path, assignment: AssignmentDef, *, seed: int = 0,
                 params: dict | None = None, store: DatasetStore | None = None) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.params = params or {}
        self.reference = load_module(assignment.reference_path, "reference_" + assignment.slug
                                     .replace("-", "_"))
        self.limits: Limits = assignment.limits
        self._student = load_module(solution, "student_solution")
        if store is None:
            from plugins.builtin_datasets import DATASETS
            store = DatasetStore({d.name: d for d in DATASETS}, Path(tempfile.mkdtemp()))
        self._store = store

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return self.timed_call(function, *args, **kwargs)[0]

    def timed_call(self, function: str, *args: Any, **kwargs: Any) -> tuple[Any, float]:
        target = getattr(self._student, function, None)
        if target is None:
            raise StudentCallError(f"your module does not define {function}()")
        args, kwargs = wire(list(args)), wire(dict(kwargs))
        start = time.perf_counter()
        try:
            value = target(*args, **kwargs)
        except Exception as exc:
            raise StudentCallError(f"{function}() raised {type(exc).__name__}: {exc}") from None
        elapsed = time.perf_counter() - start
        return wire(value), elapsed

    def cpu_timed_call(self, function: str, *args: Any, **kwargs: Any) -> tuple[Any, float]:
        # one BLAS thread as in the sandbox: with more, this thread's CPU time would count
        # its spin-waits for the others, which grow with the machine's load
        with threadpool_limits(limits=self.limits.threads):
            start = time.thread_time()
            value, _ = self.timed_call(function, *args, **kwargs)
            return value, time.thread_time() - start

    def dataset(self, name: str):
        return self._store.get(name)

    def share(self, array: np.ndarray) -> Any:
        return np.asarray(array)


def run_checks(solution: Path, assignment: AssignmentDef, **kwargs: Any) -> dict[str, Outcome]:
    ctx = FakeContext(solution, assignment, **kwargs)
    outcomes = {}
    for check in assignment.checks:
        try:
            outcomes[check.name] = check.run(ctx)
        except StudentCallError as exc:
            outcomes[check.name] = Outcome(False, str(exc))
    return outcomes
