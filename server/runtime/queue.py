"""The grading queue. A `Submission` row *is* its job; there is no separate queue table.

A web process inserts a queued Submission and calls `notify_new_job` in the same
transaction, so nothing is lost between upload and queue. A worker `claim`s a job
(PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite: one atomic conditional
``UPDATE``), renews its lease with `heartbeat` while grading, and writes the result
with `complete`, which only lands if the worker still holds the lease token. A job
whose lease expired (worker killed, machine lost) is put back by `reclaim_expired`;
after `max_attempts` it ends as ``internal_error``. Every attempt leaves a `GradingRecord`
in the submission's history (a retried one with status ``internal_error`` and
``result["retried"]``), and the latest reason is also kept in ``last_error``.

Claim order (fairness at a deadline rush): lane first (fresh submissions before
regrades), then round-robin by student — a job's turn is its position among that
student's queued jobs in the lane plus the number of that student's jobs in the lane
that started grading in the last `FAIR_SHARE_WINDOW` (running or finished) — then
enqueue time. A student who uploads 50 times therefore gets one job in turn with
everybody else instead of 50 jobs ahead of them, even with a single worker.

Every function that changes state commits its own short transaction.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final, cast

from sqlalchemy import Integer, Select, Table, func, literal, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from grader.result import GradingResult
from server.db import rowcount
from server.models import (
    DONE,
    LANE_FRESH,
    QUEUED,
    RUNNING,
    CourseAssignment,
    GradingRecord,
    Submission,
    utcnow,
)

log = logging.getLogger(__name__)

#: PostgreSQL LISTEN/NOTIFY channel that wakes idle workers
CHANNEL = "neurograde_jobs"
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_MAX_ATTEMPTS = 3
#: seconds before the 1st, 2nd, 3rd… retry of a job that failed for reasons on our side
#: (the last value repeats): a broken worker must not burn every attempt in a second
RETRY_BACKOFF_SECONDS: tuple[float, ...] = (2.0, 15.0, 60.0)
INTERNAL_ERROR: Final = "internal_error"
LANE_NAMES = {0: "fresh", 1: "regrade"}

# declarative types `__table__` as any FromClause; the mapped class's table is a Table
_T = cast(Table, Submission.__table__)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _now(session: Session) -> Any:
    """The clock leases are measured on: the database's on PostgreSQL (workers on many
    machines), the local one on SQLite (every worker is on the database's machine)."""
    return func.now() if is_postgres(session) else utcnow()


def db_now(session: Session) -> Any:
    """The current time as a Python datetime on the same clock as `_now`."""
    if is_postgres(session):
        return session.scalar(select(func.now()))
    return utcnow().replace(tzinfo=None)


def notify_new_job(session: Session) -> None:
    """Wake idle workers; call in the transaction that inserts the queued Submission.

    PostgreSQL delivers the notification on commit; on SQLite workers poll, so this
    is a no-op there.
    """
    if is_postgres(session):
        session.execute(select(func.pg_notify(CHANNEL, "")))


# --- claim order --------------------------------------------------------------------------

#: how many jobs at the head of the queue a PostgreSQL claim tries to lock in one go
_CANDIDATES = 16
#: jobs a student had started this recently count against their next turn
FAIR_SHARE_WINDOW = timedelta(minutes=10)


def _claim_order(session: Session, skip_slugs: Collection[str] = ()
                 ) -> tuple[Select, tuple[Any, ...]]:
    """A select of claimable job ids (queued, any retry back-off over, not of an assignment
    in `skip_slugs`) and its claim-order keys (see the module docstring).

    One pass over the queued rows (window function) joined to the per-student count of
    jobs started within `FAIR_SHARE_WINDOW`; no self-join, so the plan stays linear
    even on a table whose statistics are stale right after a deadline burst.
    """
    ranked = (
        select(_T.c.id, _T.c.lane, _T.c.user_id, _T.c.enqueued_at,
               func.row_number().over(partition_by=(_T.c.lane, _T.c.user_id),
                                      order_by=(_T.c.enqueued_at, _T.c.id)).label("rn"))
        .where(*_claimable(session, skip_slugs)).subquery("ranked"))
    served = (
        select(_T.c.user_id, _T.c.lane, func.count().label("n"))
        .where(_T.c.started_at >= _now(session) - FAIR_SHARE_WINDOW, _T.c.state != QUEUED)
        .group_by(_T.c.user_id, _T.c.lane).subquery("served"))
    turn = ranked.c.rn + func.coalesce(served.c.n, 0)
    queued = select(ranked.c.id).select_from(ranked.outerjoin(
        served, (served.c.user_id == ranked.c.user_id) & (served.c.lane == ranked.c.lane)))
    return queued, (ranked.c.lane, turn, ranked.c.enqueued_at, ranked.c.id)


def _claimable(session: Session, skip_slugs: Collection[str]) -> list[Any]:
    due = (_T.c.retry_at.is_(None)) | (_T.c.retry_at <= _now(session))
    where = [_T.c.state == QUEUED, due]
    if skip_slugs:
        where.append(_T.c.course_assignment_id.not_in(select(CourseAssignment.id).where(
            CourseAssignment.assignment_slug.in_(sorted(skip_slugs)))))
    return where


def claim(session: Session, worker_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS,
          skip_slugs: Collection[str] = ()) -> Submission | None:
    """Take the next queued job for `worker_id`, or None if there is none. Jobs of the
    assignments in `skip_slugs` (this worker cannot grade them now) are left queued.

    The returned Submission is `running` with a fresh `lease_token`, its `attempts`
    incremented and the lease expiring `lease_seconds` from now. Commits.
    """
    token = secrets.token_hex(16)
    now = _now(session)
    values = dict(state=RUNNING, worker_id=worker_id, lease_token=token,
                  lease_expires_at=now + timedelta(seconds=lease_seconds),
                  started_at=now, attempts=_T.c.attempts + 1, retry_at=None, wait_reason=None)
    queued, keys = _claim_order(session, skip_slugs)
    order = queued.order_by(*keys)
    try:
        if is_postgres(session):
            _relaxed_commit(session)
            job_id = _lock_next_pg(session, order)
            if job_id is None:
                session.rollback()
                return None
            session.execute(update(_T).where(_T.c.id == job_id).values(**values))
        else:
            # one statement: SQLite serialises writers, so pick-and-mark is atomic
            pick = order.limit(1).scalar_subquery()
            done = session.execute(
                update(_T).where(_T.c.id == pick, _T.c.state == QUEUED).values(**values))
            if rowcount(done) != 1:
                session.rollback()
                return None
        job = session.scalars(select(Submission).where(Submission.lease_token == token)
                              .execution_options(populate_existing=True)).one()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    log.info("worker %s claimed submission %s (attempt %s)", worker_id, job.id, job.attempts)
    return job


def _relaxed_commit(session: Session) -> None:
    """Do not wait for the disk flush of this transaction. Safe for claims and heartbeats:
    if a database crash loses one, the job is simply queued again (or its lease is a
    little shorter) and a stale worker's result is refused by the lease check. Results
    (`complete`) are always flushed."""
    session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _lock_next_pg(session: Session, order: Select) -> int | None:
    """Lock the first still-queued job among the head of the queue, skipping rows other
    workers hold (``FOR UPDATE SKIP LOCKED``); look further if all of them were taken."""
    for _round in range(8):  # others' claims commit within milliseconds
        ids = list(session.scalars(order.limit(_CANDIDATES)))
        if not ids:
            return None
        job_id = session.scalar(
            select(_T.c.id).where(_T.c.id.in_(ids), _T.c.state == QUEUED)
            .order_by(func.array_position(literal(ids, ARRAY(Integer)), _T.c.id))
            .limit(1).with_for_update(skip_locked=True))
        if job_id is not None:
            return job_id
        if len(ids) < _CANDIDATES and not _any_queued_outside(session, ids):
            return None
    return None


def _any_queued_outside(session: Session, ids: list[int]) -> bool:
    return session.scalar(select(_T.c.id).where(
        _T.c.state == QUEUED, _T.c.id.not_in(ids)).limit(1)) is not None


def heartbeat(session: Session, submission_id: int, lease_token: str,
              lease_seconds: float = DEFAULT_LEASE_SECONDS) -> bool:
    """Renew a lease; False if the worker no longer holds it (then its result is void)."""
    now = _now(session)
    if is_postgres(session):
        _relaxed_commit(session)
    res = session.execute(
        update(_T).where(_T.c.id == submission_id, _T.c.lease_token == lease_token,
                         _T.c.state == RUNNING)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds)))
    session.commit()
    return rowcount(res) == 1


