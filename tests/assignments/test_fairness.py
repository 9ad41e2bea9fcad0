"""Grading fairness: verdicts that depend on the code, not on the machine's load, and
causes measured rather than guessed."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assignments._sigmoid_network import init_advice
from grader.engine import grade_submission
from neurograde.testing import FakeContext
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry

REGISTRY = build_registry(get_plugin_manager(load_entrypoints=False))
ROOT = Path(__file__).resolve().parents[2]
#: the timing-sensitive digits cases and the verdict each must get every time
TIMED_CASES = {"nielsen_matrix_backprop.py": True, "einsum_backprop.py": True,
               "per_sample_loop.py": False}
GRADINGS = 5
def _vectorization_only():
    assignment = REGISTRY.assignment("digits")
    check = next(c for c in assignment.checks if c.name == "vectorized backprop")
    return dataclasses.replace(assignment, checks=(check,))


def _busy_grader() -> subprocess.Popen:
    """A grading process of its own: grades the per-example loop's timing check over and
    over (its child and its parent each keep a core busy)."""
    code = ("import dataclasses, time\n"
            "from grader.engine import grade_submission\n"
            "from plugins.manager import get_plugin_manager\n"
            "from plugins.registry import build_registry\n"
            "a = build_registry(get_plugin_manager(load_entrypoints=False))"
            ".assignment('digits')\n"
            "a = dataclasses.replace(a, checks=tuple(c for c in a.checks "
            "if c.name == 'vectorized backprop'))\n"
            "src = (a.cases_dir / 'per_sample_loop.py').read_text()\n"
            "end = time.monotonic() + 300\n"
            "while time.monotonic() < end:\n"
            "    grade_submission(src, a)\n")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.sandbox
def test_vectorization_verdicts_hold_while_another_grader_loads_both_cores():
    assignment = _vectorization_only()
    load = [_busy_grader(), _busy_grader()]  # two: the machine has two cores
    try:
        time.sleep(1.0)  # let them start grading
        assert all(p.poll() is None for p in load)
        verdicts: dict[str, list[bool]] = {name: [] for name in TIMED_CASES}
        for _ in range(GRADINGS):
            for name in TIMED_CASES:
                source = (assignment.cases_dir / name).read_text()
                result = grade_submission(source, assignment)
                assert result.status == "graded", result.message
                verdicts[name].append(result.checks[0].passed)
                if not result.checks[0].passed:
                    message = result.checks[0].message
                    assert "slower than allowed" in message and "allowed: 8×" in message
        assert all(p.poll() is None for p in load)  # the load lasted the whole test
    finally:
        for p in load:
            p.kill()
            p.wait()
    assert verdicts == {name: [ok] * GRADINGS for name, ok in TIMED_CASES.items()}


def test_init_advice_names_the_weight_scale(tmp_path):
    assignment = REGISTRY.assignment("mnist")
    normal = tmp_path / "normal_init.py"
    normal.write_text("import numpy as np\n\ndef init_network(sizes, seed=0):\n"
                      "    rng = np.random.default_rng(seed)\n"
                      "    return [(rng.normal(0, 1, (o, i)), rng.normal(0, 1, (o, 1)))\n"
                      "            for i, o in zip(sizes[:-1], sizes[1:])]\n")
    advice = init_advice(FakeContext(normal, assignment))
    assert advice is not None and "standard deviation 1.00" in advice
    assert "N(0, 1/n_in) (standard deviation 0.036)" in advice
    assert init_advice(FakeContext(assignment.reference_path, assignment)) is None


def test_the_per_example_loop_is_named_only_when_measured():
    """The vectorization message names a loop for the loop, never for matrix code."""
    assignment = REGISTRY.assignment("digits")
    check = next(c for c in assignment.checks if c.name == "vectorized backprop")
    loop = check.run(FakeContext(assignment.cases_dir / "per_sample_loop.py", assignment))
    assert not loop.passed and "loop over the examples" in loop.message
    assert "+" not in loop.message.split("allowed:")[1].split(":")[0]  # no hidden allowance
    for name in ("nielsen_matrix_backprop.py", "einsum_backprop.py"):
        outcome = check.run(FakeContext(assignment.cases_dir / name, assignment))
        assert outcome.passed and "loop" not in outcome.message, outcome.message


@pytest.mark.sandbox
def test_a_grade_uses_the_cpu_time_measured_in_the_parent():
    assignment = _vectorization_only()
    result = grade_submission((assignment.cases_dir / "per_sample_loop.py").read_text(),
                              assignment)
    assert result.checks[0].message.startswith("backprop on a 64-100-10 network with "
                                               "m = 1000 used ")
    assert "of CPU time" in result.checks[0].message
