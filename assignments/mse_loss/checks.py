"""Checks of the mse-loss assignment (run in the trusted parent)."""

from __future__ import annotations

import numpy as np

from neurograde import (
    CheckContext,
    as_array,
    as_float,
    central_difference,
    check,
    expect_close,
    expect_gradient,
    fail,
    mismatch,
)

EXAMPLE_TRUE = np.array([1.0, 0.0, 0.0, 1.0])
EXAMPLE_PRED = np.array([0.0, 0.0, 0.0, 0.0])


def _random_pair(ctx: CheckContext, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    y_true = ctx.rng.integers(0, 2, size=shape).astype(float)
    return y_true, ctx.rng.uniform(0, 1, size=shape)


def _grad_variants(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    n = y_pred.size
    return {
        f"is {n}× the correct value (n = {n}): the loss is a mean, so divide by n":
            2.0 * (y_pred - y_true),
        "is missing the factor 2 from differentiating the square": (y_pred - y_true) / n,
    }


@check("mse_loss example", points=1, visible=True, hint="(1/n)·Σ(y_true − y_pred)²")
def loss_example(ctx):
    what = "mse_loss([1, 0, 0, 1], [0, 0, 0, 0])"
    expect_close(what, as_float(ctx.call("mse_loss", EXAMPLE_TRUE, EXAMPLE_PRED), what), 0.5,
                 show_expected=True)
    return f"{what} = 0.5"


@check("mse_loss_grad example", points=1, visible=True, hint="(2/n)·(y_pred − y_true)")
def grad_example(ctx):
    what = "mse_loss_grad([1, 0, 0, 1], [0, 0, 0, 0])"
    got = as_array(ctx.call("mse_loss_grad", EXAMPLE_TRUE, EXAMPLE_PRED), what, shape=(4,))
    expect_close(what, got, np.array([-0.5, 0.0, 0.0, -0.5]), show_expected=True)
    return f"{what} = [-0.5, 0, 0, -0.5]"


@check("mse_loss on random vectors", points=2,
       hint="a mean over all elements, returned as a float")
def loss_random(ctx):
    for shape in ((int(ctx.rng.integers(3, 40)),), (int(ctx.rng.integers(2, 6)), 1)):
        y_true, y_pred = _random_pair(ctx, shape)
        what = f"mse_loss on random arrays of shape {shape}"
        got = as_float(ctx.call("mse_loss", y_true, y_pred), what)
        expected = ctx.reference.mse_loss(y_true, y_pred)
        if np.isclose(got, expected * y_pred.size) and mismatch(what, got, expected):
            fail(f"{mismatch(what, got, expected)} (it is n times too large: take the mean, "
                 "not the sum)")
        expect_close(what, got, expected)
    return "matches on random vectors"


@check("gradient check: mse_loss_grad", points=2,
       hint="differentiate the mean of squares with respect to y_pred")
def grad_check(ctx):
    for shape in ((int(ctx.rng.integers(3, 12)),), (int(ctx.rng.integers(2, 6)), 1)):
        y_true, y_pred = _random_pair(ctx, shape)
        got = as_array(ctx.call("mse_loss_grad", y_true, y_pred), "mse_loss_grad(...)",
                       shape=shape)
        true = central_difference(lambda p, t=y_true: ctx.reference.mse_loss(t, p), y_pred)
        expect_gradient("∂L/∂y_pred", got, true, _grad_variants(y_true, y_pred),
                        suffix=" (compared with finite differences of the loss)")
    return "agrees with finite differences of the loss"

