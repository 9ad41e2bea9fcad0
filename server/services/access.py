"""Who may see what: the one place the web pages and the JSON API ask.

Rules:
- a student sees only their own submissions, and only in courses they are enrolled in;
- course staff (an enrolment with role ``instructor`` in that course) and site admins see
  every submission of the course, including source and real names;
- everybody else gets "not found" (never "forbidden"), so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Course, CourseAssignment, Enrollment, Submission, User
from server.services.grades import deadline_passed


def enrollment_role(session: Session, user: User, course: Course | int) -> str | None:
    """The user's role in the course (``student`` / ``instructor``), or None."""
    course_id = course if isinstance(course, int) else course.id
    return session.scalar(
        select(Enrollment.role).where(Enrollment.course_id == course_id,
                                      Enrollment.user_id == user.id)
    )


def is_course_staff(session: Session, user: User | None, course: Course | int) -> bool:
    """Site admins and the course's instructors."""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if user.role == "admin":
        return True
    return enrollment_role(session, user, course) == "instructor"


def is_member(session: Session, user: User | None, course: Course | int) -> bool:
    """Enrolled in the course in any role, or a site admin."""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    return user.role == "admin" or enrollment_role(session, user, course) is not None


def submission_rights(user: User, owner_id: int, role: str | None) -> tuple[bool, bool]:
    """(may view, is course staff) for a submission of `owner_id` in a course where the
    authenticated `user` has `role`: its owner while enrolled, and the course's staff
    (site admins and instructors)."""
    staff = user.role == "admin" or role == "instructor"
    return staff or (owner_id == user.id and role is not None), staff


def can_view_submission(session: Session, user: User | None, submission: Submission) -> bool:
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    role = enrollment_role(session, user, submission.course_assignment.course_id)
    return submission_rights(user, submission.user_id, role)[0]


def visible_courses(session: Session, user: User) -> list[Course]:
    """Courses the user is enrolled in (admins: all), by title."""
    query = select(Course).order_by(Course.title)
    if user.role != "admin":
        query = query.join(Enrollment, Enrollment.course_id == Course.id).where(
            Enrollment.user_id == user.id)
    return list(session.scalars(query))


def course_by_slug(session: Session, user: User, slug: str) -> Course | None:
    """The course if the user may enter it, else None."""
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None or not is_member(session, user, course):
        return None
    return course


def course_assignment(session: Session, user: User, course_slug: str,
                      assignment_slug: str) -> CourseAssignment | None:
    """An assignment of a course the user belongs to; disabled ones only for staff."""
    course = course_by_slug(session, user, course_slug)
    if course is None:
        return None
    ca = session.scalar(select(CourseAssignment).where(
        CourseAssignment.course_id == course.id,
        CourseAssignment.assignment_slug == assignment_slug))
    if ca is None or (not ca.enabled and not is_course_staff(session, user, course)):
        return None
    return ca


def result_for_viewer(result: dict[str, Any] | None, ca: CourseAssignment, *,
                      staff: bool) -> dict[str, Any]:
    """The stored result as this viewer may see it.

    Students get hidden checks with only the fields in `HIDDEN_CHECK_FIELDS` (a grader
    that one day stores more, e.g. expected values, cannot leak them here).

    Before the deadline students get only the *public* part of the hidden test set's
    metrics: the private part decides the final ranking and must not be tuned against,
    and the overall figure `<metric>` (public and private together) would give it away
    from `<metric>_public`. So `<metric>` and `<metric>_private` are dropped whenever
    `<metric>_public` exists, and any `*_private` figure is dropped in any case.
    """
    result = dict(result or {})
    if staff:
        return result
    if result.get("checks"):
        result["checks"] = [_check_for_student(c) for c in result["checks"]]
    if not deadline_passed(ca):
        result["metrics"] = public_metrics(result.get("metrics") or {})
        result.pop("final_score", None)
    return result


#: what a student sees of a hidden check: its points and hint, never extra data
HIDDEN_CHECK_FIELDS = ("name", "passed", "score", "max_score", "visibility", "message")


def _check_for_student(check: dict[str, Any]) -> dict[str, Any]:
    if check.get("visibility") == "visible":
        return check
    return {key: check[key] for key in HIDDEN_CHECK_FIELDS if key in check}


def public_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics without anything computed on the private split."""
    split = {key.removesuffix("_public") for key in metrics if key.endswith("_public")}
    return {key: value for key, value in metrics.items()
            if not key.endswith("_private") and key not in split}
