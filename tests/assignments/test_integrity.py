"""The knowledgeable student's attacks on the scored assignments, through the real
engine and sandbox: a lookup table of the published test labels and the label probe
gain nothing, because the score and the pictures come from the trained model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from grader.config import dataset_cache_dir
from grader.engine import grade_submission
from plugins.datasets import DatasetStore
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry
from tests.assignments.lookup_solutions import (
    binary_subset,
    label_probe_source,
    lookup_table_source,
)

pytestmark = pytest.mark.sandbox
#: resolved at import, before any test changes the working directory or environment
DATASETS_DIR = dataset_cache_dir()

REGISTRY = build_registry(get_plugin_manager(load_entrypoints=False))
#: slug -> (dataset, the scored check, its metric, whether it rises)
SCORED = {"mnist": ("mnist", "accuracy on hidden test set", "accuracy"),
          "digits": ("digits", "accuracy on hidden test set", "accuracy"),
          "mnist-binary": ("mnist", "test error on hidden test set", "test_error")}



@pytest.fixture(scope="module")
def store():
    return DatasetStore(REGISTRY.datasets, DATASETS_DIR)


def only_check(slug: str, name: str):
    """The assignment with just the named check: the attacks are about that one."""
    assignment = REGISTRY.assignment(slug)
    return dataclasses.replace(assignment, checks=tuple(c for c in assignment.checks
                                                        if c.name == name))


def public_test_set(store: DatasetStore, slug: str) -> tuple[np.ndarray, np.ndarray]:
    dataset = SCORED[slug][0]
    if not store.is_cached(dataset):
        pytest.skip(f"{dataset} is not prepared: run `neurograde datasets prepare` first")
    arrays = store.get(dataset).arrays
    X, y = np.asarray(arrays["X_test"]), np.asarray(arrays["y_test"])
    return binary_subset(X, y) if slug == "mnist-binary" else (X, y)


@pytest.mark.parametrize("slug", sorted(SCORED))
def test_a_lookup_table_of_the_published_labels_scores_nothing(slug, store):
    X, y = public_test_set(store, slug)
    source = lookup_table_source(slug, X, y)  # built from the public data, here and now
    _, check_name, metric = SCORED[slug]
    result = grade_submission(source, only_check(slug, check_name),
                              rubric=REGISTRY.rubric_for(slug), datasets=store, seed=11)
    assert result.status == "graded", result.message
    (check,) = result.checks
    assert not check.passed and check.score == 0.0 and result.final_score == 0.0
    assert "does not follow the model train() returned" in check.message


@pytest.mark.parametrize("slug", sorted(SCORED))
def test_the_lookup_table_would_have_been_perfect(slug, store):
    """The table itself is right: graded by its own answers it would get every image."""
    from tests.assignments.lookup_solutions import image_key

    X, y = public_test_set(store, slug)
    levels = {"mnist": 255, "mnist-binary": 255, "digits": 16}[slug]
    floats = X / 255.0 if X.dtype == np.uint8 else X
    keys = [image_key(floats[:, j], levels) for j in range(200)]
    table = dict(zip(keys, y[:200].tolist(), strict=True))
    assert np.mean([table[k] for k in keys] == y[:200]) > 0.99


def test_a_network_that_agrees_but_is_untrained_is_scored_as_untrained(store):
    """The lookup table's untrained network with an honest predict: the trusted accuracy of
    that network, far below the threshold (what the lookup table really trained)."""
    X, y = public_test_set(store, "digits")
    source = lookup_table_source("digits", X, y).replace(
        "def predict(model, X):", "def predict(model, X):\n    return np.argmax(forward(model, "
        "X), axis=0)\n\n\ndef _unused(model, X):")
    result = grade_submission(source, only_check("digits", "accuracy on hidden test set"),
                              rubric=REGISTRY.rubric_for("digits"), datasets=store, seed=11)
    (check,) = result.checks
    assert not check.passed and check.score == 0.0
    assert result.metrics["accuracy"] < 0.3


def test_xor_lookup_of_the_four_points_cannot_stand_in_for_training(store):
    source = (REGISTRY.assignment("xor").reference_path.read_text(encoding="utf-8")
              .replace("def train(X, y, hidden=4, seed=0, learn_rate=1.0, epochs=2000):",
                       "def train(X, y, hidden=4, seed=0, learn_rate=1.0, epochs=0):")
              + "\n\nTABLE = {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0}\n\n\n"
                "def predict(model, X):\n"
                "    return np.array([TABLE[(int(a), int(b))] for a, b in np.asarray(X).T])\n")
    name = "learns XOR for most seeds"
    result = grade_submission(source, only_check("xor", name), rubric=REGISTRY.rubric_for("xor"),
                              datasets=store, seed=11)
    (check,) = result.checks
    assert not check.passed and check.score == 0.0
    assert "does not follow the model train() returned" in check.message


def test_the_label_probe_learns_nothing(store):
    """predict sends the image with the c-th smallest pixel hash to class c. Its answers
    never reach a picture: a predict that does not follow its network fails the check
    and gets no pictures or figures at all, and an honest predict's pictures are those of
    the network, the same whatever the predict function would have chosen."""
    public_test_set(store, "digits")
    check = only_check("digits", "accuracy on hidden test set")
    rubric = REGISTRY.rubric_for("digits")
    probe = label_probe_source("digits")
    honest = probe.replace("def predict(model, X):", "def predict(model, X):\n    return "
                           "np.argmax(forward(model, X), axis=0)\n\n\ndef _probe(model, X):")
    probed = grade_submission(probe, check, rubric=rubric, datasets=store, seed=5)
    baseline = grade_submission(honest, check, rubric=rubric, datasets=store, seed=5)
    assert baseline.checks[0].message and "does not follow" not in baseline.checks[0].message
    assert "does not follow the model" in probed.checks[0].message
    assert probed.artifacts == {} and probed.metrics == {}  # nothing to read a label from
    confusion = np.array(baseline.artifacts["confusion_matrix"])
    assert confusion.sum() == 148  # the public half of the 297 test images
    assert np.trace(confusion) / confusion.sum() == pytest.approx(
        baseline.metrics["accuracy_public"])
