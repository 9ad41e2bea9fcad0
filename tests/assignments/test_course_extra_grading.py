"""The rest of the course graded through the real engine and sandbox: references get full
marks, known-bad cases get exactly their declared outcome, metrics for the leaderboard,
and the grading time of digits. (test_verify.py covers every case of the fast
assignments with a random seed; here the seeds are fixed and the specifics checked.)"""

from __future__ import annotations

import time

import numpy as np
import pytest

from grader.config import dataset_cache_dir
from grader.course_cli import format_report, verify_assignment
from grader.engine import grade_submission
from plugins.datasets import DatasetStore
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry

pytestmark = pytest.mark.sandbox

REGISTRY = build_registry(get_plugin_manager(load_entrypoints=False))


@pytest.fixture(scope="module")
def store():
    return DatasetStore(REGISTRY.datasets, dataset_cache_dir())


def grade(slug: str, path, store, seed: int, **extra):
    assignment = REGISTRY.assignment(slug)
    return grade_submission(path.read_text(encoding="utf-8"), assignment,
                            rubric=REGISTRY.rubric_for(slug), datasets=store, seed=seed,
                            plugin="assignments", extra_params=extra or None)


@pytest.mark.parametrize("slug", ["gradient-descent", "xor", "minibatch", "digits"])
def test_reference_and_cases_with_a_fixed_seed(slug, store):
    reports = verify_assignment(REGISTRY.assignment(slug), REGISTRY.rubric_for(slug), store,
                                seed=20261122, plugin="assignments")
    assert all(r.ok for r in reports), "\n".join(format_report(r) for r in reports)
    assert reports[0].case == "reference"
    # xor has one more point: the check that training learned from the data
    assert reports[0].result.score == reports[0].result.max_score == (11 if slug == "xor" else 10)
    assert {r.result.provenance["sandbox"] for r in reports} == {"bwrap"}
    assert len(reports) >= 6


