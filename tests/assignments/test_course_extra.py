"""The rest of the course (gradient-descent, xor, digits, minibatch, mnist-binary):
registration, teaching order, handouts, starters, and the checks' behaviour on many
hidden seeds (in process, through the fake context; the sandboxed runs are in
test_course_extra_grading.py)."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from neurograde.testing import FakeContext, load_module, run_checks
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry

EXTRA = {"gradient-descent": 15, "xor": 35, "minibatch": 36, "digits": 37, "mnist-binary": 50}
#: the whole course as a student sees it on the course page
TEACHING_ORDER = ["sigmoid", "gradient-descent", "mse-loss", "backprop-2-2-1", "xor", "minibatch",
                  "digits", "mnist", "mnist-binary"]
#: functions of the provided part of a starter, which must equal the reference's
PROVIDED = {"gradient-descent": {"polynomial", "descend"},
            "minibatch": {"squared_error_grad", "logistic_grad", "run"}}


@pytest.fixture(scope="module")
def registry():
    return build_registry(get_plugin_manager(load_entrypoints=False))


def test_registered_in_teaching_order_with_default_rubrics(registry):
    assert not [k for k in registry.errors if k.startswith("assignments.")]
    for slug, order in EXTRA.items():
        assignment = registry.assignment(slug)
        assert assignment.order == order
        assert registry.plugin_of("assignment", slug).startswith("assignments.")
        rubric = registry.rubric_for(slug)
        assert rubric.name == f"{slug}-default"
        assert set(rubric.points) == {c.name for c in assignment.checks}
        assert any(c.visibility == "visible" for c in assignment.checks)
        assert (assignment.cases_dir / "expected.json").is_file()
    listed = sorted(registry.assignments.values(), key=lambda a: a.order)
    assert [a.slug for a in listed if a.slug in TEACHING_ORDER] == TEACHING_ORDER


def test_metric_assignments_rank_the_right_way(registry):
    digits, binary = registry.assignment("digits"), registry.assignment("mnist-binary")
    assert (digits.metric_name, digits.metric_higher_is_better) == ("accuracy", True)
    assert (binary.metric_name, binary.metric_higher_is_better) == ("test_error", False)
    assert binary.leaderboard_metric.show(0.0123) == "1.23%"
    assert binary.datasets == ("mnist",) and digits.datasets == ("digits",)
    assert registry.rubric_for("mnist-binary").params["full_credit_error"] == 0.003
    assert registry.rubric_for("digits").params["full_credit_accuracy"] == 0.95
    xor = registry.rubric_for("xor").params
    assert xor["xor_min_seeds"] > xor["xor_seeds"] / 2  # "most seeds"


@pytest.mark.parametrize("slug, numbers", [
    ("gradient-descent", ["x⁴ − 3x³ + 2", "4x³ − 9x²", "2.2499646074278457", "70", "OverflowError",
                          "10¹⁰", "[0, 0, -9, 4]", "descend"]),
    ("xor", ["tanh", "1 − A1²", "0.00669586967631774", "0.9933011102192376", "cross-entropy",
             "local minimum", "5 of the 9"]),
    ("digits", ["(64, m)", "0.7216325609518421", "1/(2m)", "95 %", "90 %", "1,500", "297",
                "N(0, **1/n_in**)"]),
    ("minibatch", ["⌈m / batch_size⌉", "rng.permutation(m)", "[0.953 2.012]", "[2, 0, 1, 3]",
                   "w.copy()", "run(method"]),
    ("mnist-binary", ["12,665", "2,115", "relu′", "(A2 − Y) / m", "0.3 %", "He initialisation",
                      "training statistics", "LeCun"]),
])
def test_handouts_carry_the_contract_and_every_check(registry, slug, numbers):
    assignment = registry.assignment(slug)
    for number in numbers:
        assert number in assignment.handout, f"{slug} handout lacks {number!r}"
    for check in assignment.checks:
        assert check.name in assignment.handout, f"{slug} handout does not explain {check.name!r}"
    assert f"{assignment.limits.wall_seconds:g} s wall time" in assignment.handout


def _functions(tree: ast.Module) -> dict[str, str]:
    return {f.name: ast.dump(f) for f in tree.body if isinstance(f, ast.FunctionDef)}


@pytest.mark.parametrize("slug", EXTRA)
def test_starters_define_the_contract_and_keep_the_provided_part(registry, slug):
    assignment = registry.assignment(slug)
    starter = ast.parse(assignment.starter)
    reference = _functions(ast.parse(assignment.reference_path.read_text()))
    mine = _functions(starter)
    public = {n for n in reference if not n.startswith("_") and n not in ("one_hot", "loss",
                                                                           "standardize")}
    assert public <= set(mine), public - set(mine)
    for name in PROVIDED.get(slug, ()):  # the grader's adapter must be the reference's
        assert mine[name] == reference[name], f"{slug} starter's {name} differs"
    namespace: dict = {}
    exec(compile(starter, "starter.py", "exec"), namespace)
    student_functions = set(mine) - PROVIDED.get(slug, set())
    assert public - PROVIDED.get(slug, set()) <= student_functions
    for name in student_functions:  # every function the student writes is left to the student
        with pytest.raises(NotImplementedError):
            namespace[name](*([np.zeros((2, 2))] * _arity(namespace[name])))


def _arity(function) -> int:
    code = function.__code__
    return code.co_argcount - len(function.__defaults__ or ())


@pytest.mark.parametrize("slug", ["gradient-descent", "xor", "minibatch"])
def test_reference_passes_every_check_on_many_hidden_seeds(registry, slug):
    assignment = registry.assignment(slug)
    params = dict(registry.rubric_for(slug).params)
    for seed in range(12):
        outcomes = run_checks(assignment.reference_path, assignment, seed=seed, params=params)
        failed = {name: o.message for name, o in outcomes.items() if not o.passed}
        assert not failed, (seed, failed)


@pytest.mark.parametrize("slug", ["gradient-descent", "minibatch"])
def test_known_bad_cases_fail_the_same_checks_on_every_seed(registry, slug):
    """The cases' declared outcomes must not depend on the hidden inputs of a run."""
    import json

    assignment = registry.assignment(slug)
    expected = json.loads((assignment.cases_dir / "expected.json").read_text())
    for case, want in expected.items():
        if want["status"] != "graded":
            continue
        for seed in range(8):
            outcomes = run_checks(assignment.cases_dir / case, assignment, seed=seed)
            failed = sorted(name for name, o in outcomes.items() if not o.passed)
            assert failed == sorted(want["failed_checks"]), (case, seed)


