"""The grading result: one JSON schema for the CLI, the database and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal[
    "graded", "compile_error", "import_error", "forbidden_import", "timeout",
    "memory_limit", "crashed", "internal_error",
]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
#: Statuses that are our fault, not the student's: retried, never counted against limits.
OUR_FAULT: frozenset[str] = frozenset({"internal_error"})


@dataclass
class CheckResult:
    name: str
    passed: bool
    score: float
    max_score: float
    visibility: Literal["visible", "hidden"]
    message: str = ""


@dataclass
class GradingResult:
    """Every grading path returns one of these; a failure is a result, not an exception."""

    status: Status
    score: float = 0.0
    max_score: float = 0.0
    #: the score at the deadline: like `score`, with each check's `final_fraction` (e.g.
    #: the whole test set instead of its public half); hidden from students until then
    final_score: float | None = None
    checks: list[CheckResult] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    #: the limits in force, e.g. {"wall_seconds": 20, "memory_mb": 768, ...}
    limits: dict[str, Any] = field(default_factory=dict)
    #: measured by the parent: {"wall_s", "cpu_s", "peak_memory_mb"}
    usage: dict[str, float] = field(default_factory=dict)
    #: which limit ended the run, if any: {"name", "value", "during", "message"}
    limit_hit: dict[str, Any] | None = None
    #: one paragraph for the student about the run as a whole (syntax error, timeout, ...)
    message: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    #: JSON-able data for pictures (confusion matrix, misclassified examples)
    artifacts: dict[str, Any] = field(default_factory=dict)
    #: plugin, plugin_version, assignment, rubric, dataset fingerprints, seed
    provenance: dict[str, Any] = field(default_factory=dict)
    #: a notebook submission's conversion report: the cells and lines left out and why
    #: (`grader.notebook.Conversion.report`); None for a .py file
    notebook: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradingResult:
        data = dict(data)
        data["checks"] = [CheckResult(**c) for c in data.get("checks", [])]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def failure(cls, status: Status, message: str, **extra: Any) -> GradingResult:
        """A result without check results (e.g. compile error, sandbox unavailable)."""
        return cls(status=status, message=message, **extra)
