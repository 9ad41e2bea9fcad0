"""The queue's contract on SQLite and PostgreSQL: claim order, leases, idempotent results."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from grader.result import GradingResult
from server.models import DONE, LANE_REGRADE, QUEUED, RUNNING, GradingRecord, utcnow
from server.runtime import queue
from tests.queue.conftest import postgres_only, sqlite_only


def graded(score: float = 1.0, **metrics: float) -> GradingResult:
    return GradingResult(status="graded", score=score, max_score=1.0, metrics=metrics)


def claim(qdb, worker: str = "w1", lease: float = 30.0):
    with qdb.session() as s:
        return queue.claim(s, worker, lease)


def complete(qdb, job, result, token=None, **kwargs) -> bool:
    with qdb.session() as s:
        return queue.complete(s, job.id, token or job.lease_token, result, **kwargs)


def test_claim_leases_one_job_once(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    job = claim(qdb, "worker-a", lease=30)
    assert job.id == sid and job.state == RUNNING and job.attempts == 1
    assert job.worker_id == "worker-a" and len(job.lease_token) == 32
    assert claim(qdb, "worker-b") is None
    row = qdb.get(sid)
    assert row.state == RUNNING and row.lease_token == job.lease_token


def test_claim_order_is_round_robin_by_student_and_fresh_before_regrade(qdb):
    ca = qdb.course_assignment()
    alice, bob = qdb.users(2)
    t0 = utcnow()
    regrade = qdb.submit(bob, ca, lane=LANE_REGRADE, enqueued_at=t0)
    burst = qdb.submit(alice, ca, 5, enqueued_at=t0 + timedelta(seconds=1))
    late = qdb.submit(bob, ca, 2, enqueued_at=t0 + timedelta(seconds=2))
    order = [claim(qdb).id for _ in range(8)]
    # Bob's first upload overtakes Alice's burst after her first job started
    assert order == [burst[0], late[0], burst[1], late[1], *burst[2:], *regrade]
    assert claim(qdb) is None


def test_a_burst_does_not_starve_others_with_a_single_worker(qdb):
    ca = qdb.course_assignment()
    alice, bob, carol = qdb.users(3)
    t0 = utcnow()
    burst = qdb.submit(alice, ca, 5, enqueued_at=t0)
    bobs = qdb.submit(bob, ca, 2, enqueued_at=t0 + timedelta(seconds=1))
    order = []
    for n in range(7):
        job = claim(qdb)
        if n == 2:  # Carol uploads while Alice's burst is still queued
            (carols,) = qdb.submit(carol, ca)
        assert complete(qdb, job, graded())  # one worker: nothing stays running
        order.append(job.id)
    order.append(claim(qdb).id)
    assert order == [burst[0], bobs[0], burst[1], carols, bobs[1], *burst[2:]]


def test_queue_position_follows_claim_order(qdb):
    ca = qdb.course_assignment()
    alice, bob = qdb.users(2)
    t0 = utcnow()
    burst = qdb.submit(alice, ca, 3, enqueued_at=t0)
    (bobs,) = qdb.submit(bob, ca, enqueued_at=t0 + timedelta(seconds=1))
    with qdb.session() as s:
        positions = [queue.queue_position(s, qdb.get(i)) for i in [*burst, bobs]]
    assert positions == [1, 3, 4, 2]
    job = claim(qdb)
    with qdb.session() as s:
        assert queue.queue_position(s, qdb.get(job.id)) is None
        assert queue.queue_position(s, qdb.get(bobs)) == 1


def test_complete_writes_once_and_refuses_a_stale_token(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    job = claim(qdb)
    result = graded(0.5, accuracy_public=0.9, accuracy_private=0.8)
    assert not complete(qdb, job, result, token="0" * 32)
    assert qdb.get(sid).state == RUNNING
    assert complete(qdb, job, result, metric="accuracy")
    assert not complete(qdb, job, graded(1.0))  # a repeated write is a no-op
    row = qdb.get(sid)
    assert (row.state, row.status, row.score, row.lease_token) == (DONE, "graded", 0.5, None)
    assert (row.metric_public, row.metric_private) == (0.9, 0.8)
    assert row.result["metrics"]["accuracy_public"] == 0.9
    assert qdb.record_counts() == {sid: 1}


def test_metric_falls_back_to_the_plain_name(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    qdb.submit(user, ca)
    job = claim(qdb)
    assert complete(qdb, job, graded(1.0, loss=0.125), metric="loss")
    row = qdb.get(job.id)
    assert (row.metric_public, row.metric_private) == (0.125, 0.125)


@pytest.mark.parametrize("status", ["timeout", "memory_limit", "crashed", "compile_error"])
def test_student_caused_statuses_are_results_not_retries(qdb, status):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    qdb.submit(user, ca)
    job = claim(qdb)
    assert complete(qdb, job, GradingResult.failure(status, "your code did X"), max_attempts=3)
    row = qdb.get(job.id)
    assert (row.state, row.status, row.attempts) == (DONE, status, 1)


def test_internal_error_is_retried_then_kept(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    first = claim(qdb)
    error = GradingResult.failure("internal_error", "sandbox unavailable", stderr="bwrap: no")
    assert complete(qdb, first, error, max_attempts=2, backoff=(0.5,))
    row = qdb.get(sid)
    assert (row.state, row.status, row.lease_token) == (QUEUED, None, None)
    assert claim(qdb) is None  # the retry backs off instead of failing again at once
    with qdb.session() as s:
        assert not queue.has_queued(s)
        (waiting,) = queue.queue_stats(s)["waiting"]
    assert waiting["id"] == sid and "failure on our side" in waiting["reason"]
    time.sleep(0.6)
    assert "sandbox unavailable" in row.last_error and "bwrap: no" in row.last_error
    with qdb.session() as s:  # the failed attempt is in the history
        (retried,) = s.query(GradingRecord).all()
    assert (retried.status, retried.attempt, retried.worker_id) == ("internal_error", 1, "w1")
    assert retried.result["retried"] and "bwrap: no" in retried.result["stderr"]
    second = claim(qdb)
    assert second.attempts == 2
    assert complete(qdb, second, error, max_attempts=2, backoff=(0.5,))
    row = qdb.get(sid)
    assert (row.state, row.status, row.attempts) == (DONE, "internal_error", 2)
    assert "sandbox unavailable" in row.last_error
    with qdb.session() as s:
        records = s.query(GradingRecord).order_by(GradingRecord.id).all()
    assert [(r.status, r.attempt, "retried" in r.result) for r in records] == [
        ("internal_error", 1, True), ("internal_error", 2, False)]


def test_retry_delays_grow_and_the_last_one_repeats():
    assert [queue.retry_delay(n, (1.0, 5.0)) for n in (1, 2, 3, 9)] == [1.0, 5.0, 5.0, 5.0]
    assert queue.retry_delay(1, ()) == 0.0


def test_claim_leaves_jobs_of_assignments_the_worker_cannot_grade(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    slug = "queue-echo"  # the assignment of qdb.course_assignment()
    with qdb.session() as s:
        assert queue.claim(s, "w1", 30.0, skip_slugs={slug}) is None
        assert not queue.has_queued(s, {slug})
        assert queue.mark_waiting(s, {slug: "dataset mnist not prepared"}) == 1
        assert queue.mark_waiting(s, {slug: "dataset mnist not prepared"}) == 0
        (waiting,) = queue.queue_stats(s)["waiting"]
    assert (waiting["id"], waiting["reason"]) == (sid, "dataset mnist not prepared")
    job = claim(qdb)  # a worker that can grade it takes it, and the reason is gone
    assert job.id == sid and qdb.get(sid).wait_reason is None


def test_expired_lease_is_reclaimed_until_attempts_run_out(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    first = claim(qdb, "lost-worker", lease=0.6)
    with qdb.session() as s:
        assert queue.reclaim_expired(s, max_attempts=2) == 0  # still leased
    time.sleep(0.8)
    with qdb.session() as s:
        assert queue.reclaim_expired(s, max_attempts=2, backoff=()) == 1
    row = qdb.get(sid)
    assert row.state == QUEUED and "lost-worker" in row.last_error
    assert not complete(qdb, first, graded())  # the lost worker's late write is void
    second = claim(qdb, "also-lost", lease=0.2)
    assert second.attempts == 2
    time.sleep(0.4)
    with qdb.session() as s:
        assert queue.reclaim_expired(s, max_attempts=2) == 1
    row = qdb.get(sid)
    assert (row.state, row.status, row.attempts) == (DONE, "internal_error", 2)
    assert "also-lost" in row.last_error
    assert "not your fault" in row.result["message"]
    with qdb.session() as s:  # one record per attempt, naming the lost worker
        records = s.query(GradingRecord).order_by(GradingRecord.id).all()
    assert [(r.attempt, r.worker_id, r.status) for r in records] == [
        (1, "lost-worker", "internal_error"), (2, "also-lost", "internal_error")]
    assert records[0].result["retried"] and "lost-worker" in records[0].result["stderr"]


@sqlite_only  # PostgreSQL locks the rows reclaim reads (FOR UPDATE): the beat would wait
@pytest.mark.parametrize("max_attempts", [1, 3], ids=["last-attempt", "retry"])
def test_reclaim_spares_a_job_whose_heartbeat_landed_after_the_read(qdb, max_attempts):
    """SQLite takes no row lock on reclaim's read: a heartbeat committed between that read
    and the write renews the lease, so the job must stay the worker's (last attempt too)."""
    from sqlalchemy import event

    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    job = claim(qdb, "slow-worker", lease=0.2)
    time.sleep(0.3)
    beats = []

    def beat_after_read(conn, cursor, statement, params, context, executemany):
        if not beats and statement.lstrip().upper().startswith("SELECT") \
                and "lease_expires_at <" in statement:
            with qdb.session() as other:
                beats.append(queue.heartbeat(other, job.id, job.lease_token, 30.0))

    event.listen(qdb.engine, "after_cursor_execute", beat_after_read)
    try:
        with qdb.session() as s:
            changed = queue.reclaim_expired(s, max_attempts=max_attempts)
    finally:
        event.remove(qdb.engine, "after_cursor_execute", beat_after_read)
    assert beats == [True] and changed == 0
    row = qdb.get(sid)
    assert (row.state, row.lease_token) == (RUNNING, job.lease_token)
    assert complete(qdb, job, graded())


