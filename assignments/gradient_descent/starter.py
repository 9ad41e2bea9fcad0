"""Assignment: gradient descent.

Write `gradient_descent` below. Use the Python standard library and numpy only.
Keep the provided `polynomial` and `descend` at the end as they are: the grader
calls `descend`, which builds df and calls your function.
Upload this file as solution.py.
"""

import numpy as np

#: |x| beyond this means the iteration has run away
DIVERGENCE_BOUND = 1e10


def gradient_descent(df, x0, step, precision, max_iters):
    """Minimise a function of one variable, given its derivative `df`.

    Start at x0 and repeat x_new = x − step·df(x):
    - record x0 and every new x in `history` (a list of floats);
    - stop as soon as |x_new − x| ≤ precision, returning x_new;
    - stop after `max_iters` updates at the latest, returning the last x;
    - if x_new is inf/nan or |x_new| > DIVERGENCE_BOUND, raise OverflowError
      with a short message (the step is too large and the iteration diverges).

    Returns (x, history). Example:
        df = lambda x: 4 * x**3 - 9 * x**2
        gradient_descent(df, 6, 0.01, 1e-5, 10000)
        → (2.2499646074278457, [6, 0.6, …])   # 70 updates, 71 entries
    """
    raise NotImplementedError


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


if __name__ == "__main__":
    x, history = gradient_descent(lambda x: 4 * x**3 - 9 * x**2, 6, 0.01, 1e-5, 10000)
    print(x, len(history) - 1, "updates")
