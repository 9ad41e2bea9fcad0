"""Checks of the gradient-descent assignment (run in the trusted parent).

The student's `gradient_descent(df, ...)` takes a function, which cannot cross
into the sandbox; every check calls the provided adapter `descend` instead,
which builds df in the child from polynomial coefficients. Expected values come
from the reference run in the parent on the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurograde import CheckContext, Outcome, StudentCallError, check

#: f(x) = x⁴ − 3x³ + 2, so f'(x) = 4x³ − 9x², as coefficients c₀ + c₁x + c₂x² + c₃x³
QUARTIC_DF = (0.0, 0.0, -9.0, 4.0)
MINIMUM = 2.25
EXAMPLE = {"x0": 6.0, "step": 0.01, "precision": 1e-5, "max_iters": 10000}
EXAMPLE_X = 2.2499646074278457
EXAMPLE_STEPS = 70


def quartic(x: np.ndarray) -> np.ndarray:
    return x**4 - 3 * x**3 + 2


def _descend(ctx: CheckContext, coefficients: tuple[float, ...], **kwargs: Any,
             ) -> dict[str, Any]:
    """The student's run through the adapter, validated: {"diverged", "x", "history"}."""
    what = "descend(...)"
    out = ctx.call("descend", list(coefficients), kwargs["x0"], kwargs["step"],
                   kwargs["precision"], kwargs["max_iters"])
    if not isinstance(out, Mapping) or "diverged" not in out:
        raise StudentCallError(f"{what} must return the dict built by the provided adapter; "
                               "keep `descend` and `polynomial` as given in the starter")
    if out["diverged"]:
        return {"diverged": True, "message": str(out.get("message", ""))}
    history = np.asarray(out.get("history"), dtype=float)
    if history.ndim != 1 or history.size == 0:
        raise StudentCallError("gradient_descent must return (x, history) with history a list "
                               "of every x visited, starting with x0")
    x = float(np.asarray(out.get("x"), dtype=float).reshape(()))
    return {"diverged": False, "x": x, "history": history}


def _expected(ctx: CheckContext, coefficients: tuple[float, ...], **kwargs: Any,
              ) -> dict[str, Any]:
    return ctx.reference.descend(list(coefficients), kwargs["x0"], kwargs["step"],
                                 kwargs["precision"], kwargs["max_iters"])


def _not_diverged(got: dict[str, Any], setting: str) -> Outcome | None:
    if got["diverged"]:
        return Outcome(False, f"reported divergence ({got['message']}) for {setting}, where "
                              "gradient descent converges: check the sign of the update "
                              "x ← x − step·df(x)")
    return None


def _hidden_starts(ctx: CheckContext, count: int = 3) -> list[dict[str, Any]]:
    return [{"x0": float(ctx.rng.uniform(1.0, 4.5)), "step": float(ctx.rng.uniform(0.002, 0.01)),
             "precision": 1e-7, "max_iters": 100_000} for _ in range(count)]


def _describe(setting: Mapping[str, Any]) -> str:
    return f"a hidden start x0 ≈ {setting['x0']:.2f} with step {setting['step']:.4f}"


@check("worked example", points=2, visible=True,
       hint="from x0 = 6, step 0.01, precision 1e-5: x ≈ 2.2499646 after 70 steps")
def worked_example(ctx: CheckContext) -> Outcome:
    got = _descend(ctx, QUARTIC_DF, **EXAMPLE)
    if failed := _not_diverged(got, "the worked example"):
        return failed
    steps = got["history"].size - 1
    if abs(got["x"] - EXAMPLE_X) > 1e-9:
        return Outcome(False, f"from x0 = 6 with step 0.01 and precision 1e-5: expected "
                              f"x ≈ {EXAMPLE_X!r} after {EXAMPLE_STEPS} steps, got "
                              f"{got['x']!r} after {steps} steps")
    if steps != EXAMPLE_STEPS:
        return Outcome(False, f"x is right, but history has {got['history'].size} entries; "
                              f"expected {EXAMPLE_STEPS + 1} (x0 and the {EXAMPLE_STEPS} steps)")
    return Outcome(True, f"x = {EXAMPLE_X} after {EXAMPLE_STEPS} steps")


@check("converges from hidden starts", points=2,
       hint="x ← x − step·df(x) reaches x = 2.25 from starts between 1 and 4.5")
def converges(ctx: CheckContext) -> Outcome:
    for setting in _hidden_starts(ctx):
        got = _descend(ctx, QUARTIC_DF, **setting)
        if failed := _not_diverged(got, _describe(setting)):
            return failed
        if not abs(got["x"] - MINIMUM) <= 1e-3:
            return Outcome(False, f"from {_describe(setting)} the result x = {got['x']:.6g} is "
                                  f"not the minimum x = {MINIMUM}")
    return Outcome(True, "reaches x = 2.25 from three hidden starts and steps")


@check("stops on the precision criterion", points=2,
       hint="stop at the first step with |x_new − x| ≤ precision, or after max_iters")
