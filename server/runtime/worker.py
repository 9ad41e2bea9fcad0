"""Grading workers: claim a job, grade it while a heartbeat renews the lease, write the result.

Each worker is one process (grading is CPU-bound; two workers really use two cores)
that builds its own plugin registry, dataset store and database engine from the
configuration, without Flask. Idle workers wake on PostgreSQL LISTEN/NOTIFY with a
short poll as fallback, or poll SQLite every `poll_seconds`.

Signals: SIGTERM finishes the current job and exits; SIGINT gives the current job
back to the queue at once (the attempt does not count) and exits. A lost database
connection is logged and retried with back-off; nothing is lost because the job
row only changes through lease-checked updates.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.preflight import blocking, sandbox_findings
from grader.result import GradingResult
from server.lti.passback import safe_run_due
from server.models import RUNNING, Submission
from server.runtime import queue
from server.runtime.grading import grade_job
from server.runtime.readiness import unready_assignments
from server.services.progress import publishing_progress
from server.state import State, build_state

if TYPE_CHECKING:
    from server.runtime.worker_pool import WorkerPool

log = logging.getLogger(__name__)

GradeFn = Callable[[State, Submission], GradingResult]


@dataclass(frozen=True)
class WorkerSettings:
    """Queue knobs, from the config keys (environment `NEUROGRADE_<KEY>`) in brackets."""

    lease_seconds: float = queue.DEFAULT_LEASE_SECONDS  #: [LEASE_SECONDS]
    max_attempts: int = queue.DEFAULT_MAX_ATTEMPTS  #: [MAX_ATTEMPTS]
    poll_seconds: float = 0.05  #: [POLL_SECONDS] idle poll (PostgreSQL: NOTIFY wait slice)
    #: [STOP_GRACE_SECONDS] how long `stop()` lets a worker finish its job before releasing it
    stop_grace_seconds: float = 60.0
    #: [READINESS_SECONDS] how often a worker checks it can grade each assignment
    readiness_seconds: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkerSettings:
        def pick(key: str, kind: type, default: Any) -> Any:
            raw = config.get(key, os.environ.get(f"NEUROGRADE_{key}"))
            return default if raw in (None, "") else kind(raw)
        pg = not str(config.get("DATABASE_URL", "sqlite")).startswith("sqlite")
        return cls(lease_seconds=pick("LEASE_SECONDS", float, cls.lease_seconds),
                   max_attempts=pick("MAX_ATTEMPTS", int, cls.max_attempts),
                   poll_seconds=pick("POLL_SECONDS", float, 0.5 if pg else cls.poll_seconds),
                   stop_grace_seconds=pick("STOP_GRACE_SECONDS", float, cls.stop_grace_seconds),
                   readiness_seconds=pick("READINESS_SECONDS", float, cls.readiness_seconds))


class _ReleaseNow(BaseException):
    """Raised in the grading thread by SIGINT; BaseException so the engine cannot swallow it."""


class _Heartbeat(threading.Thread):
    """Renews the lease every third of its length until stopped."""

    def __init__(self, factory: sessionmaker[Session], job_id: int, token: str,
                 lease_seconds: float) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.factory, self.job_id, self.token, self.lease = factory, job_id, token, lease_seconds
        self.finished = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.finished.wait(max(self.lease / 3, 0.1)):
            try:
                with self.factory() as session:
                    if not queue.heartbeat(session, self.job_id, self.token, self.lease):
                        self.lost = True
                        log.warning("lost the lease of submission %s", self.job_id)
                        return
            except SQLAlchemyError as exc:  # the next beat retries on a fresh connection
                log.warning("heartbeat for submission %s failed: %s", self.job_id, exc)
            except Exception:  # whatever it was, the next beat must still happen
                log.exception("heartbeat for submission %s failed", self.job_id)


class _PgListener:
    """A dedicated autocommit connection (outside the pool) LISTENing on the queue channel."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Any = None

    def connect(self) -> None:
        if self.conn is None:
            cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
            conn = self.engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
            conn.autocommit = True
            conn.execute(f"LISTEN {queue.CHANNEL}")
            self.conn = conn

    def wait(self, timeout: float) -> bool:
        self.connect()
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            return True
        return False

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # already dead
                pass
            self.conn = None


