"""Steps uphill: x + step·df(x)."""

import math

import numpy as np


def gradient_descent(df, x0, step, precision, max_iters):
    x = float(x0)
    history = [x]
    for i in range(max_iters):
        x_new = x + step * df(x)
        if not math.isfinite(x_new) or abs(x_new) > 1e10:
            raise OverflowError(f"diverged after {i + 1} steps")
        history.append(x_new)
        if abs(x_new - x) <= precision:
            return x_new, history
        x = x_new
    return x, history


def polynomial(coefficients):
    coefficients = [float(c) for c in coefficients]

    def p(x):
        total = 0.0
        for c in reversed(coefficients):
            total = total * x + c
        return total

    return p


def descend(df_coefficients, x0, step, precision, max_iters):
    try:
        x, history = gradient_descent(polynomial(df_coefficients), x0, step, precision,
                                      max_iters)
    except OverflowError as error:
        return {"diverged": True, "message": str(error)}
    return {"diverged": False, "x": np.asarray(x, dtype=float),
            "history": np.asarray(history, dtype=float)}
