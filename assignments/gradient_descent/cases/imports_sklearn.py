"""Imports scikit-learn, which from-scratch assignments refuse."""

from sklearn.linear_model import SGDRegressor  # noqa: F401

import math

import numpy as np

#: |x| beyond this means the iteration has run away
DIVERGENCE_BOUND = 1e10


def gradient_descent(df, x0, step, precision, max_iters):
    """Follow −df from x0 until a step is at most `precision` or after `max_iters` steps."""
    x = float(x0)
    history = [x]
    for i in range(max_iters):
        x_new = x - step * df(x)
        if not math.isfinite(x_new) or abs(x_new) > DIVERGENCE_BOUND:
            raise OverflowError(f"diverged after {i + 1} steps (x = {x_new:.3g})")
        history.append(x_new)
        if abs(x_new - x) <= precision:
            return x_new, history
        x = x_new
    return x, history


# ---- provided: the grader calls `descend`; keep these two functions as they are ----

def polynomial(coefficients):
    """The function x ↦ c₀ + c₁·x + c₂·x² + … (Horner's rule)."""
    coefficients = [float(c) for c in coefficients]

    def p(x):
        total = 0.0
        for c in reversed(coefficients):
            total = total * x + c
        return total

    return p


def descend(df_coefficients, x0, step, precision, max_iters):
    """Run `gradient_descent` with df = polynomial(df_coefficients) and report the outcome."""
    try:
        x, history = gradient_descent(polynomial(df_coefficients), x0, step, precision,
                                      max_iters)
    except OverflowError as error:
        return {"diverged": True, "message": str(error)}
    return {"diverged": False, "x": np.asarray(x, dtype=float),
            "history": np.asarray(history, dtype=float)}