def release(session: Session, submission_id: int, lease_token: str) -> bool:
    """Give a job back unfinished (graceful shutdown); the attempt does not count."""
    res = session.execute(
        update(_T).where(_T.c.id == submission_id, _T.c.lease_token == lease_token,
                         _T.c.state == RUNNING)
        .values(state=QUEUED, worker_id=None, lease_token=None, lease_expires_at=None,
                attempts=_T.c.attempts - 1))
    session.commit()
    return rowcount(res) == 1


# --- results ------------------------------------------------------------------------------

def complete(session: Session, submission_id: int, lease_token: str, result: GradingResult,
             *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, metric: str | None = None,
             backoff: Sequence[float] = RETRY_BACKOFF_SECONDS) -> bool:
    """Write `result` if `lease_token` still holds the job; False otherwise (a late write).

    An `internal_error` (our fault) puts the job back in the queue until it has had
    `max_attempts` attempts, each retry waiting `backoff[attempt - 1]` seconds (the last
    value repeats); every other status is the student's result. A written
    result updates the Submission's latest-result fields (`metric_public` /
    `metric_private` from `result.metrics["<metric>_public"|"<metric>_private"]`,
    falling back to `<metric>`) and appends a GradingRecord. Commits.
    """
    try:
        if result.status == INTERNAL_ERROR and _retry(session, submission_id, lease_token,
                                                      result, max_attempts, backoff):
            session.commit()
            log.warning("submission %s: internal error, queued again: %s",
                        submission_id, result.message)
            return True
        written = _finish(session, submission_id, lease_token, result, metric)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if not written:
        log.warning("submission %s: discarded a result from a lost lease", submission_id)
    return written