def stops_on_precision(ctx: CheckContext) -> Outcome:
    settings = _hidden_starts(ctx, 2)
    capped = dict(settings[0], max_iters=int(ctx.rng.integers(5, 15)))
    for setting in [*settings, capped]:
        got = _descend(ctx, QUARTIC_DF, **setting)
        if failed := _not_diverged(got, _describe(setting)):
            return failed
        history, want = got["history"], _expected(ctx, QUARTIC_DF, **setting)["history"]
        if history.size == want.size and np.allclose(history, want, rtol=1e-9, atol=1e-12):
            if got["x"] != history[-1]:
                return Outcome(False, "the x you return is not the last entry of history")
            continue
        steps = np.abs(np.diff(history))
        if setting is capped and history.size > setting["max_iters"] + 1:
            return Outcome(False, f"with max_iters = {setting['max_iters']} history has "
                                  f"{history.size} entries: stop after max_iters steps")
        if steps.size and steps[-1] > setting["precision"] and setting is not capped:
            return Outcome(False, f"from {_describe(setting)} the last step was {steps[-1]:.3g},"
                                  f" larger than precision = {setting['precision']:g}: "
                                  "stop when |x_new − x| ≤ precision")
        if steps.size > 1 and np.any(steps[:-1] <= setting["precision"]):
            return Outcome(False, f"from {_describe(setting)} a step was already ≤ precision "
                                  "before the run stopped: stop at the first such step")
        return Outcome(False, f"from {_describe(setting)} history has {history.size} entries, "
                              "not what the stopping rule gives: record x0, then every new x, "
                              "and stop at the first step with |x_new − x| ≤ precision")
    return Outcome(True, "stops at the first step smaller than precision, and after max_iters")


@check("history is monotone for small steps", points=1,
       hint="history = [x0, x1, x2, …]; f(x) must never go up when the step is small")
def monotone_history(ctx: CheckContext) -> Outcome:
    for setting in _hidden_starts(ctx, 2):
        got = _descend(ctx, QUARTIC_DF, **setting)
        if failed := _not_diverged(got, _describe(setting)):
            return failed
        history = got["history"]
        if history[0] != setting["x0"]:
            return Outcome(False, "history must start with x0 (the starting point), then hold "
                                  "every x the descent visits")
        values = quartic(history)
        rises = np.flatnonzero(np.diff(values) > 1e-12 * np.maximum(1.0, np.abs(values[:-1])))
        if rises.size:
            return Outcome(False, f"from {_describe(setting)} f(x) went up at step "
                                  f"{int(rises[0]) + 1}: with a small step every move should "
                                  "go downhill")
    return Outcome(True, "f decreases along history for small steps")


@check("uses the derivative it is given", points=1,
       hint="call df(x); never hard-code the derivative of the example")
def given_derivative(ctx: CheckContext) -> Outcome:
    a, c = float(ctx.rng.uniform(0.5, 3.0)), float(ctx.rng.uniform(-5.0, 5.0))
    # f(x) = a(x − c)² has f'(x) = 2a·x − 2ac
    coefficients = (-2 * a * c, 2 * a)
    setting = {"x0": float(c + ctx.rng.choice([-1, 1]) * ctx.rng.uniform(2, 6)),
               "step": float(0.2 / a), "precision": 1e-9, "max_iters": 10_000}
    got = _descend(ctx, coefficients, **setting)
    if got["diverged"] or not abs(got["x"] - c) <= 1e-6:
        return Outcome(False, "on a hidden quadratic f(x) = a(x − c)² the result is not its "
                              "minimum: call the df you are given (not the example's "
                              "4x³ − 9x²) and step against it")
    return Outcome(True, "minimises another function through the df it is given")


#: the contract's divergence bound: |x_new| above it raises OverflowError
DIVERGENCE_BOUND = 1e10


def _runaway(got: dict[str, Any], setting: Mapping[str, Any], what: str) -> Outcome:
    """The failure for a run that diverged but returned normally."""
    history = got["history"]
    finite = history[np.isfinite(history)]
    largest = float(np.max(np.abs(finite))) if finite.size else float("nan")
    beyond = np.flatnonzero(~np.isfinite(history) | (np.abs(history) > DIVERGENCE_BOUND))
    if beyond.size and np.isfinite(history).all():
        when = (f"|x| passed 1e10 at step {int(beyond[0])} and reached {largest:.3g} after "
                f"{history.size - 1} steps")
    else:
        when = (f"|x| reached {largest:.3g}, and {history.size - finite.size} entries are nan "
                "or inf")
    return Outcome(False, f"{what} with step {setting['step']:.3g} the iteration runs away "
                          f"({when}), but gradient_descent returned normally: raise "
                          "OverflowError as soon as |x_new| > 1e10 or x_new is not finite, "
                          "not only when it becomes inf or nan")


@check("diverging steps are reported", points=2,
       hint="raise OverflowError when |x| exceeds 1e10 or becomes inf/nan")
def reports_divergence(ctx: CheckContext) -> Outcome:
    setting = {"x0": float(ctx.rng.uniform(3.0, 5.0)), "step": float(ctx.rng.uniform(0.3, 0.6)),
               "precision": 1e-6, "max_iters": 10_000}
    got = _descend(ctx, QUARTIC_DF, **setting)
    if not got["diverged"]:
        return _runaway(got, setting, "on f(x) = x⁴ − 3x³ + 2")
    # f(x) = a(x − c)² with step 1.5/a doubles the distance to c every step: |x| passes 1e10
    # after ~35 steps but stays finite for ~1000, so a check for inf alone never fires
    a, c = float(ctx.rng.uniform(0.5, 2.0)), float(ctx.rng.uniform(-2.0, 2.0))
    slow = {"x0": c + float(ctx.rng.uniform(1.0, 3.0)), "step": 1.5 / a, "precision": 1e-6,
            "max_iters": 200}
    got = _descend(ctx, (-2 * a * c, 2 * a), **slow)
    if not got["diverged"]:
        return _runaway(got, slow, "on a hidden f(x) = a(x − c)²")
    return Outcome(True, f"a too-large step is reported: {got['message'][:120]}")

