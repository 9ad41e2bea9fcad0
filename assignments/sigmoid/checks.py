"""Checks of the sigmoid assignment (run in the trusted parent)."""

from __future__ import annotations

import numpy as np

from plugins import CheckContext, CheckDef, Outcome
from plugins.checklib import (
    ATOL,
    RTOL,
    as_array,
    as_float,
    describe_gradient_error,
    elementwise_derivative,
    mismatch,
    student_check,
)

NEURON_EXAMPLE = 0.9990889488055994


def _random_shapes(rng: np.random.Generator) -> list[tuple[int, ...]]:
    return [(), (int(rng.integers(2, 9)),), (int(rng.integers(2, 6)), int(rng.integers(2, 6))),
            (int(rng.integers(3, 6)), 1)]


@student_check
def neuron_example(ctx: CheckContext) -> Outcome:
    got = as_float(ctx.call("neuron", np.array([0.0, 1.0]), 4.0, np.array([2.0, 3.0])),
                   "neuron([0, 1], 4, [2, 3])")
    problem = mismatch("neuron([0, 1], 4, [2, 3])", got, NEURON_EXAMPLE, show_expected=True)
    return Outcome(problem is None, problem or "neuron([0, 1], 4, [2, 3]) = 0.99908894880…")


@student_check
def sigmoid_examples(ctx: CheckContext) -> Outcome:
    at_zero = as_float(ctx.call("sigmoid", 0.0), "sigmoid(0)")
    if problem := mismatch("sigmoid(0)", at_zero, 0.5, show_expected=True):
        return Outcome(False, problem)
    z = np.array([-1.0, 0.0, 1.0])
    got = as_array(ctx.call("sigmoid", z), "sigmoid(np.array([-1, 0, 1]))", shape=(3,))
    problem = mismatch("sigmoid(np.array([-1, 0, 1]))", got, ctx.reference.sigmoid(z),
                       show_expected=True)
    return Outcome(problem is None, problem or "sigmoid(0) and sigmoid([-1, 0, 1]) are right")


@student_check
def sigmoid_random(ctx: CheckContext) -> Outcome:
    for shape in _random_shapes(ctx.rng):
        z = ctx.rng.normal(0, 3, size=shape)
        what = f"sigmoid of an array of shape {shape}" if shape else "sigmoid of a number"
        got = as_array(ctx.call("sigmoid", z if shape else float(z)), what, shape=shape)
        if problem := mismatch(what, got, ctx.reference.sigmoid(z)):
            return Outcome(False, problem)
    return Outcome(True, "matches on arrays of several shapes and on a scalar")


@student_check
def sigmoid_extreme(ctx: CheckContext) -> Outcome:
    z = np.concatenate([[-1000.0, -745.5, -50.0, 0.0, 50.0, 745.5, 1000.0],
                        ctx.rng.uniform(-1000, 1000, size=5)])
    got = np.asarray(ctx.call("sigmoid", z))
    if got.shape != z.shape:
        return Outcome(False, f"sigmoid of an array of shape {z.shape} returned shape {got.shape}")
    got = got.astype(float)
    if not np.all(np.isfinite(got)):
        return Outcome(False, "sigmoid returns nan or inf for inputs like ±1000: "
                              "e^(−z) overflows; see the handout on numerical stability")
    if np.any(got < 0) or np.any(got > 1):
        return Outcome(False, "sigmoid returns values outside [0, 1] for large inputs")
    problem = mismatch("sigmoid at large |z|", got, ctx.reference.sigmoid(z), atol=1e-12)
    return Outcome(problem is None, problem or "finite and in [0, 1] at ±1000")


@student_check
def sigmoid_prime_check(ctx: CheckContext) -> Outcome:
    z = ctx.rng.normal(0, 3, size=(int(ctx.rng.integers(3, 7)), 2))
    got = as_array(ctx.call("sigmoid_prime", z), "sigmoid_prime(z)", shape=z.shape)
    true = elementwise_derivative(ctx.reference.sigmoid, z)
    s = ctx.reference.sigmoid(z)
    words = describe_gradient_error(got, true, {
        "looks like z·(1 − z): apply the formula to σ(z), i.e. σ(z)·(1 − σ(z))": z * (1 - z),
        "looks like σ(z) itself, not its derivative": s,
    }, rtol=RTOL, atol=ATOL)
    if words:
        return Outcome(False, f"sigmoid_prime {words} (compared with finite differences)")
    return Outcome(True, "agrees with finite differences of σ")


@student_check
def neuron_random(ctx: CheckContext) -> Outcome:
    for _ in range(3):
        n = int(ctx.rng.integers(2, 8))
        w, x, b = ctx.rng.normal(size=n), ctx.rng.normal(size=n), float(ctx.rng.normal())
        got = as_float(ctx.call("neuron", w, b, x), "neuron(weights, bias, x)")
        if problem := mismatch("neuron(weights, bias, x) on random inputs", got,
                               ctx.reference.neuron(w, b, x)):
            return Outcome(False, problem)
    return Outcome(True, "matches on random weights, biases and inputs")


CHECKS = (
    CheckDef("neuron example", neuron_example, points=2, visibility="visible",
             hint="σ(w·x + b) with w = [0, 1], b = 4, x = [2, 3]"),
    CheckDef("sigmoid examples", sigmoid_examples, points=1, visibility="visible",
             hint="σ(0) = 0.5; numpy arrays must work (use np.exp, not math.exp)"),
    CheckDef("sigmoid on random arrays", sigmoid_random, points=2,
             hint="elementwise on arrays of any shape, and on plain numbers"),
    CheckDef("sigmoid at extreme inputs", sigmoid_extreme, points=1,
             hint="σ(±1000) must be finite and within [0, 1]"),
    CheckDef("sigmoid_prime vs finite differences", sigmoid_prime_check, points=2,
             hint="σ'(z) = σ(z)·(1 − σ(z))"),
    CheckDef("neuron on random inputs", neuron_random, points=2,
             hint="a dot product, plus the bias, through σ; return a float"),
)
