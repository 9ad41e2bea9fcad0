"""The built-in course as plugins: registration, rubrics, handouts, starters, cases."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest

from plugins.builtin_datasets import DATASETS
from plugins.datasets import DatasetStore
from plugins.registry import build_registry
from tests.assignments.fake_context import FakeContext

COURSE = {"sigmoid": 10, "mse-loss": 20, "backprop-2-2-1": 30, "mnist": 40}


@pytest.fixture(scope="module")
def registry():
    from plugins.manager import get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False))


def test_the_four_assignments_register_in_teaching_order(registry):
    for slug, order in COURSE.items():
        assignment = registry.assignment(slug)
        assert assignment.order == order
        assert registry.plugin_of("assignment", slug) == "assignments"
        rubric = registry.rubric_for(slug)
        assert rubric.name == f"{slug}-default"
        assert set(rubric.points) == {c.name for c in assignment.checks}
    assert not {k: v for k, v in registry.errors.items() if k == "assignments"}


def test_mnist_rubrics_can_be_swapped_by_name(registry):
    default, strict = registry.rubric_for("mnist"), registry.rubric_for("mnist", "mnist-strict")
    assert default.params["full_credit_accuracy"] == 0.95
    assert default.params["zero_credit_accuracy"] == 0.90
    assert strict.params["full_credit_accuracy"] == 0.97
    assert registry.assignment("mnist").metric == "accuracy"
    assert registry.assignment("mnist").limits.memory_mb == 2048


@pytest.mark.parametrize("slug, numbers", [
    ("sigmoid", ["0.9990889488055994", "σ(z)·(1 − σ(z))", "±1000", "512 MB"]),
    ("mse-loss", ["0.5", "(2/n) · (y_predᵢ − y_trueᵢ)", "[−0.5, 0, 0, −0.5]"]),
    ("backprop-2-2-1", ["0.7216325609518421", "0.5236951740839997", "0.0214", "0.021470",
                        "Emily", "Frank", "Diana", "−0.237618"]),
    ("mnist", ["(784, m)", "1/(2m)", "95 %", "90 %", "N(0, **1/n_in**)", "mnist-strict",
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
    with pytest.raises(NotImplementedError):
        if slug == "mse-loss":
            namespace["mse_loss"](np.zeros(2), np.ones(2))
        else:
            namespace["sigmoid"](0.0)


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


class RecordingContext(FakeContext):
    """Records everything that would cross into the child."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[np.ndarray] = []

    def share(self, array):
        self.sent.append(np.asarray(array))
        return super().share(array)

    def timed_call(self, function, *args, **kwargs):
        self.sent += [a for a in list(args) + list(kwargs.values())
                      if isinstance(a, np.ndarray) and not any(a is s for s in self.sent)]
        return super().timed_call(function, *args, **kwargs)


def test_mnist_test_labels_stay_in_the_parent_and_images_are_shuffled(registry, tmp_path):
    assignment = registry.assignment("mnist")
    store = DatasetStore({d.name: d for d in DATASETS}, tmp_path)
    ctx = RecordingContext(assignment.cases_dir / "constant_predictor.py", assignment, seed=3,
                           params={"dataset": "digits"}, store=store)
    check = next(c for c in assignment.checks if c.name == "accuracy on hidden test set")
    outcome = check.run(ctx)
    digits = store.get("digits").arrays
    labels, images = np.asarray(digits["y_test"]), np.asarray(digits["X_test"], np.float32)
    assert not any(a.shape == labels.shape and np.array_equal(a, labels) for a in ctx.sent)
    sent_images = [a for a in ctx.sent if a.shape == images.shape]
    assert len(sent_images) == 1 and not np.array_equal(sent_images[0], images)
    assert sorted(map(tuple, sent_images[0].T)) == sorted(map(tuple, images.T))
    # the constant predictor says "1" for everything: accuracy = share of ones
    assert outcome.metrics["accuracy"] == pytest.approx(np.mean(labels == 1))
    assert not outcome.passed and outcome.fraction == 0.0


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
