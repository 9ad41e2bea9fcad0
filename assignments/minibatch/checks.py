"""Checks of the mini-batch assignment (run in the trusted parent).

The update loops take a gradient *function*, which cannot cross into the
sandbox: checks call the provided adapter `run(method, gradient, ...)`, which
picks one of the starter's gradient functions by name. Trajectories are
compared with the reference run here on the same hidden data and seeds; when
they differ, the trajectories of typical mistakes tell the student which one.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from neurograde import CheckContext, Outcome, as_array, check

#: the handout's example: y = 1 + 2x on x = 0, 1, 2, 3 (first row of X is the bias input)
EXAMPLE_X = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 2.0, 3.0]])
EXAMPLE_Y = np.array([1.0, 3.0, 5.0, 7.0])
RTOL, ATOL = 1e-8, 1e-10


def _problem(rng: np.random.Generator, gradient: str = "squared_error") -> dict[str, Any]:
    n, m = int(rng.integers(2, 5)), int(rng.integers(7, 21))
    X = rng.normal(0, 1, (n, m))
    X[0] = 1.0  # a bias input
    w_true = rng.normal(0, 2, n)
    if gradient == "logistic":
        y = (X.T @ w_true + rng.normal(0, 0.5, m) > 0).astype(float)
    else:
        y = X.T @ w_true + rng.normal(0, 0.1, m)
    return {"gradient": gradient, "w0": rng.normal(0, 0.5, n), "X": X, "y": y,
            "learn_rate": 0.05, "epochs": int(rng.integers(2, 4))}


def _batch_size(rng: np.random.Generator, m: int) -> int:
    """A batch size between 2 and m − 1 that does not divide m (so a partial batch exists)."""
    sizes = [b for b in range(2, m) if m % b]
    return int(rng.choice(sizes))


def _call(ctx: CheckContext, method: str, problem: dict[str, Any], batch_size: int | None,
          seed: int) -> np.ndarray:
    p = problem
    got = ctx.call("run", method, p["gradient"], p["w0"], p["X"], p["y"], p["learn_rate"],
                   p["epochs"], batch_size=batch_size, seed=seed)
    return as_array(got, f"the history returned by {method}")


def _variant(ctx: CheckContext, problem: dict[str, Any], batch_size: int, seed: int,
             mistake: str) -> np.ndarray:
    """The trajectory of mini-batch descent with one typical mistake."""
    p = problem
    grad = ctx.reference.GRADIENTS[p["gradient"]]
    X, y, m = p["X"], p["y"], p["X"].shape[1]
    rng = np.random.default_rng(seed)
    legacy, stdlib = np.random.RandomState(seed % 2**32), random.Random(seed)
    w = np.array(p["w0"], dtype=float)
    history = [w.copy()]
    for _ in range(p["epochs"]):
        if mistake == "reseeded":
            rng = np.random.default_rng(seed)
        order = np.arange(m) if mistake == "no shuffle" else rng.permutation(m)
        if mistake == "legacy order":
            order = legacy.permutation(m)
        elif mistake == "stdlib order":
            order = list(range(m))
            stdlib.shuffle(order)
            order = np.array(order)
        stop = m - batch_size + 1 if mistake == "drops last" else m
        for start in range(0, stop, batch_size):
            batch = order[start:start + batch_size]
            step = p["learn_rate"] * grad(w, X[:, batch], y[batch])
            w = w + step if mistake == "sign" else w - step
            history.append(w.copy())
    if mistake == "aliased":
        history = [w] * len(history)
    return np.array(history)


MISTAKES = {
    "no shuffle": "goes through the examples in their stored order: draw rng.permutation(m) "
                  "at the start of every epoch",
    "reseeded": "repeats the same order every epoch: create the generator once, before the "
                "epoch loop, not inside it",
    "legacy order": "visits the examples in a different random order, the one "
                    "np.random.seed(seed) / np.random.permutation(m) gives: draw it with "
                    "rng = np.random.default_rng(seed), created once, and rng.permutation(m) "
                    "every epoch",
    "stdlib order": "visits the examples in a different random order, the one Python's "
                    "random.shuffle gives: draw it with rng = np.random.default_rng(seed), "
                    "created once, and rng.permutation(m) every epoch",
    "drops last": "skips the last, smaller batch: when batch_size does not divide m, the "
                  "remaining examples form one more update",
    "sign": "moves uphill: the update is w ← w − learn_rate·grad",
    "aliased": "has the final weights in every row: append a copy of w (w.copy()), not w "
               "itself, or do not update it in place",
}


def _aliased_rows(got: np.ndarray, want: np.ndarray) -> int | None:
    """The first row of a run of rows equal to the final weights (at least two besides the
    last), where the reference's rows differ: history holds the same array many times
    (row 0 included or not)."""
    if got.shape != want.shape or len(got) < 3:
        return None
    same = [bool(np.array_equal(row, got[-1])) for row in got]
    first = len(got) - 1
    while first > 0 and same[first - 1]:
        first -= 1
    if len(got) - first < 3 or np.allclose(want[first], want[-1], rtol=RTOL, atol=ATOL):
        return None
    return first


def _compare(ctx: CheckContext, method: str, problem: dict[str, Any], batch_size: int | None,
             seed: int, label: str) -> tuple[str | None, str | None]:
    """(None, None) if the student's trajectory matches the reference, else what is wrong
    and which of MISTAKES it is (None if not recognised)."""
    got = _call(ctx, method, problem, batch_size, seed)
    p = problem
    want = ctx.reference.run(method, p["gradient"], p["w0"], p["X"], p["y"], p["learn_rate"],
                             p["epochs"], batch_size=batch_size, seed=seed)
    if got.shape == want.shape and np.allclose(got, want, rtol=RTOL, atol=ATOL):
        return None, None
    if got.ndim != 2 or got.shape[1] != want.shape[1]:
        return (f"{label}: history should be a 2-D array of shape (updates + 1, n), one row "
                f"of the n = {p['w0'].size} weights per update after the row w0, got shape "
                f"{got.shape}"), None
    if (aliased := _aliased_rows(got, want)) is not None:
        return (f"{label}: rows {aliased} to {len(got) - 1} of history all hold the final "
                "weights: " + MISTAKES["aliased"].split(": ", 1)[1]), "aliased"
    effective = {"sgd": 1, "batch_gd": None}.get(method, batch_size)
    for mistake, words in MISTAKES.items():
        if effective is None and mistake not in ("sign", "aliased"):
            continue
        other = _variant(ctx, problem, effective or p["X"].shape[1], seed, mistake)
        if (other.shape == got.shape and np.allclose(got, other, rtol=RTOL, atol=ATOL)
                and not (other.shape == want.shape and np.allclose(other, want))):
            return f"{label}: the trajectory {words}", mistake
    if not np.allclose(got[0], want[0], rtol=RTOL, atol=ATOL):
        return (f"{label}: the first row of history must be w0 (a copy of the starting "
                "weights)"), None
    rows = min(len(got), len(want))
    first = next((i for i in range(rows) if not np.allclose(got[i], want[i], RTOL, ATOL)), rows)
    count = ("" if len(got) == len(want) else
             "; the number of updates is wrong too: one per mini-batch, ⌈m / batch_size⌉ "
             "per epoch")
    return (f"{label}: the trajectory differs from the reference from update {first} on "
            f"({len(got) - 1} updates made{count})"), None


@check("worked example", points=2, visible=True,
       hint="batch_gd and minibatch_gd on the handout's worked example")
def worked_example(ctx: CheckContext) -> Outcome:
    problem = {"gradient": "squared_error", "w0": np.zeros(2), "X": EXAMPLE_X, "y": EXAMPLE_Y,
               "learn_rate": 0.1, "epochs": 3}
    got = _call(ctx, "batch_gd", problem, None, 0)
    want = ctx.reference.batch_gd(ctx.reference.squared_error_grad, np.zeros(2), EXAMPLE_X,
                                  EXAMPLE_Y, 0.1, 3)
    if got.shape != want.shape or not np.allclose(got, want, rtol=RTOL, atol=ATOL):
        return Outcome(False, "batch_gd on the worked example (w0 = [0, 0], learning rate 0.1, "
                              f"3 epochs): expected\n{np.array2string(want, precision=6)}\n"
                              f"got\n{np.array2string(got, precision=6)}",
                       hint="batch_gd: one update per epoch with the gradient over all m "
                            "examples")
    problem["epochs"] = 2
    got = _call(ctx, "minibatch_gd", problem, 3, 0)
    want = ctx.reference.minibatch_gd(ctx.reference.squared_error_grad, np.zeros(2),
                                      EXAMPLE_X, EXAMPLE_Y, 0.1, 2, 3, seed=0)
    if got.shape != want.shape or not np.allclose(got, want, rtol=RTOL, atol=ATOL):
        return Outcome(False, "minibatch_gd on the worked example (batch_size 3, seed 0, "
                              f"2 epochs): expected\n{np.array2string(want, precision=6)}\n"
                              f"got\n{np.array2string(got, precision=6)}",
                       hint="minibatch_gd: rng = np.random.default_rng(seed) once, then each "
                            "epoch batches order[k : k + batch_size] of rng.permutation(m)")
    return Outcome(True, "batch_gd and minibatch_gd reproduce the worked example")


def _trajectories(ctx: CheckContext, method: str, gradient: str = "squared_error",
                  runs: int = 2) -> Outcome:
    for _ in range(runs):
        problem = _problem(ctx.rng, gradient)
        m = problem["X"].shape[1]
        batch = _batch_size(ctx.rng, m) if method == "minibatch_gd" else None
        seed = int(ctx.rng.integers(0, 2**31 - 1))
        label = f"{method} on hidden data (m = {m}" + (f", batch_size = {batch})" if batch
                                                        else ")")
        text, _ = _compare(ctx, method, problem, batch, seed, label)
        if text:
            return Outcome(False, text)
    return Outcome(True, f"{method} follows the reference trajectory for hidden data and seeds")


@check("batch_gd trajectory", points=1,
       hint="one update per epoch with the gradient over all m examples")
def batch_trajectory(ctx: CheckContext) -> Outcome:
    return _trajectories(ctx, "batch_gd")


@check("sgd trajectory", points=2,
       hint="a new rng.permutation(m) every epoch, one update per example in that order")
def sgd_trajectory(ctx: CheckContext) -> Outcome:
    return _trajectories(ctx, "sgd")


@check("minibatch_gd trajectory", points=2,
       hint="batches order[k : k + batch_size] of each epoch's permutation")
def minibatch_trajectory(ctx: CheckContext) -> Outcome:
    return _trajectories(ctx, "minibatch_gd", runs=3)


@check("updates per epoch", points=2,
       hint="batch_gd 1, sgd m, minibatch_gd ⌈m / batch_size⌉ (the last batch may be "
                  "smaller)")
def updates_per_epoch(ctx: CheckContext) -> Outcome:
    problem = _problem(ctx.rng)
    m, epochs = problem["X"].shape[1], problem["epochs"]
    batch = _batch_size(ctx.rng, m)
    expected = {"batch_gd": (None, 1), "sgd": (None, m),
                "minibatch_gd": (batch, math.ceil(m / batch))}
    for method, (size, per_epoch) in expected.items():
        history = _call(ctx, method, problem, size, int(ctx.rng.integers(0, 2**31 - 1)))
        updates = len(history) - 1 if history.ndim else -1
        if updates != epochs * per_epoch:
            setting = f", batch_size = {size}" if size else ""
            return Outcome(False, f"{method} with m = {m}{setting} made {updates} updates in "
                                  f"{epochs} epochs; expected {per_epoch} per epoch "
                                  f"({epochs * per_epoch}), and history has one more row (w0)")
    return Outcome(True, f"1 update per epoch for batch_gd, m for sgd, ⌈m / batch_size⌉ for "
                         f"minibatch_gd (m = {m}, batch_size = {batch})")


@check("uses the gradient it is given", points=1,
       hint="call grad(w, X_batch, y_batch); never hard-code a loss")
def given_gradient(ctx: CheckContext) -> Outcome:
    """Only whether the loops use the gradient function they are given: the same loop with
    two different gradients must move differently. Other trajectory mistakes are the
    trajectory checks' (each failure is marked down once)."""
    for method in ("batch_gd", "minibatch_gd"):
        problem = _problem(ctx.rng, "logistic")
        batch = _batch_size(ctx.rng, problem["X"].shape[1]) if method == "minibatch_gd" else None
        seed = int(ctx.rng.integers(0, 2**31 - 1))
        logistic = _call(ctx, method, problem, batch, seed)
        squared = _call(ctx, method, {**problem, "gradient": "squared_error"}, batch, seed)
        if logistic.shape == squared.shape and np.allclose(logistic, squared, rtol=RTOL,
                                                           atol=ATOL):
            return Outcome(False, f"{method} follows the same trajectory with logistic_grad as "
                                  "with squared_error_grad: call the grad function you are "
                                  "given, do not compute a particular gradient yourself")
    return Outcome(True, "the loops move differently with a different gradient function")

