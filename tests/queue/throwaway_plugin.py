"""A throwaway assignment for queue tests, loaded by workers through `EXTRA_PLUGINS`."""

from __future__ import annotations

from pathlib import Path

from plugins import AssignmentDef, CheckDef, Limits, Outcome, StudentCallError, hookimpl


def _visible(ctx) -> Outcome:
    got = ctx.call("double", 21)
    return Outcome(passed=got == 42, message=f"double(21) returned {got!r}, expected 42")


def _hidden(ctx) -> Outcome:
    xs = [int(v) for v in ctx.rng.integers(-100, 100, size=8)]
    try:
        right = sum(ctx.call("double", x) == 2 * x for x in xs) / len(xs)
    except StudentCallError as exc:
        return Outcome(passed=False, message=str(exc))
    # the private figure echoes the course's split seed, proving it reached the checks
    return Outcome(passed=right == 1.0, fraction=right,
                   metrics={"accuracy_public": right,
                            "accuracy_private": ctx.params["split_seed"] / 100})


ASSIGNMENT = AssignmentDef(
    slug="queue-echo", title="Echo (queue tests)", handout="Write `double(x)`.",
    starter="def double(x):\n    pass\n",
    reference_path=Path(__file__).with_name("echo_reference.py"),
    checks=(CheckDef("doubles 21", _visible, points=1, visibility="visible"),
            CheckDef("doubles random numbers", _hidden, points=2)),
    limits=Limits(wall_seconds=10, cpu_seconds=10), metric="accuracy")


@hookimpl
def neurograde_register_assignments():
    return [ASSIGNMENT]
