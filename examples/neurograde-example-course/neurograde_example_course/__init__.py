"""An example neurograde plugin: one assignment, one rubric and one dataset.

neurograde finds this module through the `neurograde` entry-point group (see
pyproject.toml) and calls the `@hookimpl` functions below at start-up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurograde_example_course.checks import CHECKS
from plugins import AssignmentDef, DatasetDef, Limits, RubricDef, hookimpl

HERE = Path(__file__).resolve().parent
SLUG = "example-relu"


@hookimpl
def neurograde_register_assignments():
    return [AssignmentDef(
        slug=SLUG,
        title="ReLU and its derivative (example plugin)",
        summary="relu(z) and relu_prime(z), elementwise.",
        handout=(HERE / "handout.md").read_text(encoding="utf-8"),
        starter=(HERE / "starter.py").read_text(encoding="utf-8"),
        reference_path=HERE / "reference.py",
        checks=CHECKS,
        limits=Limits(wall_seconds=10, cpu_seconds=10, memory_mb=256),
        datasets=("example-blobs",),
        default_rubric="example-relu-standard",
        order=500,
        cases_dir=HERE / "cases",  # known-bad solutions for `neurograde verify example-relu`
    )]


@hookimpl
def neurograde_register_rubrics():
    points = {check.name: check.points for check in CHECKS}
    return [
        RubricDef(name="example-relu-standard", assignment=SLUG, points=points,
                  description="points per check as in the handout, no late penalty"),
        RubricDef(name="example-relu-strict", assignment=SLUG,
                  points={**points, "relu-hidden": 4.0}, late_penalty_per_day=0.2,
                  description="hidden cases weigh more; 20 % off per day late"),
    ]


def load_blobs(cache_dir: Path) -> dict[str, np.ndarray]:
    """Two Gaussian blobs in 2-D, generated from a fixed seed (no network, no files)."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(-1.5, 1.0, (60, 2)), rng.normal(1.5, 1.0, (60, 2))])
    y = np.repeat([0, 1], 60)
    order = rng.permutation(120)
    x, y = x[order].T, y[order]
    return {"X_train": np.ascontiguousarray(x[:, :80]), "y_train": y[:80],
            "X_test": np.ascontiguousarray(x[:, 80:]), "y_test": y[80:]}


@hookimpl
def neurograde_register_datasets():
    return [DatasetDef(name="example-blobs", load=load_blobs, hidden=frozenset({"y_test"}),
                       description="Two 2-D Gaussian blobs, one column per point: X_train "
                                   "(2, 80) / y_train, X_test (2, 40) / y_test (hidden).",
                       license="CC0 (generated)")]
