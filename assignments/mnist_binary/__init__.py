"""0-vs-1 MNIST with a ReLU hidden layer, a logistic output and cross-entropy."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.mnist_binary.checks import CHECKS
from plugins import AssignmentDef, Limits, hookimpl

HERE = Path(__file__).parent
SLUG = "mnist-binary"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="Zeros and ones: ReLU, cross-entropy and standardised inputs",
    summary="A 784-10-1 network with a ReLU hidden layer and a logistic output tells MNIST's "
            "0s from 1s, trained by full-batch gradient descent on standardised pixels.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=120, cpu_seconds=120, memory_mb=1536, threads=1),
    datasets=("mnist",),
    default_rubric=f"{SLUG}-default",
    order=50,
    metric="test_error",
    metric_higher_is_better=False,
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS, full_credit_error=0.003, zero_credit_error=0.01),)


@hookimpl
def neurograde_register_assignments():
    return [ASSIGNMENT]


@hookimpl
def neurograde_register_rubrics():
    return RUBRICS
