"""Mean squared error: the loss and its gradient."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.mse_loss.checks import CHECKS
from plugins import AssignmentDef, Limits

HERE = Path(__file__).parent
SLUG = "mse-loss"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="Mean squared error loss",
    summary="The loss that measures how wrong a network is, and its gradient.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512),
    default_rubric=f"{SLUG}-default",
    order=20,
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS),)