def _retry(session: Session, submission_id: int, lease_token: str, result: GradingResult,
           max_attempts: int, backoff: Sequence[float]) -> bool:
    row = session.execute(select(_T.c.worker_id, _T.c.attempts).where(
        _T.c.id == submission_id, _T.c.lease_token == lease_token)).first()
    if row is None:
        return False
    return _requeue(session, submission_id, lease_token, result, row.worker_id,
                    _T.c.attempts < max_attempts,
                    delay=retry_delay(row.attempts, backoff))


def retry_delay(attempt: int, backoff: Sequence[float] = RETRY_BACKOFF_SECONDS) -> float:
    """Seconds a job waits after failing (on our side) on its `attempt`-th attempt."""
    return float(backoff[min(max(attempt, 1), len(backoff)) - 1]) if backoff else 0.0


def _requeue(session: Session, submission_id: int, lease_token: str, result: GradingResult,
             worker_id: str | None, *guards: Any, delay: float = 0.0) -> bool:
    """Put a running job back in the queue, due again in `delay` seconds, and record the
    failed attempt in its history."""
    row = session.execute(
        update(_T).where(_T.c.id == submission_id, _T.c.lease_token == lease_token,
                         _T.c.state == RUNNING, *guards)
        .values(state=QUEUED, worker_id=None, lease_token=None, lease_expires_at=None,
                last_error=_error_text(result),
                retry_at=_now(session) + timedelta(seconds=delay) if delay > 0 else None)
        .returning(_T.c.attempts, _T.c.regrade_batch_id)).first()
    if row is None:
        return False
    session.add(GradingRecord(
        submission_id=submission_id, status=INTERNAL_ERROR, score=0.0, max_score=0.0,
        result={**_jsonable(result.to_dict()), "retried": True}, worker_id=worker_id,
        attempt=row.attempts, regrade_batch_id=row.regrade_batch_id))
    return True


def _finish(session: Session, submission_id: int, lease_token: str, result: GradingResult,
            metric: str | None, *guards: Any) -> bool:
    data = _jsonable(result.to_dict())
    public, private = _leaderboard_metrics(result.metrics, metric)
    values: dict[str, Any] = dict(
        state=DONE, status=result.status, score=float(result.score),
        final_score=_float(result.final_score if result.final_score is not None
                           else result.score),
        max_score=float(result.max_score), metric_public=public, metric_private=private,
        result=data, graded_at=_now(session), lease_token=None, lease_expires_at=None)
    if result.status == INTERNAL_ERROR:
        values["last_error"] = _error_text(result)
    row = session.execute(
        update(_T).where(_T.c.id == submission_id, _T.c.lease_token == lease_token,
                         _T.c.state == RUNNING, *guards)
        .values(**values)
        .returning(_T.c.attempts, _T.c.worker_id, _T.c.regrade_batch_id)).first()
    if row is None:
        return False
    session.add(GradingRecord(
        submission_id=submission_id, status=result.status, score=float(result.score),
        max_score=float(result.max_score), result=data, worker_id=row.worker_id,
        attempt=row.attempts, regrade_batch_id=row.regrade_batch_id))
    return True


