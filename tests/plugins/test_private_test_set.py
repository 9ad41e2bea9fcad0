"""A course replaces a public test set with its own through a dataset plugin: a
`DatasetDef` with hidden test labels and a rubric whose `dataset` parameter names it.
Graded through the real sandbox: the reference is scored on the course's images, and a
lookup table of the published labels has nothing to look up."""

from __future__ import annotations

import numpy as np
import pytest

from grader.config import dataset_cache_dir
from grader.engine import grade_submission
from plugins import DatasetDef, RubricDef, hookimpl
from plugins.datasets import DatasetStore
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry
from tests.assignments.lookup_solutions import lookup_table_source

pytestmark = pytest.mark.sandbox
#: resolved at import, before any test changes the working directory or environment
DATASETS_DIR = dataset_cache_dir()


def class_digits(cache_dir) -> dict[str, np.ndarray]:
    """Stands for digits collected in class: the public training set, and test images no
    table holds (here: the public test digits with some pixels one grey level darker)."""
    from plugins.builtin_datasets import load_digits

    public = load_digits(cache_dir)
    noise = np.random.default_rng(2026).integers(0, 2, public["X_test"].shape) / 16.0
    return {"X_train": public["X_train"], "y_train": public["y_train"],
            "X_test": np.clip(public["X_test"] + noise, 0.0, 1.0), "y_test": public["y_test"]}


class CoursePrivateData:
    """What a course's own plugin package registers (see docs/plugins.md)."""

    @hookimpl
    def neurograde_register_datasets(self):
        return [DatasetDef(name="class-digits", load=class_digits, hidden=frozenset({"y_test"}),
                           description="digits written by this year's class",
                           license="course-internal")]

    @hookimpl
    def neurograde_register_rubrics(self):
        return [RubricDef(name="digits-class-test", assignment="digits",
                          params={"dataset": "class-digits", "full_credit_accuracy": 0.80,
                                  "zero_credit_accuracy": 0.60},
                          description="graded on the class's own digits")]


@pytest.fixture(scope="module")
def registry():
    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(CoursePrivateData(), name="course-private-data")
    return build_registry(pm)


@pytest.fixture(scope="module")
def store(registry, tmp_path_factory):
    # the built-in datasets from the prepared cache, the course's own in a fresh folder
    return DatasetStore(registry.datasets, tmp_path_factory.mktemp("datasets"))


def test_the_rubric_names_the_course_dataset(registry):
    assert "digits-class-test" in registry.rubric_names("digits")
    assert registry.datasets["class-digits"].hidden == frozenset({"y_test"})


def test_reference_is_graded_on_the_course_test_set(registry, store):
    assignment = registry.assignment("digits")
    rubric = registry.rubric_for("digits", "digits-class-test")
    result = grade_submission(assignment.reference_path.read_text(encoding="utf-8"),
                              assignment, rubric=rubric, datasets=store, seed=3)
    assert result.status == "graded" and result.score == result.max_score, result.checks
    assert set(result.provenance["datasets"]) == {"class-digits"}
    public = grade_submission(assignment.reference_path.read_text(encoding="utf-8"),
                              assignment, rubric=registry.rubric_for("digits"),
                              datasets=DatasetStore(registry.datasets, DATASETS_DIR),
                              seed=3)
    assert result.metrics["accuracy"] != public.metrics["accuracy"]  # other images


def test_a_table_of_the_published_labels_has_nothing_to_look_up(registry, store):
    """Even scored by its own answers (as before the trusted evaluation), the table of the
    public digits would find none of the course's images."""
    public = DatasetStore(registry.datasets, DATASETS_DIR).get("digits").arrays
    source = lookup_table_source("digits", np.asarray(public["X_test"]),
                                 np.asarray(public["y_test"]))
    namespace: dict = {}
    exec(compile(source, "lookup_table.py", "exec"), namespace)  # trusted: our own source
    course = store.get("class-digits").arrays
    X = np.asarray(course["X_test"])
    found = [namespace["_LABELS"].get(namespace["_key"](X[:, j])) for j in range(X.shape[1])]
    assert sum(label is not None for label in found) <= 3
