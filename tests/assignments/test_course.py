"""The built-in course as plugins: registration, rubrics, handouts, starters, cases."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest

from neurograde.testing import FakeContext
from plugins.builtin_datasets import DATASETS
from plugins.datasets import DatasetStore
from plugins.model_scoring import MISCLASSIFIED_SHOWN, public_mask, score_model
from plugins.registry import build_registry

COURSE = {"sigmoid": 10, "mse-loss": 20, "backprop-2-2-1": 30, "mnist": 40}


@pytest.fixture(scope="module")
def registry():
    from plugins.manager import get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False))


def test_the_four_assignments_register_in_teaching_order(registry):
    for slug, order in COURSE.items():
        assignment = registry.assignment(slug)
        assert assignment.order == order
        assert registry.plugin_of("assignment", slug).startswith("assignments.")
        rubric = registry.rubric_for(slug)
        assert rubric.name == f"{slug}-default"
        assert set(rubric.points) == {c.name for c in assignment.checks}
    assert not {k: v for k, v in registry.errors.items() if k.startswith("assignments.")}


def test_mnist_rubrics_can_be_swapped_by_name(registry):
    default, strict = registry.rubric_for("mnist"), registry.rubric_for("mnist", "mnist-strict")
    assert default.params["full_credit_accuracy"] == 0.95
    assert default.params["zero_credit_accuracy"] == 0.90
    assert strict.params["full_credit_accuracy"] == 0.97
    assert registry.assignment("mnist").metric_name == "accuracy"
    assert registry.assignment("mnist").limits.memory_mb == 2048


@pytest.mark.parametrize("slug, numbers", [
    # formulas are LaTeX in the handout's source (typeset as MathML on the page)
    ("sigmoid", ["0.9990889488055994", r"\sigma(z) \cdot (1 - \sigma(z))", "±1000", "512 MB"]),
    ("mse-loss", ["0.5", r"\frac{2}{n} (y_{\text{pred},i} - y_{\text{true},i})",
                  "[−0.5, 0, 0, −0.5]"]),
    ("backprop-2-2-1", ["0.7216325609518421", "0.5236951740839997", "0.0214", "0.021470",
                        "Emily", "Frank", "Diana", "−0.237618"]),
    ("mnist", ["(784, m)", r"\frac{1}{2m}", "95 %", "90 %", "N(0, **1/n_in**)", "mnist-strict",
               "LeCun"]),
])
def test_handouts_carry_the_contract_numbers(registry, slug, numbers):
    handout = registry.assignment(slug).handout
    for number in numbers:
        assert number in handout, f"{slug} handout lacks {number!r}"
    for check in registry.assignment(slug).checks:
        if not check.name.startswith("gradient check: "):
            assert check.name in handout, f"{slug} handout does not explain {check.name!r}"


@pytest.mark.parametrize("slug", COURSE)
def test_starters_define_the_contract_and_raise_not_implemented(registry, slug):
    assignment = registry.assignment(slug)
    starter = ast.parse(assignment.starter)
    reference = ast.parse(assignment.reference_path.read_text())
    starter_functions = {f.name for f in starter.body if isinstance(f, ast.FunctionDef)}
    public = {f.name for f in reference.body
              if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")
              and f.name != "one_hot"}
    assert public <= starter_functions
    namespace: dict = {}
    exec(compile(starter, "starter.py", "exec"), namespace)
    for name in starter_functions:  # every function is left to the student
        function = namespace[name]
        required = function.__code__.co_argcount - len(function.__defaults__ or ())
        with pytest.raises(NotImplementedError):
            function(*[np.zeros(2)] * required)


@pytest.mark.parametrize("slug", COURSE)
def test_every_case_has_an_expected_outcome(registry, slug):
    cases_dir = registry.assignment(slug).cases_dir
    expected = json.loads((cases_dir / "expected.json").read_text())
    assert sorted(expected) == sorted(p.name for p in cases_dir.glob("*.py"))
    check_names = {c.name for c in registry.assignment(slug).checks}
    for name, outcome in expected.items():
        assert set(outcome.get("failed_checks", [])) <= check_names, name
    assert any(o["status"] == "forbidden_import" for o in expected.values()) or slug in (
        "mse-loss", "backprop-2-2-1")


def arrays_in(value) -> list[np.ndarray]:
    """Every numpy array inside a call's arguments, however deeply nested."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [a for item in value for a in arrays_in(item)]
    return []


class RecordingContext(FakeContext):
    """Records every array that would cross into the child."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[np.ndarray] = []

    def share(self, array):
        self.sent.append(np.asarray(array))
        return super().share(array)

    def timed_call(self, function, *args, **kwargs):
        self.sent += [a for a in arrays_in([list(args), kwargs])
                      if not any(a is s for s in self.sent)]  # shared ones are in already
        return super().timed_call(function, *args, **kwargs)


def carries_labels(array: np.ndarray, labels: np.ndarray) -> bool:
    """Whether `array` holds the labels in any order: a line along some axis with the
    labels' count of every class, as class numbers or one-hot."""
    array = np.asarray(array, dtype=float)
    counts = np.bincount(labels, minlength=10)
    for axis in range(array.ndim):
        if array.shape[axis] != labels.size:
            continue
        lines = np.moveaxis(array, axis, -1).reshape(-1, labels.size)
        for line in lines:
            if np.array_equal(line, np.rint(line)) and line.min() >= 0 and line.max() <= 9 \
                    and np.array_equal(np.bincount(line.astype(int), minlength=10), counts):
                return True
        if lines.shape[0] == 10 and np.isin(lines, (0.0, 1.0)).all() and np.array_equal(
                lines.sum(axis=1), counts):
            return True
    return False


