"""Checks of the sigmoid assignment (run in the trusted parent)."""

from __future__ import annotations

import numpy as np

from neurograde import as_array, as_float, check, expect, expect_close, expect_gradient
from neurograde.checklib import ATOL, RTOL, elementwise_derivative

NEURON_EXAMPLE = 0.9990889488055994


def _random_shapes(rng: np.random.Generator) -> list[tuple[int, ...]]:
    return [(), (int(rng.integers(2, 9)),), (int(rng.integers(2, 6)), int(rng.integers(2, 6))),
            (int(rng.integers(3, 6)), 1)]


@check("neuron example", points=2, visible=True,
       hint="σ(w·x + b) with w = [0, 1], b = 4, x = [2, 3]")
def neuron_example(ctx):
    what = "neuron([0, 1], 4, [2, 3])"
    got = as_float(ctx.call("neuron", np.array([0.0, 1.0]), 4.0, np.array([2.0, 3.0])), what)
    expect_close(what, got, NEURON_EXAMPLE, show_expected=True)
    return "neuron([0, 1], 4, [2, 3]) = 0.99908894880…"


@check("sigmoid examples", points=1, visible=True,
       hint="σ(0) = 0.5; numpy arrays must work (use np.exp, not math.exp)")
def sigmoid_examples(ctx):
    expect_close("sigmoid(0)", as_float(ctx.call("sigmoid", 0.0), "sigmoid(0)"), 0.5,
                 show_expected=True)
    z, what = np.array([-1.0, 0.0, 1.0]), "sigmoid(np.array([-1, 0, 1]))"
    got = as_array(ctx.call("sigmoid", z), what, shape=(3,))
    expect_close(what, got, ctx.reference.sigmoid(z), show_expected=True)
    return "sigmoid(0) and sigmoid([-1, 0, 1]) are right"


@check("sigmoid on random arrays", points=2,
       hint="elementwise on arrays of any shape, and on plain numbers")
def sigmoid_random(ctx):
    for shape in _random_shapes(ctx.rng):
        z = ctx.rng.normal(0, 3, size=shape)
        what = f"sigmoid of an array of shape {shape}" if shape else "sigmoid of a number"
        got = as_array(ctx.call("sigmoid", z if shape else float(z)), what, shape=shape)
        expect_close(what, got, ctx.reference.sigmoid(z))
    return "matches on arrays of several shapes and on a scalar"


@check("sigmoid at extreme inputs", points=1, hint="σ(±1000) must be finite and within [0, 1]")
def sigmoid_extreme(ctx):
    z = np.concatenate([[-1000.0, -745.5, -50.0, 0.0, 50.0, 745.5, 1000.0],
                        ctx.rng.uniform(-1000, 1000, size=5)])
    got = np.asarray(ctx.call("sigmoid", z))
    expect(got.shape == z.shape,
           f"sigmoid of an array of shape {z.shape} returned shape {got.shape}")
    got = got.astype(float)
    expect(np.all(np.isfinite(got)), "sigmoid returns nan or inf for inputs like ±1000: "
                                     "e^(−z) overflows; see the handout on numerical stability")
    expect(np.all((got >= 0) & (got <= 1)),
           "sigmoid returns values outside [0, 1] for large inputs")
    expect_close("sigmoid at large |z|", got, ctx.reference.sigmoid(z), atol=1e-12)
    return "finite and in [0, 1] at ±1000"


@check("sigmoid_prime vs finite differences", points=2, hint="σ'(z) = σ(z)·(1 − σ(z))")
def sigmoid_prime_check(ctx):
    z = ctx.rng.normal(0, 3, size=(int(ctx.rng.integers(3, 7)), 2))
    got = as_array(ctx.call("sigmoid_prime", z), "sigmoid_prime(z)", shape=z.shape)
    expect_gradient("sigmoid_prime", got, elementwise_derivative(ctx.reference.sigmoid, z), {
        "looks like z·(1 − z): apply the formula to σ(z), i.e. σ(z)·(1 − σ(z))": z * (1 - z),
        "looks like σ(z) itself, not its derivative": ctx.reference.sigmoid(z),
    }, rtol=RTOL, atol=ATOL, suffix=" (compared with finite differences)")
    return "agrees with finite differences of σ"


@check("neuron on random inputs", points=2,
       hint="a dot product, plus the bias, through σ; return a float")
def neuron_random(ctx):
    for _ in range(3):
        n = int(ctx.rng.integers(2, 8))
        w, x, b = ctx.rng.normal(size=n), ctx.rng.normal(size=n), float(ctx.rng.normal())
        got = as_float(ctx.call("neuron", w, b, x), "neuron(weights, bias, x)")
        expect_close("neuron(weights, bias, x) on random inputs", got,
                     ctx.reference.neuron(w, b, x))
    return "matches on random weights, biases and inputs"
