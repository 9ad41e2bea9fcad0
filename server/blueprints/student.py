"""The student's pages: course list, course page, assignment page with handout,
starter download and upload form."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from server.blueprints import render_markdown
from server.db import get_session
from server.errors import NotFound
from server.extensions import get_state
from server.models import CourseAssignment
from server.services import access, invitations
from server.services import submissions as subs_service
from server.services.grades import counted_score
from server.services.handouts import choose_handout

bp = Blueprint("student", __name__)

#: the languages the site is read in
READER_LANGUAGES = ["en", "ru", "zh"]


def reader_language() -> str:
    """The reader's language, of READER_LANGUAGES: the one place the pages decide it
    (for now the browser's `Accept-Language`)."""
    return request.accept_languages.best_match(READER_LANGUAGES, default="en")


@bp.get("/")
@login_required
def index():
    session = get_session()
    courses = access.visible_courses(session, current_user)
    pending = invitations.pending_for_user(session, current_user)
    if len(courses) == 1 and not pending and not current_user.is_instructor:
        return redirect(url_for("student.course", course=courses[0].slug))
    return render_template("student/index.html", courses=courses, invitations=pending)


@bp.post("/invitations/<int:invitation_id>/<any(accept, decline):answer>")
@login_required
def answer_invitation(invitation_id: int, answer: str):
    """The student's answer to an instructor's invitation (see services.invitations)."""
    session = get_session()
    if answer == "accept":
        enrolment = invitations.accept(session, current_user, invitation_id)
        session.commit()
        flash(f"You are now enrolled in {enrolment.course.title}.", "success")
    else:
        invitations.decline(session, current_user, invitation_id)
        session.commit()
        flash("Invitation declined.", "success")
    return redirect(url_for("student.index"))


@bp.get("/courses/<course>/")
@login_required
def course(course: str):
    session = get_session()
    found = access.course_by_slug(session, current_user, course)
    if found is None:
        raise NotFound("There is no such course, or you are not enrolled in it.")
    enabled = list(session.scalars(select(CourseAssignment).where(
        CourseAssignment.course_id == found.id, CourseAssignment.enabled.is_(True))))
    rows = subs_service.course_rows(session, current_user, enabled,
                                    get_state().registry.assignments)
    return render_template("student/course.html", course=found, rows=rows,
                           staff=access.is_course_staff(session, current_user, found))


def _course_assignment(course: str, slug: str) -> CourseAssignment:
    ca = access.course_assignment(get_session(), current_user, course, slug)
    if ca is None or ca.assignment_slug not in get_state().registry.assignments:
        raise NotFound("There is no such assignment in this course.")
    return ca


@bp.get("/courses/<course>/assignments/<slug>/")
@login_required
def assignment(course: str, slug: str):
    session = get_session()
    ca = _course_assignment(course, slug)
    definition = get_state().registry.assignments[slug]
    history = subs_service.user_submissions(session, current_user, ca)
    handout = choose_handout(definition, reader_language(), request.args.get("handout"))
    response = make_response(render_template(
        "student/assignment.html", course=ca.course, ca=ca, assignment=definition,
        handout=handout, handout_html=render_markdown(handout.markdown), history=history,
        scores={sub.id: counted_score(sub, ca) for sub in history},
        left=subs_service.submissions_left(session, current_user, ca),
        reset=subs_service.next_reset(), max_kb=_upload_limit_kb(definition),
        closed=_closed(ca)))
    response.vary.add("Accept-Language")  # the handout's language follows it
    return response


def _upload_limit_kb(definition) -> int:
    """What the form promises: the assignment's limit, or the server's if that is lower."""
    from flask import current_app

    server_kb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024
    return min(definition.limits.max_source_kb, server_kb or definition.limits.max_source_kb)


def _closed(ca: CourseAssignment) -> bool:
    try:
        subs_service.check_policy(get_session(), current_user, ca)
    except subs_service.SubmissionRejected as rejected:
        return rejected.status_code == 403
    return False


@bp.get("/courses/<course>/assignments/<slug>/starter.py")
@login_required
def starter(course: str, slug: str):
    _course_assignment(course, slug)
    definition = get_state().registry.assignments[slug]
    filename = f"{slug.replace('-', '_')}.py"
    return Response(definition.starter, mimetype="text/x-python", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/courses/<course>/assignments/<slug>/starter.ipynb")
@login_required
def starter_notebook(course: str, slug: str):
    """The starter as a Jupyter notebook: the handout in markdown cells, the starter code
    in code cells."""
    from grader.notebook import notebook_json
    from grader.starter_notebook import starter_notebook as build

    _course_assignment(course, slug)
    definition = get_state().registry.assignments[slug]
    filename = f"{slug.replace('-', '_')}.ipynb"
    notebook = build(definition.title, definition.handout, definition.starter)
    return Response(notebook_json(notebook), mimetype="application/x-ipynb+json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/courses/<course>/assignments/<slug>/submit")
@login_required
def submit(course: str, slug: str):
    ca = _course_assignment(course, slug)
    definition = get_state().registry.assignments[slug]
    try:
        upload = _one_upload()
        submission = subs_service.create_submission(
            get_session(), current_user, ca, upload, max_kb=definition.limits.max_source_kb)
    except subs_service.SubmissionRejected as rejected:
        flash(rejected.message, "error")
        return redirect(url_for("student.assignment", course=course, slug=slug))
    return redirect(url_for("submissions.show", submission_id=submission.id))


def _one_upload() -> subs_service.Upload:
    """The single file of the form, or a rejection the student can act on."""
    # a request over MAX_CONTENT_LENGTH raises here and is answered by `_too_large`
    files = [f for f in request.files.getlist("file") if f and f.filename]
    if not files:
        raise subs_service.SubmissionRejected("Choose a .py file or a notebook to upload.")
    if len(files) > 1 or len(request.files) > 1:
        raise subs_service.SubmissionRejected("Upload exactly one file (.py or .ipynb).")
    return subs_service.Upload(filename=files[0].filename or "", data=files[0].read())


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge):
    """Uploads over the server's request limit: back to the form, quoting the same limit
    the form states (the assignment's), so the two messages never disagree."""
    from flask import current_app

    view_args = request.view_args or {}
    definition = get_state().registry.assignments.get(view_args.get("slug", ""))
    limit_kb = (_upload_limit_kb(definition) if definition
                else (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024)
    flash(f"The file is too large: this assignment accepts at most {limit_kb} kB. A "
          "notebook's outputs count here: clear them and upload it again.", "error")
    if request.endpoint == "student.submit" and current_user.is_authenticated:
        return redirect(url_for("student.assignment", **view_args), code=303)
    return redirect(url_for("student.index"), code=303)
