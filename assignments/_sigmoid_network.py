"""The sigmoid network of the course's vectorized assignments (mnist, digits): the checks
of init_network, forward and backprop on small random networks and of vectorization,
declared once here (`network_checks`) and taken into each assignment's checks with
`reuse_checks`; run in the trusted parent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from neurograde import (
    CheckContext,
    CheckDef,
    Outcome,
    StudentCallError,
    as_array,
    central_difference,
    check,
    diagnose_gradients,
    expect_close,
)
from plugins.model_scoring import LayerContract

GRADIENT_NET_SIZES = ((5, 4, 3), (4, 5, 3, 2))
GRADIENT_BATCH = 6
SPEED_SIZES = (784, 100, 10)
SPEED_BATCH = 1000

Params = list[tuple[np.ndarray, np.ndarray]]


def read_network(value: Any, sizes: Sequence[int], what: str) -> Params:
    """A student's [(W, b), …] (or gradients [(dW, db), …]) checked against `sizes`."""
    layers = len(sizes) - 1
    if not isinstance(value, (list, tuple)) or len(value) != layers:
        count = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
        raise StudentCallError(f"{what} should be a list of {layers} (W, b) pairs, one per "
                               f"layer, got {count}")
    network = []
    for i, (pair, n_in, n_out) in enumerate(zip(value, sizes[:-1], sizes[1:], strict=True), 1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise StudentCallError(f"{what}: layer {i} should be a pair (W, b)")
        network.append((as_array(pair[0], f"{what}: W of layer {i}", (n_out, n_in)),
                        as_array(pair[1], f"{what}: b of layer {i}", (n_out, 1))))
    return network


def random_network(rng: np.random.Generator, sizes: Sequence[int]) -> Params:
    return [(rng.normal(0, 1, size=(n_out, n_in)), rng.normal(0, 1, size=(n_out, 1)))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    Y = np.zeros((classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def _cost(reference, params: Params, X: np.ndarray, Y: np.ndarray) -> float:
    return float(np.sum((reference.forward(params, X) - Y) ** 2) / (2 * X.shape[1]))


def finite_difference_gradients(reference, params: Params, X, Y) -> Params:
    """∂C/∂W and ∂C/∂b of every layer by central differences of the reference cost."""
    flat = np.concatenate([np.concatenate([W.ravel(), b.ravel()]) for W, b in params])

    def unflatten(vector: np.ndarray) -> Params:
        out, at = [], 0
        for W, b in params:
            out.append((vector[at:at + W.size].reshape(W.shape),
                        vector[at + W.size:at + W.size + b.size].reshape(b.shape)))
            at += W.size + b.size
        return out

    return unflatten(central_difference(lambda v: _cost(reference, unflatten(v), X, Y), flat))


def backprop_without_hidden_derivative(reference, params: Params, X, Y) -> Params:
    """The gradients a student gets when hidden layers skip σ′ in the backward pass."""
    activations = [X]
    for W, b in params:
        activations.append(reference.sigmoid(W @ activations[-1] + b))
    A = activations[-1]
    delta = (A - Y) * A * (1 - A) / X.shape[1]
    grads = []
    for layer in range(len(params) - 1, -1, -1):
        grads.append((delta @ activations[layer].T, delta.sum(axis=1, keepdims=True)))
        delta = params[layer][0].T @ delta
    return grads[::-1]


def _named(grads: Params) -> dict[str, np.ndarray]:
    named = {}
    for i, (dW, db) in enumerate(grads, 1):
        named[f"dW{i}"], named[f"db{i}"] = dW, db
    return named


def _variants(ctx: CheckContext, params: Params, X, Y, true: dict[str, np.ndarray]):
    m = X.shape[1]
    missing = _named(backprop_without_hidden_derivative(ctx.reference, params, X, Y))
    variants: dict[str, dict[str, np.ndarray]] = {}
    last = len(params)
    for name, value in true.items():
        options = {f"is m× the correct value (m = {m}): the cost is a mean over the batch, "
                   "so divide by m": value * m}
        if int(name[2:]) < last:
            options["is missing the sigmoid derivative σ′(z) = a·(1 − a) of the hidden "
                    "layer(s) in the backward pass"] = missing[name]
        variants[name] = options
    return variants


@check("init_network shapes", points=1,
       hint="[(W, b), …] with W of shape (n_out, n_in), b of shape (n_out, 1)")
def init_shapes(ctx: CheckContext) -> Outcome:
    sizes = [int(ctx.rng.integers(3, 9)) for _ in range(3)]
    what = f"init_network({sizes}, seed=1)"
    first = read_network(ctx.call("init_network", sizes, seed=1), sizes, what)
    again = read_network(ctx.call("init_network", sizes, seed=1), sizes, what)
    if any(not np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True)):
        return Outcome(False, "init_network gives different weights for the same seed: draw "
                              "them from np.random.default_rng(seed)")
    for i, (W, _) in enumerate(first, 1):
        if np.allclose(W, W[:1, :1]):
            return Outcome(False, f"all weights of layer {i} are equal: neurons of a layer "
                                  "must start different (random) or they learn the same thing")
    return Outcome(True, "shapes (n_out, n_in) and (n_out, 1), random and reproducible")


@check("forward on small random networks", points=1,
       hint="A = σ(W @ A + b) layer by layer, one column per example")
def forward_random(ctx: CheckContext) -> Outcome:
    for sizes in GRADIENT_NET_SIZES:
        params = random_network(ctx.rng, sizes)
        X = ctx.rng.random((sizes[0], GRADIENT_BATCH))
        what = f"forward on a random {'-'.join(map(str, sizes))} network"
        got = as_array(ctx.call("forward", params, X), what, (sizes[-1], GRADIENT_BATCH))
        expect_close(what, got, ctx.reference.forward(params, X))
    return Outcome(True, "matches on small random networks")


@check("gradient check on small random networks", points=3,
       hint="C = 1/(2m)·Σ‖a − y‖²: a mean over the batch")
def gradients(ctx: CheckContext) -> Outcome:
    for sizes in GRADIENT_NET_SIZES:
        params = random_network(ctx.rng, sizes)
        X = ctx.rng.random((sizes[0], GRADIENT_BATCH))
        Y = one_hot(ctx.rng.integers(0, sizes[-1], GRADIENT_BATCH), sizes[-1])
        label = "-".join(map(str, sizes))
        got = _named(read_network(ctx.call("backprop", params, X, Y), sizes,
                                  f"backprop on a {label} network"))
        true = _named(finite_difference_gradients(ctx.reference, params, X, Y))
        problems = diagnose_gradients(got, true, _variants(ctx, params, X, Y, true))
        if problems:
            words = "; ".join(f"∂C/∂{name[1:]} ({name}) {text}" for name, text in problems.items())
            return Outcome(False, f"on a random {label} network with m = {GRADIENT_BATCH}: "
                                  f"{words} (compared with finite differences of C)")
    return Outcome(True, "all layers agree with finite differences of C")


#: allowed CPU time of the student's backprop, as a multiple of the reference's: vectorized
#: variants measured 1.2–1.8× (Nielsen's matrix backprop) and 3.3–4.3× (einsum), a loop over
#: the examples 14–17× (64-100-10 and 784-100-10, m = 1000, one thread); see docs/grading.md
VECTORIZATION_RATIO = 8.0
#: a loop over examples is named only when each extra column costs at least this share of
#: the reference's whole computation for one example (vectorized code: 0.05–0.2 on digits)
LOOP_EVIDENCE = 0.5
#: the small batch of the loop test: its time holds the call's fixed costs (wire, setup)
SMALL_BATCH = 10


def _speed_batches(ctx: CheckContext, sizes: Sequence[int], batch: int, count: int,
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """`count` different random batches (X, Y), so no repeat can reuse an earlier result."""
    return [(ctx.rng.random((sizes[0], batch)),
             one_hot(ctx.rng.integers(0, sizes[-1], batch), sizes[-1])) for _ in range(count)]


def _reference_cpu_s(reference, params: Params, X: np.ndarray, Y: np.ndarray,
                     threads: int) -> float:
    with threadpool_limits(limits=threads):
        start = time.thread_time()
        reference.backprop(params, X, Y)
        return time.thread_time() - start


def _student_cpu_s(ctx: CheckContext, network, X, Y, sizes: Sequence[int]) -> float:
    value, seconds = ctx.cpu_timed_call("backprop", network, X, Y)
    read_network(value, sizes, f"backprop on a {'-'.join(map(str, sizes))} network")
    return seconds


def _loop_evidence(ctx: CheckContext, params: Params, sizes: Sequence[int], batch: int,
                   student: float, repeats: int) -> str:
    """Words naming a loop over the examples, only if the timing proves one: each extra
    column costs about as much as the reference's whole computation for one example, i.e.
    the per-example work runs once per column. (The marginal cost, from a second batch
    size, leaves out the call's fixed costs.)"""
    network = [(ctx.share(W), ctx.share(b)) for W, b in params]
    small = min(_student_cpu_s(ctx, network, *_speed_batches(ctx, sizes, SMALL_BATCH, 1)[0],
                               sizes) for _ in range(repeats))
    one = min(_reference_cpu_s(ctx.reference, params, *_speed_batches(ctx, sizes, 1, 1)[0],
                               ctx.limits.threads) for _ in range(repeats))
    per_column = (student - small) / (batch - SMALL_BATCH)
    if one <= 0 or per_column < LOOP_EVIDENCE * one:
        return ""
    return (f"; its time grows with m as a loop over the examples does: each extra column "
            f"costs {per_column * 1e3:.3f} ms, {per_column / one:.1f}× the reference's time "
            f"for a whole batch of one example ({one * 1e3:.3f} ms): replace the Python loop "
            "over the examples by matrix products over the whole batch (W @ X with X of "
            "shape (n_in, m))")


def vectorization_check_of(sizes: Sequence[int], batch: int,
                           ) -> Callable[[CheckContext], Outcome]:
    """A check that compares the CPU time of the student's backprop on a `sizes` network
    with `batch` columns with the reference's, measured in the same run.

    CPU time, not wall time: a loaded machine delays a process, but does not make it use
    more CPU. Student and reference calls alternate on identical fresh inputs and the
    fastest of each counts, so a slow moment hurts neither side alone.
    """
    label = "-".join(map(str, sizes))

    def run(ctx: CheckContext) -> Outcome:
        repeats = int(ctx.params.get("timing_repeats", 5))
        ratio = float(ctx.params.get("vectorization_ratio", VECTORIZATION_RATIO))
        params = ctx.reference.init_network(list(sizes), int(ctx.rng.integers(2**31)))
        # shared as files before timing, so the timing measures the computation, not the
        # transfer
        network = [(ctx.share(W), ctx.share(b)) for W, b in params]
        student = reference = float("inf")
        for X, Y in _speed_batches(ctx, sizes, batch, repeats):
            student = min(student, _student_cpu_s(ctx, network, ctx.share(X), ctx.share(Y),
                                                  sizes))
            reference = min(reference, _reference_cpu_s(ctx.reference, params, X, Y,
                                                         ctx.limits.threads))
        allowed = ratio * reference
        summary = (f"backprop on a {label} network with m = {batch} used {student * 1e3:.2f} ms "
                   f"of CPU time (fastest of {repeats} calls), {student / reference:.1f}× the "
                   f"reference's {reference * 1e3:.2f} ms measured in this run; allowed: "
                   f"{ratio:g}× = {allowed * 1e3:.2f} ms")
        metrics = {"backprop_cpu_seconds": student}
        if student > allowed:
            cause = _loop_evidence(ctx, params, sizes, batch, student, repeats)
            return Outcome(False, f"{summary}: slower than allowed{cause}", metrics=metrics)
        return Outcome(True, summary, metrics=metrics)

    return run


def network_checks(speed_sizes: Sequence[int] = SPEED_SIZES, speed_batch: int = SPEED_BATCH,
                   ) -> tuple[CheckDef, ...]:
    """The checks mnist and digits share, in their order on the result page; the
    vectorization check times a `speed_sizes` network on `speed_batch` columns. Each
    assignment takes them into its checks with `reuse_checks`."""
    vectorized = check(
        "vectorized backprop", points=2,
        hint="matrix products over the whole batch (W @ X with X of shape (n_in, m)); the "
             "CPU time is compared with the reference's on the same batches",
    )(vectorization_check_of(speed_sizes, speed_batch))
    return (init_shapes, forward_random, gradients, vectorized)



def init_advice(ctx: CheckContext, n_in: int = 784, n_hidden: int = 100) -> str | None:
    """A cause for low accuracy, measured here: init_network's first-layer weight scale.
    N(0, 1) weights on 784 inputs saturate the sigmoids and training stalls."""
    sizes = [n_in, n_hidden, 10]
    try:
        W = read_network(ctx.call("init_network", sizes, seed=0), sizes, "init_network")[0][0]
    except StudentCallError:
        return None
    std, good = float(W.std()), 1 / np.sqrt(n_in)
    if std < 3 * good:
        return None
    return (f"init_network({sizes}) draws first-layer weights with standard deviation "
            f"{std:.2f}: the inputs z = W @ x then have a spread of about "
            f"{std * np.sqrt(n_in / 10):.0f}, so most sigmoids start saturated and learn "
            f"slowly. Draw W from N(0, 1/n_in) (standard deviation {good:.3f})")


def network_contract(params, n_in: int = 784) -> LayerContract:
    """What `train` must return: [(W, b), …] from `n_in` pixels to 10 digits, size bounded."""
    return LayerContract(n_in=n_in, n_out=10,
                         max_hidden_layers=int(params.get("max_hidden_layers", 2)),
                         max_hidden_units=int(params.get("max_hidden_units", 128)))
