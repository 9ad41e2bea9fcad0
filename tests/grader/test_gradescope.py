"""The Gradescope bridge: the exported zip's `run_autograder`, run in a folder laid out
as Gradescope's, grades like `neurograde grade` and writes a valid results.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.config import dataset_cache_dir
from grader.gradescope import results_json
from grader.gradescope_export import export
from grader.result import CheckResult, GradingResult

ROOT = Path(__file__).resolve().parents[2]
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


def validate(data: dict) -> None:
    """The parts of Gradescope's results.json specification neurograde writes."""
    assert isinstance(data["score"], float)
    assert isinstance(data["output"], str)
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert isinstance(test["name"], str) and test["visibility"] in VISIBILITIES
        assert 0 <= test["score"] <= test["max_score"]
    for entry in data.get("leaderboard", []):
        assert isinstance(entry["name"], str) and isinstance(entry["value"], float)
        assert entry["order"] in ("asc", "desc")


def run_export(tmp_path: Path, slug: str, solution: Path) -> dict:
    """Export, unpack as Gradescope does (/autograder/source), run run_autograder."""
    archive = tmp_path / f"{slug}.zip"
    result = CliRunner().invoke(export, ["gradescope", slug, "-o", str(archive)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)
        assert zf.getinfo("run_autograder").external_attr >> 16 & 0o111
        zf.extractall(root / "source")
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    shutil.copy(solution, root / "submission" / "solution.py")
    assert subprocess.run(["bash", "-n", str(root / "source" / "setup.sh")]).returncode == 0
    env = {**os.environ, "NEUROGRADE_GRADESCOPE_ROOT": str(root),
           "NEUROGRADE_GRADESCOPE_PYTHON": sys.executable,
           "NEUROGRADE_INSTANCE_PATH": str(dataset_cache_dir().parent)}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def neurograde_grade(slug: str, solution: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "server.cli", "grade", str(solution),
                           "--assignment", slug, "--json"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def compare(tmp_path: Path, slug: str) -> dict:
    reference = ROOT / "assignments" / slug.replace("-", "_") / "reference.py"
    exported = run_export(tmp_path, slug, reference)
    validate(exported)
    direct = neurograde_grade(slug, reference)
    assert direct["status"] == "graded"
    assert exported["score"] == pytest.approx(direct["score"])
    assert {t["name"]: t["score"] for t in exported["tests"]} == pytest.approx(
        {c["name"]: c["score"] for c in direct["checks"]})
    return exported


@pytest.mark.sandbox
def test_sigmoid_export_grades_like_neurograde_grade(tmp_path):
    exported = compare(tmp_path, "sigmoid")
    assert exported["score"] > 0
    assert {t["visibility"] for t in exported["tests"]} == {"visible", "after_due_date"}


@pytest.mark.sandbox
@pytest.mark.slow
def test_mnist_export_grades_like_neurograde_grade_with_a_leaderboard(tmp_path):
    if not (dataset_cache_dir() / "mnist" / "manifest.json").is_file():
        pytest.skip("MNIST is not prepared (neurograde datasets prepare mnist)")
    exported = compare(tmp_path, "mnist")
    assert exported["leaderboard"][0]["name"] == "accuracy"
    assert exported["leaderboard"][0]["value"] > 0.9


@pytest.mark.sandbox
def test_a_broken_submission_gets_a_zero_with_its_reason(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def sigmoid(z)\n")
    data = run_export(tmp_path, "sigmoid", broken)
    validate(data)
    assert data["score"] == 0.0 and "compile_error" in data["output"]


def test_any_result_converts():
    result = GradingResult(status="graded", score=1.5, max_score=2.0, checks=[
        CheckResult("shape", True, 1.0, 1.0, "visible", "ok"),
        CheckResult("hidden accuracy", False, 0.5, 1.0, "hidden", "0.91 (needs 0.95)")],
        metrics={"accuracy_public": 0.91, "accuracy_private": 0.9}, duration_s=1.23)
    data = results_json(result, "accuracy")
    validate(data)
    assert data["leaderboard"] == [{"name": "accuracy", "value": 0.91, "order": "desc"}]
    assert [t["visibility"] for t in data["tests"]] == ["visible", "after_due_date"]