def _leaderboard_metrics(metrics: dict[str, Any], metric: str | None
                         ) -> tuple[float | None, float | None]:
    if metric is None:
        # an assignment with a single "<name>_public" metric names itself
        names = [k[:-len("_public")] for k in metrics if k.endswith("_public")]
        metric = names[0] if len(names) == 1 else None
    if metric is None:
        return None, None
    plain = metrics.get(metric)
    return (_float(metrics.get(f"{metric}_public", plain)),
            _float(metrics.get(f"{metric}_private", plain)))


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Numpy scalars and other strays from checks must not break the write."""
    def fallback(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        return str(obj)
    return json.loads(json.dumps(data, default=fallback))


def _error_text(result: GradingResult) -> str:
    parts = [result.message or "internal error"]
    if result.stderr:
        parts.append(result.stderr[-4000:])
    return "\n".join(parts)


# --- lost workers -------------------------------------------------------------------------

def reclaim_expired(session: Session, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                    backoff: Sequence[float] = RETRY_BACKOFF_SECONDS) -> int:
    """Put jobs whose lease expired back in the queue; jobs out of attempts end as
    `internal_error` (result written, reason in `last_error`). Each lost attempt is
    recorded in the job's history. Returns how many changed."""
    now = _now(session)
    still_expired = (_T.c.state == RUNNING) & (_T.c.lease_expires_at < now)
    candidates = select(_T.c.id, _T.c.lease_token, _T.c.worker_id, _T.c.attempts).where(
        still_expired)
    if is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True)
    changed = 0
    for row in session.execute(candidates).all():
        retry = row.attempts < max_attempts
        message = ("The grading worker was lost; the submission is graded again." if retry else
                   f"Grading failed {row.attempts} times for reasons on our side (the grading "
                   "worker was lost). This is not your fault and does not count against you.")
        failure = GradingResult.failure(INTERNAL_ERROR, message)
        failure.stderr = (f"lease expired on worker {row.worker_id or '?'} "
                          f"during attempt {row.attempts}")
        # both writes repeat the expiry test: on SQLite (no row lock on the read) a
        # heartbeat may have landed since, and then the worker keeps its job
        if retry:
            changed += _requeue(session, row.id, row.lease_token, failure, row.worker_id,
                                still_expired, delay=retry_delay(row.attempts, backoff))
        else:
            changed += _finish(session, row.id, row.lease_token, failure, None, still_expired)
    session.commit()
    if changed:
        log.warning("reclaimed %s job(s) with expired leases", changed)
    return changed


# --- visibility ---------------------------------------------------------------------------

def mark_waiting(session: Session, reasons: Mapping[str, str]) -> int:
    """Record on the queued jobs of each assignment slug in `reasons` why this worker
    leaves them queued (a claim clears it); returns how many rows changed. Commits."""
    changed = 0
    for slug, reason in sorted(reasons.items()):
        ours = _T.c.course_assignment_id.in_(select(CourseAssignment.id).where(
            CourseAssignment.assignment_slug == slug))
        changed += rowcount(session.execute(update(_T).where(
            _T.c.state == QUEUED, ours,
            _T.c.wait_reason.is_(None) | (_T.c.wait_reason != reason))
            .values(wait_reason=reason)))
    session.commit()
    return changed


def queue_position(session: Session, submission: Submission) -> int | None:
    """1 for the job claimed next, 2 for the one after, …; None if not queued."""
    queued, keys = _claim_order(session)
    positions = queued.add_columns(
        func.row_number().over(order_by=keys).label("pos")).subquery()
    return session.scalar(select(positions.c.pos).where(positions.c.id == submission.id))


