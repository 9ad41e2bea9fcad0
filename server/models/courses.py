"""Courses, enrolments and the assignments enabled in a course."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.accounts import User
from server.models.base import Base, utcnow


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    #: IANA name (e.g. "Europe/Berlin"): deadlines are entered and shown in it, with UTC alongside
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="course",
                                                         cascade="all, delete-orphan")
    assignments: Mapped[list[CourseAssignment]] = relationship(back_populates="course",
                                                               cascade="all, delete-orphan")


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="student")  # student | instructor
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    course: Mapped[Course] = relationship(back_populates="enrollments")
    user: Mapped[User] = relationship()


class EnrollmentInvitation(Base):
    """An instructor's request to enrol an account that already existed: the student sees
    it on her home page and becomes a member (an `Enrollment`) only by accepting it, so her
    name, email and pseudonym reach that course's staff only by her own choice."""

    __tablename__ = "enrollment_invitations"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="student")
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class CourseAssignment(Base):
    """A plugin assignment enabled in a course, with its course-specific policy."""

    __tablename__ = "course_assignments"
    __table_args__ = (UniqueConstraint("course_id", "assignment_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    assignment_slug: Mapped[str] = mapped_column(String(64))
    rubric_name: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: fraction of the score lost per started day late (0 = no penalty)
    late_penalty_per_day: Mapped[float] = mapped_column(Float, default=0.0)
    #: no submissions accepted after this (None = accept late work forever)
    hard_cutoff: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    daily_submission_limit: Mapped[int | None] = mapped_column(Integer)
    #: fixes the public/private split of the hidden test set for this course
    split_seed: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: bumped by the database on every write that can change this leaderboard
    #: (`server.models.standings`); the leaderboard cache is keyed by it
    standings_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    course: Mapped[Course] = relationship(back_populates="assignments")
