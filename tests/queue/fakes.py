"""Grading functions injected into worker processes (module-level so they pickle)."""

from __future__ import annotations

import os
import time
from typing import Any

from grader.result import CheckResult, GradingResult


def _log(state: Any, submission: Any) -> None:
    path = state.config.get("GRADE_LOG")
    if path:
        # O_APPEND writes of one short line are atomic across processes
        with open(path, "a") as fh:
            fh.write(f"{submission.id} {submission.attempts} {os.getpid()}\n")


def quick(state: Any, submission: Any) -> GradingResult:
    """A graded result after a short, configurable pause."""
    _log(state, submission)
    time.sleep(float(state.config.get("FAKE_GRADE_SECONDS", 0.0)))
    return GradingResult(
        status="graded", score=1.0, max_score=1.0,
        checks=[CheckResult("fake", True, 1.0, 1.0, "visible")],
        metrics={"accuracy_public": 0.75, "accuracy_private": 0.5})


def hang_on_first_attempt(state: Any, submission: Any) -> GradingResult:
    """Blocks on the first attempt (the test kills or signals the worker), quick after."""
    if submission.attempts == 1:
        _log(state, submission)
        time.sleep(float(state.config.get("HANG_SECONDS", 60.0)))
        return GradingResult(status="graded", score=0.25, max_score=1.0)
    return quick(state, submission)


def always_internal_error(state: Any, submission: Any) -> GradingResult:
    _log(state, submission)
    return GradingResult.failure("internal_error", "the grader is broken")
