"""Instructor pages: dashboard, assignment settings, regrades, submissions, CSV, roster.

Every route goes through `_staff_course`: only the course's instructors (and
site admins) get past it; anyone else gets "not found", so a student cannot
even learn which instructor pages exist. Queries live in `server.services`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from server.blueprints.lookup import with_course
from server.db import get_session
from server.extensions import get_state
from server.models import Course, CourseAssignment, RegradeBatch, Submission, User
from server.services import (
    assignment_settings,
    dashboard,
    grades,
    highlight,
    invitations,
    pictures,
    regrade,
    roster,
)
from server.services.access import is_course_staff
from server.services.courses import teaching_order
from server.services.leaderboard import display_pseudonym
from server.services.submissions import notebook_report, user_submissions

log = logging.getLogger(__name__)

bp = Blueprint("instructor", __name__, url_prefix="/instructor")


@bp.before_request
@login_required
def _logged_in() -> None:
    """Every page here needs a logged-in user (anonymous users go to the login page)."""


def _staff_course(course_slug: str) -> Course:
    session = get_session()
    course = session.scalar(select(Course).where(Course.slug == course_slug))
    if course is None or not is_course_staff(session, current_user, course):
        abort(404)
    return course


#: views take the `Course` itself; staff of the course only
staff_course = with_course(_staff_course)


def _course_assignment(course: Course, slug: str) -> CourseAssignment:
    ca = next((a for a in course.assignments if a.assignment_slug == slug), None)
    if ca is None:
        abort(404)
    return ca


def _course_submission(course: Course, submission_id: int) -> Submission:
    sub = get_session().get(Submission, submission_id)
    if sub is None or sub.course_assignment.course_id != course.id:
        abort(404)
    return sub


@bp.get("/")
def index() -> str:
    session = get_session()
    courses = [c for c in session.scalars(select(Course).order_by(Course.title))
               if is_course_staff(session, current_user, c)]
    if not courses:
        abort(404)
    return render_template("instructor/index.html", courses=courses)


@bp.get("/<course>/")
@staff_course
def course(course: Course) -> str:
    session = get_session()
    return render_template(
        "instructor/dashboard.html", course=course,
        people=dashboard.enrolled(session, course),
        stats=sorted(dashboard.assignment_stats(session, course),
                     key=lambda s: _in_order(s.ca)),
        queue=dashboard.queue_overview(session, course),
        errors=dashboard.recent_errors(session, course),
        titles=_titles(), spark=dashboard.sparkline, pseudonym_of=display_pseudonym,
    )


def _in_order(ca: CourseAssignment) -> tuple[int, str]:
    """The teaching order, the same on every page."""
    return teaching_order(get_state().registry.assignments)(ca)


def _titles() -> dict[str, str]:
    return {slug: a.title for slug, a in get_state().registry.assignments.items()}


# --- assignments ---------------------------------------------------------------------------

@bp.get("/<course>/assignments")
@staff_course
def assignments(course: Course) -> str:
    registry = get_state().registry
    enabled = {ca.assignment_slug for ca in course.assignments}
    available = sorted((a for a in registry.assignments.values() if a.slug not in enabled),
                       key=lambda a: (a.order, a.slug))
    return render_template("instructor/assignments.html", course=course, available=available,
                           course_assignments=sorted(course.assignments, key=_in_order),
                           registry=registry)


@bp.post("/<course>/time-zone")
@staff_course
def course_time_zone(course: Course) -> BaseResponse:
    """The course's time zone: deadlines are entered and shown in it (UTC alongside)."""
    name = request.form.get("time_zone", "").strip() or "UTC"
    try:
        assignment_settings.valid_zone(name)
    except assignment_settings.FormError as error:
        flash(str(error), "error")
    else:
        course.time_zone = name
        get_session().commit()
        flash(f"Times in this course are now shown in {name}.", "success")
    return redirect(url_for(".assignments", course=course.slug))


@bp.post("/<course>/assignments")
@staff_course
def enable_assignment(course: Course) -> BaseResponse:
    slug = request.form.get("slug", "")
    try:
        ca = assignment_settings.enable(get_session(), get_state().registry, course, slug)
    except assignment_settings.FormError as error:
        flash(str(error), "error")
        return redirect(url_for(".assignments", course=course.slug))
    get_session().commit()
    flash(f"Enabled {slug}. Set its deadline and policy below.", "success")
    return redirect(url_for(".assignment", course=course.slug, slug=ca.assignment_slug))


@bp.route("/<course>/assignments/<slug>", methods=["GET", "POST"])
@staff_course
def assignment(course: Course, slug: str) -> str | BaseResponse:
    ca = _course_assignment(course, slug)
    registry = get_state().registry
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = assignment_settings.apply_settings(ca, request.form, registry)
        if not errors:
            get_session().commit()
            flash("Settings saved.", "success")
            return redirect(url_for(".assignment", course=course.slug, slug=slug))
        get_session().rollback()
    session = get_session()
    return render_template(
        "instructor/assignment.html", course=course, ca=ca, errors=errors, form=request.form,
        definition=registry.assignments.get(slug), rubrics=registry.rubric_names(slug),
        batches=regrade.batches(session, ca), now=datetime.now(UTC),
        regrade_counts={scope: regrade.count_targets(session, ca, scope)
                        for scope in ("latest", "best", "all")},
    )