def test_gradient_descent_reference_matches_the_worked_example(registry):
    reference = load_module(registry.assignment("gradient-descent").reference_path, "gd_ref")
    x, history = reference.gradient_descent(lambda x: 4 * x**3 - 9 * x**2, 6, 0.01, 1e-5, 10000)
    assert x == 2.2499646074278457 and len(history) == 71
    assert history[:2] == pytest.approx([6.0, 0.6])
    assert abs(history[-1] - history[-2]) <= 1e-5 < abs(history[-2] - history[-3])
    with pytest.raises(OverflowError):
        reference.gradient_descent(lambda x: 4 * x**3 - 9 * x**2, 4, 0.5, 1e-6, 10000)
    diverged = reference.descend([0, 0, -9, 4], 4, 0.5, 1e-6, 10000)
    assert diverged["diverged"] and "diverged" in diverged["message"]


def test_minibatch_reference_matches_the_handout_example(registry):
    reference = load_module(registry.assignment("minibatch").reference_path, "mb_ref")
    X = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 2.0, 3.0]])
    y = np.array([1.0, 3.0, 5.0, 7.0])
    batch = reference.batch_gd(reference.squared_error_grad, np.zeros(2), X, y, 0.1, 3)
    assert np.allclose(batch, [[0, 0], [0.8, 1.7], [0.93, 1.97], [0.953, 2.012]])
    mini = reference.minibatch_gd(reference.squared_error_grad, np.zeros(2), X, y, 0.1, 2, 3)
    assert mini.shape == (5, 2)
    assert np.allclose(mini[1:], [[0.6, 0.8666666667], [1.36, 3.1466666667],
                                  [0.8293333333, 1.9324444444], [0.8634666667, 1.9324444444]])
    assert reference.sgd(reference.squared_error_grad, np.zeros(2), X, y, 0.1, 2).shape == (9, 2)


def test_minibatch_feedback_names_the_mistake(registry):
    assignment = registry.assignment("minibatch")
    messages = {case: run_checks(assignment.cases_dir / case, assignment, seed=3)
                for case in ("no_shuffle.py", "reseeded_each_epoch.py", "drops_last_batch.py",
                             "history_aliases_w.py")}
    assert "stored order" in messages["no_shuffle.py"]["sgd trajectory"].message
    assert "same order every epoch" in messages["reseeded_each_epoch.py"][
        "minibatch_gd trajectory"].message
    assert "last, smaller batch" in messages["drops_last_batch.py"][
        "minibatch_gd trajectory"].message
    assert "w.copy()" in messages["history_aliases_w.py"]["batch_gd trajectory"].message


def test_xor_gradient_feedback_names_the_wrong_derivative(registry):
    assignment = registry.assignment("xor")
    for case, words in (("missing_tanh_derivative.py", "missing the tanh derivative"),
                        ("derivative_at_z.py", "1 − z²")):
        with np.errstate(all="ignore"):  # training with a wrong derivative overflows
            outcome = run_checks(assignment.cases_dir / case, assignment, seed=5)[
                "gradient check: tanh layer (W1, b1)"]
        assert not outcome.passed and words in outcome.message
        assert "∂L/∂W1" in outcome.message and "∂L/∂b1" in outcome.message


def test_xor_reference_solves_most_seeds_and_the_count_is_reported(registry):
    assignment = registry.assignment("xor")
    ctx = FakeContext(assignment.reference_path, assignment, seed=2,
                      params=dict(registry.rubric_for("xor").params))
    check = next(c for c in assignment.checks if c.name == "learns XOR for most seeds")
    outcome = check.run(ctx)
    solved = int(outcome.metrics["xor_seeds_solved"])
    assert outcome.passed and 5 <= solved <= 9
    assert f"for {solved} of 9 hidden seeds" in outcome.message
