"""Live progress of grading: the worker publishes it, the submission page reads it.

The worker wraps one grading run in `publishing_progress`; the engine's
`grader.progress.report` calls then land in the `grading_progress` row of that
submission (one small write per check). The page's status endpoint reads it back with
`snapshot` and, while a job waits, `estimated_wait_s` from recent grading times.
No Flask here: the worker imports this module.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from grader import progress
from server.models import DONE, RUNNING, GradingProgress, Submission
from server.services.grades import as_utc

log = logging.getLogger(__name__)

#: how many recent gradings the wait estimate averages over
RECENT = 20


@contextmanager
def publishing_progress(factory: sessionmaker[Session], submission_id: int) -> Iterator[None]:
    """Store the engine's progress reports for `submission_id` while the block runs."""

    def store(check_name: str, checks_done: int, checks_total: int) -> None:
        _write(factory, submission_id, check_name, checks_done, checks_total)

    _safely(lambda: _write(factory, submission_id, "", 0, 0))
    try:
        with progress.reporting_to(store):
            yield
    finally:
        _safely(lambda: _clear(factory, submission_id))


def _safely(action: Any) -> None:
    try:
        action()
    except Exception:  # the database may be briefly away; grading must not care
        log.warning("could not store grading progress", exc_info=True)


def _write(factory: sessionmaker[Session], submission_id: int, check_name: str,
           checks_done: int, checks_total: int) -> None:
    with factory() as session:
        row = session.get(GradingProgress, submission_id) or GradingProgress(
            submission_id=submission_id)
        row.check_name, row.checks_done = check_name[:128], checks_done
        row.checks_total, row.updated_at = checks_total, datetime.now(UTC)
        session.add(row)
        session.commit()


def _clear(factory: sessionmaker[Session], submission_id: int) -> None:
    with factory() as session:
        session.execute(delete(GradingProgress).where(
            GradingProgress.submission_id == submission_id))
        session.commit()


def snapshot(session: Session, submission: Submission) -> dict[str, Any] | None:
    """{elapsed_s, check, checks_done, checks_total} of a running job, else None."""
    if submission.state != RUNNING:
        return None
    started = as_utc(submission.started_at)
    elapsed = (datetime.now(UTC) - started).total_seconds() if started else 0.0
    row = session.get(GradingProgress, submission.id)
    return {"elapsed_s": round(max(0.0, elapsed), 1),
            "check": row.check_name if row else "",
            "checks_done": row.checks_done if row else 0,
            "checks_total": row.checks_total if row else 0}


def recent_grading_seconds(session: Session, course_assignment_id: int) -> float | None:
    """Mean wall time of the latest gradings of this assignment (any assignment if none)."""
    for where in ((Submission.course_assignment_id == course_assignment_id), None):
        query = select(Submission.started_at, Submission.graded_at).where(
            Submission.state == DONE, Submission.started_at.is_not(None),
            Submission.graded_at.is_not(None))
        if where is not None:
            query = query.where(where)
        rows = session.execute(query.order_by(Submission.graded_at.desc()).limit(RECENT)).all()
        spans = [(as_utc(g) - as_utc(s)).total_seconds() for s, g in rows
                 if s is not None and g is not None]
        spans = [x for x in spans if x >= 0]
        if spans:
            return sum(spans) / len(spans)
    return None


def estimated_wait_s(session: Session, submission: Submission, position: int | None,
                     ) -> float | None:
    """Seconds until this queued job is likely finished: the jobs ahead of it (and it)
    share the workers now busy, each taking about the recent mean grading time."""
    if not position:
        return None
    mean = recent_grading_seconds(session, submission.course_assignment_id)
    if mean is None:
        return None
    busy = session.scalar(select(func.count()).select_from(Submission).where(
        Submission.state == RUNNING)) or 0
    return round(math.ceil(position / max(1, busy)) * mean, 1)