def queue_stats(session: Session, failed_limit: int = 20,
                course_id: int | None = None) -> dict[str, Any]:
    """Queue length by lane, running jobs (worker id, age, attempt) and recent failures.

    The counts (``queued``, ``queued_total``, ``running_total``, ``failed_total``) cover the
    whole queue; with `course_id` the ``running`` and ``failed`` lists hold only that
    course's jobs (an instructor's dashboard must not list other courses' errors).
    """
    now = db_now(session)
    by_lane: dict[int, int] = dict(session.execute(
        select(_T.c.lane, func.count()).where(_T.c.state == QUEUED).group_by(_T.c.lane)).all())
    oldest = session.scalar(select(func.min(_T.c.enqueued_at)).where(_T.c.state == QUEUED))
    failed_here = (_T.c.state == DONE) & (_T.c.status == INTERNAL_ERROR)
    ours = _T.c.course_assignment_id.in_(select(CourseAssignment.id).where(
        CourseAssignment.course_id == course_id)) if course_id is not None else true()
    running = session.execute(
        select(_T.c.id, _T.c.user_id, _T.c.worker_id, _T.c.started_at, _T.c.attempts,
               _T.c.lease_expires_at)
        .where(_T.c.state == RUNNING, ours).order_by(_T.c.started_at)).all()
    waiting = session.execute(
        select(_T.c.id, _T.c.user_id, _T.c.enqueued_at, _T.c.wait_reason, _T.c.retry_at)
        .where(_T.c.state == QUEUED, ours,
               _T.c.wait_reason.is_not(None) | _T.c.retry_at.is_not(None))
        .order_by(_T.c.enqueued_at).limit(failed_limit)).all()
    failed = session.execute(
        select(_T.c.id, _T.c.user_id, _T.c.attempts, _T.c.graded_at, _T.c.last_error)
        .where(failed_here, ours).order_by(_T.c.graded_at.desc()).limit(failed_limit)).all()
    return {
        "queued": {name: by_lane.get(lane, 0) for lane, name in LANE_NAMES.items()},
        "queued_total": sum(by_lane.values()),
        "oldest_queued_age_s": _age(now, oldest),
        "running_total": session.scalar(
            select(func.count()).where(_T.c.state == RUNNING)) or 0,
        "running": [{"id": r.id, "user_id": r.user_id, "worker_id": r.worker_id,
                     "attempt": r.attempts, "age_s": _age(now, r.started_at),
                     "lease_left_s": -(_age(now, r.lease_expires_at) or 0.0)}
                    for r in running],
        "waiting": [{"id": r.id, "user_id": r.user_id, "age_s": _age(now, r.enqueued_at),
                     "reason": r.wait_reason or _retry_words(now, r.retry_at)}
                    for r in waiting],
        "failed_total": session.scalar(select(func.count()).where(failed_here)) or 0,
        "failed": [{"id": r.id, "user_id": r.user_id, "attempts": r.attempts,
                    "graded_at": r.graded_at.isoformat() if r.graded_at else None,
                    "last_error": r.last_error} for r in failed],
    }


def _retry_words(now: Any, retry_at: Any) -> str:
    left = -(_age(now, retry_at) or 0.0)
    return (f"retried in {left:.0f} s after a failure on our side" if left > 0
            else "due for a retry after a failure on our side")


def _age(now: Any, then: Any) -> float | None:
    if then is None:
        return None
    if (now.tzinfo is None) != (then.tzinfo is None):
        # SQLite hands back naive UTC datetimes
        now, then = now.replace(tzinfo=None), then.replace(tzinfo=None)
    return round((now - then).total_seconds(), 3)


def has_queued(session: Session, skip_slugs: Collection[str] = ()) -> bool:
    """A cheap read for polling, so idle workers do not take the SQLite write lock: is
    there a job `claim` would take (with the same `skip_slugs`)?

    Ends the session's transaction: a SQLite read transaction that later writes fails
    at once if another process wrote in between, so the claim must start afresh.
    """
    found = session.scalar(select(_T.c.id).where(*_claimable(session, skip_slugs)).limit(1))
    session.rollback()
    return found is not None


__all__ = [
    "CHANNEL", "DEFAULT_LEASE_SECONDS", "DEFAULT_MAX_ATTEMPTS", "LANE_FRESH", "claim",
    "complete", "db_now", "has_queued", "heartbeat", "mark_waiting", "notify_new_job",
    "queue_position", "queue_stats", "reclaim_expired", "release", "retry_delay",
]
