"""Checks of `example-relu`. They run in the trusted grading process; the student's
functions are reached only through `ctx.call`, which runs them in the sandbox."""

from __future__ import annotations

import numpy as np

from plugins import CheckContext, CheckDef, Outcome, StudentCallError


def _compare(ctx: CheckContext, function: str, z: np.ndarray, *, visible: bool) -> str | None:
    """None if the student's `function(z)` matches the reference, else a message."""
    try:
        got = np.asarray(ctx.call(function, z), dtype=np.float64)
    except StudentCallError as exc:
        return str(exc)
    except (TypeError, ValueError):
        return f"{function} should return a numpy array of numbers"
    expected = getattr(ctx.reference, function)(z)
    if got.shape != expected.shape:
        return f"{function} returned shape {got.shape}, expected {expected.shape}"
    if not np.allclose(got, expected, rtol=1e-9, atol=1e-12):
        # a visible check may show the expected values; a hidden one must not
        shown = f": expected {expected.tolist()}, got {got.tolist()}" if visible else ""
        return f"{function} gives wrong values for an input of shape {z.shape}{shown}"
    return None


def relu_visible(ctx: CheckContext) -> Outcome:
    problem = _compare(ctx, "relu", np.array([-2.0, -0.5, 0.0, 0.5, 2.0]), visible=True)
    return Outcome(problem is None, problem or "relu([-2, -0.5, 0, 0.5, 2]) is right")


def relu_hidden(ctx: CheckContext) -> Outcome:
    blobs = ctx.dataset("example-blobs").arrays["X_train"]
    for z in (ctx.rng.normal(0, 3, size=(4, 7)), np.array(blobs), np.zeros((2, 3))):
        if problem := _compare(ctx, "relu", z, visible=False):
            return Outcome(False, problem)
    return Outcome(True, "relu matches on random matrices and on the blobs data")


def relu_prime(ctx: CheckContext) -> Outcome:
    z = ctx.rng.normal(0, 3, size=(3, 5))
    z[ctx.rng.random(z.shape) < 0.3] = 0.0  # the kink: the derivative is 0 there
    problem = _compare(ctx, "relu_prime", z, visible=False)
    return Outcome(problem is None, problem or "relu_prime is right (0 for z <= 0, else 1)")


CHECKS = (
    CheckDef("relu-visible", relu_visible, points=1.0, visibility="visible",
             hint="relu(z) = max(0, z) elementwise; np.maximum does it."),
    CheckDef("relu-hidden", relu_hidden, points=2.0, visibility="hidden",
             hint="Keep the input's shape; work on whole arrays."),
    CheckDef("relu-prime", relu_prime, points=1.0, visibility="hidden",
             hint="The derivative is 1 where z > 0 and 0 elsewhere (use 0 at z = 0)."),
)
