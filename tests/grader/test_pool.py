"""The pool of pre-started single-use children."""

from __future__ import annotations

import time

import pytest

from grader.engine import grade_submission
from grader.pool import WarmPool

from .conftest import FAST, GOOD

pytestmark = pytest.mark.sandbox


@pytest.fixture
def pool():
    warm = WarmPool(size=1, max_idle_seconds=30)
    yield warm
    warm.close()


def test_a_taken_child_is_ready_and_single_use(pool, tracker):
    assert pool.take(FAST, ()) is None  # cold: asks for one
    assert pool.wait_ready(FAST, (), timeout=10)
    session = pool.take(FAST, ())
    assert session is not None and session.alive()
    try:
        session.source = GOOD
        start = time.monotonic()
        assert "add" in session.start()
        assert time.monotonic() - start < 1.0  # numpy was already imported
        assert session.call("add", (1, 2))[0] == 3
    finally:
        session.close()
    assert pool.wait_ready(FAST, (), timeout=10)  # its replacement
    other = pool.take(FAST, ())
    assert other is not session and other.alive()
    other.close()


def test_the_engine_uses_the_pool_and_hostile_runs_stay_contained(monkeypatch, pool,
                                                                  make_assignment, tracker):
    monkeypatch.setattr("grader.engine.default_pool", lambda: pool)
    assignment = make_assignment()
    pool.warm(assignment.limits, assignment.forbidden_imports)
    assert pool.wait_ready(assignment.limits, assignment.forbidden_imports, timeout=10)
    loop = "def add(a, b):\n    while True:\n        pass\n"
    assert grade_submission(loop, assignment).status == "timeout"
    assert pool.wait_ready(assignment.limits, assignment.forbidden_imports, timeout=10)
    good = grade_submission(GOOD, assignment)
    assert good.status == "graded" and good.score == 3
    leak = "import sys\nVALUE = 'from-the-last-run'\nsys.modules['numpy'].leak = VALUE\n" + GOOD
    grade_submission(leak, assignment)
    probe = "import numpy\ndef add(a, b):\n    return numpy.leak\n"
    result = grade_submission(probe, assignment)
    assert "has no attribute 'leak'" in result.checks[0].message


def test_idle_children_expire_and_close_kills_them(tracker):
    warm = WarmPool(size=1, max_idle_seconds=0.2)
    try:
        warm.warm(FAST, ())
        assert warm.wait_ready(FAST, (), timeout=10)
        time.sleep(0.3)
        assert warm.take(FAST, ()) is None  # too old: closed instead of handed out
        assert warm.wait_ready(FAST, (), timeout=10)
    finally:
        warm.close()
    deadline = time.monotonic() + 3
    while tracker.leftovers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tracker.leftovers() == []
