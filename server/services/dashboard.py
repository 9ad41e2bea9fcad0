"""Numbers for the instructor's course dashboard."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import (
    DONE,
    Course,
    CourseAssignment,
    Enrollment,
    Submission,
    User,
)
from server.runtime.queue import queue_stats
from server.services.grades import best_grades

log = logging.getLogger(__name__)

#: run statuses an instructor may want to look at
ERROR_STATUSES = ("internal_error", "crashed", "timeout", "memory_limit", "import_error")
BINS = 10


@dataclass
class AssignmentStats:
    ca: CourseAssignment
    submissions: int = 0
    students: int = 0
    queued: int = 0
    #: students per tenth of the maximum score (best effective score), 0–10 %, …, 90–100 %
    histogram: list[int] = field(default_factory=lambda: [0] * BINS)
    mean_fraction: float | None = None


def sparkline(counts: list[int]) -> str:
    """Counts as a row of block characters (no script or inline style needed)."""
    blocks = "▁▂▃▄▅▆▇█"
    peak = max(counts, default=0)
    if peak == 0:
        return blocks[0] * len(counts)
    return "".join(blocks[round(c / peak * (len(blocks) - 1))] for c in counts)


def enrolled(session: Session, course: Course) -> list[tuple[User, Enrollment]]:
    """Everyone enrolled in the course, instructors first, then by username."""
    rows = session.execute(
        select(User, Enrollment).join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course.id)
        .order_by(Enrollment.role.desc(), User.username)
    )
    return [(user, enrolment) for user, enrolment in rows]


def assignment_stats(session: Session, course: Course) -> list[AssignmentStats]:
    """Per assignment: submission count, students who submitted, score distribution."""
    cas = sorted(course.assignments, key=lambda ca: ca.assignment_slug)
    stats = {ca.id: AssignmentStats(ca) for ca in cas}
    if not stats:
        return []
    counts = session.execute(
        select(Submission.course_assignment_id, func.count(Submission.id),
               func.count(func.distinct(Submission.user_id)))
        .where(Submission.course_assignment_id.in_(stats))
        .group_by(Submission.course_assignment_id)
    )
    for ca_id, total, students in counts:
        stats[ca_id].submissions, stats[ca_id].students = total, students
    waiting = session.execute(
        select(Submission.course_assignment_id, func.count(Submission.id))
        .where(Submission.course_assignment_id.in_(stats), Submission.state != DONE)
        .group_by(Submission.course_assignment_id)
    )
    for ca_id, n in waiting:
        stats[ca_id].queued = n
    fractions: dict[int, list[float]] = {ca_id: [] for ca_id in stats}
    for (_, ca_id), cell in best_grades(session, course).items():
        if cell.max_score > 0:
            fractions[ca_id].append(min(1.0, cell.score / cell.max_score))
    for ca_id, values in fractions.items():
        bins = Counter(min(BINS - 1, int(v * BINS)) for v in values)
        stats[ca_id].histogram = [bins.get(i, 0) for i in range(BINS)]
        stats[ca_id].mean_fraction = sum(values) / len(values) if values else None
    return list(stats.values())


def recent_errors(session: Session, course: Course, limit: int = 15) -> list[Submission]:
    """The latest submissions of this course that ended in an error or logged one."""
    ca_ids = [ca.id for ca in course.assignments]
    if not ca_ids:
        return []
    return list(session.scalars(
        select(Submission)
        .where(Submission.course_assignment_id.in_(ca_ids),
               Submission.status.in_(ERROR_STATUSES) | Submission.last_error.is_not(None))
        .order_by(Submission.graded_at.desc().nulls_last(), Submission.id.desc())
        .limit(limit)
    ))


def queue_overview(session: Session, course: Course) -> dict[str, Any]:
    """The shared queue's counts with running and failed jobs listed only for `course`
    (`server.runtime.queue.queue_stats`): other courses' job ids and error texts are not
    ours to show. ``{"error": …}`` if it could not be read."""
    try:
        return dict(queue_stats(session, course_id=course.id))
    except Exception:  # the dashboard must render even if the queue query fails
        log.exception("queue_stats failed")
        return {"error": "the queue could not be read; see the server log"}
