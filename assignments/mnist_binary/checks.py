"""Checks of the mnist-binary assignment (run in the trusted parent).

The data are MNIST's 0s and 1s, selected here from the `mnist` dataset. Test
labels never leave this process: the child gets the test images in an order
shuffled per run. Gradients are compared with central finite differences of
the reference loss computed here. The test error is that of the model `train`
returns, evaluated here with the reference forward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurograde import (
    CheckContext,
    Outcome,
    StudentCallError,
    as_array,
    as_float,
    central_difference,
    check,
    diagnose_gradients,
    expect_close,
    gradient_feedback,
    threshold_credit,
)
from plugins.model_scoring import evaluate_model, public_part_words, read_arrays

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


@check("relu and its derivative", points=1, visible=True,
       hint="relu(z) = max(z, 0); relu_prime(z) = 1 where z > 0, else 0")
def relu_example(ctx: CheckContext) -> Outcome:
    z = np.array([-2.0, 0.0, 3.0])
    got = as_array(ctx.call("relu", z), "relu([-2, 0, 3])", shape=(3,))
    expect_close("relu([-2, 0, 3])", got, [0.0, 0.0, 3.0], show_expected=True)
    got = as_array(ctx.call("relu_prime", z), "relu_prime([-2, 0, 3])", shape=(3,))
    expect_close("relu_prime([-2, 0, 3])", got, [0.0, 0.0, 1.0], show_expected=True)
    return Outcome(True, "relu([-2, 0, 3]) = [0, 0, 3] and relu_prime([-2, 0, 3]) = [0, 0, 1]")


@check("forward pass on random networks", points=1,
       hint="σ(W2 · relu(W1 · X + b1) + b2), shape (1, m)")
def forward_random(ctx: CheckContext) -> Outcome:
    for _ in range(3):
        n, hidden, m = (int(ctx.rng.integers(2, 7)) for _ in range(3))
        params, X = _random_params(ctx.rng, n, hidden), ctx.rng.normal(0, 1, (n, m))
        got = as_array(ctx.call("forward", params, X), "forward(params, X)", shape=(1, m))
        expect_close(f"forward on a random {n}-{hidden}-1 network", got,
                        ctx.reference.forward(params, X))
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


@check("gradient check: output layer (W2, b2)", points=2,
       hint="with cross-entropy and a sigmoid output, ∂L/∂Z2 = (A2 − Y)/m")
def gradient_output(ctx: CheckContext) -> Outcome:
    return _gradient_check(ctx, ("W2", "b2"))


@check("gradient check: ReLU layer (W1, b1)", points=2, hint="∂L/∂Z1 = (W2ᵀ · ∂L/∂Z2) ⊙ relu′(Z1)")
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


@check("training statistics stored with the model", points=1,
       hint="model['mean'] = X_train.mean(), model['std'] = X_train.std()")
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


@check("test data standardised with the training statistics", points=1,
       hint="predict_proba uses (X − model['mean']) / model['std']")
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


def read_trained_model(value: Any, params: Any) -> dict[str, Any]:
    """The dict `train` returns, under the contract: W1 (h, 784), b1 (h, 1), W2 (1, h),
    b2 (1, 1) with at most `max_hidden_units` hidden units, `mean` and `std` numbers."""
    _read_model(value)
    arrays = read_arrays(value, {"W1": (None, 784), "b1": (None, 1), "W2": (1, None),
                                 "b2": (1, 1)},
                         max_units=int(params.get("max_hidden_units", 128)))
    statistics = {key: _statistic(value[key], f"model['{key}']") for key in ("mean", "std")}
    if np.any(statistics["std"] <= 0):
        raise StudentCallError("model['std'] must be positive")
    return {**arrays, **statistics}


def _statistic(value: Any, what: str) -> np.ndarray:
    """A training statistic: one number, or one per pixel (shape (784,) or (784, 1))."""
    array = as_array(value, what)
    if array.size == 1:
        return array.reshape(())
    if array.size == 784:
        return array.reshape(784, 1)
    raise StudentCallError(f"{what} should be one number, got shape {array.shape}")


@check("test error on hidden test set", points=4,
       hint="train on the 12,665 training images and return the trained model dict; "
                  "predict must be 1 where predict_proba(model, X) ≥ 0.5")
def test_error(ctx: CheckContext) -> Outcome:
    """Test error of the model `train` returned, computed here with the reference forward
    pass; the student's predict is only checked for agreement (plugins/model_scoring.py)."""
    data = binary_mnist(ctx)
    labels = data["y_test"]
    value, train_seconds = ctx.timed_call("train", ctx.share(data["X_train"]),
                                          ctx.share(data["y_train"]),
                                          seed=int(ctx.rng.integers(1000)))
    model = read_trained_model(value, ctx.params)
    scored = evaluate_model(ctx, model, ctx.reference.predict, data["X_test"], labels,
                            classes=2)
    metrics = {f"test_error{suffix}": 1.0 - scored.metrics[f"accuracy{suffix}"]
               for suffix in ("", "_public", "_private")}
    metrics["train_seconds"] = train_seconds
    # misclassified indices point into the full MNIST test set
    artifacts = {"confusion_matrix": scored.artifacts["confusion_matrix"],
                 "misclassified": [dict(item, index=int(data["index_test"][item["index"]]))
                                   for item in scored.artifacts["misclassified"]]}
    errors = int(np.sum((scored.predicted != labels) & scored.public))
    # partial credit now from the public half; the whole set's is fixed at the deadline
    passed, fraction, full = _error_fraction(metrics["test_error_public"], ctx.params)
    _, final_fraction, _ = _error_fraction(metrics["test_error"], ctx.params)
    message = (f"{errors} misclassified by your network, test error "
               f"{metrics['test_error_public']:.2%}, on "
               f"{public_part_words(int(scored.public.sum()))} (full credit up to {full:.1%}); "
               f"train took {train_seconds:.1f} s")
    return Outcome(passed, message, fraction=fraction, final_fraction=final_fraction,
                   metrics=metrics, artifacts=artifacts)

