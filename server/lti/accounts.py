"""Account linking: a launch (or a roster entry) creates or finds the neurograde user
behind an LMS user, binds the LMS context to a course and enrols the user there."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import Forbidden
from server.lti.models import LtiContext, LtiPlatform, LtiUser
from server.models import Course, User
from server.services import accounts, courses

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
#: LMS roles (the last part of a LIS role URI, or a short role name) -> course role.
#: Teaching assistants and content developers manage the course like instructors;
#: observers, mentors and guests have no place in it.
STAFF_ROLES = frozenset({"Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator"})
STUDENT_ROLES = frozenset({"Learner", "Student"})
CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"


def course_role(roles: Iterable[str]) -> str | None:
    """"instructor", "student", or None for roles neurograde does not admit.

    Context roles (`membership#Instructor`) and institution roles (`institution/person#
    Instructor`) count alike; staff wins over learner (a TA enrolled as both).
    """
    names = {re.split(r"[#/]", role)[-1] for role in roles}
    if names & STAFF_ROLES:
        return "instructor"
    if names & STUDENT_ROLES:
        return "student"
    return None


def link_user(session: Session, platform: LtiPlatform, sub: str, claims: Mapping[str, Any],
              role: str) -> User:
    """The account linked to `sub` on `platform`, created on first sight.

    A new account gets a username from the e-mail's local part (else "lti-<hash>"),
    made unique, and a random password nobody knows: it signs in through the LMS.
    """
    link = session.scalar(select(LtiUser).where(LtiUser.platform_id == platform.id,
                                                LtiUser.sub == sub))
    name = claims.get("name") or " ".join(
        p for p in (claims.get("given_name"), claims.get("family_name")) if p)
    if link is not None:
        user = session.get_one(User, link.user_id)
        user.name = name or user.name
        user.email = claims.get("email") or user.email
        return user
    user = accounts.create_user(
        session, _free_username(session, claims.get("email") or "", platform, sub),
        secrets.token_urlsafe(24), role="instructor" if role == "instructor" else "student",
        name=name, email=claims.get("email") or "")
    session.add(LtiUser(platform_id=platform.id, sub=sub, user_id=user.id))
    session.flush()
    return user


def _free_username(session: Session, email: str, platform: LtiPlatform, sub: str) -> str:
    digest = hashlib.sha256(f"{platform.id}:{sub}".encode()).hexdigest()
    base = re.sub(r"[^A-Za-z0-9._-]", "", email.partition("@")[0])[:48].lstrip("._-")
    base = base or f"lti-{digest[:10]}"
    candidate = base
    for n in range(2, 1000):
        if accounts.find_user(session, candidate) is None:
            return candidate
        candidate = f"{base}-{n}"
    return f"lti-{digest[:20]}"


def bind_context(session: Session, platform: LtiPlatform, claims: Mapping[str, Any],
                 role: str) -> LtiContext:
    """The context of this launch, bound to a course: an instructor's first launch from a
    new LMS course creates a neurograde course for it; a student cannot be first."""
    ctx_claim = claims.get(CONTEXT) or {}
    context_id = ctx_claim.get("id")
    if not context_id:
        raise Forbidden("This launch comes from outside a course; neurograde needs one.")
    context = session.scalar(select(LtiContext).where(LtiContext.platform_id == platform.id,
                                                      LtiContext.context_id == context_id))
    if context is None:
        if role != "instructor":
            raise Forbidden("This LMS course is not connected to neurograde yet: an instructor "
                            "has to open neurograde from it first.")
        course = _new_course(session, platform, context_id, ctx_claim)
        context = LtiContext(platform_id=platform.id, context_id=context_id, course_id=course.id,
                             title=ctx_claim.get("title") or "", score_policy="best")
        session.add(context)
        session.flush()
    return context


def bind_to_course(session: Session, context: LtiContext, course: Course) -> None:
    """Re-bind a context to an existing course (admin page / CLI)."""
    context.course_id = course.id
    session.flush()


def _new_course(session: Session, platform: LtiPlatform, context_id: str,
                claim: Mapping[str, Any]) -> Course:
    label = re.sub(r"[^a-z0-9-]+", "-", (claim.get("label") or "lms").lower()).strip("-")
    digest = hashlib.sha256(f"{platform.id}:{context_id}".encode()).hexdigest()[:6]
    slug = f"{label[:50] or 'lms'}-{digest}"
    return courses.find_course(session, slug) or courses.create_course(
        session, slug, claim.get("title") or claim.get("label") or slug)


def enrol(session: Session, user: User, context: LtiContext, role: str) -> None:
    """Enrol with the LMS role; the LMS is the authority on it, so it is updated each time."""
    accounts.enroll(session, user, context.course, role)
