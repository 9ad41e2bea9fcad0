"""Worker processes against one database: exactly one result per submission, lost
workers reclaimed, signals honoured, connections killed under load survived."""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import statistics
import time

import pytest
from sqlalchemy import text

from grader.result import GradingResult
from server.models import DONE, QUEUED, RUNNING, GradingRecord, utcnow
from server.runtime import queue
from server.runtime.worker import worker_main
from server.state import build_state
from tests.queue import fakes
from tests.queue.conftest import APP_NAME, graded_log, postgres_only

pytestmark = pytest.mark.slow


def _assert_each_graded_once(qdb, ids, config) -> None:
    counts = qdb.record_counts(status="graded")  # lost attempts may add internal_error ones
    assert {i: counts.get(i, 0) for i in ids} == dict.fromkeys(ids, 1)
    assert qdb.count(state=QUEUED) == 0 and qdb.count(state=RUNNING) == 0
    assert qdb.count(status="graded") == len(ids)
    calls = collections.Counter(sid for sid, _attempt, _pid in graded_log(config))
    assert set(calls) == set(ids)


def test_many_workers_grade_every_submission_exactly_once(qdb, worker_config, start_workers):
    ca = qdb.course_assignment()
    users = qdb.users(30)
    ids = [sid for u in users for sid in qdb.submit(u, ca, 10)]
    pool = start_workers(worker_config, 4, fakes.quick)
    qdb.wait_all_done(len(ids), timeout=120)
    _assert_each_graded_once(qdb, ids, worker_config)
    # nobody graded twice, and the work was really spread over the processes
    calls = graded_log(worker_config)
    assert len(calls) == len(ids)
    assert len({pid for _sid, _attempt, pid in calls}) == 4
    assert pool.alive() == 4
    row = qdb.get(ids[0])
    assert (row.metric_public, row.metric_private) == (0.75, 0.5)


def test_sigkilled_worker_job_is_reclaimed_and_its_late_write_rejected(
        qdb, worker_config, start_workers):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    worker_config["LEASE_SECONDS"] = 1.0
    pool = start_workers(worker_config, 1, fakes.hang_on_first_attempt)
    qdb.wait_until(lambda: graded_log(worker_config), 30, "grading to start")
    first = qdb.get(sid)
    assert first.state == RUNNING
    victim = pool.pids[0]
    os.kill(victim, signal.SIGKILL)
    # the supervisor starts a new process; it reclaims the job once the lease expired
    qdb.wait_all_done(1, timeout=30)
    row = qdb.get(sid)
    assert (row.status, row.attempts, row.score) == ("graded", 2, 1.0)
    assert f":{victim}" in row.last_error and "attempt 1" in row.last_error
    with qdb.session() as s:
        lost, record = s.query(GradingRecord).order_by(GradingRecord.id).all()
        assert (lost.attempt, lost.worker_id, lost.status) == (1, first.worker_id,
                                                               "internal_error")
        assert record.attempt == 2 and record.worker_id != first.worker_id
        # the killed worker's result arriving late must not clobber the new one
        late = GradingResult(status="graded", score=0.0, max_score=1.0)
        assert not queue.complete(s, sid, first.lease_token, late)
    assert qdb.get(sid).score == 1.0 and qdb.record_counts() == {sid: 2}
    assert [a for s_, a, _p in graded_log(worker_config)] == [1, 2]


def _worker_process(config):
    proc = multiprocessing.get_context("spawn").Process(
        target=worker_main, args=(config, 0, fakes.hang_on_first_attempt))
    proc.start()
    return proc


def test_sigterm_finishes_the_current_job_then_exits(qdb, worker_config):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    worker_config["HANG_SECONDS"] = 1.0
    proc = _worker_process(worker_config)
    try:
        qdb.wait_until(lambda: graded_log(worker_config), 30, "grading to start")
        proc.terminate()  # SIGTERM
        proc.join(10)
        assert proc.exitcode == 0
        row = qdb.get(sid)
        assert (row.state, row.score, row.attempts) == (DONE, 0.25, 1)
    finally:
        proc.kill()


def test_sigint_releases_the_current_job_at_once(qdb, worker_config):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    worker_config["HANG_SECONDS"] = 60.0
    proc = _worker_process(worker_config)
    try:
        qdb.wait_until(lambda: graded_log(worker_config), 30, "grading to start")
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        proc.join(10)
        assert proc.exitcode == 0 and time.monotonic() - started < 5
        row = qdb.get(sid)
        assert (row.state, row.attempts, row.lease_token) == (QUEUED, 0, None)
        assert qdb.record_counts() == {}
    finally:
        proc.kill()


