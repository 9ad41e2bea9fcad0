"""Declarative definitions that plugins return from their registration hooks.

Everything here is plain data (frozen dataclasses) plus the `CheckContext`
protocol that a check receives. The grader and the server consume these; an
assignment package only needs `from plugins import ...`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

Visibility = Literal["visible", "hidden"]

#: Imports refused in every from-scratch assignment (static scan + absent from the sandbox).
ML_FRAMEWORKS: tuple[str, ...] = (
    "sklearn", "torch", "tensorflow", "keras", "jax", "jaxlib", "flax", "theano",
    "mxnet", "paddle", "cupy", "autograd", "chainer", "scipy", "pandas",
)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading run (the whole sandboxed child)."""

    wall_seconds: float = 20.0
    cpu_seconds: float = 20.0
    memory_mb: int = 768
    max_processes: int = 16
    max_file_mb: int = 16
    max_open_files: int = 64
    threads: int = 1
    max_source_kb: int = 256
    max_output_kb: int = 64


@dataclass(frozen=True)
class Outcome:
    """What a check function returns.

    `fraction` is the share of the check's points earned (default: 1 if passed
    else 0). `metrics` are numbers worth keeping (e.g. {"accuracy": 0.97}) and
    `artifacts` JSON-able data for pictures (e.g. a confusion matrix). Neither
    may contain hidden expected values that the student should not see. `hint`
    replaces the check's own hint for this outcome (a check that tests several
    things gives the hint of the part that failed; "" for none).

    `final_fraction` is the share earned at the deadline when it differs from what may
    be shown before it: e.g. `fraction` from the public half of a test set (the partial
    credit shown now) and `final_fraction` from the whole set (fixed at the deadline,
    hidden from the student until then). None means the same as `fraction`.
    """

    passed: bool
    message: str = ""
    fraction: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    artifacts: Mapping[str, Any] = field(default_factory=dict)
    hint: str | None = None
    final_fraction: float | None = None


class StudentCallError(Exception):
    """The student's function raised, or returned something unusable.

    Raised by `CheckContext.call`; the engine turns it into a failed check whose
    message is `str(error)` (already written for a student).
    """


class CheckFailed(StudentCallError):
    """A check's verdict: the comparison failed; `str(error)` is the student's message.

    Raised by checklib's `expect_*` helpers and by `fail`, so a check reads top to
    bottom. `hint`, when given, replaces the check's own hint (like `Outcome.hint`).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class CheckContext(Protocol):
    """What a check gets: a line to the sandboxed student module and trusted helpers."""

    seed: int  #: per-run seed, recorded in the result
    rng: np.random.Generator  #: seeded from `seed`; use it for every hidden input
    params: Mapping[str, Any]  #: rubric parameters (thresholds etc.)
    reference: Any  #: the assignment's reference module, imported in the trusted parent
    limits: Limits

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Call `function` of the student's module in the sandbox and return its value.

        Arguments may be numbers, strings, None, numpy arrays, lists/tuples/dicts of
        those, or handles from `share`. Raises `StudentCallError` if the function
        is missing, raises, or returns a value that cannot cross the wire.
        """

    def timed_call(self, function: str, *args: Any, **kwargs: Any) -> tuple[Any, float]:
        """Like `call`, also returning the wall seconds the call took in the child."""

    def cpu_timed_call(self, function: str, *args: Any, **kwargs: Any) -> tuple[Any, float]:
        """Like `call`, also returning the CPU seconds the sandbox used during the call,
        measured by the parent (a busy machine stretches wall time, not CPU time)."""

    def dataset(self, name: str) -> Dataset:
        """The named dataset (loaded once per process, cached as .npy)."""

    def share(self, array: np.ndarray) -> Any:
        """Hand a large array to the child as a read-only memory-mapped .npy file."""


@dataclass(frozen=True)
class CheckDef:
    """One graded check of an assignment. `run` executes in the trusted parent."""

    name: str
    run: Callable[[CheckContext], Outcome]
    points: float = 1.0
    visibility: Visibility = "hidden"
    hint: str = ""


@dataclass(frozen=True)
class Metric:
    """The figure a leaderboard ranks by: an `Outcome.metrics` key, its direction and how
    it is shown. A check that reports `<name>_public` / `<name>_private` (see
    `checklib.split_metrics`) gets the platform's public/private leaderboard."""

    name: str
    higher_is_better: bool = True
    format: str = "{:.4f}"  #: `str.format` pattern of one value, e.g. "{:.2%}"
    label: str = ""  #: column heading; the name when empty

    def show(self, value: float | None) -> str:
        """`value` formatted for a page ("—" when there is none)."""
        return "—" if value is None else self.format.format(value)


