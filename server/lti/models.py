"""LTI tables: who the platforms are, what maps to what, and the grade passback jobs.

A passback job means "bring this student's grade for this line item up to date"; the
score is computed when the job runs (course policy, late penalty), so several grades
written in a row (attempts, a regrade) need one job, and an unchanged score is not sent
again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, utcnow
from server.models.courses import Course, CourseAssignment
from server.models.submissions import GradingRecord

#: passback job states
PB_QUEUED, PB_RUNNING, PB_DONE, PB_FAILED = "queued", "running", "done", "failed"
#: how a context turns several attempts into the score sent to the LMS
SCORE_POLICIES = ("best", "latest")


class LtiPlatform(Base):
    """A registered LMS (issuer + client id) and its endpoints."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    #: deployment ids accepted from this platform
    deployment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    #: the `aud` of the token request, when the platform wants one other than the token URL
    auth_audience: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LtiContext(Base):
    """An LMS course (context) bound to a neurograde course, with its service endpoints."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"),
                                           index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    deployment_id: Mapped[str] = mapped_column(String(255), default="")
    score_policy: Mapped[str] = mapped_column(String(16), default="best")
    #: AGS: the lineitems container URL and the scopes the platform granted
    lineitems_url: Mapped[str | None] = mapped_column(String(1024))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: NRPS: context_memberships_url
    memberships_url: Mapped[str | None] = mapped_column(String(1024))
    roster_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    platform: Mapped[LtiPlatform] = relationship()
    course: Mapped[Course] = relationship()


class LtiUser(Base):
    """A platform's user (`sub`) linked to a neurograde account."""

    __tablename__ = "lti_users"
    __table_args__ = (UniqueConstraint("platform_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class LtiLineItem(Base):
    """The one line item of a course assignment in an LMS context (resourceId = `resource_id`)."""

    __tablename__ = "lti_line_items"
    __table_args__ = (UniqueConstraint("context_id", "course_assignment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("lti_contexts.id", ondelete="CASCADE"))
    course_assignment_id: Mapped[int] = mapped_column(
        ForeignKey("course_assignments.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    #: the line item's URL on the platform, once known
    url: Mapped[str | None] = mapped_column(String(1024))

    context: Mapped[LtiContext] = relationship()
    course_assignment: Mapped[CourseAssignment] = relationship()


class LtiPassback(Base):
    """A student's grade for a line item on its way to the LMS (one row per pair)."""

    __tablename__ = "lti_passbacks"
    __table_args__ = (
        UniqueConstraint("line_item_id", "user_id"),
        Index("ix_lti_passbacks_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("lti_line_items.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=PB_QUEUED)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: what the LMS holds now (after the last successful post)
    sent_score: Mapped[float | None] = mapped_column(Float)
    sent_maximum: Mapped[float | None] = mapped_column(Float)
    sent_submission_id: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    line_item: Mapped[LtiLineItem] = relationship()


class LtiPassbackLog(Base):
    """The audit log: every attempt to post (or decision not to post) a score."""

    __tablename__ = "lti_passback_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    passback_id: Mapped[int] = mapped_column(ForeignKey("lti_passbacks.id", ondelete="CASCADE"),
                                             index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: sent | unchanged | skipped | error
    outcome: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    submission_id: Mapped[int | None] = mapped_column(Integer)
    http_status: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LtiKeyValue(Base):
    """PyLTI1p3's launch state (nonces, state ids, launch data), kept server-side: the
    launch is a cross-site POST that carries no SameSite=Lax session cookie."""

    __tablename__ = "lti_launch_data"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def _grade_written(mapper: Any, connection: Any, target: Any) -> None:
    """Every grade written (initial grade or regrade) appends a GradingRecord: the
    passback of that student's LMS grade is requested in the same transaction."""
    from server.lti.passback import request_passback

    if target.status != "internal_error":
        request_passback(connection, target.submission_id)


event.listen(GradingRecord, "after_insert", _grade_written)
