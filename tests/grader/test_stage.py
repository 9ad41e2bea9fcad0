"""The staging directory: trees are reused, refreshed when used, removed when idle."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from grader import sandbox, stage

DAY = 24 * 3600


@pytest.fixture
def stage_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "stage"
    monkeypatch.setenv("NEUROGRADE_STAGE_DIR", str(root))
    sandbox.grading_layout.cache_clear()
    yield stage.stage_root()
    sandbox.grading_layout.cache_clear()  # the next test stages in the real directory


def _aged(path: Path, days: float) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    then = time.time() - days * DAY
    os.utime(path, (then, then))
    return path


def test_staging_a_new_tree_removes_idle_trees_and_keeps_the_rest(stage_dir, tmp_path):
    source = tmp_path / "child"
    source.mkdir()
    (source / "runner.py").write_text("print('hi')\n")
    _aged(source, 30)  # copytree copies this mtime; the staged tree must not look idle
    idle = _aged(stage_dir / "numpy-0123456789abcdef", 2)
    recent = _aged(stage_dir / "child-fedcba9876543210", 0.5)
    abandoned = _aged(stage_dir / ".build-k2j3h4", 2)
    foreign = _aged(stage_dir / "notes", 2)  # not a name `stage_tree` makes: left alone
    staged = stage.stage_tree(source)
    assert (staged / "runner.py").read_text() == "print('hi')\n"
    assert not idle.exists() and not abandoned.exists()
    assert recent.exists() and foreign.exists()
    assert time.time() - staged.stat().st_mtime < 60
    assert stage.prune_stage(stage_dir) == []  # the new tree is not idle


def test_reusing_a_staged_tree_marks_it_in_use(stage_dir, tmp_path):
    source = tmp_path / "child"
    source.mkdir()
    (source / "runner.py").write_text("")
    staged = stage.stage_tree(source)
    _aged(staged, 2)
    assert stage.stage_tree(source) == staged and time.time() - staged.stat().st_mtime < 60
    assert stage.prune_stage(stage_dir) == []


def test_a_removed_tree_is_staged_again_before_the_next_launch(stage_dir):
    layout = sandbox.current_layout()
    child = next(Path(p) for p in layout.staged if Path(p).name.startswith("child-"))
    shutil.rmtree(child)  # as `prune_stage` in another worker would after a day idle
    again = sandbox.current_layout()
    assert child.is_dir() and (child / "runner.py").is_file()
    assert all(Path(p).is_dir() for p in again.staged)
    assert all(Path(source).exists() for source, _ in again.binds)
