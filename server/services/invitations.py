"""Enrolment of accounts that already exist: by invitation, accepted by the student.

An account belongs to a person, not to a course: the same student may take several
courses, with one real name, email and pseudonym. An instructor who adds an existing
username to her course therefore only *invites* it; the student sees the invitation on
her home page and is enrolled (and visible to that course's staff, with her name, email
and pseudonym) only when she accepts. Until then the course's staff see the username they
typed and nothing else. The `neurograde` CLI is the operator's and enrols directly.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.models import Course, Enrollment, EnrollmentInvitation, User
from server.services.accounts import enroll


def invite(session: Session, course: Course, user: User, *, role: str = "student",
           invited_by: User | None = None) -> EnrollmentInvitation:
    """Invite `user` to `course` (idempotent)."""
    invitation = session.scalar(select(EnrollmentInvitation).where(
        EnrollmentInvitation.course_id == course.id, EnrollmentInvitation.user_id == user.id))
    if invitation is None:
        invitation = EnrollmentInvitation(course_id=course.id, user_id=user.id, role=role,
                                          invited_by_id=invited_by.id if invited_by else None)
        session.add(invitation)
        session.flush()
    return invitation


def pending_for_user(session: Session, user: User) -> list[EnrollmentInvitation]:
    return list(session.scalars(select(EnrollmentInvitation).where(
        EnrollmentInvitation.user_id == user.id).order_by(EnrollmentInvitation.created_at)))


def pending_usernames(session: Session, course: Course) -> list[str]:
    """Who was invited to `course` and has not answered: usernames only."""
    return list(session.scalars(
        select(User.username).join(EnrollmentInvitation, EnrollmentInvitation.user_id == User.id)
        .where(EnrollmentInvitation.course_id == course.id).order_by(User.username)))


def _hers(session: Session, user: User, invitation_id: int) -> EnrollmentInvitation:
    invitation = session.get(EnrollmentInvitation, invitation_id)
    if invitation is None or invitation.user_id != user.id:
        raise NotFound("There is no such invitation.")
    return invitation


def accept(session: Session, user: User, invitation_id: int) -> Enrollment:
    """Enrol `user` as the invitation says; the invitation is used up."""
    invitation = _hers(session, user, invitation_id)
    course, role = session.get_one(Course, invitation.course_id), invitation.role
    session.delete(invitation)
    return enroll(session, user, course, role=role)


def decline(session: Session, user: User, invitation_id: int) -> None:
    session.delete(_hers(session, user, invitation_id))
    session.flush()
