"""An example neurograde plugin: one assignment, its rubrics, a dataset and a rubric for
a built-in assignment.

neurograde finds this module through the `neurograde` entry-point group (see
pyproject.toml) and calls the `@hookimpl` functions below at start-up. The
assignment is this folder (handout.md, starter.py, reference.py, checks.py, cases/),
registered by one call (`assignment_hook`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurograde import DatasetDef, Limits, RubricDef, assignment_hook, hookimpl

neurograde_register_assignments = assignment_hook(
    __file__, slug="example-relu", title="ReLU and its derivative (example plugin)",
    order=500, summary="relu(z) and relu_prime(z), elementwise.",
    limits=Limits(wall_seconds=10, cpu_seconds=10, memory_mb=256),
    datasets=("example-blobs",),
    rubrics={"default": {"description": "points per check as in the handout, no late penalty"},
             "strict": {"points": {"relu-hidden": 4.0}, "late_penalty_per_day": 0.2,
                        "description": "hidden cases weigh more; 20 % off per day late"}})


@hookimpl
def neurograde_register_rubrics():
    # a rubric for another plugin's assignment: instructors pick it by name per course
    return [RubricDef(name="example-sigmoid-late-friendly", assignment="sigmoid",
                      late_penalty_per_day=0.05,
                      description="the built-in sigmoid's points; 5 % off per day late")]


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
