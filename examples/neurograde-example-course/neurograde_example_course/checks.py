"""Checks of `example-relu`. They run in the trusted grading process; the student's
functions are reached only through `ctx.call`, which runs them in the sandbox."""

from __future__ import annotations

import numpy as np

from neurograde import as_array, check, expect_close


def _compare(ctx, function: str, z: np.ndarray, what: str, *, visible: bool = False) -> None:
    """Fail the check unless the student's `function(z)` matches the reference."""
    got = as_array(ctx.call(function, z), what, shape=z.shape)
    # a visible check may show the expected values; a hidden one must not
    expect_close(what, got, getattr(ctx.reference, function)(z), show_expected=visible)


@check("relu-visible", points=1, visible=True,
       hint="relu(z) = max(0, z) elementwise; np.maximum does it.")
def relu_visible(ctx):
    _compare(ctx, "relu", np.array([-2.0, -0.5, 0.0, 0.5, 2.0]), "relu([-2, -0.5, 0, 0.5, 2])",
             visible=True)
    return "relu([-2, -0.5, 0, 0.5, 2]) is right"


@check("relu-hidden", points=2, hint="Keep the input's shape; work on whole arrays.")
def relu_hidden(ctx):
    blobs = ctx.dataset("example-blobs").arrays["X_train"]
    for z in (ctx.rng.normal(0, 3, size=(4, 7)), np.array(blobs), np.zeros((2, 3))):
        _compare(ctx, "relu", z, f"relu of an input of shape {z.shape}")
    return "relu matches on random matrices and on the blobs data"


@check("relu-prime", points=1,
       hint="The derivative is 1 where z > 0 and 0 elsewhere (use 0 at z = 0).")
def relu_prime(ctx):
    z = ctx.rng.normal(0, 3, size=(3, 5))
    z[ctx.rng.random(z.shape) < 0.3] = 0.0  # the kink: the derivative is 0 there
    _compare(ctx, "relu_prime", z, f"relu_prime of an input of shape {z.shape}")
    return "relu_prime is right (0 for z <= 0, else 1)"
