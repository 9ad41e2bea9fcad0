"""Vectorized backpropagation on MNIST."""

import dataclasses
from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.mnist.checks import CHECKS
from plugins import AssignmentDef, Limits, RubricDef, hookimpl

HERE = Path(__file__).parent
SLUG = "mnist"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="Handwritten digits: vectorized backpropagation on MNIST",
    summary="A sigmoid network trained with mini-batch gradient descent, from scratch.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=300, cpu_seconds=300, memory_mb=2048, threads=1),
    datasets=("mnist",),
    default_rubric=f"{SLUG}-default",
    order=40,
    metric="accuracy",
    cases_dir=HERE / "cases",
)

_POINTS = {c.name: c.points for c in CHECKS}

RUBRICS = (
    dataclasses.replace(
        default_rubric(SLUG, CHECKS, full_credit_accuracy=0.95, zero_credit_accuracy=0.90,
                       vectorization_ratio=8.0, time_budget_seconds=180, dataset="mnist"),
        description="full credit from 95 % accuracy, linear partial credit from 90 %, "
                    "backprop within 8× the reference's CPU time"),
    RubricDef(name=f"{SLUG}-strict", assignment=SLUG, points=_POINTS,
              params={"full_credit_accuracy": 0.97, "zero_credit_accuracy": 0.92,
                      "vectorization_ratio": 6.0, "time_budget_seconds": 180,
                      "dataset": "mnist"},
              description="full credit from 97 % accuracy (partial from 92 %), "
                          "backprop within 6× the reference's CPU time"),
)


@hookimpl
def neurograde_register_assignments():
    return [ASSIGNMENT]


@hookimpl
def neurograde_register_rubrics():
    return RUBRICS
