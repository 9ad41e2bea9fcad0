"""Checks of the mnist assignment (run in the trusted parent).

The test labels never leave this process. The accuracy is a property of the
network `train` returns, evaluated here with the reference forward pass; the
student's `predict` is only checked for agreement with it. The network checks are
the course's sigmoid-network checks (`assignments/_sigmoid_network.py`, shared with
digits).
"""

from __future__ import annotations

import time

import numpy as np

from assignments import _sigmoid_network as network
from assignments._sigmoid_network import init_advice, network_contract
from neurograde import CheckContext, Outcome, check, reuse_checks, threshold_credit
from plugins.model_scoring import evaluate_model, public_part_words, read_layers

network_checks = reuse_checks(network.network_checks())


def _as_floats(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return (images / np.float32(255)).astype(np.float32)
    return np.asarray(images, dtype=np.float32)


def _accuracy_fraction(accuracy: float, params) -> tuple[bool, float, float]:
    full = float(params.get("full_credit_accuracy", 0.95))
    zero = float(params.get("zero_credit_accuracy", 0.90))
    return accuracy >= full, threshold_credit(accuracy, full, zero), full


@check("accuracy on hidden test set", points=5,
       hint="train must return the trained network [(W, b), …] within 180 s; predict "
            "must be the most active output of forward(model, X)")
def accuracy_check(ctx: CheckContext) -> Outcome:
    """Accuracy of the network `train` returned, computed here with the reference forward
    pass (plugins/model_scoring.py): the student's predict is only checked for agreement,
    so answers looked up per image count for nothing."""
    data = ctx.dataset(str(ctx.params.get("dataset", "mnist"))).arrays
    labels = np.asarray(data["y_test"], dtype=np.int64)
    model, train_seconds = ctx.timed_call(
        "train", ctx.share(_as_floats(data["X_train"])),
        ctx.share(np.asarray(data["y_train"], dtype=np.int64)), seed=int(ctx.rng.integers(1000)))
    X_test = _as_floats(np.asarray(data["X_test"]))
    network = read_layers(model, network_contract(ctx.params, X_test.shape[0]))
    start = time.perf_counter()
    scored = evaluate_model(ctx, network, ctx.reference.predict, X_test, labels)
    predict_seconds = time.perf_counter() - start
    metrics = scored.metrics | {"train_seconds": train_seconds}
    # partial credit now from the public half; the whole set's is fixed at the deadline
    passed, fraction, full = _accuracy_fraction(metrics["accuracy_public"], ctx.params)
    _, final_fraction, _ = _accuracy_fraction(metrics["accuracy"], ctx.params)
    message = (f"accuracy {metrics['accuracy_public']:.4f} of your network on "
               f"{public_part_words(int(scored.public.sum()))} (full credit from {full:g}); "
               f"train took {train_seconds:.1f} s")
    budget = float(ctx.params.get("time_budget_seconds", 180))
    if train_seconds + predict_seconds > budget:
        return Outcome(False, f"{message}: more than the {budget:g} s allowed, so no "
                              "credit; vectorize and train for fewer epochs", fraction=0.0,
                       final_fraction=0.0, metrics=metrics, artifacts=scored.artifacts)
    if np.unique(scored.predicted).size == 1:
        message += (f". Every image was predicted as {scored.predicted[0]}: check the learning "
                    "rate, the initial weights (N(0, 1/n_in)) and that train() returns the "
                    "trained network")
    if not passed and (advice := init_advice(ctx)):
        message += f". {advice}"
    return Outcome(passed, message, fraction=fraction, final_fraction=final_fraction,
                   metrics=metrics, artifacts=scored.artifacts)
