"""Submissions (each row is also its grading job), grading history and regrade batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.accounts import User
from server.models.base import Base, utcnow
from server.models.courses import CourseAssignment

#: job states; the grading outcome is in `status`
QUEUED, RUNNING, DONE = "queued", "running", "done"
#: lanes: fresh student submissions are claimed before regrades
LANE_FRESH, LANE_REGRADE = 0, 1


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_claim", "state", "lane", "enqueued_at"),
        # the queue's fair share: each student's jobs started in the last minutes
        Index("ix_submissions_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_assignment_id: Mapped[int] = mapped_column(
        ForeignKey("course_assignments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    #: the graded Python source: the file itself, or the module made from a notebook
    source: Mapped[str] = mapped_column(Text)
    #: a notebook upload: {"ipynb": the notebook without outputs, "conversion": its report
    #: and line map (grader.notebook.Conversion.to_dict)}; None for a .py file
    notebook: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # --- the job ---
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    lane: Mapped[int] = mapped_column(Integer, default=LANE_FRESH)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    #: an infrastructure failure's retry waits until then (back-off), see server.runtime.queue
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: why no worker takes this queued job (sandbox unusable, dataset not prepared)
    wait_reason: Mapped[str | None] = mapped_column(Text)
    regrade_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("regrade_batches.id", ondelete="SET NULL"))

    # --- the latest result ---
    status: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    #: the score at the deadline (e.g. from the whole hidden test set, where `score` has
    #: the public half's partial credit); shown and counted only once the deadline passed
    final_score: Mapped[float | None] = mapped_column(Float)
    #: the assignment's leaderboard metric on the public / private part of the hidden test set
    metric_public: Mapped[float | None] = mapped_column(Float)
    metric_private: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
    course_assignment: Mapped[CourseAssignment] = relationship()
    history: Mapped[list[GradingRecord]] = relationship(
        back_populates="submission", cascade="all, delete-orphan",
        order_by="GradingRecord.id")


class GradingRecord(Base):
    """Every result ever written for a submission (initial grade and each regrade)."""

    __tablename__ = "grading_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    regrade_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("regrade_batches.id", ondelete="SET NULL"))
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="history")


class RegradeBatch(Base):
    """An instructor's regrade request; its summary is computed from the GradingRecords."""

    __tablename__ = "regrade_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_assignment_id: Mapped[int] = mapped_column(
        ForeignKey("course_assignments.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(16))  # one | all | latest | best
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
