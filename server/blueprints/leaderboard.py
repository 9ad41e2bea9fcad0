"""Leaderboard pages: one per assignment and a course total.

Members of the course see them; students see pseudonyms only (and never an
opted-out classmate), instructors see real names. The ranking itself is
`server.services.leaderboard.standings`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, make_response, render_template
from flask_login import current_user, login_required

from plugins.types import AssignmentDef
from server.blueprints.conditional import conditional, etag_for, not_modified
from server.blueprints.lookup import with_course
from server.db import get_session
from server.extensions import get_state
from server.models import Course
from server.services import leaderboard
from server.services.access import course_assignment, course_by_slug, is_course_staff
from server.services.grades import deadline_passed

bp = Blueprint("leaderboard", __name__)


@bp.get("/courses/<course>/assignments/<slug>/leaderboard")
@login_required
def assignment(course: str, slug: str) -> str | Response:
    session = get_session()
    ca = course_assignment(session, current_user, course, slug)
    if ca is None:
        abort(404)
    definition = get_state().registry.assignments.get(slug)
    higher = definition.metric_higher_is_better if definition else True
    staff = is_course_staff(session, current_user, ca.course_id)
    now = datetime.now(UTC)
    revealed = deadline_passed(ca, now)
    etag = etag_for("assignment-board", board_key(ca, revealed), staff, current_user.id,
                    slug, higher)
    if (unchanged := not_modified(etag)) is not None:
        return unchanged
    rows = leaderboard.standings(session, ca, higher_is_better=higher)
    return conditional(make_response(render_template(
        "leaderboard/assignment.html", course=ca.course, ca=ca, definition=definition,
        rows=leaderboard.present(rows, instructor=staff, viewer_id=current_user.id),
        staff=staff, revealed=revealed, metric=_metric_label(definition),
        metric_format=shown.show
        if definition and (shown := definition.leaderboard_metric) else None,
        ladder_step=leaderboard.LADDER_STEP,
    )), etag)


def board_key(ca, revealed: bool) -> tuple:
    """What a course assignment's board depends on, from its loaded row (no query)."""
    return (ca.id, ca.standings_version, str(ca.deadline), revealed)


def _member_course(slug: str) -> Course:
    course = course_by_slug(get_session(), current_user, slug)
    if course is None:
        abort(404)
    return course


@bp.get("/courses/<course>/leaderboard")
@login_required
@with_course(_member_course)
def course(course: Course) -> str | Response:
    session = get_session()
    registry = get_state().registry
    cas = sorted((ca for ca in course.assignments if ca.enabled),
                 key=lambda ca: (getattr(registry.assignments.get(ca.assignment_slug),
                                         "order", 100), ca.assignment_slug))
    higher = {slug: a.metric_higher_is_better for slug, a in registry.assignments.items()}
    staff = is_course_staff(session, current_user, course)
    now = datetime.now(UTC)
    etag = etag_for("course-board", course.id, course.title, staff, current_user.id,
                    [board_key(ca, deadline_passed(ca, now)) for ca in cas])
    if (unchanged := not_modified(etag)) is not None:
        return unchanged
    totals = leaderboard.course_totals(session, cas, higher)
    return conditional(make_response(render_template(
        "leaderboard/course.html", course=course, cas=cas, staff=staff,
        rows=leaderboard.present(totals, instructor=staff, viewer_id=current_user.id),
        titles={slug: a.title for slug, a in registry.assignments.items()},
    )), etag)


def _metric_label(definition: AssignmentDef | None) -> str | None:
    """The declared metric's column heading: its label, else its name."""
    if definition is None or definition.leaderboard_metric is None:
        return None
    return definition.leaderboard_metric.label or definition.leaderboard_metric.name