@bp.post("/<course>/assignments/<slug>/regrade")
@staff_course
def start_regrade(course: Course, slug: str) -> BaseResponse:
    ca = _course_assignment(course, slug)
    session = get_session()
    submission_id = request.form.get("submission_id", type=int)
    try:
        batch = regrade.start_regrade(session, ca, request.form.get("scope", ""),
                                      requested_by=current_user, submission_id=submission_id)
    except regrade.RegradeError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".assignment", course=course.slug, slug=slug))
    session.commit()
    return redirect(url_for(".regrade_summary", course=course.slug, batch_id=batch.id))


@bp.get("/<course>/regrades/<int:batch_id>")
@staff_course
def regrade_summary(course: Course, batch_id: int) -> str:
    session = get_session()
    batch = session.get(RegradeBatch, batch_id)
    ca = session.get(CourseAssignment, batch.course_assignment_id) if batch else None
    if batch is None or ca is None or ca.course_id != course.id:
        abort(404)
    summary = regrade.summarize(session, batch)
    return render_template("instructor/regrade.html", course=course, ca=ca, summary=summary)


# --- submissions ---------------------------------------------------------------------------

@bp.get("/<course>/assignments/<slug>/submissions")
@staff_course
def assignment_submissions(course: Course, slug: str) -> str:
    ca = _course_assignment(course, slug)
    subs = get_session().scalars(
        select(Submission).where(Submission.course_assignment_id == ca.id)
        .order_by(Submission.id.desc()).limit(500))
    return render_template("instructor/submissions.html", course=course, ca=ca,
                           submissions=list(subs), student=None)


@bp.get("/<course>/students/<username>")
@staff_course
def student(course: Course, username: str) -> str:
    session = get_session()
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not any(e.user_id == user.id for e in course.enrollments):
        abort(404)
    ca_ids = [ca.id for ca in course.assignments]
    subs = session.scalars(
        select(Submission).where(Submission.user_id == user.id,
                                 Submission.course_assignment_id.in_(ca_ids))
        .order_by(Submission.id.desc()))
    return render_template("instructor/submissions.html", course=course, ca=None,
                           submissions=list(subs), student=user)


@bp.get("/<course>/submissions/<int:submission_id>")
@staff_course
def submission(course: Course, submission_id: int) -> str:
    sub = _course_submission(course, submission_id)
    ca = sub.course_assignment
    return render_template(
        "instructor/submission.html", course=course, ca=ca, sub=sub,
        effective=grades.effective_score(sub, ca), late_days=grades.days_late(
            sub.submitted_at, ca.deadline),
        pics=pictures.pictures_of(sub.result, get_state().registry.renderers),
        highlighted=highlight.source_html(sub.source),
        notebook=notebook_report(sub),
        others=[s for s in user_submissions(get_session(), sub.user, ca) if s.id != sub.id],
    )


@bp.get("/<course>/submissions/<int:submission_id>/<kind>.png")
@staff_course
def picture(course: Course, submission_id: int, kind: str) -> Response:
    sub = _course_submission(course, submission_id)
    try:
        state = get_state()
        png = pictures.picture_png(kind, sub.id, sub.result, state.registry.renderers,
                                   state.datasets, pictures_dir(),
                                   sub.course_assignment.assignment_slug)
    except (pictures.NoPicture, KeyError) as error:
        log.info("no %s picture for submission %s: %s", kind, sub.id, error)
        abort(404)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def pictures_dir() -> Path:
    """Rendered pictures live in the instance folder."""
    return Path(current_app.instance_path) / "pictures"


# --- grades and roster ---------------------------------------------------------------------

@bp.get("/<course>/grades.csv")
@staff_course
def grades_csv(course: Course) -> Response:
    body = grades.grades_csv(get_session(), course)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{course.slug}-grades-{stamp}.csv"',
        "Cache-Control": "no-store",
    })


@bp.route("/<course>/roster", methods=["GET", "POST"])
@staff_course
def roster_page(course: Course) -> str:
    session = get_session()
    report: list[roster.RowResult] = []
    if request.method == "POST":
        upload = request.files.get("csv_file")
        if upload is not None and upload.filename:
            report = roster.add_from_csv(session, course, upload.read(), invited_by=current_user)
        else:
            report = [roster.add_one(session, course, request.form.get("username", ""),
                                     request.form.get("name", ""), request.form.get("email", ""),
                                     line=None, invited_by=current_user)]
        session.commit()
    return render_template("instructor/roster.html", course=course, report=report,
                           people=dashboard.enrolled(session, course),
                           invited=invitations.pending_usernames(session, course))
