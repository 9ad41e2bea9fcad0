"""Queue fixtures: a database (SQLite file, or a fresh PostgreSQL schema) with tables,
row factories, and a helper that runs grading worker processes against it."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from server.db import make_engine, make_session_factory
from server.models import (
    DONE,
    LANE_FRESH,
    Base,
    Course,
    CourseAssignment,
    GradingRecord,
    Submission,
    User,
    utcnow,
)
from server.runtime import queue
from server.runtime.worker import start_embedded_workers
from server.runtime.worker_pool import WorkerPool

_names = itertools.count(1)
APP_NAME = "neurograde-queue-test"


class QueueDB:
    """A database with the schema created, plus factories for queue rows."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)
        self.session_factory = make_session_factory(self.engine)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def session(self):
        return self.session_factory()

    def course_assignment(self, slug: str = "queue-echo", split_seed: int = 7) -> int:
        n = next(_names)
        with self.session() as s:
            course = Course(slug=f"c{n}", title=f"Course {n}")
            s.add(course)
            s.flush()
            ca = CourseAssignment(course_id=course.id, assignment_slug=slug,
                                  split_seed=split_seed)
            s.add(ca)
            s.commit()
            return ca.id

    def users(self, count: int) -> list[int]:
        with self.session() as s:
            rows = []
            for _ in range(count):
                n = next(_names)
                rows.append(User(username=f"u{n}", password_hash="x", pseudonym=f"u{n}"))
            s.add_all(rows)
            s.commit()
            return [u.id for u in rows]

    def submit(self, user_id: int, ca_id: int, count: int = 1, *, lane: int = LANE_FRESH,
               source: str = "def double(x):\n    return 2 * x\n",
               enqueued_at: Any = None) -> list[int]:
        """Insert queued submissions and notify workers in the same transaction."""
        digest = hashlib.sha256(source.encode()).hexdigest()
        now = enqueued_at or utcnow()
        rows = [dict(course_assignment_id=ca_id, user_id=user_id, filename="solution.py",
                     source=source, sha256=digest, size=len(source), lane=lane,
                     enqueued_at=now + timedelta(microseconds=i)) for i in range(count)]
        with self.session() as s:
            ids = list(s.scalars(insert(Submission).returning(Submission.id), rows))
            queue.notify_new_job(s)
            s.commit()
        return ids

    def record_counts(self, status: str | None = None) -> dict[int, int]:
        """Grading records per submission (only those with `status`, if given)."""
        stmt = select(GradingRecord.submission_id, func.count())
        if status is not None:
            stmt = stmt.where(GradingRecord.status == status)
        with self.session() as s:
            return dict(s.execute(stmt.group_by(GradingRecord.submission_id)).all())

    def count(self, **where: Any) -> int:
        with self.session() as s:
            stmt = select(func.count()).select_from(Submission)
            for key, value in where.items():
                stmt = stmt.where(getattr(Submission, key) == value)
            return s.scalar(stmt)

    def get(self, submission_id: int) -> Submission:
        with self.session() as s:
            return s.get(Submission, submission_id)

    def wait_until(self, predicate, timeout: float, what: str, step: float = 0.05) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(step)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def wait_all_done(self, total: int, timeout: float) -> None:
        self.wait_until(lambda: self.count(state=DONE) >= total, timeout,
                        f"{total} submissions to be graded")


def _named(url: str) -> str:
    # a name of our own, so a test can terminate exactly the workers' connections
    return make_url(url).update_query_dict({"application_name": APP_NAME}).render_as_string(
        hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """The same test on a SQLite file and on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    return _named(request.getfixturevalue("pg_schema_url"))


#: decorate a test with this to run it on PostgreSQL only (LISTEN/NOTIFY, killed connections)
postgres_only = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
#: ... or on SQLite only (a race PostgreSQL's row locks rule out)
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def qdb(db_url) -> Iterator[QueueDB]:
    db = QueueDB(db_url)
    yield db
    db.engine.dispose()


@pytest.fixture
def worker_config(qdb, tmp_path) -> dict[str, Any]:
    """Config for worker processes: short leases, fast polling, a log of every grading call."""
    return {
        "DATABASE_URL": qdb.url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "LOAD_PLUGIN_ENTRYPOINTS": False,
        "LEASE_SECONDS": 2.0,
        "MAX_ATTEMPTS": 3,
        "POLL_SECONDS": 0.05,
        "LOG_LEVEL": "WARNING",
        "GRADE_LOG": str(tmp_path / "graded.log"),
        "FAKE_GRADE_SECONDS": 0.005,
    }


@pytest.fixture
def pools() -> Iterator[list[WorkerPool]]:
    """Worker pools started by a test; stopped (and killed if need be) afterwards."""
    started: list[WorkerPool] = []
    yield started
    for pool in started:
        pool.stop(grace_seconds=5)


@pytest.fixture
def start_workers(pools):
    def start(config: dict[str, Any], n: int, grade) -> WorkerPool:
        pool = start_embedded_workers(config, n, grade=grade)
        pools.append(pool)
        return pool
    return start


def graded_log(config: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(submission id, attempt, pid) of every grading call the fake grader saw."""
    path = Path(config["GRADE_LOG"])
    if not path.exists():
        return []
    return [tuple(int(x) for x in line.split()) for line in path.read_text().splitlines()]
