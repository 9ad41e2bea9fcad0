"""The check engine: static phase, one sandboxed child, every check, one result.

`grade_submission` never raises for anything a submission does: every path ends
in a `GradingResult`. A check runs in this (trusted) process and talks to the
child only through its `CheckContext`; hidden expected values stay here, and the
context refuses to send the hidden parts of a dataset (or views of them) to the child.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import secrets
import time
import zlib
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader import progress
from grader.errors import SandboxUnavailable
from grader.notebook import Conversion
from grader.pool import default_pool
from grader.result import CheckResult, GradingResult, Status
from grader.sandbox import sandbox_disabled
from grader.session import ChildGone, ImportFailed, Session
from grader.static import check_source
from plugins.types import (
    AssignmentDef,
    CheckDef,
    Dataset,
    Limits,
    Outcome,
    RubricDef,
    StudentCallError,
)

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = ("The grader itself failed (this is not your fault and does not count "
                    "against you); the submission will be graded again.")
#: the row of the check during which the run ended (the run-level message says why, once)
ENDED_HERE = "the run ended during this check (see the message above)"
_references: dict[tuple[str, int], ModuleType] = {}


class HiddenDataError(RuntimeError):
    """A check tried to send a hidden part of a dataset into the sandbox (a bug in the check)."""


def grade_submission(source: str | bytes, assignment: AssignmentDef, *,
                     rubric: RubricDef | None = None, datasets: Any = None,
                     visible_only: bool = False, seed: int | None = None,
                     extra_params: Mapping | None = None, plugin: str = "?",
                     plugin_version: str = "?",
                     notebook: Conversion | None = None) -> GradingResult:
    """Grade `source` against `assignment`; only visible checks when `visible_only`.

    `notebook`: `source` is the graded module of this notebook conversion; messages then
    name the notebook's cells and lines, and the result carries its report."""
    started = time.monotonic()
    rubric = rubric or RubricDef(name=f"{assignment.slug}-default", assignment=assignment.slug)
    seed = secrets.randbits(32) if seed is None else int(seed)
    checks = [c for c in assignment.checks if c.visibility == "visible" or not visible_only]
    run = _Run(assignment, rubric, checks, seed, {**rubric.params, **(extra_params or {})},
               datasets, notebook)
    try:
        result = run.grade(source)
    except Exception:  # our bug: never a crash, always a result
        log.exception("grading %s failed inside the grader", assignment.slug)
        result = run.failure("internal_error", INTERNAL_MESSAGE)
    result.duration_s = round(time.monotonic() - started, 3)
    result.notebook = notebook.report() if notebook is not None else None
    result.limits = asdict(assignment.limits)
    result.provenance = {
        "plugin": plugin, "plugin_version": plugin_version, "assignment": assignment.slug,
        "rubric": rubric.name, "datasets": dict(run.fingerprints), "seed": seed,
        "visible_only": visible_only, "sandbox": "none" if sandbox_disabled() else "bwrap",
    }
    return result


def load_reference(path: Path) -> ModuleType:
    """The assignment's reference solution, imported here in the trusted parent (cached)."""
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _references:
        name = f"_neurograde_reference_{zlib.crc32(str(path).encode()):08x}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _references[key] = module
    return _references[key]


