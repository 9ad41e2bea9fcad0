"""Backpropagation by hand in a 2-2-1 sigmoid network."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.backprop_221.checks import CHECKS
from plugins import AssignmentDef, Limits

HERE = Path(__file__).parent
SLUG = "backprop-2-2-1"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="Backpropagation in a 2-2-1 network",
    summary="Feedforward, every gradient by the chain rule, and training on four people.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=30, cpu_seconds=30, memory_mb=512),
    datasets=("gender",),
    default_rubric=f"{SLUG}-default",
    order=30,
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS),)
