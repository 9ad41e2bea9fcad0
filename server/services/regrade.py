"""Regrades: re-queue finished submissions on the regrade lane and summarise old → new.

A regrade never deletes anything: each grading run appends a `GradingRecord`
(written by the queue's `complete`, tagged with the submission's
`regrade_batch_id`), so a batch's summary compares the last record written
before the batch with the record the batch produced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db import rowcount
from server.models import (
    DONE,
    LANE_REGRADE,
    QUEUED,
    RUNNING,
    CourseAssignment,
    GradingRecord,
    RegradeBatch,
    Submission,
    User,
    utcnow,
)
from server.runtime.queue import notify_new_job
from server.services.grades import NOT_A_GRADE, as_utc

log = logging.getLogger(__name__)

SCOPES = ("one", "all", "latest", "best")


class RegradeError(ValueError):
    """The request cannot be honoured (unknown scope, nothing to regrade, ...)."""


def start_regrade(session: Session, ca: CourseAssignment, scope: str, *,
                  requested_by: User | None = None,
                  submission_id: int | None = None) -> RegradeBatch:
    """Re-queue the chosen submissions of `ca` as one `RegradeBatch`.

    Scopes: ``one`` (the submission `submission_id`), ``all`` (every finished
    submission), ``latest`` / ``best`` (each student's latest / best finished
    submission). Submissions already queued or running are left alone. The
    caller commits; the queue is notified in the same transaction.
    """
    if scope not in SCOPES:
        raise RegradeError(f"unknown regrade scope {scope!r} (choose from {', '.join(SCOPES)})")
    targets = _targets(session, ca, scope, submission_id)
    if not targets:
        raise RegradeError("there is no finished submission to regrade")
    batch = RegradeBatch(course_assignment_id=ca.id, scope=scope,
                         requested_by=requested_by.id if requested_by else None)
    session.add(batch)
    session.flush()
    # one guarded UPDATE: rows a worker or another regrade took meanwhile are skipped
    queued = rowcount(session.execute(
        update(Submission).where(Submission.id.in_(targets), Submission.state == DONE)
        # last_error belongs to the previous grading; a fresh regrade starts without one
        .values(state=QUEUED, lane=LANE_REGRADE, attempts=0, regrade_batch_id=batch.id,
                enqueued_at=utcnow(), worker_id=None, lease_token=None, lease_expires_at=None,
                started_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    ))
    session.expire_all()  # loaded submissions must show their new state
    _notify(session)
    log.info("regrade batch %s (%s) queued %d submission(s) of course assignment %s",
             batch.id, scope, queued, ca.id)
    return batch


def count_targets(session: Session, ca: CourseAssignment, scope: str) -> int:
    """How many submissions a regrade of `scope` would queue now (for the confirmation)."""
    return len(_targets(session, ca, scope, None)) if scope in SCOPES and scope != "one" else 0


def _targets(session: Session, ca: CourseAssignment, scope: str,
             submission_id: int | None) -> list[int]:
    """Ids of the finished submissions `scope` selects."""
    query = select(Submission.id, Submission.user_id, Submission.score, Submission.status
                   ).where(Submission.course_assignment_id == ca.id, Submission.state == DONE)
    if scope == "one":
        if submission_id is None:
            raise RegradeError("choose the submission to regrade")
        return list(session.scalars(query.where(Submission.id == submission_id)))
    rows = session.execute(query.order_by(Submission.submitted_at, Submission.id)).all()
    if scope == "all":
        return [row.id for row in rows]
    chosen: dict[int, Any] = {}
    for row in rows:  # oldest first, so ties keep the earliest for "best"
        held = chosen.get(row.user_id)
        if held is None or scope == "latest" or _graded_score(row) > _graded_score(held):
            chosen[row.user_id] = row
    return [row.id for row in chosen.values()]


def _graded_score(row: Any) -> float:
    if row.score is None or row.status in NOT_A_GRADE:
        return float("-inf")
    return row.score


def _notify(session: Session) -> None:
    notify_new_job(session)


@dataclass(frozen=True)
class RegradeLine:
    submission_id: int
    user_id: int
    username: str
    old_status: str | None
    old_score: float | None
    old_max: float | None
    new_status: str | None
    new_score: float | None
    new_max: float | None
    pending: bool

    @property
    def change(self) -> float | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score


@dataclass(frozen=True)
class RegradeSummary:
    batch: RegradeBatch
    lines: list[RegradeLine]

    @property
    def pending(self) -> int:
        return sum(1 for line in self.lines if line.pending)

    @property
    def finished(self) -> bool:
        return self.pending == 0

    @property
    def changed(self) -> int:
        return sum(1 for line in self.lines if line.change not in (None, 0.0))


def summarize(session: Session, batch: RegradeBatch) -> RegradeSummary:
    """Old → new score of every submission in `batch`, and whether it has finished."""
    lines = [_line(sub, batch) for sub in _members(session, batch)]
    lines.sort(key=lambda line: (line.username, line.submission_id))
    return RegradeSummary(batch=batch, lines=lines)


def _members(session: Session, batch: RegradeBatch) -> Iterable[Submission]:
    graded = select(GradingRecord.submission_id).where(
        GradingRecord.regrade_batch_id == batch.id)
    return session.scalars(
        select(Submission).where((Submission.regrade_batch_id == batch.id)
                                 | Submission.id.in_(graded))
    )


def _line(sub: Submission, batch: RegradeBatch) -> RegradeLine:
    records = sub.history
    created = as_utc(batch.created_at)
    pending = sub.regrade_batch_id == batch.id and sub.state in (QUEUED, RUNNING)
    ours = [r for r in records if r.regrade_batch_id == batch.id]
    if not ours and not pending and sub.regrade_batch_id == batch.id:
        # a record written without the batch tag: the first one after the request
        ours = [r for r in records if as_utc(r.graded_at) >= created]
    first_ours = ours[0].id if ours else None
    before = [r for r in records if r.regrade_batch_id != batch.id
              and (r.id < first_ours if first_ours is not None
                   else as_utc(r.graded_at) <= created)]
    old = before[-1] if before else None
    new = ours[-1] if ours else None
    return RegradeLine(
        submission_id=sub.id, user_id=sub.user_id, username=sub.user.username,
        old_status=old.status if old else None, old_score=old.score if old else None,
        old_max=old.max_score if old else None,
        new_status=new.status if new else None, new_score=new.score if new else None,
        new_max=new.max_score if new else None, pending=pending,
    )


def batches(session: Session, ca: CourseAssignment, limit: int = 10) -> list[RegradeBatch]:
    """The most recent regrade batches of `ca`, newest first."""
    return list(session.scalars(
        select(RegradeBatch).where(RegradeBatch.course_assignment_id == ca.id)
        .order_by(RegradeBatch.id.desc()).limit(limit)
    ))