class _Run:
    """The state of one grading run."""

    def __init__(self, assignment: AssignmentDef, rubric: RubricDef, checks: list[CheckDef],
                 seed: int, params: dict, datasets: Any,
                 notebook: Conversion | None = None) -> None:
        self.assignment, self.rubric, self.checks = assignment, rubric, checks
        self.notebook = notebook
        self.seed, self.params, self.datasets = seed, params, datasets
        self.fingerprints: dict[str, str] = {}
        self.results: list[CheckResult] = []
        self.finals: dict[str, float] = {}  # check name -> points at the deadline
        self.hidden: dict[int, tuple[str, np.ndarray]] = {}  # id -> ("dataset/key", array)
        forbidden = rubric.forbidden_imports
        self.forbidden = tuple(assignment.forbidden_imports if forbidden is None else forbidden)

    def points(self, check: CheckDef) -> float:
        return float(self.rubric.points.get(check.name, check.points))

    def student_text(self, text: str) -> str:
        """A message about solution.py; for a notebook, about its cells and lines."""
        return self.notebook.rewrite(text) if self.notebook is not None else text

    def failure(self, status: Status, message: str, **extra: Any) -> GradingResult:
        message = self.student_text(message)
        if extra.get("limit_hit"):
            hit = extra["limit_hit"]
            extra["limit_hit"] = {**hit, "message": self.student_text(hit.get("message", ""))}
        done = {r.name for r in self.results}
        # the run-level message is shown once, above the checks; rows only say "not run"
        checks = self.results + [
            CheckResult(c.name, False, 0.0, self.points(c), c.visibility, "not run")
            for c in self.checks if c.name not in done]
        return GradingResult(status=status, message=message, checks=checks,
                             score=round(sum(r.score for r in checks), 6),
                             final_score=round(sum(self.finals.get(r.name, r.score)
                                                   for r in checks), 6),
                             max_score=sum(r.max_score for r in checks), **extra)

    def grade(self, source: str | bytes) -> GradingResult:
        limits = self.assignment.limits
        forbidden = self.forbidden
        text, problem = check_source(
            source, max_kb=limits.max_source_kb, forbidden=forbidden,
            locate=self.notebook.where if self.notebook is not None else None)
        if problem is not None:
            return self.failure(problem.status, problem.message)
        reference = load_reference(self.assignment.reference_path)
        pool = default_pool()
        session = (pool.take(limits, forbidden) if pool else None) or Session(
            text, limits, forbidden=forbidden)
        session.source = text
        try:
            return self._run_checks(session, reference)
        finally:
            session.close()

    def _run_checks(self, session: Session, reference: ModuleType) -> GradingResult:
        try:
            session.start()
        except SandboxUnavailable as exc:
            log.error("sandbox unavailable: %s", exc)
            return self.failure("internal_error", f"{INTERNAL_MESSAGE} {exc}")
        except ImportFailed as exc:
            return self._ended(session, "import_error",
                               _import_message(exc.error, self.notebook is not None))
        except ChildGone as gone:
            return self._ended(session, gone.status, gone.message, gone.limit_hit)
        metrics: dict[str, float] = {}
        artifacts: dict[str, Any] = {}
        for done, check in enumerate(self.checks):
            progress.report(check.name, done, len(self.checks))
            ctx = Context(session, check, self, reference)
            try:
                outcome = check.run(ctx)
            except StudentCallError as exc:
                outcome = Outcome(False, str(exc))
            except ChildGone:
                outcome = None
            except Exception:
                log.exception("check %s of %s failed", check.name, self.assignment.slug)
                return self._ended(session, "internal_error", INTERNAL_MESSAGE)
            if session.gone is not None:
                ended = session.gone
                self._record(check, Outcome(False, ENDED_HERE, hint=""))
                return self._ended(session, ended.status, ended.message, ended.limit_hit)
            if not isinstance(outcome, Outcome):
                log.error("check %s returned %r, not an Outcome", check.name, outcome)
                return self._ended(session, "internal_error", INTERNAL_MESSAGE)
            self._record(check, outcome)
            metrics.update({k: float(v) for k, v in outcome.metrics.items()})
            artifacts.update(outcome.artifacts)
        return self._ended(session, "graded", "", metrics=metrics, artifacts=artifacts)

    def _record(self, check: CheckDef, outcome: Outcome) -> None:
        points = self.points(check)
        fraction = outcome.fraction if outcome.fraction is not None else float(outcome.passed)
        fraction = _clamped(fraction)
        if outcome.final_fraction is not None:
            self.finals[check.name] = round(points * _clamped(outcome.final_fraction), 6)
        message = self.student_text(outcome.message)
        hint = check.hint if outcome.hint is None else outcome.hint
        if not outcome.passed and hint:
            message = f"{message}\nHint: {hint}" if message else f"Hint: {hint}"
        self.results.append(CheckResult(check.name, bool(outcome.passed),
                                        round(points * fraction, 6), points,
                                        check.visibility, message))

    def _ended(self, session: Session, status: Status, message: str,
               hit: dict | None = None, **extra: Any) -> GradingResult:
        session.close()
        return self.failure(status, message, limit_hit=hit, usage=dict(session.usage),
                            stdout=session.stdout.text(), stderr=session.stderr.text(), **extra)


