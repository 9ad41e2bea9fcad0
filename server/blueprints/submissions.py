"""One submission: the live status page, its JSON status, the source and the pictures.

Every route goes through `visible_submission`, which answers 404 both for unknown ids
and for submissions the viewer may not see.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_login import current_user, login_required

from server.blueprints import badge, submission_status
from server.db import get_session
from server.errors import NotFound
from server.extensions import get_state
from server.models import DONE, QUEUED, Submission
from server.services import access
from server.services.submissions import visible_submission

log = logging.getLogger(__name__)
bp = Blueprint("submissions", __name__)

#: what each run-level failure means, for the student
EXPLANATIONS = {
    "compile_error": "Python could not compile your file, so nothing was run.",
    "import_error": "Your module raised an error while it was being imported (code at the top "
                    "level of the file runs on import), so no check could run.",
    "forbidden_import": "Your file imports a module that this assignment does not allow. "
                        "Write the code yourself with numpy and the standard library.",
    "timeout": "The run took longer than the time limit and was stopped.",
    "memory_limit": "The run used more memory than the limit and was stopped.",
    "crashed": "The Python process running your code died unexpectedly.",
    "internal_error": "Grading failed on the server's side. This is not your fault and does not "
                      "count against your daily submissions; it is retried automatically.",
}


def _get(submission_id: int) -> Submission:
    submission = visible_submission(get_session(), current_user, submission_id)
    if submission is None:
        raise NotFound("There is no such submission, or it is not yours.")
    return submission


def _queue_position(submission: Submission) -> int | None:
    if submission.state != QUEUED:
        return None
    from server.runtime import queue

    return queue.queue_position(get_session(), submission)


def syntax_error_at(source: str, filename: str = "solution.py") -> dict[str, Any] | None:
    """Line, caret and message of the first syntax error, found by compiling (never running)."""
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        text = (error.text or "").rstrip("\n")
        offset = max(1, min(error.offset or 1, len(text) + 1))
        # keep tabs so the caret lines up under the same column as in the source line
        caret = "".join(c if c == "\t" else " " for c in text[:offset - 1]) + "^"
        return {"line": error.lineno, "text": text, "message": error.msg, "caret": caret}
    except (ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return None


def _limit_text(result: dict[str, Any], status: str) -> str | None:
    """The limit that ended the run, e.g. "20 s" / "768 MB"."""
    hit = result.get("limit_hit") or {}
    limits = result.get("limits") or {}
    if status == "timeout":
        value = hit.get("value") or limits.get("wall_seconds")
        return f"{value:g} s" if isinstance(value, int | float) else None
    if status == "memory_limit":
        value = hit.get("value") or limits.get("memory_mb")
        return f"{value:g} MB" if isinstance(value, int | float) else None
    return None


def result_context(submission: Submission, staff: bool) -> dict[str, Any]:
    """Everything the result part of the page needs."""
    from server.services import pictures

    result = access.result_for_viewer(submission.result, submission.course_assignment,
                                      staff=staff)
    status = submission_status(submission)
    return {
        "submission": submission, "result": result, "status": status, "staff": staff,
        "explanation": EXPLANATIONS.get(status),
        "limit_text": _limit_text(result, status),
        "syntax": syntax_error_at(submission.source, submission.filename)
        if status == "compile_error" else None,
        "pictures": pictures.has_pictures(result) if submission.state == DONE else {},
        "misclassified_alt": pictures.misclassified_alt(result),
    }


@bp.get("/submissions/<int:submission_id>")
@login_required
def show(submission_id: int):
    submission = _get(submission_id)
    session = get_session()
    staff = access.is_course_staff(session, current_user, submission.course_assignment.course_id)
    definition = get_state().registry.assignments.get(submission.course_assignment.assignment_slug)
    return render_template(
        "submissions/show.html", definition=definition, ca=submission.course_assignment,
        course=submission.course_assignment.course, position=_queue_position(submission),
        **result_context(submission, staff))


@bp.get("/submissions/<int:submission_id>/status")
@login_required
def status(submission_id: int):
    """Polled by the page while the job is queued or running; the finished result part
    comes back rendered (and escaped) by the server, so the page never needs a reload."""
    submission = _get(submission_id)
    state = submission_status(submission)
    body: dict[str, Any] = {
        "id": submission.id, "state": submission.state, "status": state,
        "done": submission.state == DONE, "queue_position": _queue_position(submission),
        "badge_html": str(badge(state)),
    }
    if submission.state == DONE:
        staff = access.is_course_staff(get_session(), current_user,
                                       submission.course_assignment.course_id)
        body.update(score=submission.score, max_score=submission.max_score,
                    result_html=render_template("submissions/_result.html",
                                                **result_context(submission, staff)))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/submissions/<int:submission_id>/source")
@login_required
def source(submission_id: int):
    submission = _get(submission_id)
    if request.args.get("download"):
        return Response(submission.source, mimetype="text/plain", headers={
            "Content-Disposition": f'attachment; filename="submission-{submission.id}.py"'})
    return render_template("submissions/source.html", submission=submission,
                           course=submission.course_assignment.course)


@bp.get("/submissions/<int:submission_id>/<any(confusion, misclassified):kind>.png")
@login_required
def picture(submission_id: int, kind: str):
    submission = _get(submission_id)
    if submission.state != DONE:
        raise NotFound("The submission has not been graded yet.")
    from server.services import pictures

    state = get_state()
    cache_dir = Path(state.config["INSTANCE_PATH"]) / "pictures"
    try:
        png = pictures.picture_png(kind, submission.id, submission.result, state.datasets,
                                   cache_dir)
    except pictures.NoPicture as missing:
        raise NotFound(str(missing)) from None
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
