"""Each hook, called the way neurograde calls it, on the built-ins and the example plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurograde import AssignmentDef, DatasetDef, RendererDef, RubricDef
from plugins.manager import get_plugin_manager

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "neurograde-example-course"


@pytest.fixture
def pm_with_example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import neurograde_example_course

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(neurograde_example_course, name="example_course")
    return pm


def _flatten(results) -> list:
    return [item for result in results for item in result]


def test_register_assignments_hook(pm_with_example):
    items = _flatten(pm_with_example.hook.neurograde_register_assignments())
    assert all(isinstance(item, AssignmentDef) for item in items)
    assert "example-relu" in {item.slug for item in items}


def test_register_datasets_hook(pm_with_example, tmp_path):
    items = _flatten(pm_with_example.hook.neurograde_register_datasets())
    assert all(isinstance(item, DatasetDef) for item in items)
    by_name = {item.name: item for item in items}
    assert {"mnist", "digits", "example-blobs"} <= set(by_name)
    arrays = by_name["example-blobs"].load(tmp_path)
    assert arrays["X_train"].shape[0] == 2 and "y_test" in by_name["example-blobs"].hidden


def test_register_rubrics_hook(pm_with_example):
    items = _flatten(pm_with_example.hook.neurograde_register_rubrics())
    assert all(isinstance(item, RubricDef) for item in items)
    friendly = next(item for item in items if item.name == "example-sigmoid-late-friendly")
    assert friendly.assignment == "sigmoid" and 0 < friendly.late_penalty_per_day <= 1
    # an assignment's own rubrics come with it
    relu = next(item for item in _flatten(pm_with_example.hook.neurograde_register_assignments())
                if item.slug == "example-relu")
    strict = next(r for r in relu.rubrics if r.name == "example-relu-strict")
    assert strict.assignment == "example-relu" and 0 < strict.late_penalty_per_day <= 1
    assert strict.points["relu-hidden"] == 4.0 and strict.points["relu-visible"] == 1.0


def test_register_renderers_hook(pm_with_example):
    items = _flatten(pm_with_example.hook.neurograde_register_renderers())
    assert all(isinstance(item, RendererDef) for item in items)
    assert {"confusion_matrix", "misclassified"} <= {item.key for item in items}
