"""Live progress of a grading run, published by the worker while it grades.

Kept out of the `submissions` row on purpose: the queue writes that row under a lease
check, and progress is best-effort chatter that must never contend with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, utcnow


class GradingProgress(Base):
    __tablename__ = "grading_progress"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    #: the check running now (empty while the sandbox starts)
    check_name: Mapped[str] = mapped_column(String(128), default="")
    checks_done: Mapped[int] = mapped_column(Integer, default=0)
    checks_total: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