def _clamped(fraction: float) -> float:
    return 0.0 if not math.isfinite(fraction) else min(max(float(fraction), 0.0), 1.0)


class Context:
    """What a check gets (implements plugins.types.CheckContext)."""

    def __init__(self, session: Session, check: CheckDef, run: _Run, reference: ModuleType):
        self._session, self._check, self._run = session, check, run
        self.seed: int = run.seed
        # one stream per check, so a check sees the same inputs whichever checks run
        self.rng = np.random.default_rng([run.seed, zlib.crc32(check.name.encode())])
        self.params: Mapping[str, Any] = run.params
        self.reference = reference
        self.limits: Limits = run.assignment.limits

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return self.timed_call(function, *args, **kwargs)[0]

    def timed_call(self, function: str, *args: Any, **kwargs: Any) -> tuple[Any, float]:
        visible = self._check.visibility == "visible"
        label = describe_call(function, args, kwargs) if visible else f"{function}(…)"
        self._refuse_hidden((args, kwargs), f"call {function}")
        return self._session.call(function, args, kwargs, label)

    def cpu_timed_call(self, function: str, *args: Any, **kwargs: Any) -> tuple[Any, float]:
        value, _ = self.timed_call(function, *args, **kwargs)
        return value, self._session.last_cpu_s

    def dataset(self, name: str) -> Dataset:
        if self._run.datasets is None:
            raise RuntimeError(f"check {self._check.name!r} needs dataset {name!r} "
                               "but no dataset store was given")
        data = self._run.datasets.get(name)
        self._run.fingerprints[name] = data.fingerprint
        for key in data.hidden:
            if isinstance(data.arrays.get(key), np.ndarray):
                self._run.hidden[id(data.arrays[key])] = (f"{name}/{key}", data.arrays[key])
        return data

    def share(self, array: np.ndarray) -> Any:
        self._refuse_hidden(array, "share")
        return self._session.share(array)

    def _refuse_hidden(self, value: Any, action: str) -> None:
        """Raise HiddenDataError if `value` holds a hidden dataset array or a view of one."""
        if not self._run.hidden:
            return
        for array in _arrays_in(value):
            for name, hidden in self._run.hidden.values():
                if _overlaps(array, hidden):
                    log.error("check %r of %s tried to %s with hidden data %s; refused",
                              self._check.name, self._run.assignment.slug, action, name)
                    raise HiddenDataError(f"check {self._check.name!r} tried to send "
                                          f"hidden data {name} to the sandbox")


def _arrays_in(value: Any, depth: int = 0) -> list[np.ndarray]:
    """The numpy arrays inside the (list/tuple/dict) arguments of a call."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if depth > 32 or not isinstance(value, (list, tuple)):  # deeper cannot cross the wire
        return []
    return [a for item in value for a in _arrays_in(item, depth + 1)]


def _overlaps(array: np.ndarray, hidden: np.ndarray) -> bool:
    if not np.may_share_memory(array, hidden):  # bounds only: cheap
        return False
    try:
        # numpy's stubs allow only -1/0, but a positive bound is documented and supported
        return bool(np.shares_memory(array, hidden, max_work=100_000))  # type: ignore[arg-type]
    except np.exceptions.TooHardError:
        return True  # cannot tell cheaply: refuse


def describe_call(function: str, args: tuple, kwargs: dict) -> str:
    """`sigmoid(array([0., 1.]))`-style text for messages of visible checks."""
    parts = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return np.array2string(value, separator=", ", precision=4).replace("\n", "")
        return f"<array shape={value.shape} dtype={value.dtype}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _import_message(error: dict, notebook: bool = False) -> str:
    if error.get("kind") == "exit":
        return ("solution.py called sys.exit() while being imported; remove it (the grader "
                "imports your module and calls its functions).")
    trace = str(error.get("traceback", "")).strip()
    advice = ("Code at the top level of your file runs when it is imported; keep only "
              "definitions there (move tests under `if __name__ == \"__main__\":`).")
    if notebook:
        advice = ("The graded code (imports, definitions and constants of your cells) runs "
                  "when it is imported; tag a cell `skip` to leave it out.")
    return (f"solution.py raised {error.get('type', 'an exception')} while being imported:\n"
            f"{trace}\n{advice}")
