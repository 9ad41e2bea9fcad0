"""Grading one queued job: course assignment → plugin assignment + rubric → grader engine.

No Flask here: a worker process calls this with its `server.state.State`.
"""

from __future__ import annotations

import logging
from typing import Any

from grader.result import GradingResult
from plugins.manager import plugin_version
from server.state import State

log = logging.getLogger(__name__)


def grade_job(state: State, submission: Any) -> GradingResult:
    """Grade `submission` (a Submission with its `course_assignment` loaded).

    The course's `rubric_name` selects the rubric (the assignment's default otherwise)
    and its `split_seed` fixes the public/private split of the hidden test set. Never
    raises for anything the submission does; a configuration problem (assignment no
    longer installed, unknown rubric) comes back as `internal_error` so it is retried
    and then shown to the instructor. A notebook is graded as the module made from it
    at upload, with its stored line map (messages name its cells and lines).
    """
    from grader.engine import grade_submission  # the engine pulls in the sandbox launcher
    from grader.notebook import stored_conversion

    ca = submission.course_assignment
    registry = state.registry
    try:
        assignment = registry.assignment(ca.assignment_slug)
        rubric = registry.rubric_for(ca.assignment_slug, ca.rubric_name)
    except KeyError as exc:
        return GradingResult.failure(
            "internal_error", f"This assignment cannot be graded right now: {exc.args[0]}")
    plugin = registry.plugin_of("assignment", assignment.slug)
    return grade_submission(
        submission.source, assignment, rubric=rubric, datasets=state.datasets,
        extra_params={"split_seed": ca.split_seed}, plugin=plugin,
        plugin_version=plugin_version(state.pm, plugin),
        notebook=stored_conversion(submission.notebook, submission.source))
