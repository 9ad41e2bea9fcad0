"""Checks of the digits assignment (run in the trusted parent).

The network contract is MNIST's, so the network checks are the mnist
assignment's own; only the data differ. The test labels never leave this
process: the child gets the test images in an order shuffled per run.
"""

from __future__ import annotations

import numpy as np

from assignments.mnist.checks import (
    forward_check,
    gradient_check,
    init_check,
    public_part_words,
    score_predictions,
    vectorization_check_of,
)
from plugins import CheckContext, CheckDef, Outcome
from plugins.checklib import as_array, as_labels, mismatch, student_check, threshold_credit

#: the 2-2-1 network of the backprop assignment: every weight [0, 1], biases 0, x = [2, 3]
EXAMPLE_PARAMS = [(np.array([[0.0, 1.0], [0.0, 1.0]]), np.zeros((2, 1))),
                  (np.array([[0.0, 1.0]]), np.zeros((1, 1)))]
EXAMPLE_X = np.array([[2.0], [3.0]])
EXAMPLE_OUTPUT = 0.7216325609518421
#: a per-example loop is ~20× slower than the reference here (34 ms vs 1.7 ms, one thread)
SPEED_SIZES, SPEED_BATCH = (64, 100, 10), 1000


@student_check
def forward_example(ctx: CheckContext) -> Outcome:
    what = "forward(2-2-1 example network, [[2], [3]])"
    got = as_array(ctx.call("forward", EXAMPLE_PARAMS, EXAMPLE_X), what, (1, 1))
    problem = mismatch(what, got, [[EXAMPLE_OUTPUT]], show_expected=True)
    return Outcome(problem is None, problem or f"{what} = {EXAMPLE_OUTPUT}")


@student_check
def accuracy_check(ctx: CheckContext) -> Outcome:
    data = ctx.dataset("digits").arrays
    labels = np.asarray(data["y_test"], dtype=np.int64)
    order = ctx.rng.permutation(labels.size)  # a new order every run
    model, train_seconds = ctx.timed_call(
        "train", np.asarray(data["X_train"], dtype=np.float64),
        np.asarray(data["y_train"], dtype=np.int64), seed=int(ctx.rng.integers(1000)))
    shuffled = np.asarray(data["X_test"], dtype=np.float64)[:, order]
    value, predict_seconds = ctx.timed_call("predict", model, shuffled)
    predicted = np.empty(labels.size, dtype=np.int64)
    predicted[order] = as_labels(value, "predict(model, X_test)", labels.size)
    metrics, artifacts, public = score_predictions(predicted, labels,
                                                   int(ctx.params.get("split_seed", 0)), ctx.rng)
    # indices here are into the digits test set; the picture of misclassified
    # examples is drawn from MNIST, so only the confusion matrix is kept
    artifacts = {"confusion_matrix": artifacts["confusion_matrix"]}
    metrics |= {"train_seconds": train_seconds, "predict_seconds": predict_seconds}
    full = float(ctx.params.get("full_credit_accuracy", 0.95))
    zero = float(ctx.params.get("zero_credit_accuracy", 0.90))
    accuracy = metrics["accuracy"]  # the grade: the whole test set
    fraction = threshold_credit(accuracy, full, zero)
    message = (f"accuracy {metrics['accuracy_public']:.4f} on "
               f"{public_part_words(int(public.sum()))} (full credit from {full:g} on the whole "
               f"set, partial from {zero:g}); train took {train_seconds:.2f} s")
    if np.unique(predicted).size == 1:
        message += (f". Every image was predicted as {predicted[0]}: check the learning rate, "
                    "the initial weights (N(0, 1/n_in)) and that train() returns the trained "
                    "network")
    return Outcome(accuracy >= full, message, fraction=fraction, metrics=metrics,
                   artifacts=artifacts)


CHECKS = (
    CheckDef("forward pass example", forward_example, points=1, visibility="visible",
             hint="A = σ(W @ A + b) layer by layer; the 2-2-1 example gives 0.7216325609518421"),
    CheckDef("init_network shapes", init_check, points=1,
             hint="[(W, b), …] with W of shape (n_out, n_in), b of shape (n_out, 1)"),
    CheckDef("forward on small random networks", forward_check, points=1,
             hint="A = σ(W @ A + b) layer by layer, one column per example"),
    CheckDef("gradient check on small random networks", gradient_check, points=3,
             hint="C = 1/(2m)·Σ‖a − y‖²: a mean over the batch"),
    CheckDef("vectorized backprop", vectorization_check_of(SPEED_SIZES, SPEED_BATCH), points=1,
             hint="no Python loop over the examples of a batch"),
    CheckDef("accuracy on hidden test set", accuracy_check, points=3,
             hint="train on the 1,500 training images, then predict the 297 test images"),
)
