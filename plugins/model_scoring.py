"""Scores that cannot be looked up: a trusted evaluation of the model a student trained.

MNIST and scikit-learn's digits are published with their labels, so a score computed
from answers the student's `predict` chooses per image can be looked up (a hash of the
pixels keys an embedded table; shuffling the order does not help). The building blocks
here score the *model* instead:

1. `read_layers` / `read_arrays` read what `train` returned under a contract that fixes
   its form (a params list [(W, b), …] or a dict of named arrays) and bounds its size,
   so the weights cannot hold a table of the test set;
2. the parent computes the predictions itself with the assignment's trusted forward
   pass (`reference.predict`), from those weights only;
3. `require_agreement` asks the student's own `predict` about a random sample of public
   test images and fails the check unless it agrees with the trusted predictions: the
   student still writes `predict`, but its answers never count;
4. `score_model` turns the trusted predictions into metrics (whole set, public half,
   private half), the partial-credit fractions (`SplitCredit`: the public half's now,
   the whole set's at the deadline) and pictures drawn from the public half only.

Everything runs in the trusted parent; the labels never enter the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from plugins.types import CheckContext, StudentCallError

Layers = list[tuple[np.ndarray, np.ndarray]]

#: misclassified public images kept for the picture, drawn at random per run
MISCLASSIFIED_SHOWN = 12
#: public images the student's predict is asked about (enough to catch any predict that
#: does not follow the model, small enough to cost little time)
AGREEMENT_SAMPLE = 500
#: share of those answers allowed to differ from the trusted ones: float32 against
#: float64 arithmetic can flip an argmax that is a near-tie, nothing else can
AGREEMENT_TOLERANCE = 0.01


@dataclass(frozen=True)
class LayerContract:
    """The form `train` must return: [(W, b), …] from `n_in` inputs to `n_out` outputs,
    W of shape (n_out, n_in), b of shape (n_out, 1), with at most `max_hidden_layers`
    hidden layers of at most `max_hidden_units` units each.

    The bound is what makes the score a property of a trained network: a network of this
    size cannot store a table of thousands of test images' labels."""

    n_in: int
    n_out: int
    max_hidden_layers: int = 2
    max_hidden_units: int = 128

    def describe(self) -> str:
        return (f"a list [(W, b), …] from {self.n_in} inputs to {self.n_out} outputs with at "
                f"most {self.max_hidden_layers} hidden layer(s) of at most "
                f"{self.max_hidden_units} units")


def read_layers(value: Any, contract: LayerContract, what: str = "train(...)") -> Layers:
    """The params list `value` as float arrays, checked against `contract`.

    Raises `StudentCallError` (a failed check with a message for the student) for
    anything else: another type, wrong shapes, layers that do not chain, too large.
    """
    if not isinstance(value, (list, tuple)) or not value:
        raise StudentCallError(f"{what} should return {contract.describe()}, got "
                               f"{type(value).__name__}")
    if len(value) - 1 > contract.max_hidden_layers:
        raise StudentCallError(f"{what} returned {len(value) - 1} hidden layers; at most "
                               f"{contract.max_hidden_layers} are allowed")
    layers: Layers = []
    n_in = contract.n_in
    for i, pair in enumerate(value, 1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise StudentCallError(f"{what}: layer {i} should be a pair (W, b)")
        W = as_array(pair[0], f"{what}: W of layer {i}")
        last = i == len(value)
        if W.ndim != 2 or W.shape[1] != n_in or (last and W.shape[0] != contract.n_out):
            want = f"({contract.n_out if last else 'n_out'}, {n_in})"
            raise StudentCallError(f"{what}: W of layer {i} has shape {W.shape}, expected {want}")
        if not last and W.shape[0] > contract.max_hidden_units:
            raise StudentCallError(f"{what}: hidden layer {i} has {W.shape[0]} units; at most "
                                   f"{contract.max_hidden_units} are allowed")
        b = as_array(pair[1], f"{what}: b of layer {i}", (W.shape[0], 1))
        layers.append((W, b))
        n_in = W.shape[0]
    return layers


def read_arrays(value: Any, shapes: Mapping[str, tuple[int | None, ...]],
                what: str = "train(...)", max_units: int | None = None) -> dict[str, np.ndarray]:
    """A dict model {name: array} with the given `shapes`; None in a shape is the hidden
    size, the same for every array and at most `max_units`. Other keys are ignored."""
    if not isinstance(value, dict) or not all(key in value for key in shapes):
        raise StudentCallError(f"{what} should return a dict with keys "
                               f"{', '.join(repr(k) for k in shapes)}, got "
                               f"{type(value).__name__}")
    arrays = {key: as_array(value[key], f"{what}['{key}']") for key in shapes}
    hidden: set[int] = set()
    for key, shape in shapes.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and g != s
                                         for g, s in zip(got, shape, strict=True)):
            words = ", ".join("h" if s is None else str(s) for s in shape)
            raise StudentCallError(f"{what}['{key}'] has shape {got}, expected ({words})")
        hidden |= {g for g, s in zip(got, shape, strict=True) if s is None}
    if len(hidden) > 1:
        raise StudentCallError(f"{what}: the arrays disagree on the hidden size "
                               f"({sorted(hidden)})")
    if max_units is not None and hidden and max(hidden) > max_units:
        raise StudentCallError(f"{what}: {max(hidden)} hidden units; at most {max_units} are "
                               "allowed")
    return arrays