class Worker:
    """One grading worker; `run()` loops until `stop()` (or SIGTERM/SIGINT)."""

    def __init__(self, state: State, worker_id: str | None = None,
                 settings: WorkerSettings | None = None, grade: GradeFn | None = None,
                 parent_pid: int | None = None) -> None:
        self.state = state
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.settings = settings or WorkerSettings.from_config(state.config)
        self.grade = grade or grade_job
        self.parent_pid = parent_pid
        self.stopping = threading.Event()
        self.jobs_done = 0
        self._grading = False
        self._pg = state.engine.dialect.name == "postgresql"
        self._listener = _PgListener(state.engine) if self._pg else None
        self._next_reclaim = 0.0
        #: assignment slug -> why this worker cannot grade it now; those jobs stay queued
        self.unready: dict[str, str] = {}
        self._sandbox_problem: str | None = None
        self._next_readiness = 0.0
        self._readiness_checked = False

    # --- control ---
    def stop(self) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, *_: Any) -> None:
        self.stop()
        if self._grading:
            raise _ReleaseNow()

    def _should_run(self) -> bool:
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            log.warning("parent process %s is gone; worker %s stops", self.parent_pid,
                        self.worker_id)
            self.stop()
        return not self.stopping.is_set()

    # --- loop ---
    def run(self) -> None:
        log.info("worker %s started (lease %.1fs, max attempts %d)", self.worker_id,
                 self.settings.lease_seconds, self.settings.max_attempts)
        backoff = 0.1
        try:
            while self._should_run():
                try:
                    if self._listener is not None:
                        self._listener.connect()  # before claiming, so no NOTIFY is missed
                    self._maybe_reclaim()
                    self._maybe_check_readiness()
                    job = self._claim()
                    if job is None:
                        self._wait()
                    else:
                        self._run_job(job)
                    backoff = 0.1
                except SQLAlchemyError as exc:
                    backoff = self._db_trouble(exc, backoff)
                except Exception as exc:
                    if not _is_connection_error(exc):
                        raise
                    backoff = self._db_trouble(exc, backoff)
        finally:
            if self._listener is not None:
                self._listener.close()
            log.info("worker %s stopped after %d job(s)", self.worker_id, self.jobs_done)

    def _db_trouble(self, exc: BaseException, backoff: float) -> float:
        log.warning("worker %s: database unavailable (%s); retrying in %.1fs",
                    self.worker_id, str(exc).splitlines()[0] if str(exc) else exc, backoff)
        if self._listener is not None:
            self._listener.close()
        self.stopping.wait(backoff)
        return min(backoff * 2, 5.0)

    def _maybe_reclaim(self) -> None:
        now = time.monotonic()
        if now < self._next_reclaim:
            return
        self._next_reclaim = now + min(self.settings.lease_seconds / 2, 5.0)
        with self.state.session_factory() as session:
            if _any_expired(session):
                queue.reclaim_expired(session, self.settings.max_attempts)
        safe_run_due(self.state)  # LMS grade passback (server.lti.passback), never fatal

    def _maybe_check_readiness(self) -> None:
        """Every `readiness_seconds`: can this worker grade each assignment (the sandbox
        starts, its datasets are prepared)? Jobs it cannot grade are not claimed, so they
        wait (their reason shown to the instructor) instead of failing attempt after
        attempt; they are taken as soon as the problem is fixed."""
        now = time.monotonic()
        if now < self._next_readiness:
            return
        self._next_readiness = now + self.settings.readiness_seconds
        if self._sandbox_problem is not None or not self._readiness_checked:
            self._sandbox_problem = blocking(sandbox_findings())
            self._readiness_checked = True
        unready = unready_assignments(self.state, self._sandbox_problem)
        if unready != self.unready:
            for slug, reason in sorted(unready.items()):
                log.error("worker %s does not grade %s: %s", self.worker_id, slug, reason)
            for slug in sorted(set(self.unready) - set(unready)):
                log.info("worker %s grades %s again", self.worker_id, slug)
            self.unready = unready
        if unready:
            with self.state.session_factory() as session:
                queue.mark_waiting(session, unready)

    def _claim(self) -> Submission | None:
        with self.state.session_factory() as session:
            if not self._pg and not queue.has_queued(session, self.unready):
                return None
            job = queue.claim(session, self.worker_id, self.settings.lease_seconds,
                              skip_slugs=self.unready)
            if job is not None:
                _ = job.course_assignment  # load what grading needs, then detach
                session.expunge_all()
            return job

    def _wait(self) -> None:
        if self._listener is not None:
            self._listener.wait(self.settings.poll_seconds)
        else:
            self.stopping.wait(self.settings.poll_seconds)

    def _run_job(self, job: Submission) -> None:
        token = job.lease_token
        assert token is not None
        beat = _Heartbeat(self.state.session_factory, job.id, token, self.settings.lease_seconds)
        beat.start()
        try:
            result = self._grade(job)
        except _ReleaseNow:
            beat.finished.set()
            self._persist(lambda s: queue.release(s, job.id, token), "release")
            log.info("worker %s released submission %s", self.worker_id, job.id)
            return
        finally:
            beat.finished.set()
        if beat.lost:
            # another worker owns the job now; the lease check would refuse the write anyway,
            # so do not spend up to a minute retrying it through database trouble
            log.warning("worker %s: submission %s -> %s discarded: the lease was lost while "
                        "grading", self.worker_id, job.id, result.status)
            self.jobs_done += 1
            return
        metric = getattr(self.state.registry.assignments.get(
            job.course_assignment.assignment_slug), "metric_name", None)
        if result.status == queue.INTERNAL_ERROR:
            self._next_readiness = 0.0  # was it the sandbox? look again before the next claim
            self._readiness_checked = False
        written = self._persist(lambda s: queue.complete(
            s, job.id, token, result, max_attempts=self.settings.max_attempts, metric=metric),
            "complete")
        self.jobs_done += 1
        log.info("worker %s: submission %s -> %s%s", self.worker_id, job.id, result.status,
                 "" if written else " (discarded: lease lost)")

    def _grade(self, job: Submission) -> GradingResult:
        self._grading = True
        try:
            with publishing_progress(self.state.session_factory, job.id):
                return self.grade(self.state, job)
        except Exception as exc:  # a bug on our side: retried as internal_error
            log.exception("grading submission %s crashed", job.id)
            return GradingResult.failure(
                "internal_error", f"The grader crashed ({type(exc).__name__}); it will retry.",
                stderr=traceback.format_exc())
        finally:
            self._grading = False

    def _persist(self, write: Callable[[Session], bool], what: str) -> bool:
        """Run a lease-checked write, retrying through connection loss. Retrying is safe:
        a write that did land makes the retry a no-op (the lease token is gone)."""
        deadline = time.monotonic() + max(60.0, 2 * self.settings.lease_seconds)
        delay = 0.1
        while True:
            try:
                with self.state.session_factory() as session:
                    return write(session)
            except Exception as exc:
                if not (isinstance(exc, SQLAlchemyError) or _is_connection_error(exc)):
                    raise
                if time.monotonic() > deadline:
                    log.error("worker %s: giving up on %s (%s); the lease will expire and the "
                              "job will be graded again", self.worker_id, what, exc)
                    return False
                log.warning("worker %s: %s failed (%s); retrying", self.worker_id, what, exc)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)


