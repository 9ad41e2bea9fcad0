"""Gradient descent on a function of one variable."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.gradient_descent.checks import CHECKS
from plugins import AssignmentDef, Limits

HERE = Path(__file__).parent
SLUG = "gradient-descent"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="Gradient descent",
    summary="Minimise x⁴ − 3x³ + 2 by following the derivative downhill; stop on precision, "
            "report divergence.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512),
    default_rubric=f"{SLUG}-default",
    order=15,
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS),)
