"""Upload row → worker process → real engine in the real sandbox → graded result."""

from __future__ import annotations

import pytest

from server.models import DONE

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CORRECT = "def double(x):\n    return 2 * x\n"
WRONG = "def double(x):\n    return x + 2\n"  # right for 2 only
BROKEN = "def double(x)\n    return 2 * x\n"


def test_worker_grades_through_the_real_sandbox(qdb, worker_config, start_workers):
    pytest.importorskip("grader.engine", reason="the grading engine is not installed")
    worker_config.update(EXTRA_PLUGINS=["tests.queue.throwaway_plugin"], LEASE_SECONDS=10)
    ca = qdb.course_assignment("queue-echo", split_seed=7)
    alice, bob, carol = qdb.users(3)
    (good,) = qdb.submit(alice, ca, source=CORRECT)
    (bad,) = qdb.submit(bob, ca, source=WRONG)
    (broken,) = qdb.submit(carol, ca, source=BROKEN)
    start_workers(worker_config, 2, None)  # None: the real `server.runtime.grading.grade_job`
    qdb.wait_all_done(3, timeout=120)

    row = qdb.get(good)
    assert (row.state, row.status, row.attempts) == (DONE, "graded", 1), row.result
    assert (row.score, row.max_score) == (3.0, 3.0)
    assert (row.metric_public, row.metric_private) == (1.0, 0.07)
    assert row.result["provenance"]["assignment"] == "queue-echo"
    assert row.result["provenance"]["plugin"] == "tests.queue.throwaway_plugin"
    assert row.result["provenance"]["sandbox"] == "bwrap"

    row = qdb.get(bad)
    assert row.status == "graded" and row.score < 3.0 and row.metric_public < 1.0
    assert [c["passed"] for c in row.result["checks"]] == [False, False]

    row = qdb.get(broken)
    assert (row.status, row.attempts) == ("compile_error", 1)
    assert qdb.record_counts() == {good: 1, bad: 1, broken: 1}
