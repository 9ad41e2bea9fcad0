"""Testing helpers for assignment authors, and the pytest plugin that ships them.

Installed with neurograde (entry point `pytest11`), so in any test of a plugin:

    def test_reference_passes(neurograde_course):
        course = neurograde_course(my_course)          # a fresh registry with the plugin
        outcomes = course.grade_in_process("my-slug", "reference")
        assert all(o.passed for o in outcomes.values())

    @pytest.mark.sandbox
    def test_known_bad_cases(neurograde_course):
        assert neurograde_course(my_course).verify("my-slug") == []   # no problems

`grade_in_process` imports the solution and runs the checks in this process (fast; a
`FakeContext` round-trips every value through `.npy`/JSON as the wire does);
`grade` and `verify` go through the real engine and sandbox, as `neurograde grade`
and `neurograde verify` do. `translation_differences(english, translated)` says where a
translated handout (`handout.ru.md`, ...) states other numbers, formulas or code:

    assignment = my_course.neurograde_register_assignments.assignment
    for language, text in assignment.handouts.items():
        assert translation_differences(assignment.handout, text) == [], language
"""

from __future__ import annotations

import importlib.util
import io
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from plugins.translations import translation_differences
from plugins.types import (
    AssignmentDef,
    CheckContext,
    CheckFailed,
    Limits,
    Outcome,
    StudentCallError,
)

__all__ = ["Course", "FakeContext", "course_of", "load_module", "run_checks",
           "translation_differences", "wire"]


def load_module(path: Path, name: str) -> Any:
    """Import the Python file `path` as a module called `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
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
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise StudentCallError("dict keys must be strings")
        return {k: wire(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise StudentCallError(f"returned a {type(value).__name__}, which cannot be sent back")


class FakeContext(CheckContext):
    """A `CheckContext` that runs the solution in this process (no sandbox)."""

    def __init__(self, solution: Path, assignment: AssignmentDef, *, seed: int = 0,
                 params: dict | None = None, store: Any = None) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.params = params or {}
        self.reference = load_module(assignment.reference_path, "reference_" + assignment.slug
                                     .replace("-", "_"))
        self.limits: Limits = assignment.limits
        self._student = load_module(solution, "student_solution")
        if store is None:
            from plugins.builtin_datasets import DATASETS
            from plugins.datasets import DatasetStore
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
    """Every check of `assignment` on `solution`, in this process: {check name: Outcome}."""
    ctx = FakeContext(solution, assignment, **kwargs)
    outcomes = {}
    for check in assignment.checks:
        try:
            outcomes[check.name] = check.run(ctx)
        except StudentCallError as exc:  # a CheckDef written without @check
            hint = exc.hint if isinstance(exc, CheckFailed) else None
            outcomes[check.name] = Outcome(False, str(exc), hint=hint)
    return outcomes


@dataclass
class Course:
    """A fresh registry holding the given plugin modules (and the built-ins)."""

    registry: Any
    pm: Any
    cache_dir: Path

    def assignment(self, slug: str) -> AssignmentDef:
        return self.registry.assignment(slug)

    @cached_property
    def datasets(self) -> Any:
        from plugins.datasets import DatasetStore

        return DatasetStore(self.registry.datasets, self.cache_dir)

    def solution(self, slug: str, name: str) -> Path:
        """"reference", or the file `name` of the assignment's `cases/` folder."""
        assignment = self.assignment(slug)
        if name == "reference":
            return assignment.reference_path
        if assignment.cases_dir is None:
            raise ValueError(f"{slug} has no cases/ folder")
        return assignment.cases_dir / (name if name.endswith(".py") else f"{name}.py")

    def grade_in_process(self, slug: str, solution: str | Path, *, seed: int = 0,
                         params: dict | None = None) -> dict[str, Outcome]:
        """The checks' outcomes on `solution` ("reference", a case name or a path)."""
        path = Path(solution) if isinstance(solution, Path) else self.solution(slug, solution)
        rubric = self.registry.rubric_for(slug)
        return run_checks(path, self.assignment(slug), seed=seed,
                          params={**rubric.params, **(params or {})}, store=self.datasets)

    def grade(self, slug: str, solution: str | Path, *, seed: int | None = 0) -> Any:
        """A `GradingResult` through the real engine and sandbox."""
        from grader.engine import grade_submission

        path = Path(solution) if isinstance(solution, Path) else self.solution(slug, solution)
        return grade_submission(path.read_text(encoding="utf-8"), self.assignment(slug),
                                rubric=self.registry.rubric_for(slug), datasets=self.datasets,
                                seed=seed, plugin=self.registry.plugin_of("assignment", slug))

    def verify(self, slug: str, *, seed: int | None = 0) -> list[str]:
        """`neurograde verify SLUG`: the problems found ([] when every file got its
        declared outcome), each as "<file>: <problem>"."""
        from grader.course_cli import verify_assignment

        reports = verify_assignment(self.assignment(slug), self.registry.rubric_for(slug),
                                    self.datasets, seed=seed,
                                    plugin=self.registry.plugin_of("assignment", slug))
        return [f"{r.case}: {p}" for r in reports for p in r.problems]


def course_of(*plugins: ModuleType | object, cache_dir: Path | None = None) -> Course:
    """A `Course` with the built-in plugins and `plugins` (entry points not loaded);
    raises if any plugin is reported broken."""
    from plugins.manager import get_plugin_manager
    from plugins.registry import build_registry

    pm = get_plugin_manager(load_entrypoints=False)
    for plugin in plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", None))
    registry = build_registry(pm)
    if registry.errors:
        raise AssertionError(f"plugins reported broken: {registry.errors}")
    return Course(registry, pm, Path(cache_dir or tempfile.mkdtemp(prefix="neurograde-")))


@pytest.fixture
def neurograde_course(tmp_path_factory) -> Callable[..., Course]:
    """`neurograde_course(my_plugin, ...)` -> a `Course` with those plugin modules."""

    def make(*plugins: ModuleType | object) -> Course:
        return course_of(*plugins, cache_dir=tmp_path_factory.mktemp("neurograde-datasets"))

    return make


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox: runs submissions through the real sandbox")
