"""Stochastic, batch and mini-batch gradient descent over a provided gradient."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.minibatch.checks import CHECKS
from plugins import AssignmentDef, Limits

HERE = Path(__file__).parent
SLUG = "minibatch"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="Stochastic, batch and mini-batch gradient descent",
    summary="Three update loops over a given gradient function: one example, all examples, "
            "or a shuffled batch at a time.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512),
    default_rubric=f"{SLUG}-default",
    order=36,
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS),)
