"""XOR with a 2-H-1 network: tanh hidden layer, sigmoid output, cross-entropy."""

from pathlib import Path

from assignments._common import default_rubric, read_text
from assignments.xor.checks import CHECKS
from plugins import AssignmentDef, Limits, hookimpl

HERE = Path(__file__).parent
SLUG = "xor"

ASSIGNMENT = AssignmentDef(
    slug=SLUG,
    title="XOR: a hidden layer that learns",
    summary="A 2-H-1 network with a tanh hidden layer and a sigmoid output, trained from scratch "
            "with binary cross-entropy.",
    handout=read_text(HERE, "handout.md"),
    starter=read_text(HERE, "starter.py"),
    reference_path=HERE / "reference.py",
    checks=CHECKS,
    limits=Limits(wall_seconds=30, cpu_seconds=30, memory_mb=512),
    default_rubric=f"{SLUG}-default",
    order=35,
    cases_dir=HERE / "cases",
)

RUBRICS = (default_rubric(SLUG, CHECKS, xor_seeds=9, xor_min_seeds=5, xor_hidden=4),)


@hookimpl
def neurograde_register_assignments():
    return [ASSIGNMENT]


@hookimpl
def neurograde_register_rubrics():
    return RUBRICS