@dataclass(frozen=True)
class AssignmentDef:
    """An assignment as a plugin registers it."""

    slug: str
    title: str
    handout: str  #: Markdown
    starter: str  #: Python source the student downloads
    reference_path: Path  #: reference solution (trusted, never enters the sandbox)
    checks: tuple[CheckDef, ...]
    limits: Limits = Limits()
    datasets: tuple[str, ...] = ()
    forbidden_imports: tuple[str, ...] = ML_FRAMEWORKS
    default_rubric: str | None = None
    order: int = 100  #: teaching order on the course page
    #: what the leaderboard ranks by: a `Metric`, or just its name (e.g. "accuracy")
    metric: Metric | str | None = None
    metric_higher_is_better: bool = True  #: direction when `metric` is a plain name
    cases_dir: Path | None = None  #: known-bad solutions, see docs/plugins.md
    summary: str = ""
    #: the assignment's own rubrics, registered with it (others come from the rubrics hook)
    rubrics: tuple[RubricDef, ...] = ()
    #: translations of `handout` (which is English) by language code: {"ru": ..., "zh": ...}
    handouts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.metric, Metric):  # one source for the direction
            object.__setattr__(self, "metric_higher_is_better", self.metric.higher_is_better)

    @property
    def leaderboard_metric(self) -> Metric | None:
        """`metric` as a `Metric` (a plain name gets the default format)."""
        if isinstance(self.metric, str):
            return Metric(self.metric, higher_is_better=self.metric_higher_is_better)
        return self.metric

    @property
    def metric_name(self) -> str | None:
        return self.metric.name if isinstance(self.metric, Metric) else self.metric

    def handout_for(self, language: str | None) -> str:
        """The handout's Markdown in `language` when translated, else the English one
        (`plugins.handouts.handout_for` also says which language it is)."""
        from plugins.handouts import handout_for

        return handout_for(self, language).markdown


@dataclass(frozen=True)
class RubricDef:
    """Points and thresholds for an assignment; swappable by name per course."""

    name: str
    assignment: str
    points: Mapping[str, float] = field(default_factory=dict)  #: check name -> points
    params: Mapping[str, Any] = field(default_factory=dict)  #: handed to checks as ctx.params
    late_penalty_per_day: float = 0.0  #: fraction of the score lost per late day
    description: str = ""
    #: imports refused for this rubric (static scan + sandbox); None = the assignment's list
    forbidden_imports: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RendererDef:
    """Draws one picture from the artifact `key` of a graded result.

    `render(value, context)` gets the artifact's JSON value and a `RenderContext` and
    returns PNG bytes, or raises `NoPicture` when there is nothing to draw. `alt(value)`
    describes the picture in words (its alt text); `caption` is shown under it, and
    `legend(value)`, when given, lists one line per part of the picture (e.g. "#3: got 7,
    true 9" per digit of a grid), shown as a numbered list beside it.
    """

    key: str
    render: Callable[[Any, RenderContext], bytes]
    title: str = ""
    caption: str = ""
    alt: Callable[[Any], str] | None = None
    order: int = 100  #: position among a result's pictures
    legend: Callable[[Any], list[str]] | None = None


@dataclass(frozen=True)
class RenderContext:
    """What a renderer may read besides its artifact: the whole result's artifacts and
    metrics, the assignment's slug, and the trusted `datasets` store (test images)."""

    artifacts: Mapping[str, Any]
    metrics: Mapping[str, float]
    assignment: str
    datasets: Any = None


class NoPicture(LookupError):
    """The result has nothing this renderer can draw."""


@dataclass(frozen=True)
class Dataset:
    """Loaded arrays. Keys in `hidden` never enter the sandbox."""

    name: str
    arrays: Mapping[str, np.ndarray]
    hidden: frozenset[str]
    fingerprint: str


@dataclass(frozen=True)
class DatasetDef:
    """A dataset provider. `load(cache_dir)` returns named numpy arrays."""

    name: str
    load: Callable[[Path], Mapping[str, np.ndarray]]
    hidden: frozenset[str] = frozenset()
    description: str = ""
    license: str = ""