def test_the_label_detector_catches_shuffled_nested_and_one_hot_labels():
    labels = np.random.default_rng(0).integers(0, 10, 297)
    shuffled = labels[np.random.default_rng(1).permutation(labels.size)]
    one_hot = np.eye(10)[shuffled].T
    images = np.random.default_rng(2).random((64, labels.size))
    for leaked in (shuffled, shuffled.astype(float), one_hot, one_hot.T,
                   np.vstack([images, shuffled])):
        assert carries_labels(leaked, labels)
    assert any(carries_labels(a, labels) for a in arrays_in([images, {"y": [0, shuffled]}]))
    assert not carries_labels(images, labels)
    assert not carries_labels(np.zeros(labels.size, dtype=int), labels)


LEAK_CASES = {"mnist": ("constant_predictor.py", "accuracy on hidden test set", "digits"),
              "digits": ("constant_predictor.py", "accuracy on hidden test set", "digits")}


@pytest.mark.parametrize("slug", LEAK_CASES)
def test_test_labels_stay_in_the_parent_and_predict_sees_public_images_only(registry, tmp_path,
                                                                             slug):
    """The score is computed here from the network; the child's predict is only asked
    about a shuffled sample of public images, to check it follows that network."""
    case, check_name, dataset = LEAK_CASES[slug]
    assignment = registry.assignment(slug)
    store = DatasetStore({d.name: d for d in DATASETS}, tmp_path)
    ctx = RecordingContext(assignment.cases_dir / case, assignment, seed=3,
                           params={"dataset": dataset}, store=store)
    check = next(c for c in assignment.checks if c.name == check_name)
    outcome = check.run(ctx)
    digits = store.get(dataset).arrays
    labels, images = np.asarray(digits["y_test"]), np.asarray(digits["X_test"], np.float32)
    assert ctx.sent and not any(carries_labels(a, labels) for a in ctx.sent)
    sent_images = [a for a in ctx.sent if a.shape[0] == images.shape[0] and a.ndim == 2
                   and 20 < a.shape[1] <= labels.size]
    assert len(sent_images) == 1
    public = {tuple(column) for column in images[:, public_mask(labels.size, 0)].T}
    sent = [tuple(column) for column in sent_images[0].astype(np.float32).T]
    assert set(sent) <= public and len(sent) >= 50
    order = [next(j for j in range(labels.size) if tuple(images[:, j]) == c) for c in sent[:20]]
    assert order != sorted(order)  # shuffled
    # the constant predictor does not follow its network: no credit, no figures
    assert not outcome.passed and not outcome.fraction and not outcome.metrics
    assert "does not follow the model train() returned" in outcome.message


def test_mnist_training_over_the_time_budget_earns_nothing(registry, tmp_path):
    assignment = registry.assignment("mnist")
    store = DatasetStore({d.name: d for d in DATASETS}, tmp_path)
    check = next(c for c in assignment.checks if c.name == "accuracy on hidden test set")
    params = {"dataset": "digits", "full_credit_accuracy": 0.85, "zero_credit_accuracy": 0.5}
    in_time = check.run(FakeContext(assignment.reference_path, assignment, seed=1,
                                    params=params, store=store))
    assert in_time.passed and in_time.fraction == 1.0
    late = check.run(FakeContext(assignment.reference_path, assignment, seed=1,
                                 params={**params, "time_budget_seconds": 0.001}, store=store))
    assert not late.passed and late.fraction == 0.0
    assert "more than the 0.001 s allowed" in late.message
    assert late.metrics["accuracy"] == in_time.metrics["accuracy"]


def test_mnist_vectorization_times_new_inputs_each_time(registry):
    """A loop that caches its answers is fast only on inputs it has seen: every timing
    must get new ones."""
    assignment = registry.assignment("mnist")
    check = next(c for c in assignment.checks if c.name == "vectorized backprop")
    cached = check.run(RecordingContext(assignment.cases_dir / "caches_backprop.py", assignment,
                                        seed=4))
    assert not cached.passed and "slower than allowed" in cached.message
    ctx = RecordingContext(assignment.reference_path, assignment, seed=4)
    assert check.run(ctx).passed
    inputs = [a for a in ctx.sent if a.shape == (784, 1000)]
    assert len(inputs) == 5 and not np.array_equal(inputs[0], inputs[1])


def test_pictures_come_from_the_public_half_and_change_with_the_run():
    labels = np.random.default_rng(0).integers(0, 10, 1000)
    predicted = np.where(np.random.default_rng(1).random(1000) < 0.3, (labels + 1) % 10, labels)
    runs = [score_model(predicted, labels, split_seed=5, rng=np.random.default_rng(seed))
            for seed in (1, 2)]
    public = public_mask(labels.size, 5)
    assert np.array_equal(runs[0].public, public) and public.sum() == 500
    shown = []
    for _, metrics, artifacts, _ in runs:
        assert np.sum(artifacts["confusion_matrix"]) == 500
        assert np.trace(artifacts["confusion_matrix"]) == np.sum((predicted == labels) & public)
        assert metrics["accuracy"] == pytest.approx(np.mean(predicted == labels))
        indices = [item["index"] for item in artifacts["misclassified"]]
        assert len(indices) == MISCLASSIFIED_SHOWN
        assert all(public[i] and predicted[i] != labels[i] for i in indices)
        shown.append(indices)
    assert shown[0] != shown[1]
    # not the lowest indices first: uploads cannot page through the labels in order
    assert shown[0] != sorted(np.flatnonzero((predicted != labels) & public))[:len(shown[0])]
