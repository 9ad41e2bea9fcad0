"""The heartbeat thread of a grading worker: it survives any error, and a lost lease
makes the worker drop its result instead of retrying the write."""

from __future__ import annotations

import logging
import time

from sqlalchemy import update

from grader.result import GradingResult
from server.models import RUNNING, Submission
from server.runtime import queue
from server.runtime.worker import Worker, WorkerSettings, _Heartbeat
from server.state import build_state


def _claimed(qdb, lease: float):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    qdb.submit(user, ca)
    with qdb.session() as s:
        job = queue.claim(s, "w-test", lease)
        _ = job.course_assignment
        s.expunge_all()
    return job


def test_heartbeat_keeps_beating_after_an_unexpected_error(qdb, caplog):
    job = _claimed(qdb, lease=0.6)
    calls = []

    def flaky_factory():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("not a database error")
        return qdb.session_factory()

    beat = _Heartbeat(flaky_factory, job.id, job.lease_token, 0.6)
    with caplog.at_level(logging.ERROR, logger="server.runtime.worker"):
        beat.start()
        time.sleep(1.0)  # several beats of 0.2 s; the lease would have expired without them
        assert beat.is_alive() and len(calls) >= 3
        beat.finished.set()
        beat.join(2)
    assert "not a database error" in caplog.text
    with qdb.session() as s:
        assert queue.reclaim_expired(s) == 0
    assert qdb.get(job.id).state == RUNNING and not beat.lost


def test_a_lost_lease_drops_the_result_without_writing(qdb, worker_config, caplog):
    job = _claimed(qdb, lease=0.6)

    def grade_while_the_lease_is_taken(_state, submission) -> GradingResult:
        with qdb.session() as s:  # another worker took the job over
            s.execute(update(Submission).where(Submission.id == submission.id)
                      .values(lease_token="someone-else"))
            s.commit()
        time.sleep(0.5)  # long enough for a heartbeat (every 0.2 s) to notice
        return GradingResult(status="graded", score=1.0, max_score=1.0)

    state = build_state(worker_config)
    worker = Worker(state, "w-test", settings=WorkerSettings(lease_seconds=0.6),
                    grade=grade_while_the_lease_is_taken)
    try:
        with caplog.at_level(logging.WARNING, logger="server.runtime.worker"):
            worker._run_job(job)
    finally:
        state.engine.dispose()
    assert "discarded: the lease was lost while grading" in caplog.text
    row = qdb.get(job.id)
    assert (row.state, row.lease_token, row.status) == (RUNNING, "someone-else", None)
    assert qdb.record_counts() == {}
