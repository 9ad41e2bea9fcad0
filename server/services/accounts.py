"""Users, passwords and course enrolments."""

from __future__ import annotations

import functools
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from server.errors import Conflict, NotFound, ValidationError
from server.models import ROLES, Course, Enrollment, User

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
COURSE_ROLES = ("student", "instructor")
MIN_PASSWORD_LENGTH = 3  #: set by an instructor or the demo (e.g. password = username)
MIN_CHOSEN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug's format, with its parameters embedded)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return generate_password_hash(password, method="scrypt")


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)


def change_password(user: User, password: str) -> None:
    """A password the user chose: stricter than the instructor-set minimum, and not the
    username."""
    if len(password) < MIN_CHOSEN_PASSWORD_LENGTH:
        raise ValidationError(
            f"A new password needs at least {MIN_CHOSEN_PASSWORD_LENGTH} characters.")
    if password.lower() == user.username.lower():
        raise ValidationError("A new password must differ from your username.")
    set_password(user, password)


def verify_password(user: User | None, password: str) -> bool:
    """True if `password` is the user's; False for no user or no password set.

    Without a user (or a hash) the password is checked against a dummy hash of the same
    cost, so a wrong password takes as long for an unknown username as for a real one
    and the answer's timing does not tell which usernames exist.
    """
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"There is no user {username!r}.")
    return user


def create_user(session: Session, username: str, password: str, *, role: str = "student",
                name: str = "", email: str = "") -> User:
    """A new user with a hashed password; usernames are unique."""
    if not USERNAME.match(username):
        raise ValidationError("A username is 1-64 letters, digits, dots, dashes or underscores, "
                              "starting with a letter or digit.")
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if find_user(session, username) is not None:
        raise Conflict(f"The user {username!r} already exists.")
    user = User(username=username, password_hash=hash_password(password), role=role,
                name=name or username, email=email, pseudonym=username)
    session.add(user)
    session.flush()
    return user


def find_enrollment(session: Session, user: User, course: Course) -> Enrollment | None:
    return session.scalar(select(Enrollment).where(Enrollment.user_id == user.id,
                                                   Enrollment.course_id == course.id))


def enroll(session: Session, user: User, course: Course, role: str | None = None) -> Enrollment:
    """Enrol `user` in `course` (idempotent; updates the course role if it changed).

    The course role defaults to "instructor" for site instructors and admins.
    """
    role = role or ("instructor" if user.is_instructor else "student")
    if role not in COURSE_ROLES:
        raise ValidationError(f"Unknown course role {role!r}; choose student or instructor.")
    enrollment = find_enrollment(session, user, course)
    if enrollment is None:
        enrollment = Enrollment(user_id=user.id, course_id=course.id, role=role)
        session.add(enrollment)
    else:
        enrollment.role = role
    session.flush()
    return enrollment
