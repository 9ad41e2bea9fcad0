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

from grader.notebook import Conversion, notebook_json
from server.blueprints import badge, outcome_badge, score_outcome, submission_status
from server.blueprints.conditional import conditional, etag_for, not_modified
from server.db import get_session
from server.errors import NotFound
from server.extensions import get_state
from server.models import DONE, QUEUED, Submission
from server.services import access, highlight, progress
from server.services.grades import counted_score, deadline_passed
from server.services.leaderboard import LADDER_STEP
from server.services.submissions import (
    notebook_conversion,
    status_head,
    visible_submission,
)

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


def _queue_position(submission: Any) -> int | None:
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


def _syntax(submission: Submission, conversion: Conversion | None) -> dict[str, Any] | None:
    """`syntax_error_at` of the graded source; for a notebook at the cell's own line."""
    syntax = syntax_error_at(submission.source, submission.filename)
    if syntax is not None and conversion is not None:
        found = conversion.cell_line(syntax["line"] or 0)
        if found is not None:
            syntax.update(cell=found[0], line=found[1])
    return syntax


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
    ca = submission.course_assignment
    conversion = notebook_conversion(submission)
    return {
        "submission": submission, "result": result, "status": status, "staff": staff,
        "score": counted_score(submission, ca), "final": deadline_passed(ca),
        "ladder_step": LADDER_STEP,
        "split": any(key.endswith("_public") for key in (result.get("metrics") or {})),
        "explanation": EXPLANATIONS.get(status),
        "limit_text": _limit_text(result, status),
        "syntax": _syntax(submission, conversion) if status == "compile_error" else None,
        "notebook": conversion.report() if conversion is not None else None,
        "pictures": pictures.pictures_of(result, get_state().registry.renderers)
        if submission.state == DONE else [],
    }


def _live(submission: Submission) -> dict[str, Any]:
    """Queue position, estimated wait and grading progress for the live part of the page."""
    session = get_session()
    position = _queue_position(submission)
    return {"position": position,
            "wait_s": progress.estimated_wait_s(session, submission, position),
            "progress": progress.snapshot(session, submission)}


@bp.get("/submissions/<int:submission_id>")
@login_required
def show(submission_id: int):
    submission = _get(submission_id)
    session = get_session()
    staff = access.is_course_staff(session, current_user, submission.course_assignment.course_id)
    definition = get_state().registry.assignments.get(submission.course_assignment.assignment_slug)
    return render_template(
        "submissions/show.html", definition=definition, ca=submission.course_assignment,
        course=submission.course_assignment.course, **_live(submission),
        **result_context(submission, staff))


@bp.get("/submissions/<int:submission_id>/status")
@login_required
def status(submission_id: int):
    """Polled by the page while the job is queued or running; the finished result part
    comes back rendered (and escaped) by the server, so the page never needs a reload.

    Cheap by design: a light row (no source, no result), the queue position while
    queued, and an ETag, so an unchanged status costs a 304 and the result is loaded
    and rendered only once it exists."""
    session = get_session()
    found = status_head(session, current_user, submission_id)
    if found is None:
        raise NotFound("There is no such submission, or it is not yours.")
    head, staff = found
    live = _live(head)
    etag = etag_for("status", tuple(head), live["position"], live["progress"], staff,
                    deadline_passed(head))
    if (unchanged := not_modified(etag)) is not None:
        return unchanged
    state = submission_status(head)
    body: dict[str, Any] = {
        "id": head.id, "state": head.state, "status": state,
        "done": head.state == DONE, "queue_position": live["position"],
        "estimated_wait_s": live["wait_s"], "progress": live["progress"],
        "badge_html": str(badge(state)),
    }
    if head.state == DONE:
        submission = _get(submission_id)
        score = counted_score(submission, submission.course_assignment)
        body.update(score=score, max_score=submission.max_score,
                    outcome_html=str(outcome_badge(score_outcome(
                        score, submission.max_score))) if state == "graded" else "",
                    result_html=render_template("submissions/_result.html",
                                                **result_context(submission, staff)))
    return conditional(jsonify(body), etag)


@bp.get("/submissions/<int:submission_id>/source")
@login_required
def source(submission_id: int):
    """The graded source (for a notebook: the module made from it, which is what was
    graded); ?download=1 downloads it, ?download=notebook the notebook without outputs."""
    submission = _get(submission_id)
    download = request.args.get("download")
    if download == "notebook" and submission.notebook:
        return Response(notebook_json(submission.notebook["ipynb"]),
                        mimetype="application/x-ipynb+json", headers={
            "Content-Disposition": f'attachment; filename="submission-{submission.id}.ipynb"'})
    if download:
        return Response(submission.source, mimetype="text/plain", headers={
            "Content-Disposition": f'attachment; filename="submission-{submission.id}.py"'})
    others = [s for s in _same_author(submission) if s.id != submission.id]
    conversion = notebook_conversion(submission)
    return render_template("submissions/source.html", submission=submission,
                           course=submission.course_assignment.course, others=others,
                           highlighted=highlight.source_html(submission.source),
                           lines=len(submission.source.splitlines()),
                           notebook=conversion.report() if conversion is not None else None)


def _same_author(submission: Submission) -> list[Submission]:
    """The author's submissions to the same assignment, newest first."""
    from server.services.submissions import user_submissions

    return user_submissions(get_session(), submission.user, submission.course_assignment)


@bp.get("/submissions/diff")
@login_required
def diff_form():
    """The changes between two submissions (?old=&new=) of one student, for the student
    and the course's staff; each id must be visible to the viewer."""
    old = _get(request.args.get("old", type=int) or 0)
    new = _get(request.args.get("new", type=int) or 0)
    if old.user_id != new.user_id:
        raise NotFound("Only two submissions of the same student can be compared.")
    rows = highlight.diff_lines(old.source, new.source)
    added, removed = highlight.diff_counts(rows)
    return render_template("submissions/diff.html", old=old, new=new, rows=rows, added=added,
                           removed=removed, course=new.course_assignment.course)


@bp.get("/submissions/<int:submission_id>/<kind>.png")
@login_required
def picture(submission_id: int, kind: str):
    submission = _get(submission_id)
    if submission.state != DONE:
        raise NotFound("The submission has not been graded yet.")
    from server.services import pictures

    state = get_state()
    cache_dir = Path(state.config["INSTANCE_PATH"]) / "pictures"
    try:
        png = pictures.picture_png(kind, submission.id, submission.result,
                                   state.registry.renderers, state.datasets, cache_dir,
                                   submission.course_assignment.assignment_slug)
    except pictures.NoPicture as missing:
        raise NotFound(str(missing)) from None
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
