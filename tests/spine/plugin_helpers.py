"""Throwaway plugins for the spine tests (defined in code, registered per test)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from plugins import AssignmentDef, CheckDef, DatasetDef, Outcome, RubricDef, hookimpl


def passing_check(ctx) -> Outcome:
    return Outcome(True, "ok")


def make_assignment(slug: str, tmp_path: Path, **overrides) -> AssignmentDef:
    reference = tmp_path / f"{slug}_reference.py"
    reference.write_text("def answer():\n    return 42\n")
    values = {"slug": slug, "title": f"Assignment {slug}", "handout": "# Handout",
              "starter": "def answer():\n    pass\n", "reference_path": reference,
              "checks": (CheckDef("answer", passing_check, visibility="visible"),)}
    values.update(overrides)
    return AssignmentDef(**values)


class AssignmentPlugin:
    """Registers the given assignments, rubrics and datasets."""

    def __init__(self, assignments=(), rubrics=(), datasets=()) -> None:
        self.assignments, self.rubrics, self.datasets = assignments, rubrics, datasets

    @hookimpl
    def neurograde_register_assignments(self):
        return list(self.assignments)

    @hookimpl
    def neurograde_register_rubrics(self):
        return list(self.rubrics)

    @hookimpl
    def neurograde_register_datasets(self):
        return list(self.datasets)


class RaisingPlugin:
    @hookimpl
    def neurograde_register_assignments(self):
        raise RuntimeError("the course files are missing")


class MalformedPlugin:
    @hookimpl
    def neurograde_register_assignments(self):
        return [{"slug": "not-a-definition"}]

    @hookimpl
    def neurograde_register_rubrics(self):
        return [RubricDef(name="bad-penalty", assignment="x", late_penalty_per_day=3.0)]


def tiny_dataset(name: str) -> DatasetDef:
    return DatasetDef(name=name, load=lambda cache_dir: {"X": np.eye(2)})


def write_distribution(site: Path, dist: str, module: str, source: str,
                       entry_name: str | None = None) -> None:
    """A minimal installed distribution (dist-info with an entry point) in `site`."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[neurograde]\n{entry_name or dist} = {module}\n")
