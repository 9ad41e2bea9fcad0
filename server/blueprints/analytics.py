"""Class analytics for a course's instructors: an overview of every assignment and one
page per assignment (pictures and tables), each table also as CSV.

Access is the instructor pages' own rule (`instructor._staff_course`): anyone who is not
staff of the course gets "not found". Figures come from `server.services.analytics`.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request
from flask_login import login_required

from server.blueprints.instructor import _course_assignment, staff_course
from server.db import get_session
from server.extensions import get_state
from server.models import Course
from server.services import analytics, charts
from server.services.courses import teaching_order

bp = Blueprint("analytics", __name__, url_prefix="/instructor")


@bp.before_request
@login_required
def _logged_in() -> None:
    """Every page here needs a logged-in user."""


def _title(slug: str) -> str:
    definition = get_state().registry.assignments.get(slug)
    return definition.title if definition else slug


@bp.get("/<course>/analytics")
@staff_course
def course(course: Course) -> str:
    session = get_session()
    cas = sorted(course.assignments, key=teaching_order(get_state().registry.assignments))
    overview = [analytics.class_analytics(session, ca) for ca in cas]
    return render_template("analytics/course.html", course=course, overview=overview,
                           title=_title)


@bp.get("/<course>/analytics/<slug>")
@staff_course
def assignment(course: Course, slug: str) -> str:
    ca = _course_assignment(course, slug)
    data = analytics.class_analytics(get_session(), ca)
    return render_template("analytics/assignment.html", course=course, ca=ca, data=data,
                           title=_title(slug), pictures=_pictures(data))


def _pictures(data: analytics.Analytics) -> dict[str, object]:
    checks = [(c.name, c.failed / c.total, c.partial / c.total,
               f"{c.failed + c.partial} of {c.total} ({c.failure_rate:.0%})")
              for c in data.checks if c.total]
    days = [d for d, _ in data.timeline]
    marker = None
    if data.deadline_day is not None and days and days[0] <= data.deadline_day <= days[-1]:
        marker = days.index(data.deadline_day)
    return {
        "checks": charts.bars(checks, "Share of students whose latest submission fails or "
                                      "only partly passes each check") if checks else None,
        "timeline": charts.columns([n for _, n in data.timeline],
                                   [d.strftime("%m-%d") for d in days],
                                   "Submissions per day", marker=marker,
                                   marker_label="deadline",
                                   every=max(1, len(days) // 10)) if days else None,
        "scores": charts.columns(data.histogram,
                                 [f"{10 * i}–{10 * (i + 1)}" for i in range(analytics.BINS)],
                                 "Students per best score (percent of the maximum)"),
    }


@bp.get("/<course>/analytics/<slug>.csv")
@staff_course
def assignment_csv(course: Course, slug: str) -> Response:
    ca = _course_assignment(course, slug)
    kind = request.args.get("kind", "checks")
    if kind not in analytics.CSV_KINDS:
        abort(404)
    rows = analytics.csv_rows(analytics.class_analytics(get_session(), ca), kind)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{course.slug}-{slug}-{kind}-{stamp}.csv"',
        "Cache-Control": "no-store",
    })
