"""Grade passback jobs: requested in the transaction that writes a grade, sent later.

`request_passback` runs inside the grade write (a listener on GradingRecord inserts,
so initial grades and regrades alike): it marks the student's job for every line item
of that course assignment as due, once per (line item, student) however many attempts
are graded. `run_due` claims due jobs (a conditional UPDATE, safe with many workers),
computes the score now (policy, late penalty), and posts it unless the LMS already has
it. Failures are retried with back-off; 4xx answers other than 429 are final. Every
decision goes to the audit log (`LtiPassbackLog`). Non-students are never sent: Canvas
answers 422 for them, and an instructor's test submission is not a grade.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pylti1p3.exception import LtiException
from requests import RequestException
from sqlalchemy import Connection, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from grader.config import instance_path
from server.db import rowcount
from server.lti import ags
from server.lti.keys import ToolKeys, tool_keys
from server.lti.models import (
    PB_DONE,
    PB_FAILED,
    PB_QUEUED,
    PB_RUNNING,
    LtiContext,
    LtiLineItem,
    LtiPassback,
    LtiPassbackLog,
    LtiUser,
)
from server.lti.scores import final_score
from server.models import CourseAssignment, Enrollment, Submission, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
#: first retry after 30 s, doubling up to 1 h
BACKOFF_START, BACKOFF_MAX = 30.0, 3600.0


def request_passback(connection: Connection, submission_id: int) -> int:
    """Mark the passback of `submission_id`'s student as due; returns the jobs touched.

    Core statements on the grade write's own connection: nothing here flushes the ORM.
    """
    sub = connection.execute(select(Submission.user_id, Submission.course_assignment_id)
                             .where(Submission.id == submission_id)).first()
    if sub is None:
        return 0
    items = connection.execute(
        select(LtiLineItem.id)
        .join(LtiContext, LtiContext.id == LtiLineItem.context_id)
        .join(LtiUser, and_(LtiUser.platform_id == LtiContext.platform_id,
                            LtiUser.user_id == sub.user_id))
        .join(Enrollment, and_(Enrollment.course_id == LtiContext.course_id,
                               Enrollment.user_id == sub.user_id))
        .where(LtiLineItem.course_assignment_id == sub.course_assignment_id,
               Enrollment.role == "student")).scalars().all()
    for item_id in items:
        _upsert_due(connection, item_id, sub.user_id)
    return len(items)


def _upsert_due(connection: Connection, item_id: int, user_id: int) -> None:
    # ON CONFLICT, so two grades written at once for one student never fail the grade write
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    now = utcnow()
    stmt = dialect.insert(LtiPassback.__table__).values(
        line_item_id=item_id, user_id=user_id, state=PB_QUEUED, due_at=now, attempts=0)
    connection.execute(stmt.on_conflict_do_update(
        index_elements=["line_item_id", "user_id"],
        set_={"state": PB_QUEUED, "due_at": now, "attempts": 0}))


def run_due(session_factory: sessionmaker[Session], config: Mapping[str, Any],
            limit: int = 20) -> int:
    """Send the due passbacks (at most `limit`); returns how many were handled."""
    handled = 0
    with session_factory() as session:
        due = list(session.scalars(
            select(LtiPassback.id).where(
                ((LtiPassback.state == PB_QUEUED) & (LtiPassback.due_at <= utcnow()))
                | ((LtiPassback.state == PB_RUNNING)
                   & (LtiPassback.lease_expires_at < utcnow())))
            .order_by(LtiPassback.due_at).limit(limit)))
    if not due:
        return 0
    keys = tool_keys(config.get("INSTANCE_PATH") or instance_path())
    for job_id in due:
        with session_factory() as session:
            if _claim(session, job_id):
                _run(session, session.get_one(LtiPassback, job_id), keys)
                handled += 1
    return handled


def _claim(session: Session, job_id: int) -> bool:
    now = utcnow()
    res = session.execute(
        update(LtiPassback).where(
            LtiPassback.id == job_id,
            ((LtiPassback.state == PB_QUEUED) & (LtiPassback.due_at <= now))
            | ((LtiPassback.state == PB_RUNNING) & (LtiPassback.lease_expires_at < now)))
        .values(state=PB_RUNNING, lease_expires_at=now + LEASE,
                attempts=LtiPassback.attempts + 1))
    session.commit()
    return rowcount(res) == 1


def _run(session: Session, job: LtiPassback, keys: ToolKeys) -> None:
    item = job.line_item
    context = item.context
    ca = session.get_one(CourseAssignment, item.course_assignment_id)
    role = session.scalar(select(Enrollment.role).where(
        Enrollment.course_id == context.course_id, Enrollment.user_id == job.user_id))
    sub = session.scalar(select(LtiUser.sub).where(
        LtiUser.platform_id == context.platform_id, LtiUser.user_id == job.user_id))
    score = final_score(session, ca, job.user_id, context.score_policy)
    if role != "student" or sub is None or score is None or score.maximum <= 0:
        why = ("not a student" if role != "student" else "no LMS account" if sub is None
               else "nothing graded")
        _finish(session, job, "skipped", detail={"reason": why})
        return
    if job.sent_score is not None and abs(job.sent_score - score.score) < 1e-9 \
            and job.sent_maximum == score.maximum:
        _finish(session, job, "unchanged", score=score.score, maximum=score.maximum,
                submission_id=score.submission_id)
        return
    try:
        url = ags.ensure_line_item(session, item, keys, ca.assignment_slug, score.maximum)
        ags.post_score(item, keys, url, ags.ScoreToSend(
            sub, score.score, score.maximum,
            f"neurograde submission #{score.submission_id} ({context.score_policy} score, "
            "late penalty applied)"))
    except (LtiException, RequestException) as exc:
        _failed(session, job, exc, score.score, score.maximum, score.submission_id)
        return
    job.sent_score, job.sent_maximum = score.score, score.maximum
    job.sent_submission_id, job.sent_at = score.submission_id, utcnow()
    _finish(session, job, "sent", score=score.score, maximum=score.maximum,
            submission_id=score.submission_id, http_status=200)
    log.info("passback %s: sent %.4g/%.4g for user %s", job.id, score.score, score.maximum,
             job.user_id)


def _finish(session: Session, job: LtiPassback, outcome: str, **entry: Any) -> None:
    session.add(LtiPassbackLog(passback_id=job.id, outcome=outcome, **entry))
    job.last_error = None
    session.flush()
    # a grade written while this ran set the job queued again: leave it so, it runs again
    session.execute(update(LtiPassback).where(LtiPassback.id == job.id,
                                              LtiPassback.state == PB_RUNNING)
                    .values(state=PB_DONE, lease_expires_at=None, attempts=0))
    session.commit()


def _failed(session: Session, job: LtiPassback, exc: Exception, score: float,
            maximum: float, submission_id: int) -> None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    body = getattr(getattr(exc, "response", None), "text", "") or str(exc)
    final = (status is not None and 400 <= status < 500 and status != 429) \
        or job.attempts >= MAX_ATTEMPTS
    delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, job.attempts - 1))
    session.add(LtiPassbackLog(passback_id=job.id, outcome="error", score=score,
                               maximum=maximum, submission_id=submission_id,
                               http_status=status, detail={"error": body[:2000]}))
    job.last_error = f"{status or type(exc).__name__}: {body[:500]}"
    session.flush()
    session.execute(update(LtiPassback).where(LtiPassback.id == job.id,
                                              LtiPassback.state == PB_RUNNING)
                    .values(state=PB_FAILED if final else PB_QUEUED, lease_expires_at=None,
                            due_at=utcnow() + timedelta(seconds=delay)))
    session.commit()
    log.warning("passback %s (attempt %d) failed%s: %s", job.id, job.attempts,
                "" if not final else " for good", job.last_error)


def retry_failed(session: Session, course_id: int | None = None) -> int:
    """Queue the failed passbacks again (after fixing a registration, say)."""
    query = update(LtiPassback).where(LtiPassback.state == PB_FAILED)
    if course_id is not None:
        query = query.where(LtiPassback.line_item_id.in_(
            select(LtiLineItem.id).join(LtiContext).where(LtiContext.course_id == course_id)))
    return rowcount(session.execute(
        query.values(state=PB_QUEUED, due_at=utcnow(), attempts=0)))


def safe_run_due(state: Any) -> None:
    """`run_due` for a grading worker's loop: a problem here never stops grading."""
    try:
        run_due(state.session_factory, state.config)
    except Exception:
        log.exception("grade passback failed; it will be retried")

