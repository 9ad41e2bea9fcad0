"""Grading one queued job: course assignment → plugin assignment + rubric → grader engine.

No Flask here: a worker process calls this with its own state (anything with
`.registry` and `.datasets`, e.g. the web app's `AppState` or a worker's
`WorkerState`).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import metadata
from typing import Any

from grader.result import GradingResult
from plugins.registry import Registry

log = logging.getLogger(__name__)


def grade_job(app_state: Any, submission: Any) -> GradingResult:
    """Grade `submission` (a Submission with its `course_assignment` loaded).

    The course's `rubric_name` selects the rubric (the assignment's default otherwise)
    and its `split_seed` fixes the public/private split of the hidden test set. Never
    raises for anything the submission does; a configuration problem (assignment no
    longer installed, unknown rubric) comes back as `internal_error` so it is retried
    and then shown to the instructor.
    """
    from grader.engine import grade_submission  # the engine pulls in the sandbox launcher

    ca = submission.course_assignment
    registry: Registry = app_state.registry
    try:
        assignment = registry.assignment(ca.assignment_slug)
        rubric = registry.rubric_for(ca.assignment_slug, ca.rubric_name)
    except KeyError as exc:
        return GradingResult.failure(
            "internal_error", f"This assignment cannot be graded right now: {exc.args[0]}")
    plugin = registry.plugin_of("assignment", assignment.slug)
    return grade_submission(
        submission.source, assignment, rubric=rubric, datasets=app_state.datasets,
        extra_params={"split_seed": ca.split_seed}, plugin=plugin,
        plugin_version=plugin_version(app_state, plugin))


def plugin_version(app_state: Any, plugin: str) -> str:
    """The installed version of the distribution that provides `plugin` ("?" if unknown)."""
    module = None
    pm = getattr(app_state, "pm", None)
    if pm is not None:
        module = pm.get_plugin(plugin)
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    top = (getattr(module, "__name__", None) or plugin).split(".")[0]
    return _dist_version(top)


#: top-level packages shipped inside the neurograde distribution itself
_BUILTIN_PACKAGES = frozenset({"assignments", "plugins", "grader", "server"})


@lru_cache(maxsize=64)
def _dist_version(top_level_module: str) -> str:
    dists = list(metadata.packages_distributions().get(top_level_module, []))
    if top_level_module in _BUILTIN_PACKAGES:
        dists.append("neurograde")
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "?"
