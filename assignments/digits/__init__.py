"""A vectorized sigmoid network on scikit-learn's 8×8 digits."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.digits.checks import CHECKS
from plugins import AssignmentDef, Limits, hookimpl

HERE = Path(__file__).parent
SLUG = "digits"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="Small digits: a vectorized network on 8×8 images",
    summary="A 64-H-10 sigmoid network with vectorized backpropagation and mini-batch SGD; "
            "the same functions then scale to MNIST.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=30, cpu_seconds=30, memory_mb=512, threads=1),
    datasets=("digits",),
    default_rubric=f"{SLUG}-default",
    order=37,
    metric="accuracy",
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS, full_credit_accuracy=0.95, zero_credit_accuracy=0.90),)


@hookimpl
def neurograde_register_assignments():
    return [ASSIGNMENT]


@hookimpl
def neurograde_register_rubrics():
    return RUBRICS
