"""Checks of the XOR assignment (run in the trusted parent).

Gradients are compared with central finite differences of the reference loss,
computed here; training is judged on several hidden seeds, because a small
network can get stuck in a local minimum on an unlucky seed.
"""

from __future__ import annotations

import numpy as np

from neurograde import (
    CheckContext,
    Outcome,
    StudentCallError,
    as_array,
    central_difference,
    check,
    diagnose_gradients,
    expect_close,
    gradient_feedback,
    mismatch,
)
from plugins.model_scoring import read_arrays, require_agreement

X_XOR = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
Y_XOR = np.array([0.0, 1.0, 1.0, 0.0])
#: a hand-built network: hidden unit 1 ≈ OR, hidden unit 2 ≈ AND, output ≈ OR and not AND
EXAMPLE_MODEL = {"W1": np.array([[10.0, 10.0], [10.0, 10.0]]), "b1": np.array([[-5.0], [-15.0]]),
                 "W2": np.array([[5.0, -5.0]]), "b2": np.array([[-5.0]])}
KEYS = ("W1", "b1", "W2", "b2")


def _random_model(rng: np.random.Generator, hidden: int) -> dict[str, np.ndarray]:
    return {"W1": rng.normal(0, 1, (hidden, 2)), "b1": rng.normal(0, 0.5, (hidden, 1)),
            "W2": rng.normal(0, 1, (1, hidden)), "b2": rng.normal(0, 0.5, (1, 1))}


def _random_batch(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0, 1, (2, m)), rng.integers(0, 2, m).astype(float)


def _numeric_gradients(ctx: CheckContext, model: dict[str, np.ndarray], X: np.ndarray,
                       y: np.ndarray) -> dict[str, np.ndarray]:
    def loss_with(key: str):
        def f(value: np.ndarray) -> float:
            return ctx.reference.loss({**model, key: value}, X, y)
        return f
    return {key: central_difference(loss_with(key), model[key]) for key in KEYS}


def _student_gradients(ctx: CheckContext, model: dict[str, np.ndarray], X: np.ndarray,
                       y: np.ndarray) -> dict[str, np.ndarray]:
    got = ctx.call("gradients", model, X, y)
    if not isinstance(got, dict) or not all(key in got for key in KEYS):
        raise StudentCallError("gradients(model, X, y) must return a dict with keys "
                               "'W1', 'b1', 'W2', 'b2'")
    return {key: as_array(got[key], f"gradients(...)['{key}']", shape=model[key].shape)
            for key in KEYS}


def _variants(model: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
              ) -> dict[str, dict[str, np.ndarray]]:
    """Gradients of W1/b1 under typical mistakes in the tanh layer."""
    Y = y.reshape(1, -1)
    A1 = np.tanh(model["W1"] @ X + model["b1"])
    Z1 = model["W1"] @ X + model["b1"]
    A2 = 0.5 * (1 + np.tanh(0.5 * (model["W2"] @ A1 + model["b2"])))
    back = model["W2"].T @ ((A2 - Y) / X.shape[1])
    wrong = {
        "is missing the tanh derivative (1 − a²) of the hidden layer": back,
        "uses the sigmoid derivative a·(1 − a) instead of tanh's 1 − a²": back * A1 * (1 - A1),
        "uses 1 − z² instead of 1 − tanh(z)² = 1 − a²": back * (1 - Z1**2),
    }
    return {"W1": {words: dz @ X.T for words, dz in wrong.items()},
            "b1": {words: dz.sum(axis=1, keepdims=True) for words, dz in wrong.items()}}


def _gradient_check(ctx: CheckContext, keys: tuple[str, ...]) -> Outcome:
    for _ in range(3):
        hidden, m = int(ctx.rng.integers(2, 6)), int(ctx.rng.integers(3, 9))
        model, (X, y) = _random_model(ctx.rng, hidden), _random_batch(ctx.rng, m)
        got = _student_gradients(ctx, model, X, y)
        true = _numeric_gradients(ctx, model, X, y)
        problems = diagnose_gradients({k: got[k] for k in keys}, {k: true[k] for k in keys},
                                      _variants(model, X, y))
        if problems:
            return Outcome(False, gradient_feedback(problems, lambda k: f"∂L/∂{k}") +
                           f" (a random {hidden}-hidden-unit network on {m} examples, compared "
                           "with finite differences of the cross-entropy)")
    names = ", ".join(keys)
    return Outcome(True, f"∂L/∂{names} agree with finite differences on random networks")


@check("forward pass example", points=1, visible=True,
       hint="tanh(W1·X + b1), then σ(W2·A1 + b2); output shape (1, m)")
def forward_example(ctx: CheckContext) -> Outcome:
    got = as_array(ctx.call("forward", EXAMPLE_MODEL, X_XOR), "forward(example model, X)",
                   shape=(1, 4))
    problem = mismatch("forward(example model, X)", got,
                       ctx.reference.forward(EXAMPLE_MODEL, X_XOR), show_expected=True)
    return Outcome(problem is None, problem or "the hand-built network gives ≈ [0.0067, 0.9933, "
                                               "0.9933, 0.0067]")


