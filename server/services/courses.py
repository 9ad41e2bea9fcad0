"""Courses and the plugin assignments enabled in them."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugins.registry import Registry
from server.errors import Conflict, NotFound, ValidationError
from server.models import Course, CourseAssignment

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
#: course-assignment settings an instructor may change besides deadline and rubric
POLICY_FIELDS = ("late_penalty_per_day", "hard_cutoff", "daily_submission_limit", "split_seed",
                 "enabled")


def find_course(session: Session, slug: str) -> Course | None:
    return session.scalar(select(Course).where(Course.slug == slug))


def get_course(session: Session, slug: str) -> Course:
    course = find_course(session, slug)
    if course is None:
        raise NotFound(f"There is no course {slug!r}.")
    return course


def create_course(session: Session, slug: str, title: str) -> Course:
    if not SLUG.match(slug):
        raise ValidationError("A course slug is 1-64 lower-case letters, digits and dashes.")
    if not title.strip():
        raise ValidationError("A course needs a title.")
    if find_course(session, slug) is not None:
        raise Conflict(f"The course {slug!r} already exists.")
    course = Course(slug=slug, title=title.strip())
    session.add(course)
    session.flush()
    return course


def find_course_assignment(session: Session, course: Course, slug: str) -> CourseAssignment | None:
    return session.scalar(select(CourseAssignment).where(
        CourseAssignment.course_id == course.id, CourseAssignment.assignment_slug == slug))


def enable_assignment(session: Session, registry: Registry, course: Course, slug: str, *,
                      deadline: datetime | None = None, rubric: str | None = None,
                      **policy: Any) -> CourseAssignment:
    """Enable the installed assignment `slug` in `course`, or update its settings.

    The slug must be provided by an installed plugin and the rubric (if given) must
    be one registered for that assignment. A naive `deadline` is taken as UTC.
    """
    unknown = set(policy) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if slug not in registry.assignments:
        installed = ", ".join(sorted(registry.assignments)) or "none"
        raise ValidationError(f"No installed plugin provides the assignment {slug!r} "
                              f"(installed: {installed}).")
    if rubric is not None:
        try:
            registry.rubric_for(slug, rubric)
        except KeyError as exc:
            raise ValidationError(str(exc.args[0])) from None
    course_assignment = find_course_assignment(session, course, slug)
    if course_assignment is None:
        course_assignment = CourseAssignment(course_id=course.id, assignment_slug=slug,
                                             split_seed=_split_seed(course.slug, slug))
        session.add(course_assignment)
    course_assignment.deadline = _utc(deadline) if deadline else course_assignment.deadline
    course_assignment.rubric_name = rubric or course_assignment.rubric_name
    for key, value in policy.items():
        setattr(course_assignment, key, _utc(value) if isinstance(value, datetime) else value)
    course_assignment.enabled = policy.get("enabled", True)
    session.flush()
    return course_assignment


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _split_seed(course_slug: str, slug: str) -> int:
    # stable per course assignment, so the public/private split never changes between regrades;
    # 31 bits fit PostgreSQL's INTEGER
    digest = hashlib.sha256(f"{course_slug}/{slug}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def teaching_order(assignments: dict[str, Any]) -> Any:
    """A sort key for course assignments (or anything with `assignment_slug`, or slugs):
    the plugins' teaching order, then the slug; the same order on every page."""
    def key(item: Any) -> tuple[int, str]:
        slug = item if isinstance(item, str) else item.assignment_slug
        return (getattr(assignments.get(slug), "order", 1000), slug)
    return key