def _any_expired(session: Session) -> bool:
    """A read first, so idle SQLite workers do not take the write lock every few seconds."""
    now = queue.db_now(session)
    found = session.scalar(select(Submission.id).where(
        Submission.state == RUNNING, Submission.lease_expires_at < now).limit(1))
    session.rollback()
    return found is not None


def _is_connection_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


# --- processes ----------------------------------------------------------------------------

def worker_main(config: Mapping[str, Any], index: int = 0, grade: GradeFn | None = None,
                parent_pid: int | None = None) -> None:
    """Entry point of one worker process."""
    logging.basicConfig(level=config.get("LOG_LEVEL", "INFO"),
                        format=f"%(asctime)s worker-{index} %(levelname)s %(name)s: %(message)s")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # one BLAS thread per worker: N workers share N cores
    # a pre-started child per limits key (bounded: see grader.pool) saves ~80 ms a job
    os.environ.setdefault("NEUROGRADE_WARM_POOL", "1")
    state = build_state(config)
    _prewarm(state)
    worker = Worker(state, f"{socket.gethostname()}:{os.getpid()}", grade=grade,
                    parent_pid=parent_pid)
    worker.install_signal_handlers()
    worker.run()


def _prewarm(state: State) -> None:
    """Ask the warm pool for a child for the first assignments' limits before any job."""
    from grader.pool import default_pool

    pool = default_pool()
    if pool is None:
        return
    keys = dict.fromkeys((a.limits, tuple(a.forbidden_imports))
                         for a in state.registry.assignments.values())
    for limits, forbidden in list(keys)[:pool.max_keys]:
        pool.warm(limits, forbidden)


def start_embedded_workers(config: Mapping[str, Any], n: int,
                           grade: GradeFn | None = None) -> WorkerPool:
    """Start `n` worker processes for `config` (used by `neurograde serve` and
    `neurograde worker`); call `.stop()` on the returned `WorkerPool` at shutdown."""
    from server.runtime.worker_pool import WorkerPool

    log.info("starting %d grading worker process(es)", n)
    return WorkerPool(config, n, grade)