def as_array(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`plugins.checklib.as_array` (imported here, not at the top: checklib re-exports
    this module's names, so a top-level import would be circular)."""
    from plugins.checklib import as_array as checked

    return checked(value, what, shape)


def public_mask(size: int, split_seed: int) -> np.ndarray:
    """The public half of a test set of `size` examples (fixed by the rubric's split seed)."""
    public = np.zeros(size, dtype=bool)
    public[np.random.default_rng(split_seed).permutation(size)[: size // 2]] = True
    return public


def require_agreement(ctx: CheckContext, model: Any, X: np.ndarray, trusted: np.ndarray, *,
                      function: str = "predict", tolerance: float = AGREEMENT_TOLERANCE,
                      ) -> None:
    """Ask the student's `function(model, X)` and fail unless it agrees with `trusted`.

    `X` should hold public images only (they are seen by the student's code); the
    columns are shuffled so the answer cannot follow a fixed order.
    """
    order = ctx.rng.permutation(X.shape[1])
    what = f"{function}(model, X)"
    got = as_array(ctx.call(function, model, np.ascontiguousarray(X[:, order])), what,
                   (X.shape[1],))
    differ = int(np.sum(got != trusted[order]))
    if differ > tolerance * X.shape[1]:
        raise StudentCallError(
            f"{what} does not follow the model train() returned: on {differ} of {X.shape[1]} "
            "public test images it differs from what the model's own forward pass gives. "
            "The score is computed from the model, so predict must use it (and nothing else)")


class SplitCredit(NamedTuple):
    """A check's partial credit now (public half) and at the deadline (whole set)."""

    public: float
    final: float


class ModelScore(NamedTuple):
    predicted: np.ndarray  #: the trusted predictions, in the test set's order
    metrics: dict[str, float]  #: <metric> on the whole set, <metric>_public, <metric>_private
    artifacts: dict[str, Any]  #: pictures, from the public half only
    public: np.ndarray  #: boolean mask of the public half

    def credit(self, fraction_of: Callable[[float], float], metric: str) -> SplitCredit:
        """`fraction_of(metric value)` on the public half and on the whole set."""
        return SplitCredit(fraction_of(self.metrics[f"{metric}_public"]),
                           fraction_of(self.metrics[metric]))


def score_model(predicted: np.ndarray, labels: np.ndarray, *, split_seed: int,
                rng: np.random.Generator, classes: int = 10,
                shown: int = MISCLASSIFIED_SHOWN) -> ModelScore:
    """Accuracy (whole set, public half, private half) and public-half pictures.

    The confusion matrix counts the public half only, so nothing shown tells the
    private half's score; the misclassified examples are a few public ones drawn at
    random with the run's `rng`, so repeated uploads cannot page through them in order.
    """
    predicted, labels = np.asarray(predicted, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    correct = predicted == labels
    public = public_mask(labels.size, split_seed)
    metrics = {"accuracy": float(correct.mean()),
               "accuracy_public": float(correct[public].mean()),
               "accuracy_private": float(correct[~public].mean())}
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels[public], predicted[public]), 1)
    wrong = np.flatnonzero(~correct & public)
    picked = np.sort(rng.choice(wrong, size=min(shown, wrong.size), replace=False))
    artifacts = {"confusion_matrix": confusion.tolist(),
                 "misclassified": [{"index": int(i), "predicted": int(predicted[i]),
                                    "true": int(labels[i])} for i in picked]}
    return ModelScore(predicted, metrics, artifacts, public)


def evaluate_model(ctx: CheckContext, model: Any, trusted_predict: Callable[[Any, np.ndarray],
                                                                         np.ndarray],
                   X: np.ndarray, labels: np.ndarray, *, classes: int = 10,
                   sample: int = AGREEMENT_SAMPLE, shown: int = MISCLASSIFIED_SHOWN,
                   ) -> ModelScore:
    """The whole recipe: trusted predictions of `model` on the test images `X` (one
    column each), the student's `predict` checked against them on a random sample of
    public images, then `score_model`. The split comes from `ctx.params["split_seed"]`.

    `model` is what `read_layers`/`read_arrays` returned; `trusted_predict(model, X)` is
    the assignment's own (reference) predict.
    """
    split_seed = int(ctx.params.get("split_seed", 0))
    predicted = np.asarray(trusted_predict(model, X)).reshape(-1).astype(np.int64)
    public = np.flatnonzero(public_mask(labels.size, split_seed))
    asked = np.sort(ctx.rng.choice(public, size=min(sample, public.size), replace=False))
    require_agreement(ctx, model, np.asarray(X)[:, asked], predicted[asked])
    return score_model(predicted, labels, split_seed=split_seed, rng=ctx.rng, classes=classes,
                       shown=shown)


def public_part_words(count: int) -> str:
    """How a message names the public half, and says when the rest counts."""
    return (f"the public half ({count:,} images) of the hidden test set; your final score, "
            "fixed at the deadline, is computed on the whole test set")


__all__ = (
    "AGREEMENT_SAMPLE", "LayerContract", "MISCLASSIFIED_SHOWN", "ModelScore", "SplitCredit",
    "evaluate_model", "public_mask", "public_part_words", "read_arrays", "read_layers",
    "require_agreement", "score_model",
)
