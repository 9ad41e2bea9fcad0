"""Wikipedia-style gradient descent that notices divergence only when x overflows to inf or
nan, not at |x| > 1e10 as the contract asks: a slowly growing run is never reported."""

import math

import numpy as np


def gradient_descent(df, x0, step, precision, max_iters):
    cur_x = x0
    history = [cur_x]
    for i in range(max_iters):
        prev_x = cur_x
        cur_x = cur_x - step * df(prev_x)
        if not math.isfinite(cur_x):
            raise OverflowError(f"diverged after {i + 1} steps")
        history.append(cur_x)
        if abs(cur_x - prev_x) <= precision:
            break
    return cur_x, history


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
