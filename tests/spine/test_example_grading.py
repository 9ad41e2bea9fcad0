"""The example plugin grades for real: its reference gets full marks and each known-bad
solution the outcome it declares, through the engine and the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.datasets import DatasetStore
from plugins.manager import get_plugin_manager
from server.state import load_plugins

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "neurograde-example-course"


@pytest.mark.sandbox
def test_example_reference_and_known_bad_cases(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import neurograde_example_course

    from grader.course_cli import verify_assignment

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(neurograde_example_course, name="example_course")
    _pm, registry = load_plugins(pm=pm)
    assignment = registry.assignment("example-relu")
    store = DatasetStore(registry.datasets, tmp_path / "datasets")
    reports = verify_assignment(assignment, registry.rubric_for("example-relu"), store, seed=3,
                                plugin="example_course")
    outcomes = {r.case: (r.result.status, sorted(r.failed_checks), r.problems) for r in reports}
    assert outcomes == {
        "reference": ("graded", [], []),
        "derivative_at_zero.py": ("graded", ["relu-prime"], []),
        "absolute_value.py": ("graded", ["relu-hidden", "relu-visible"], []),
        "uses_sklearn.py": ("forbidden_import", ["relu-hidden", "relu-prime", "relu-visible"], []),
    }
    reference = next(r.result for r in reports if r.case == "reference")
    assert reference.score == reference.max_score == 4.0
