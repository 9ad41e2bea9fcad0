"""The JSON API under /api/v1, authenticated with personal tokens (`Authorization:
Bearer ngt_…`). Session cookies are not accepted here, which is why the blueprint can
be exempt from CSRF. Errors are JSON: {"error": code, "message": text}."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from server.blueprints import submission_status
from server.blueprints.conditional import conditional, etag_for, not_modified
from server.blueprints.leaderboard import board_key
from server.db import get_session
from server.error_pages import render_error
from server.errors import NotFound, Unauthorized
from server.extensions import csrf, get_state
from server.models import QUEUED, CourseAssignment, Submission, User
from server.services import access, leaderboard, tokens
from server.services import submissions as subs_service
from server.services.grades import counted_score, deadline_passed

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

#: SubmissionRejected status -> stable error code
REJECTION_CODES = {400: "bad_request", 403: "forbidden", 413: "too_large",
                   415: "unsupported_file", 429: "rate_limited"}


@bp.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, plaintext = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and plaintext.strip():
        session = get_session()
        user = tokens.lookup_token(session, plaintext.strip())
        if user is not None and tokens.touch_token(session):
            session.commit()
    if user is None:
        raise Unauthorized("Send a valid API token: 'Authorization: Bearer <token>'. Create "
                           "one on your settings page or with `neurograde token create`.")
    g.api_user = user


def _user() -> User:
    return g.api_user


def _iso(moment: datetime | None) -> str | None:
    moment = subs_service.as_utc(moment)
    return moment.isoformat() if moment else None


def _course_assignment(course: str, slug: str) -> CourseAssignment:
    ca = access.course_assignment(get_session(), _user(), course, slug)
    if ca is None or ca.assignment_slug not in get_state().registry.assignments:
        raise NotFound(f"No assignment {slug!r} in course {course!r} (or you are not "
                       "enrolled in that course).")
    return ca


def submission_json(submission: Submission) -> dict[str, Any]:
    """The grader's result JSON (as the caller may see it) plus the job's own fields."""
    ca = submission.course_assignment
    staff = access.is_course_staff(get_session(), _user(), ca.course_id)
    body: dict[str, Any] = access.result_for_viewer(submission.result, ca, staff=staff)
    position = None
    if submission.state == QUEUED:
        from server.runtime import queue

        position = queue.queue_position(get_session(), submission)
    body.update(
        id=submission.id, status=submission_status(submission), state=submission.state,
        attempts=submission.attempts, submitted_at=_iso(submission.submitted_at),
        graded_at=_iso(submission.graded_at), queue_position=position,
        score=counted_score(submission, ca), max_score=submission.max_score,
        course=submission.course_assignment.course.slug,
        assignment=submission.course_assignment.assignment_slug,
        filename=submission.filename, notebook=subs_service.notebook_report(submission),
        url=url_for("api.submission", submission_id=submission.id, _external=True),
        html_url=url_for("submissions.show", submission_id=submission.id, _external=True),
    )
    return body


@bp.post("/courses/<course>/assignments/<slug>/submissions")
def create_submission(course: str, slug: str):
    ca = _course_assignment(course, slug)
    definition = get_state().registry.assignments[slug]
    try:
        upload = _one_upload()
        submission = subs_service.create_submission(
            get_session(), _user(), ca, upload, max_kb=definition.limits.max_source_kb)
    except subs_service.SubmissionRejected as rejected:
        return render_error(rejected.status_code,
                            REJECTION_CODES.get(rejected.status_code, "bad_request"),
                            rejected.message)
    url = url_for("api.submission", submission_id=submission.id, _external=True)
    response = jsonify(id=submission.id, status=submission.state, url=url,
                       html_url=url_for("submissions.show", submission_id=submission.id,
                                        _external=True))
    response.status_code = 202
    response.headers["Location"] = url
    return response


def _one_upload() -> subs_service.Upload:
    try:
        files = request.files.getlist("file")
        other = [name for name in request.files if name != "file"]
    except RequestEntityTooLarge:
        raise subs_service.SubmissionRejected(
            "The upload is too large (a notebook: clear its outputs).", 413) from None
    if not files:
        raise subs_service.SubmissionRejected(
            "Send the solution as multipart/form-data with one file field named 'file'.")
    if len(files) > 1 or other:
        raise subs_service.SubmissionRejected(
            "Send exactly one .py or .ipynb file (field 'file').")
    return subs_service.Upload(filename=files[0].filename or "", data=files[0].read())


@bp.get("/courses/<course>/assignments/<slug>/submissions")
def list_submissions(course: str, slug: str):
    """The caller's own submissions to one assignment, newest first (without results)."""
    ca = _course_assignment(course, slug)
    rows = subs_service.user_submissions(get_session(), _user(), ca)
    return jsonify(submissions=[
        {"id": s.id, "status": submission_status(s), "score": counted_score(s, ca),
         "max_score": s.max_score,
         "submitted_at": _iso(s.submitted_at), "graded_at": _iso(s.graded_at),
         "url": url_for("api.submission", submission_id=s.id, _external=True)}
        for s in rows])


@bp.get("/submissions/<int:submission_id>")
def submission(submission_id: int):
    found = subs_service.visible_submission(get_session(), _user(), submission_id)
    if found is None:
        raise NotFound("There is no such submission, or it is not yours.")
    response = jsonify(submission_json(found))
    response.headers["Cache-Control"] = "no-store"
    return response


#: leaderboard rows per page of the JSON API: the default, and the most a client may ask
PER_PAGE, MAX_PER_PAGE = 50, 500


@bp.get("/courses/<course>/assignments/<slug>/leaderboard")
def assignment_leaderboard(course: str, slug: str):
    """One page of the board (`?page=1&per_page=50`), plus the caller's own row as `you`
    wherever it is; ETag'd, so a client polling an unchanged board gets a 304."""
    session = get_session()
    ca = _course_assignment(course, slug)
    definition = get_state().registry.assignments[slug]
    page = request.args.get("page", 1, type=int) or 1
    per_page = min(max(1, request.args.get("per_page", PER_PAGE, type=int) or PER_PAGE),
                   MAX_PER_PAGE)
    page = max(1, page)
    staff = access.is_course_staff(session, _user(), ca.course_id)
    revealed = deadline_passed(ca)
    etag = etag_for("api-board", board_key(ca, revealed), staff, _user().id, page, per_page)
    if (unchanged := not_modified(etag)) is not None:
        return unchanged
    rows = leaderboard.present(
        leaderboard.standings(session, ca, higher_is_better=definition.metric_higher_is_better),
        instructor=staff, viewer_id=_user().id)
    return conditional(jsonify(
        course=course, assignment=slug, metric=definition.metric_name,
        metric_higher_is_better=definition.metric_higher_is_better,
        private_revealed=revealed, ranked_until=_iso(leaderboard.ranked_until(ca)),
        total=len(rows), page=page, per_page=per_page, pages=-(-len(rows) // per_page),
        you=next((row for row in rows if row["you"]), None),
        rows=rows[(page - 1) * per_page:page * per_page]), etag)
