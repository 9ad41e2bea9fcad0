"""Checks of the mnist-binary assignment (run in the trusted parent).

The data are MNIST's 0s and 1s, selected here from the `mnist` dataset. Test
labels never leave this process: the child gets the test images in an order
shuffled per run. Gradients are compared with central finite differences of
the reference loss computed here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assignments.mnist.checks import public_part_words, score_predictions
from plugins import CheckContext, CheckDef, Outcome, StudentCallError
from plugins.checklib import (
    as_array,
    as_float,
    central_difference,
    diagnose_gradients,
    gradient_feedback,
    mismatch,
    student_check,
    threshold_credit,
)

KEYS = ("W1", "b1", "W2", "b2")
#: size of the training subset used by the standardisation checks (fast to train on)
SUBSET = 400


def binary_mnist(ctx: CheckContext) -> dict[str, np.ndarray]:
    """The 0-vs-1 subset: images as float32 in [0, 1], labels 0/1, and test indices into MNIST."""
    data = ctx.dataset("mnist").arrays
    out: dict[str, np.ndarray] = {}
    for part in ("train", "test"):
        labels = np.asarray(data[f"y_{part}"])
        keep = np.flatnonzero(labels <= 1)
        out[f"X_{part}"] = (np.asarray(data[f"X_{part}"])[:, keep] / np.float32(255)).astype(
            np.float32)
        out[f"y_{part}"] = labels[keep].astype(np.int64)
        out[f"index_{part}"] = keep
    return out


def _random_params(rng: np.random.Generator, n: int, hidden: int) -> dict[str, np.ndarray]:
    return {"W1": rng.normal(0, 1, (hidden, n)), "b1": rng.normal(0, 0.5, (hidden, 1)),
            "W2": rng.normal(0, 1, (1, hidden)), "b2": rng.normal(0, 0.5, (1, 1))}


def _read_model(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(k in value for k in (*KEYS, "mean", "std")):
        raise StudentCallError("train must return a dict with keys 'W1', 'b1', 'W2', 'b2', "
                               "'mean' and 'std'")
    return value


def _student_proba(ctx: CheckContext, model: dict[str, Any], X: np.ndarray) -> np.ndarray:
    return as_array(ctx.call("predict_proba", model, X), "predict_proba(model, X)",
                    shape=(X.shape[1],))


def _own_proba(model: dict[str, Any], X: np.ndarray, reference: Any) -> np.ndarray:
    """What the model's own weights give on X standardised with the model's statistics."""
    params = {k: as_array(model[k], f"model['{k}']") for k in KEYS}
    mean = as_array(model["mean"], "model['mean']")
    std = as_array(model["std"], "model['std']")
    return reference.forward(params, (np.asarray(X, dtype=float) - mean) / std).reshape(-1)


@student_check
def relu_example(ctx: CheckContext) -> Outcome:
    z = np.array([-2.0, 0.0, 3.0])
    got = as_array(ctx.call("relu", z), "relu([-2, 0, 3])", shape=(3,))
    if problem := mismatch("relu([-2, 0, 3])", got, [0.0, 0.0, 3.0], show_expected=True):
        return Outcome(False, problem)
    got = as_array(ctx.call("relu_prime", z), "relu_prime([-2, 0, 3])", shape=(3,))
    if problem := mismatch("relu_prime([-2, 0, 3])", got, [0.0, 0.0, 1.0], show_expected=True):
        return Outcome(False, problem)
    return Outcome(True, "relu([-2, 0, 3]) = [0, 0, 3] and relu_prime([-2, 0, 3]) = [0, 0, 1]")


@student_check
def forward_random(ctx: CheckContext) -> Outcome:
    for _ in range(3):
        n, hidden, m = (int(ctx.rng.integers(2, 7)) for _ in range(3))
        params, X = _random_params(ctx.rng, n, hidden), ctx.rng.normal(0, 1, (n, m))
        got = as_array(ctx.call("forward", params, X), "forward(params, X)", shape=(1, m))
        if problem := mismatch(f"forward on a random {n}-{hidden}-1 network", got,
                               ctx.reference.forward(params, X)):
            return Outcome(False, problem)
    return Outcome(True, "matches on random networks")


def _variants(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
              ) -> dict[str, dict[str, np.ndarray]]:
    """Gradients of W1/b1 under typical mistakes in the ReLU layer."""
    Z1 = params["W1"] @ X + params["b1"]
    A1 = np.maximum(Z1, 0)
    A2 = 0.5 * (1 + np.tanh(0.5 * (params["W2"] @ A1 + params["b2"])))
    back = params["W2"].T @ ((A2 - y.reshape(1, -1)) / X.shape[1])
    s = 0.5 * (1 + np.tanh(0.5 * Z1))
    wrong = {"is missing the ReLU derivative (1 where z > 0, else 0)": back,
             "multiplies by relu(z) instead of its derivative": back * A1,
             "uses the sigmoid derivative instead of ReLU's": back * s * (1 - s)}
    return {"W1": {w: dz @ X.T for w, dz in wrong.items()},
            "b1": {w: dz.sum(axis=1, keepdims=True) for w, dz in wrong.items()}}


def _numeric_gradient(ctx: CheckContext, params: dict[str, np.ndarray], key: str,
                      X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return central_difference(lambda v: ctx.reference.loss({**params, key: v}, X, y),
                              params[key])


def _gradient_check(ctx: CheckContext, keys: tuple[str, ...]) -> Outcome:
    for _ in range(3):
        n, hidden, m = (int(ctx.rng.integers(3, 7)) for _ in range(3))
        params = _random_params(ctx.rng, n, hidden)
        X, y = ctx.rng.normal(0, 1, (n, m)), ctx.rng.integers(0, 2, m).astype(float)
        got = ctx.call("gradients", params, X, y)
        if not isinstance(got, dict) or not all(k in got for k in KEYS):
            raise StudentCallError("gradients(params, X, y) must return a dict with keys "
                                   "'W1', 'b1', 'W2', 'b2'")
        got = {k: as_array(got[k], f"gradients(...)['{k}']", shape=params[k].shape)
               for k in keys}
        true = {k: _numeric_gradient(ctx, params, k, X, y) for k in keys}
        problems = diagnose_gradients(got, true, _variants(params, X, y))
        if problems:
            return Outcome(False, gradient_feedback(problems, lambda k: f"∂L/∂{k}") +
                           f" (a random {n}-{hidden}-1 network on {m} examples, compared with "
                           "finite differences of the cross-entropy)")
    return Outcome(True, f"∂L/∂{', '.join(keys)} agree with finite differences")


@student_check
def gradient_output(ctx: CheckContext) -> Outcome:
    return _gradient_check(ctx, ("W2", "b2"))


@student_check
def gradient_relu(ctx: CheckContext) -> Outcome:
    return _gradient_check(ctx, ("W1", "b1"))


def _train_on_subset(ctx: CheckContext, data: dict[str, np.ndarray],
                     ) -> tuple[dict[str, Any], np.ndarray]:
    """The student's model trained on a hidden random subset, and that subset's images."""
    pick = ctx.rng.choice(data["y_train"].size, size=SUBSET, replace=False)
    X = np.ascontiguousarray(data["X_train"][:, pick])
    model = _read_model(ctx.call("train", X, data["y_train"][pick],
                                 seed=int(ctx.rng.integers(1000))))
    return model, X


@student_check
def training_statistics(ctx: CheckContext) -> Outcome:
    model, X = _train_on_subset(ctx, binary_mnist(ctx))
    X = X.astype(np.float64)
    mean, std = as_float(model["mean"], "model['mean']"), as_float(model["std"], "model['std']")
    for name, got, want in (("mean", mean, X.mean()), ("std", std, X.std())):
        if not np.isclose(got, want, rtol=1e-4, atol=1e-7):
            return Outcome(False, f"model['{name}'] is not the {name} of the training images "
                                  f"train() was given (a hidden subset of {SUBSET}): compute it "
                                  "over all pixels of X_train, one number")
    return Outcome(True, "the model keeps the mean and standard deviation of its training data")


@student_check
def test_standardisation(ctx: CheckContext) -> Outcome:
    data = binary_mnist(ctx)
    model, _ = _train_on_subset(ctx, data)
    pick = ctx.rng.choice(data["y_test"].size, size=25, replace=False)
    for X, what in ((data["X_test"][:, pick], "25 test images"),
                    (data["X_test"][:, pick[:1]], "a single test image")):
        got, want = _student_proba(ctx, model, X), _own_proba(model, X, ctx.reference)
        if not np.allclose(got, want, rtol=1e-5, atol=1e-7):
            return Outcome(False, f"predict_proba on {what} does not match the model's own "
                                  "weights applied to (X − model['mean']) / model['std']: "
                                  "standardise new data with the training statistics stored "
                                  "in the model, never with statistics of the new batch")
    return Outcome(True, "test images are standardised with the training mean and std")


def _error_fraction(error: float, params: Any) -> tuple[bool, float, float]:
    full = float(params.get("full_credit_error", 0.003))
    zero = float(params.get("zero_credit_error", 0.01))
    # credit rises as the error falls: score the negated error
    return error <= full, threshold_credit(-error, -full, -zero), full


@student_check
def test_error(ctx: CheckContext) -> Outcome:
    data = binary_mnist(ctx)
    labels = data["y_test"]
    order = ctx.rng.permutation(labels.size)  # a new order every run
    model, train_seconds = ctx.timed_call("train", ctx.share(data["X_train"]),
                                          ctx.share(data["y_train"]),
                                          seed=int(ctx.rng.integers(1000)))
    _read_model(model)
    value, _ = ctx.timed_call("predict", model, ctx.share(data["X_test"][:, order]))
    got = as_array(value, "predict(model, X_test)", shape=(labels.size,))
    if np.any((got != 0) & (got != 1)):
        raise StudentCallError("predict should return 0 or 1 for each column")
    predicted = np.empty(labels.size, dtype=np.int64)
    predicted[order] = got.astype(np.int64)
    accuracy, artifacts, public = score_predictions(predicted, labels,
                                                    int(ctx.params.get("split_seed", 0)), ctx.rng)
    metrics = {f"test_error{suffix}": 1.0 - accuracy[f"accuracy{suffix}"]
               for suffix in ("", "_public", "_private")}
    metrics["train_seconds"] = train_seconds
    # 2×2 confusion matrix; misclassified indices point into the full MNIST test set
    artifacts = {"confusion_matrix": [row[:2] for row in artifacts["confusion_matrix"][:2]],
                 "misclassified": [dict(item, index=int(data["index_test"][item["index"]]))
                                   for item in artifacts["misclassified"]]}
    errors = int(np.sum((predicted != labels) & public))
    # graded on the whole test set; the message tells the public part only
    passed, fraction, full = _error_fraction(metrics["test_error"], ctx.params)
    message = (f"{errors} misclassified, test error {metrics['test_error_public']:.2%}, on "
               f"{public_part_words(int(public.sum()))} (full credit up to {full:.1%} on the "
               f"whole set); train took {train_seconds:.1f} s")
    return Outcome(passed, message, fraction=fraction, metrics=metrics, artifacts=artifacts)


CHECKS = (
    CheckDef("relu and its derivative", relu_example, points=1, visibility="visible",
             hint="relu(z) = max(z, 0); relu_prime(z) = 1 where z > 0, else 0"),
    CheckDef("forward pass on random networks", forward_random, points=1,
             hint="σ(W2 · relu(W1 · X + b1) + b2), shape (1, m)"),
    CheckDef("gradient check: output layer (W2, b2)", gradient_output, points=2,
             hint="with cross-entropy and a sigmoid output, ∂L/∂Z2 = (A2 − Y)/m"),
    CheckDef("gradient check: ReLU layer (W1, b1)", gradient_relu, points=2,
             hint="∂L/∂Z1 = (W2ᵀ · ∂L/∂Z2) ⊙ relu′(Z1)"),
    CheckDef("training statistics stored with the model", training_statistics, points=1,
             hint="model['mean'] = X_train.mean(), model['std'] = X_train.std()"),
    CheckDef("test data standardised with the training statistics", test_standardisation,
             points=1, hint="predict_proba uses (X − model['mean']) / model['std']"),
    CheckDef("test error on hidden test set", test_error, points=4,
             hint="train on the 12,665 training images, predict the 2,115 test images"),
)