def test_heartbeat_extends_the_lease_and_reports_loss(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    qdb.submit(user, ca)
    job = claim(qdb, lease=0.3)
    for _ in range(3):
        time.sleep(0.15)
        with qdb.session() as s:
            assert queue.heartbeat(s, job.id, job.lease_token, 0.3)
            assert queue.reclaim_expired(s) == 0
    with qdb.session() as s:
        assert not queue.heartbeat(s, job.id, "f" * 32, 0.3)


def test_release_gives_the_job_back_without_counting_the_attempt(qdb):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    qdb.submit(user, ca)
    job = claim(qdb)
    with qdb.session() as s:
        assert queue.release(s, job.id, job.lease_token)
        assert not queue.release(s, job.id, job.lease_token)
    row = qdb.get(job.id)
    assert (row.state, row.attempts, row.worker_id) == (QUEUED, 0, None)
    assert claim(qdb).attempts == 1


def test_queue_stats_show_lanes_running_and_failed(qdb):
    ca = qdb.course_assignment()
    alice, bob = qdb.users(2)
    qdb.submit(alice, ca, 3)
    qdb.submit(bob, ca, 2, lane=LANE_REGRADE)
    running = claim(qdb, "host-1:123")
    failing = claim(qdb, "host-2:456")
    assert complete(qdb, failing, GradingResult.failure("internal_error", "boom"),
                    max_attempts=1)
    with qdb.session() as s:
        stats = queue.queue_stats(s)
    assert stats["queued"] == {"fresh": 1, "regrade": 2} and stats["queued_total"] == 3
    assert stats["oldest_queued_age_s"] >= 0
    (run,) = stats["running"]
    assert run["id"] == running.id and run["worker_id"] == "host-1:123"
    assert 0 <= run["age_s"] < 10 and 0 < run["lease_left_s"] <= 30
    assert stats["failed_total"] == 1 and stats["failed"][0]["id"] == failing.id
    assert "boom" in stats["failed"][0]["last_error"]


@postgres_only
def test_notify_is_delivered_on_commit(qdb):
    raw = qdb.engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.autocommit = True
        conn.execute(f"LISTEN {queue.CHANNEL}")
        ca = qdb.course_assignment()
        (user,) = qdb.users(1)
        assert list(conn.notifies(timeout=0.05, stop_after=1)) == []
        qdb.submit(user, ca)
        assert len(list(conn.notifies(timeout=2, stop_after=1))) == 1
    finally:
        raw.invalidate()


def test_regrade_starts_afresh_without_the_old_error(qdb):
    from server.models import CourseAssignment
    from server.services.regrade import start_regrade

    ca_id = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca_id)
    job = claim(qdb)
    assert complete(qdb, job, GradingResult.failure("internal_error", "disk full"),
                    max_attempts=1)
    assert "disk full" in qdb.get(sid).last_error
    with qdb.session() as s:
        start_regrade(s, s.get(CourseAssignment, ca_id), "one", submission_id=sid)
        s.commit()
    row = qdb.get(sid)
    assert (row.state, row.attempts, row.last_error) == (QUEUED, 0, None)
