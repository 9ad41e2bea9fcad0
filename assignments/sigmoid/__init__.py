"""The sigmoid neuron: σ, its derivative and one neuron's output."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.sigmoid.checks import CHECKS
from plugins import AssignmentDef, Limits

HERE = Path(__file__).parent
SLUG = "sigmoid"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="The sigmoid neuron",
    summary="σ(z), its derivative and the output of a single neuron.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=20, cpu_seconds=20, memory_mb=512),
    default_rubric=f"{SLUG}-default",
    order=10,
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS),)
