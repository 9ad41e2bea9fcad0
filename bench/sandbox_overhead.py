"""Sandbox overhead: a full grade of a trivial correct `sigmoid` solution vs plain Python.

Prints, measured in the same run: the median wall time of
  1. `python -c "import numpy; import solution"` (no sandbox, no grading),
  2. a full in-process grade (`grade_submission`, what a worker does per submission),
  3. the same with a pre-started child waiting in the pool (NEUROGRADE_WARM_POOL),
  4. `neurograde grade` (adds interpreter start-up and plugin loading),
the ratios to (1), and where the time of (2) goes (sandbox start + numpy import,
the student's import, the checks, tear-down).

    .venv/bin/python bench/sandbox_overhead.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOLUTION = """import numpy as np
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(z, dtype=float), -500, 500)))
def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)
def neuron(weights, bias, x):
    return float(sigmoid(np.dot(weights, x) + bias))
"""


def median_wall(fn, runs: int) -> float:
    fn()  # warm caches once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pooled_grade(assignment, runs: int) -> float:
    """Median wall of a grade that finds a ready child (the pool refills between runs)."""
    import grader.engine
    from grader.engine import grade_submission
    from grader.pool import WarmPool

    pool = WarmPool(size=1)
    original = grader.engine.default_pool
    grader.engine.default_pool = lambda: pool
    key = (assignment.limits, tuple(assignment.forbidden_imports))
    times = []
    try:
        pool.warm(*key)
        for _ in range(runs + 1):
            pool.wait_ready(*key, timeout=30)
            start = time.perf_counter()
            result = grade_submission(SOLUTION, assignment)
            times.append(time.perf_counter() - start)
            assert result.status == "graded" and result.score == result.max_score, result
    finally:
        grader.engine.default_pool = original
        pool.close()
    return statistics.median(times[1:])


def phases(source: str, runs: int) -> dict[str, float]:
    """Median seconds of each phase of one sandboxed session running the sigmoid checks."""
    from grader.engine import Context, _Run, load_reference
    from grader.session import Session
    from plugins.manager import get_plugin_manager
    from plugins.registry import build_registry
    from plugins.types import RubricDef

    assignment = build_registry(get_plugin_manager()).assignment("sigmoid")
    reference = load_reference(assignment.reference_path)
    run = _Run(assignment, RubricDef("b", "sigmoid"), list(assignment.checks), 1, {}, None)
    out: dict[str, list[float]] = {"sandbox start + numpy": [], "student import": [],
                                   "checks": [], "tear-down": []}
    for _ in range(runs):
        session = Session(source, assignment.limits, forbidden=assignment.forbidden_imports)
        t0 = time.perf_counter()
        original = session._await_hello
        marks = {}

        def hello(original=original, marks=marks):
            original()
            marks["hello"] = time.perf_counter()

        session._await_hello = hello
        session.start()
        t1 = time.perf_counter()
        for check in assignment.checks:
            check.run(Context(session, check, run, reference))
        t2 = time.perf_counter()
        session.close()
        t3 = time.perf_counter()
        out["sandbox start + numpy"].append(marks["hello"] - t0)
        out["student import"].append(t1 - marks["hello"])
        out["checks"].append(t2 - t1)
        out["tear-down"].append(t3 - t2)
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    from grader.engine import grade_submission
    from plugins.manager import get_plugin_manager
    from plugins.registry import build_registry

    assignment = build_registry(get_plugin_manager()).assignment("sigmoid")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "solution.py"
        path.write_text(SOLUTION)
        bare = median_wall(lambda: subprocess.run(
            [sys.executable, "-c", "import numpy; import solution"], cwd=tmp, env=env,
            check=True), runs)

        def full_grade():
            result = grade_submission(SOLUTION, assignment)
            assert result.status == "graded" and result.score == result.max_score, result
        graded = median_wall(full_grade, runs)
        pooled = pooled_grade(assignment, runs)
        cli = median_wall(lambda: subprocess.run(
            [sys.executable, "-m", "server.cli", "grade", str(path), "--assignment", "sigmoid"],
            env=env, check=True, capture_output=True), max(3, runs // 3))
    split = phases(SOLUTION, runs)
    print(f"runs per measurement: {runs} (CLI: {max(3, runs // 3)}), sandbox: "
          f"{os.environ.get('NEUROGRADE_SANDBOX', 'bwrap')}")
    print(f"python -c 'import numpy; import solution'   {bare * 1000:8.1f} ms   1.00x")
    print(f"full grade, in process (a worker)            {graded * 1000:8.1f} ms  "
          f"{graded / bare:5.2f}x   (target <= 2.5x)")
    print(f"full grade, child pre-started in the pool    {pooled * 1000:8.1f} ms  "
          f"{pooled / bare:5.2f}x")
    print(f"neurograde grade (new process + plugins)     {cli * 1000:8.1f} ms  "
          f"{cli / bare:5.2f}x   (target <= 2x)")
    print("where a full grade's time goes (medians):")
    for name, seconds in sorted(split.items(), key=lambda kv: -kv[1]):
        print(f"  {name:24s} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