@check("forward pass on random networks", points=1,
       hint="tanh in the hidden layer, sigmoid at the output")
def forward_random(ctx: CheckContext) -> Outcome:
    for _ in range(3):
        hidden, m = int(ctx.rng.integers(2, 7)), int(ctx.rng.integers(1, 9))
        model, (X, _) = _random_model(ctx.rng, hidden), _random_batch(ctx.rng, m)
        got = as_array(ctx.call("forward", model, X), "forward(model, X)", shape=(1, m))
        expect_close(f"forward on a random {hidden}-hidden-unit network", got,
                        ctx.reference.forward(model, X))
    return Outcome(True, "matches on random networks and batches")


@check("gradient check: output layer (W2, b2)", points=2,
       hint="with cross-entropy and a sigmoid output, ∂L/∂Z2 = (A2 − Y)/m")
def gradient_output(ctx: CheckContext) -> Outcome:
    return _gradient_check(ctx, ("W2", "b2"))


@check("gradient check: tanh layer (W1, b1)", points=3, hint="∂L/∂Z1 = (W2ᵀ·∂L/∂Z2) ⊙ (1 − A1²)")
def gradient_tanh(ctx: CheckContext) -> Outcome:
    return _gradient_check(ctx, ("W1", "b1"))


def _read_model(value: object, hidden: int) -> dict[str, np.ndarray]:
    return read_arrays(value, {"W1": (hidden, 2), "b1": (hidden, 1), "W2": (1, hidden),
                               "b2": (1, 1)})


def _solves(ctx: CheckContext, seed: int, hidden: int) -> bool:
    """Whether the trained model, run by the reference's forward pass, gets XOR right.

    The student's predict is only asked to agree with that model's own output
    (plugins/model_scoring.py), so a predict that computes XOR itself, or looks the
    four points up, cannot stand in for the training.
    """
    model = _read_model(ctx.call("train", X_XOR, Y_XOR, hidden=hidden, seed=seed), hidden)
    # the four points in a shuffled order, twice, so a fixed answer cannot pass
    order = np.concatenate([ctx.rng.permutation(4), ctx.rng.permutation(4)])
    X = X_XOR[:, order]
    own = ctx.reference.predict(model, X)
    require_agreement(ctx, model, X, own, tolerance=0.0)
    return bool(np.array_equal(own, Y_XOR[order]))


@check("learns XOR for most seeds", points=3,
       hint="train(X, y, hidden=4, seed=s) then predict must get all four points right")
def learns_xor(ctx: CheckContext) -> Outcome:
    runs = int(ctx.params.get("xor_seeds", 9))
    needed = int(ctx.params.get("xor_min_seeds", 5))
    hidden = int(ctx.params.get("xor_hidden", 4))
    seeds = [int(s) for s in ctx.rng.integers(0, 2**31 - 1, size=runs)]
    solved = sum(_solves(ctx, seed, hidden) for seed in seeds)
    message = (f"100 % on the four XOR points for {solved} of {runs} hidden seeds "
               f"(at least {needed} needed; a seed stuck in a local minimum is not a mistake)")
    if solved < needed:
        message += ": check the gradients, the learning rate and that weights start random"
    return Outcome(solved >= needed, message, metrics={"xor_seeds_solved": float(solved)})


@check("training learns from the data", points=1,
       hint="the model must come from X, y and the seed: random start, then gradient "
                  "descent")
def learns_from_data(ctx: CheckContext) -> Outcome:
    """A model that does not depend on the seed and the labels was not learned: a train()
    returning a fixed network (e.g. the hand-built one) solves XOR without training."""
    hidden = int(ctx.params.get("xor_hidden", 4))
    a, b = (int(s) for s in ctx.rng.integers(0, 2**31 - 1, size=2))
    try:
        first = _read_model(ctx.call("train", X_XOR, Y_XOR, hidden=hidden, seed=a), hidden)
        second = _read_model(ctx.call("train", X_XOR, Y_XOR, hidden=hidden, seed=b), hidden)
        flipped = _read_model(ctx.call("train", X_XOR, 1.0 - Y_XOR, hidden=hidden, seed=a),
                              hidden)
    except StudentCallError as exc:  # an unusable model: the XOR check marks it down
        return Outcome(True, f"not judged here: {exc}")

    def same(one: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> bool:
        return all(np.array_equal(one[k], other[k]) for k in KEYS)

    same_seeds, same_labels = same(first, second), same(first, flipped)
    if same_labels:
        seeds = f" and for seeds {a} and {b}" if same_seeds else ""
        return Outcome(False, "train() returned the same model for the flipped labels "
                              f"y = 1 − XOR as for XOR{seeds}: it ignores the data. Learn the "
                              "weights from X and y by gradient descent, from random weights "
                              "drawn with np.random.default_rng(seed) (a fixed network, such "
                              "as the hand-built one, learns nothing)")
    if same_seeds:
        return Outcome(False, f"train() returned the same model for seeds {a} and {b}: draw "
                              "the initial weights from np.random.default_rng(seed), so "
                              "training starts from a different random point for each seed")
    return Outcome(True, "different seeds give different models, and flipped labels are "
                         "learned as given")

