"""Checks of the mnist assignment (run in the trusted parent).

The test labels never leave this process: the child gets the test images in
an order shuffled per run and returns predictions, which are scored here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from plugins import CheckContext, CheckDef, Outcome, StudentCallError
from plugins.checklib import (
    as_array,
    as_labels,
    central_difference,
    diagnose_gradients,
    mismatch,
    student_check,
    threshold_credit,
)

GRADIENT_NET_SIZES = ((5, 4, 3), (4, 5, 3, 2))
GRADIENT_BATCH = 6
SPEED_SIZES = (784, 100, 10)
SPEED_BATCH = 1000
#: misclassified public images shown per run, drawn at random
MISCLASSIFIED_SHOWN = 12

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


@student_check
def init_check(ctx: CheckContext) -> Outcome:
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


@student_check
def forward_check(ctx: CheckContext) -> Outcome:
    for sizes in GRADIENT_NET_SIZES:
        params = random_network(ctx.rng, sizes)
        X = ctx.rng.random((sizes[0], GRADIENT_BATCH))
        what = f"forward on a random {'-'.join(map(str, sizes))} network"
        got = as_array(ctx.call("forward", params, X), what, (sizes[-1], GRADIENT_BATCH))
        if problem := mismatch(what, got, ctx.reference.forward(params, X)):
            return Outcome(False, problem)
    return Outcome(True, "matches on small random networks")


@student_check
def gradient_check(ctx: CheckContext) -> Outcome:
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


def _min_time(function, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _speed_batches(ctx: CheckContext, sizes: Sequence[int], batch: int, count: int,
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """`count` different random batches (X, Y), so no repeat can reuse an earlier result."""
    return [(ctx.rng.random((sizes[0], batch)),
             one_hot(ctx.rng.integers(0, sizes[-1], batch), sizes[-1])) for _ in range(count)]


def vectorization_check_of(sizes: Sequence[int], batch: int,
                           ) -> Callable[[CheckContext], Outcome]:
    """A check that times the student's backprop on a `sizes` network with `batch` columns
    against the reference's, measured in the same run."""
    label = "-".join(map(str, sizes))

    @student_check
    def run(ctx: CheckContext) -> Outcome:
        repeats = int(ctx.params.get("timing_repeats", 3))
        ratio = float(ctx.params.get("vectorization_ratio", 4.0))
        params = ctx.reference.init_network(list(sizes), int(ctx.rng.integers(2**31)))
        batches = _speed_batches(ctx, sizes, batch, repeats)
        # shared as files before timing, so the timing measures the computation, not the
        # transfer
        network = [(ctx.share(W), ctx.share(b)) for W, b in params]
        shared = [(ctx.share(X), ctx.share(Y)) for X, Y in batches]
        student = float("inf")
        for X, Y in shared:
            value, seconds = ctx.timed_call("backprop", network, X, Y)
            student = min(student, seconds)
            read_network(value, sizes, f"backprop on a {label} network")
        with threadpool_limits(limits=ctx.limits.threads):
            reference = min(_min_time(lambda X=X, Y=Y: ctx.reference.backprop(params, X, Y), 2)
                            for X, Y in batches)
        allowed = ratio * reference + 0.005
        summary = (f"backprop on a {label} network with m = {batch} took {student:.3f} s "
                   f"(fastest of {repeats} batches), {student / reference:.1f}× the "
                   f"reference's {reference:.3f} s measured in this run (allowed: {ratio:g}×)")
        metrics = {"backprop_seconds": student}
        if student > allowed:
            return Outcome(False, summary + ": replace the loop over examples by matrix "
                                  "products over the whole batch (W @ X with X of shape "
                                  "(n_in, m))", metrics=metrics)
        return Outcome(True, summary, metrics=metrics)

    return run


vectorization_check = vectorization_check_of(SPEED_SIZES, SPEED_BATCH)


