"""Checks of the backprop-2-2-1 assignment (run in the trusted parent)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from neurograde import (
    CheckContext,
    Outcome,
    StudentCallError,
    as_float,
    central_difference,
    check,
    diagnose_gradients,
    expect_close,
    fail,
)

NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")
HIDDEN_OF = {"w1": "h1", "w2": "h1", "b1": "h1", "w3": "h2", "w4": "h2", "b2": "h2"}
INPUT_OF = {"h1": "z1 = w1·x1 + w2·x2 + b1", "h2": "z2 = w3·x1 + w4·x2 + b2"}
#: the Alice article's deriv_sigmoid applied to the neuron's output instead of its input
AT_OUTPUT = ("uses σ′({neuron}) = σ({neuron})·(1 − σ({neuron})), the derivative taken at the "
             "neuron's output, instead of σ′({z}) = {neuron}·(1 − {neuron}) at its input")

FEEDFORWARD_EXAMPLE = 0.7216325609518421
ALICE_X = np.array([-2.0, -1.0])
ALICE_GRADIENTS = {  # exact values for all weights 1, biases 0, x = [-2, -1], y_true = 1
    "w1": 0.0214695353, "w2": 0.0107347676, "w3": 0.0214695353, "w4": 0.0107347676,
    "w5": -0.0112692202, "w6": -0.0112692202, "b1": -0.0107347676, "b2": -0.0107347676,
    "b3": -0.23761756,
}
#: Emily and Frank, the article's held-out people (1 = female)
HELD_OUT = ((np.array([-7.0, -3.0]), 1), (np.array([20.0, 2.0]), 0))
GENDER_GRADIENT_NETS = 4


def _params_arg(values: Mapping[str, float]) -> dict[str, float]:
    return {name: float(values[name]) for name in NAMES}


def _read_gradients(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise StudentCallError(f"gradients() should return a dict, got {type(value).__name__}")
    missing = [n for n in NAMES if n not in value]
    if missing:
        raise StudentCallError(f"gradients() is missing the keys {', '.join(missing)}")
    return {n: as_float(value[n], f"gradients()[{n!r}]") for n in NAMES}


def _read_params(value: object) -> dict[str, float]:
    if not isinstance(value, dict) or any(n not in value for n in NAMES):
        raise StudentCallError("train() should return the params dict with keys w1 … w6, "
                               "b1 … b3")
    return {n: as_float(value[n], f"train()[{n!r}]") for n in NAMES}


def _loss(reference, params: Mapping[str, float], x: np.ndarray, y: float) -> float:
    return (y - reference.feedforward(params, x)) ** 2


def _true_gradients(reference, params, x, y) -> dict[str, float]:
    """Central finite differences of the reference loss, parameter by parameter."""
    vector = np.array([params[n] for n in NAMES])
    grad = central_difference(
        lambda v: _loss(reference, dict(zip(NAMES, v, strict=True)), x, y), vector)
    return dict(zip(NAMES, grad, strict=True))


def _missing_derivative_variants(reference, params, x, true) -> dict[str, dict[str, float]]:
    """What each gradient would be without the sigmoid derivative of its hidden neuron,
    or without that of the output neuron."""
    x1, x2 = x
    z = {"h1": params["w1"] * x1 + params["w2"] * x2 + params["b1"],
         "h2": params["w3"] * x1 + params["w4"] * x2 + params["b2"]}
    h = {k: reference.sigmoid(v) for k, v in z.items()}
    o1 = reference.feedforward(params, x)
    out_slope = o1 * (1 - o1)
    out_at_output = reference.sigmoid(o1) * (1 - reference.sigmoid(o1))
    variants: dict[str, dict[str, float]] = {}
    for name in NAMES:
        options = {"is missing the sigmoid derivative of the output neuron o1":
                   true[name] / out_slope,
                   AT_OUTPUT.format(neuron="o1", z="z3 = w5·h1 + w6·h2 + b3"):
                   true[name] / out_slope * out_at_output}
        if name in HIDDEN_OF:
            neuron = HIDDEN_OF[name]
            slope = h[neuron] * (1 - h[neuron])
            at_output = reference.sigmoid(h[neuron]) * (1 - reference.sigmoid(h[neuron]))
            options[f"is missing the sigmoid derivative of the hidden neuron {neuron}, "
                    f"f′(z) = f(z)·(1 − f(z)) of its input z"] = true[name] / slope
            options[AT_OUTPUT.format(neuron=neuron, z=INPUT_OF[neuron])] = (
                true[name] / slope * at_output)
        variants[name] = options
    return variants


def _random_gradient_problems(ctx: CheckContext) -> dict[str, str]:
    """Gradients of the student on a few random networks (the same ones for every
    parameter's check in a run), diagnosed together.

    Each parameter's values over all networks form one vector, so a diagnosis
    (sign, factor, missing derivative) must hold for every network at once.
    """
    rng = np.random.default_rng([ctx.seed, 221])
    got: dict[str, list[float]] = {n: [] for n in NAMES}
    true: dict[str, list[float]] = {n: [] for n in NAMES}
    variants: dict[str, dict[str, list[float]]] = {n: {} for n in NAMES}
    for _ in range(GENDER_GRADIENT_NETS):
        params = dict(zip(NAMES, rng.normal(0, 1, size=len(NAMES)).tolist(), strict=True))
        x, y = rng.normal(0, 2, size=2), float(rng.integers(0, 2))
        student = _read_gradients(ctx.call("gradients", params, x, y))
        exact = _true_gradients(ctx.reference, params, x, y)
        for name, options in _missing_derivative_variants(ctx.reference, params, x,
                                                          exact).items():
            got[name].append(student[name])
            true[name].append(exact[name])
            for words, value in options.items():
                variants[name].setdefault(words, []).append(value)
    problems = diagnose_gradients(
        {n: np.array(v) for n, v in got.items()}, {n: np.array(v) for n, v in true.items()},
        {n: {w: np.array(v) for w, v in opts.items()} for n, opts in variants.items()})
    for name, words in problems.items():
        if words.startswith("uses σ′("):  # how far off that makes it, on these networks
            ratio = np.array(got[name]) / np.array(true[name])
            ratio = ratio[np.isfinite(ratio)]
            if ratio.size:
                problems[name] += (f" (your values are {ratio.min():.2g}–{ratio.max():.2g}× "
                                   "the correct ones on these networks)")
    return problems



def gradient_check(name: str):
    """The check of ∂L/∂`name` on random networks."""

    @check(f"gradient check: {name}", points=1, hint=f"∂L/∂{name} by the chain rule")
    def run(ctx):
        problems = _random_gradient_problems(ctx)
        if name in problems:
            fail(f"∂L/∂{name} {problems[name]} (compared with finite differences of the loss "
                 "on random networks)")
        return f"∂L/∂{name} agrees with finite differences"

    return run


@check("feedforward example", points=1, visible=True,
       hint="h1, h2 from the inputs, then o1 from h1, h2")
def feedforward_example(ctx: CheckContext) -> Outcome:
    params = {n: (1.0 if n in ("w2", "w4", "w6") else 0.0) for n in NAMES}
    what = "feedforward with w2 = w4 = w6 = 1, other parameters 0, on x = [2, 3]"
    got = as_float(ctx.call("feedforward", params, np.array([2.0, 3.0])), what)
    expect_close(what, got, FEEDFORWARD_EXAMPLE, show_expected=True)
    return "0.7216325609518421, as in the handout"


@check("Alice example gradients", points=2, visible=True,
       hint="∂L/∂w1 = ∂L/∂o1 · ∂o1/∂h1 · ∂h1/∂w1")
def alice_example(ctx: CheckContext) -> Outcome:
    params = {n: (1.0 if n.startswith("w") else 0.0) for n in NAMES}
    got = _read_gradients(ctx.call("gradients", params, ALICE_X, 1.0))
    wrong = [f"∂L/∂{n}: expected {ALICE_GRADIENTS[n]:.6f}, got {got[n]:.6f}"
             for n in NAMES if not np.isclose(got[n], ALICE_GRADIENTS[n], rtol=1e-4, atol=1e-7)]
    if wrong:
        return Outcome(False, "Alice example (all weights 1, biases 0, x = [−2, −1], y = 1): "
                              + "; ".join(wrong))
    return Outcome(True, "all nine gradients of the Alice example are right")


@check("feedforward on random networks", points=1, hint="random weights, biases and inputs")
def feedforward_random(ctx: CheckContext) -> Outcome:
    for _ in range(4):
        params = {n: float(ctx.rng.normal()) for n in NAMES}
        x = ctx.rng.normal(0, 3, size=2)
        got = as_float(ctx.call("feedforward", params, x), "feedforward(params, x)")
        expect_close("feedforward on a random network", got,
                        ctx.reference.feedforward(params, x))
    return Outcome(True, "matches on random networks and inputs")


def _held_out_people(ctx: CheckContext) -> list[tuple[np.ndarray, int]]:
    """Emily, Frank and a few more people drawn far from the boundary."""
    people = list(HELD_OUT)
    for _ in range(3):
        people.append((np.array([ctx.rng.normal(-12, 3), ctx.rng.normal(-5, 1)]), 1))
        people.append((np.array([ctx.rng.normal(22, 3), ctx.rng.normal(5, 1)]), 0))
    return people


def _mean_loss(reference, params: Mapping[str, float], data, y_trues) -> float:
    return float(np.mean([_loss(reference, params, x, y)
                          for x, y in zip(data, y_trues, strict=True)]))


def _argument_problem(ctx: CheckContext, data, y_trues) -> str | None:
    """Why train() ignores learn_rate, epochs or seed, or None if it honours them."""
    seed = int(ctx.rng.integers(1, 1000))

    def run(learn_rate: float, epochs: int) -> dict[str, float]:
        return _read_params(ctx.call("train", data, y_trues, learn_rate=learn_rate,
                                     epochs=epochs, seed=seed))

    long, again = run(0.1, 1000), run(0.1, 1000)
    if long != again:
        return (f"train(..., seed={seed}) twice gave different params: draw the initial "
                "weights from np.random.default_rng(seed)")
    short = run(0.1, 2)
    if short == long:
        return "train(..., epochs=2) gave the same params as epochs=1000: honour epochs"
    if run(0.01, 2) == short:
        return "train(..., learn_rate=0.01) gave the same params as learn_rate=0.1: honour " \
               "learn_rate"
    if run(0.1, 2) == _read_params(ctx.call("train", data, y_trues, learn_rate=0.1, epochs=2,
                                            seed=seed + 1)):
        return (f"train(..., seed={seed}) and seed={seed + 1} gave the same params: the "
                "initial weights must come from np.random.default_rng(seed)")
    return None


def _full_batch_problem(ctx: CheckContext, data, y_trues) -> str | None:
    """Per-sample SGD depends on the order of the people; one update per epoch on the
    whole table (full batch) does not. Two epochs in both orders tell them apart."""
    seed = int(ctx.rng.integers(1, 1000))
    forward = _read_params(ctx.call("train", data, y_trues, learn_rate=0.1, epochs=2,
                                    seed=seed))
    backward = _read_params(ctx.call("train", data[::-1].copy(), y_trues[::-1].copy(),
                                     learn_rate=0.1, epochs=2, seed=seed))
    if all(np.isclose(forward[n], backward[n], rtol=1e-12, atol=1e-14) for n in NAMES):
        return ("train() gives the same params whatever the order of the people in data "
                "(2 epochs, both orders): it makes one update per epoch on the whole table "
                "(full-batch gradient descent); the contract asks for per-sample SGD, one "
                "update after each person in the order given")
    return None


GRADIENT_CHECKS = tuple(gradient_check(name) for name in NAMES)


@check("training on the gender table", points=3,
       hint="train() must classify held-out people (female if o1 > 0.5)")
def training(ctx: CheckContext) -> Outcome:
    table = ctx.dataset("gender").arrays
    data, y_trues = np.array(table["data"]), np.array(table["y_trues"])
    params = _read_params(ctx.call("train", data, y_trues))
    loss = _mean_loss(ctx.reference, params, data, y_trues)
    people = _held_out_people(ctx)
    wrong = sum((ctx.reference.feedforward(params, x) > 0.5) != bool(y) for x, y in people)
    if wrong:
        return Outcome(False, f"after train(), {wrong} of {len(people)} held-out people are "
                              f"classified wrongly (training loss {loss:.4f})")
    if problem := _argument_problem(ctx, data, y_trues):
        return Outcome(False, problem,
                       hint="train(data, y_trues, learn_rate, epochs, seed) must use its "
                            "arguments: the same seed gives the same params, another seed, "
                            "epochs or learn_rate other params")
    if problem := _full_batch_problem(ctx, data, y_trues):
        return Outcome(False, problem, fraction=0.5,
                       hint="for each epoch, for each (x, y_true) in order: compute the "
                            "gradients for that person and update every parameter")
    return Outcome(True, f"classifies all {len(people)} held-out people, including Emily and "
                         f"Frank (training loss {loss:.4f}); learn_rate, epochs and seed are "
                         "honoured; one update per person")