def test_idle_worker_starts_a_new_job_within_200ms(qdb, worker_config, start_workers):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    worker_config["POLL_SECONDS"] = 0.05 if not qdb.is_postgres else 1.0
    start_workers(worker_config, 1, fakes.quick)
    qdb.submit(user, ca)  # warm up: the worker process is ready once this is graded
    qdb.wait_all_done(1, timeout=60)
    delays = []
    for n in range(2, 14):
        time.sleep(0.13)  # arrive at a random point of the poll cycle
        before = utcnow()
        (sid,) = qdb.submit(user, ca)
        qdb.wait_until(lambda s=sid: qdb.get(s).started_at is not None, 10, "the job to start",
                       step=0.005)
        started = qdb.get(sid).started_at
        delays.append((started.replace(tzinfo=None) - before.replace(tzinfo=None))
                      .total_seconds())
        qdb.wait_all_done(n, timeout=10)
    assert statistics.median(delays) < 0.2, delays
    if qdb.is_postgres:
        # woken by NOTIFY, not by the 1 s poll
        assert statistics.median(delays) < 0.1, delays


@postgres_only
def test_workers_survive_terminated_connections(qdb, worker_config, start_workers):
    ca = qdb.course_assignment()
    users = qdb.users(20)
    ids = [sid for u in users for sid in qdb.submit(u, ca, 10)]
    worker_config["FAKE_GRADE_SECONDS"] = 0.02
    start_workers(worker_config, 3, fakes.quick)
    admin = qdb.engine.connect()  # the test's own connection: kill everybody else's
    killed = 0
    try:
        for _ in range(40):
            if qdb.count(state=DONE) == len(ids):
                break
            time.sleep(0.25)
            killed += admin.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"),
                {"name": APP_NAME}).scalar()
            admin.commit()
    finally:
        admin.close()
    assert killed >= 6  # the workers really lost their connections several times
    qdb.engine.dispose()
    qdb.wait_all_done(len(ids), timeout=90)
    _assert_each_graded_once(qdb, ids, worker_config)


CONFLICTING = ["tests.queue.throwaway_plugin", "tests.queue.conflicting_plugin"]


def test_worker_state_disables_a_clashing_plugin_and_keeps_the_others(worker_config):
    state = build_state({**worker_config, "EXTRA_PLUGINS": CONFLICTING})
    try:
        reason = state.registry.errors["tests.queue.conflicting_plugin"]
        assert "'sigmoid'" in reason and "'assignments.sigmoid'" in reason
        assert state.registry.plugin_of("assignment", "sigmoid") == "assignments.sigmoid"
        assert "queue-echo" in state.registry.assignments
    finally:
        state.engine.dispose()


@pytest.mark.sandbox
def test_worker_with_a_clashing_plugin_grades_an_unaffected_assignment(
        qdb, worker_config, start_workers):
    pytest.importorskip("grader.engine", reason="the grading engine is not installed")
    worker_config.update(EXTRA_PLUGINS=CONFLICTING, LEASE_SECONDS=10)
    ca = qdb.course_assignment("queue-echo")
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    pool = start_workers(worker_config, 1, None)  # the real grade_job and sandbox
    qdb.wait_all_done(1, timeout=60)
    row = qdb.get(sid)
    assert (row.status, row.score, row.attempts) == ("graded", 3.0, 1), row.result
    assert pool.alive() == 1 and pool.restarts == 0


def test_a_job_that_always_fails_ends_as_internal_error_after_max_attempts(
        qdb, worker_config, start_workers):
    ca = qdb.course_assignment()
    (user,) = qdb.users(1)
    (sid,) = qdb.submit(user, ca)
    worker_config["MAX_ATTEMPTS"] = 2
    start_workers(worker_config, 2, fakes.always_internal_error)
    qdb.wait_all_done(1, timeout=60)
    row = qdb.get(sid)
    assert (row.state, row.status, row.attempts) == (DONE, "internal_error", 2)
    assert "the grader is broken" in row.last_error
    assert row.result["message"] == "the grader is broken"
    assert [a for s_, a, _p in graded_log(worker_config)] == [1, 2]  # never a third time
    with qdb.session() as s:
        history = s.query(GradingRecord).order_by(GradingRecord.id).all()
    assert [(r.attempt, r.status, bool(r.result.get("retried"))) for r in history] == [
        (1, "internal_error", True), (2, "internal_error", False)]