def _as_floats(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return (images / np.float32(255)).astype(np.float32)
    return np.asarray(images, dtype=np.float32)


def _accuracy_fraction(accuracy: float, params) -> tuple[bool, float, float]:
    full = float(params.get("full_credit_accuracy", 0.95))
    zero = float(params.get("zero_credit_accuracy", 0.90))
    return accuracy >= full, threshold_credit(accuracy, full, zero), full


class Scored(NamedTuple):
    metrics: dict[str, float]  #: accuracy overall, of the public and of the private part
    artifacts: dict[str, Any]  #: pictures, built from the public part only
    public: np.ndarray  #: boolean mask of the public part


def public_mask(size: int, split_seed: int) -> np.ndarray:
    """The public half of a test set of `size` examples (fixed by the rubric's split seed)."""
    public = np.zeros(size, dtype=bool)
    public[np.random.default_rng(split_seed).permutation(size)[: size // 2]] = True
    return public


def score_predictions(predicted: np.ndarray, labels: np.ndarray, split_seed: int,
                      rng: np.random.Generator, shown: int = MISCLASSIFIED_SHOWN) -> Scored:
    """Accuracy (overall, public part, private part) and data for pictures.

    The pictures (confusion matrix, misclassified examples) use the public part
    only, so nothing shown before the deadline tells the private part's score;
    the misclassified examples shown are a few drawn at random with the run's
    `rng`, so repeated uploads cannot page through the test labels in order.
    """
    correct = predicted == labels
    public = public_mask(labels.size, split_seed)
    metrics = {"accuracy": float(correct.mean()),
               "accuracy_public": float(correct[public].mean()),
               "accuracy_private": float(correct[~public].mean())}
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels[public], predicted[public]), 1)
    wrong = np.flatnonzero(~correct & public)
    picked = np.sort(rng.choice(wrong, size=min(shown, wrong.size), replace=False))
    artifacts = {"confusion_matrix": confusion.tolist(),
                 "misclassified": [{"index": int(i), "predicted": int(predicted[i]),
                                    "true": int(labels[i])} for i in picked]}
    return Scored(metrics, artifacts, public)


def public_part_words(count: int) -> str:
    """How a message names the public part, and says the rest counts too."""
    return (f"the public half ({count:,} images) of the hidden test set; the private half "
            "counts towards the score too and is revealed after the deadline")


@student_check
def accuracy_check(ctx: CheckContext) -> Outcome:
    data = ctx.dataset(str(ctx.params.get("dataset", "mnist"))).arrays
    labels = np.asarray(data["y_test"], dtype=np.int64)
    order = ctx.rng.permutation(labels.size)  # a new order every run
    model, train_seconds = ctx.timed_call(
        "train", ctx.share(_as_floats(data["X_train"])),
        ctx.share(np.asarray(data["y_train"], dtype=np.int64)), seed=int(ctx.rng.integers(1000)))
    shuffled = ctx.share(_as_floats(np.asarray(data["X_test"])[:, order]))
    predicted_shuffled, predict_seconds = ctx.timed_call("predict", model, shuffled)
    predicted = np.empty(labels.size, dtype=np.int64)
    predicted[order] = as_labels(predicted_shuffled, "predict(model, X_test)", labels.size)
    metrics, artifacts, public = score_predictions(predicted, labels,
                                                   int(ctx.params.get("split_seed", 0)), ctx.rng)
    metrics |= {"train_seconds": train_seconds, "predict_seconds": predict_seconds}
    # graded on the whole test set; the message tells the public part only
    passed, fraction, full = _accuracy_fraction(metrics["accuracy"], ctx.params)
    message = (f"accuracy {metrics['accuracy_public']:.4f} on "
               f"{public_part_words(int(public.sum()))} (full credit from {full:g} on the whole "
               f"set); train took {train_seconds:.1f} s, predict {predict_seconds:.2f} s")
    budget = float(ctx.params.get("time_budget_seconds", 180))
    if train_seconds + predict_seconds > budget:
        return Outcome(False, f"{message}: together more than the {budget:g} s allowed, so no "
                              "credit; vectorize and train for fewer epochs", fraction=0.0,
                       metrics=metrics, artifacts=artifacts)
    if np.unique(predicted).size == 1:
        message += (f". Every image was predicted as {predicted[0]}: check the learning rate, "
                    "the initial weights (N(0, 1/n_in)) and that train() returns the trained "
                    "network")
    return Outcome(passed, message, fraction=fraction, metrics=metrics, artifacts=artifacts)


CHECKS = (
    CheckDef("init_network shapes", init_check, points=1,
             hint="[(W, b), …] with W of shape (n_out, n_in), b of shape (n_out, 1)"),
    CheckDef("forward on small random networks", forward_check, points=1,
             hint="A = σ(W @ A + b) layer by layer, one column per example"),
    CheckDef("gradient check on small random networks", gradient_check, points=3,
             hint="C = 1/(2m)·Σ‖a − y‖²: a mean over the batch"),
    CheckDef("vectorized backprop", vectorization_check, points=2,
             hint="no Python loop over the examples of a batch"),
    CheckDef("accuracy on hidden test set", accuracy_check, points=5,
             hint="train then predict the 10,000 test images within 180 s together"),
)
