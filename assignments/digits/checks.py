"""Checks of the digits assignment (run in the trusted parent).

The network contract is MNIST's, so the network checks are the course's
sigmoid-network checks (`assignments/_sigmoid_network.py`, shared with mnist); only
the data differ. The test labels never leave this
process, and the accuracy is that of the network `train` returns, evaluated
here with the reference forward pass.
"""

from __future__ import annotations

import numpy as np

from assignments import _sigmoid_network as network
from assignments._sigmoid_network import network_contract
from neurograde import (
    CheckContext,
    Outcome,
    as_array,
    check,
    expect_close,
    reuse_checks,
    threshold_credit,
)
from plugins.model_scoring import evaluate_model, public_part_words, read_layers

#: the 2-2-1 network of the backprop assignment: every weight [0, 1], biases 0, x = [2, 3]
EXAMPLE_PARAMS = [(np.array([[0.0, 1.0], [0.0, 1.0]]), np.zeros((2, 1))),
                  (np.array([[0.0, 1.0]]), np.zeros((1, 1)))]
EXAMPLE_X = np.array([[2.0], [3.0]])
EXAMPLE_OUTPUT = 0.7216325609518421


@check("forward pass example", points=1, visible=True,
       hint="A = σ(W @ A + b) layer by layer; the 2-2-1 example gives 0.7216325609518421")
def forward_example(ctx):
    what = "forward(2-2-1 example network, [[2], [3]])"
    got = as_array(ctx.call("forward", EXAMPLE_PARAMS, EXAMPLE_X), what, (1, 1))
    expect_close(what, got, [[EXAMPLE_OUTPUT]], show_expected=True)
    return f"{what} = {EXAMPLE_OUTPUT}"


#: a per-example loop uses ~14× the reference's CPU time on the 64-100-10 network (22 ms vs
#: 1.6 ms, one thread)
network_checks = reuse_checks(network.network_checks(speed_sizes=(64, 100, 10)),
                              points={"vectorized backprop": 1})


@check("accuracy on hidden test set", points=3,
       hint="train on the 1,500 training images and return the trained network [(W, b), …]; "
            "predict must be the most active output of forward(model, X)")
def accuracy_check(ctx: CheckContext) -> Outcome:
    """Accuracy of the network `train` returned, computed here with the reference forward
    pass; the student's predict is only checked for agreement (plugins/model_scoring.py)."""
    data = ctx.dataset(str(ctx.params.get("dataset", "digits"))).arrays
    labels = np.asarray(data["y_test"], dtype=np.int64)
    X_train = np.asarray(data["X_train"], dtype=np.float64)
    model, train_seconds = ctx.timed_call(
        "train", X_train, np.asarray(data["y_train"], dtype=np.int64),
        seed=int(ctx.rng.integers(1000)))
    network = read_layers(model, network_contract(ctx.params, X_train.shape[0]))
    X_test = np.asarray(data["X_test"], dtype=np.float64)
    scored = evaluate_model(ctx, network, ctx.reference.predict, X_test, labels,
                            sample=int(ctx.params.get("agreement_sample", 100)))
    # indices here are into the digits test set; the picture of misclassified
    # examples is drawn from MNIST, so only the confusion matrix is kept
    artifacts = {"confusion_matrix": scored.artifacts["confusion_matrix"]}
    metrics = scored.metrics | {"train_seconds": train_seconds}
    full = float(ctx.params.get("full_credit_accuracy", 0.95))
    zero = float(ctx.params.get("zero_credit_accuracy", 0.90))
    # partial credit now from the public half; the whole set's is fixed at the deadline
    credit = scored.credit(lambda accuracy: threshold_credit(accuracy, full, zero), "accuracy")
    message = (f"accuracy {metrics['accuracy_public']:.4f} of your network on "
               f"{public_part_words(int(scored.public.sum()))} (full credit from {full:g}, "
               f"partial from {zero:g}); train took {train_seconds:.2f} s")
    if np.unique(scored.predicted).size == 1:
        message += (f". Every image was predicted as {scored.predicted[0]}: check the learning "
                    "rate, the initial weights (N(0, 1/n_in)) and that train() returns the "
                    "trained network")
    return Outcome(metrics["accuracy_public"] >= full, message, fraction=credit.public,
                   final_fraction=credit.final, metrics=metrics, artifacts=artifacts)
