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


def can_view_submission(session: Session, user: User | None, submission: Submission) -> bool:
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    course_id = submission.course_assignment.course_id
    if submission.user_id == user.id:
        return is_member(session, user, course_id)
    return is_course_staff(session, user, course_id)


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

    Before the deadline students do not get the metrics of the *private* part of the
    hidden test set (`<metric>_private`): that part decides the final ranking and must
    not be tuned against.
    """
    from server.services.leaderboard import private_revealed

    result = dict(result or {})
    if staff or private_revealed(ca):
        return result
    metrics = result.get("metrics") or {}
    result["metrics"] = {k: v for k, v in metrics.items() if not k.endswith("_private")}
    return result