def test_digits_grades_quickly_and_reports_leaderboard_metrics(store):
    assignment = REGISTRY.assignment("digits")
    start = time.monotonic()
    result = grade("digits", assignment.reference_path, store, seed=4, split_seed=9)
    seconds = time.monotonic() - start
    assert result.status == "graded" and result.score == result.max_score, result.checks
    assert seconds < 10, f"digits grading took {seconds:.1f} s"
    metrics = result.metrics
    assert metrics["accuracy"] >= 0.95
    labels = np.asarray(store.get("digits").arrays["y_test"])
    public = np.random.default_rng(9).permutation(labels.size)[: labels.size // 2]
    # the overall accuracy is the size-weighted mean of the two halves
    weighted = (metrics["accuracy_public"] * public.size
                + metrics["accuracy_private"] * (labels.size - public.size)) / labels.size
    assert weighted == pytest.approx(metrics["accuracy"])
    confusion = np.array(result.artifacts["confusion_matrix"])  # of the public half only
    assert confusion.shape == (10, 10) and confusion.sum() == public.size
    assert np.array_equal(confusion.sum(axis=1), np.bincount(labels[public], minlength=10))
    message = next(c.message for c in result.checks if c.name == "accuracy on hidden test set")
    assert (f"accuracy {metrics['accuracy_public']:.4f} of your network on the public half "
            "(148 images)") in message
    assert "misclassified" not in result.artifacts  # indices would point into MNIST's pictures
    assert result.provenance["datasets"]["digits"].startswith("sha256:")


def test_digits_partial_credit_follows_the_rubric(store):
    """An accuracy between the thresholds earns a linear share of the check's points: of
    the public half's accuracy now, of the whole set's in the final score."""
    assignment = REGISTRY.assignment("digits")
    rubric = REGISTRY.rubric_for("digits")
    strict = type(rubric)(name="digits-test", assignment="digits", points=rubric.points,
                          params={"full_credit_accuracy": 1.01, "zero_credit_accuracy": 0.5})
    result = grade_submission(assignment.reference_path.read_text(), assignment, rubric=strict,
                              datasets=store, seed=4)
    check = next(c for c in result.checks if c.name == "accuracy on hidden test set")
    expected = (result.metrics["accuracy_public"] - 0.5) / (1.01 - 0.5) * check.max_score
    assert not check.passed and check.score == pytest.approx(expected, abs=1e-5)
    final = (result.metrics["accuracy"] - 0.5) / (1.01 - 0.5) * check.max_score
    assert result.final_score - result.score == pytest.approx(final - expected, abs=1e-5)


def test_gradient_descent_visible_checks_only(store):
    """`neurograde check` runs only the worked example, which shows the expected numbers."""
    assignment = REGISTRY.assignment("gradient-descent")
    result = grade_submission((assignment.cases_dir / "ignores_precision.py").read_text(),
                              assignment, visible_only=True, seed=1)
    assert [c.name for c in result.checks] == ["worked example"]
    assert "2.2499646074278457 after 70 steps" in result.checks[0].message
    assert "got 2.249999999999999 after 10000 steps" in result.checks[0].message


def test_xor_reports_the_fraction_of_seeds(store):
    assignment = REGISTRY.assignment("xor")
    result = grade("xor", assignment.cases_dir / "missing_tanh_derivative.py", store, seed=3)
    learn = next(c for c in result.checks if c.name == "learns XOR for most seeds")
    assert not learn.passed and "of 9 hidden seeds (at least 5 needed" in learn.message
    assert result.metrics["xor_seeds_solved"] < 5


# ---- mnist-binary: needs the prepared MNIST data -------------------------------------------

def prepared_mnist(store: DatasetStore):
    if not store.is_cached("mnist"):
        pytest.skip("MNIST is not prepared: run `neurograde datasets prepare` first")
    return REGISTRY.assignment("mnist-binary")


@pytest.mark.slow
def test_mnist_binary_reference_full_marks_and_test_error(store):
    assignment = prepared_mnist(store)
    start = time.monotonic()
    result = grade("mnist-binary", assignment.reference_path, store, seed=561, split_seed=2)
    seconds = time.monotonic() - start
    assert result.status == "graded" and result.score == result.max_score, result.checks
    assert seconds < assignment.limits.wall_seconds
    metrics = result.metrics
    assert set(metrics) >= {"test_error", "test_error_public", "test_error_private"}
    assert metrics["test_error"] <= 0.003
    data = store.get("mnist").arrays
    labels = np.asarray(data["y_test"])
    binary = labels[labels <= 1]
    assert binary.size == 2115 and int(np.sum(np.asarray(data["y_train"]) <= 1)) == 12665
    public = np.random.default_rng(2).permutation(binary.size)[: binary.size // 2]
    confusion = np.array(result.artifacts["confusion_matrix"])  # of the public half only
    assert confusion.shape == (2, 2) and confusion.sum() == public.size == 1057
    assert confusion[0, 1] + confusion[1, 0] == round(metrics["test_error_public"] * public.size)
    message = next(c.message for c in result.checks if c.name == "test error on hidden test set")
    assert "public half (1,057 images)" in message
    assert f"test error {metrics['test_error_public']:.2%}" in message
    public_mnist = set(np.flatnonzero(labels <= 1)[public])
    for item in result.artifacts["misclassified"]:  # indices into the full MNIST test set
        assert item["true"] == labels[item["index"]] != item["predicted"]
        assert item["true"] in (0, 1) and item["index"] in public_mnist


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(
    p.name for p in REGISTRY.assignment("mnist-binary").cases_dir.glob("*.py")))
def test_mnist_binary_known_bad_case(case, store):
    assignment = prepared_mnist(store)
    reports = verify_assignment(assignment, REGISTRY.rubric_for("mnist-binary"), store,
                                only=[case], seed=7)
    assert len(reports) == 1 and reports[0].ok, format_report(reports[0])
