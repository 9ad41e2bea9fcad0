"""The real upload path (`create_submission`): the queued row and the workers' wake-up
are one transaction, and the stored source is what its hash and size describe."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from server.models import QUEUED, CourseAssignment, Enrollment, Submission, User
from server.runtime import queue
from server.services.submissions import Upload, create_submission
from tests.queue.conftest import postgres_only

SOURCE = "def double(x):\n    return 2 * x\n"


def _student(qdb) -> tuple[int, int]:
    ca_id = qdb.course_assignment()
    (user_id,) = qdb.users(1)
    with qdb.session() as s:
        s.add(Enrollment(course_id=s.get(CourseAssignment, ca_id).course_id, user_id=user_id))
        s.commit()
    return user_id, ca_id


def _upload(session, user_id: int, ca: int | CourseAssignment,
            data: bytes = SOURCE.encode()) -> Submission:
    ca = session.get(CourseAssignment, ca) if isinstance(ca, int) else ca
    return create_submission(session, session.get(User, user_id), ca, Upload("solution.py", data))


def test_hash_and_size_describe_the_stored_source_without_its_bom(qdb):
    user_id, ca_id = _student(qdb)
    with qdb.session() as s:
        sub = _upload(s, user_id, ca_id, data=b"\xef\xbb\xbf" + SOURCE.encode())
    row = qdb.get(sub.id)
    assert row.source == SOURCE and row.state == QUEUED
    assert row.sha256 == hashlib.sha256(SOURCE.encode()).hexdigest()
    assert row.size == len(SOURCE.encode())


class _Listener:
    def __init__(self, qdb) -> None:
        self.raw = qdb.engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.conn.autocommit = True
        self.conn.execute(f"LISTEN {queue.CHANNEL}")

    def received(self, timeout: float) -> int:
        return len(list(self.conn.notifies(timeout=timeout, stop_after=1)))

    def close(self) -> None:
        self.raw.invalidate()


@pytest.fixture
def listener(qdb):
    listening = _Listener(qdb)
    yield listening
    listening.close()


def _rows(qdb) -> int:
    with qdb.session() as s:
        return s.scalar(select(func.count()).select_from(Submission))


@postgres_only
def test_upload_row_and_notify_appear_together_at_commit(qdb, listener):
    user_id, ca_id = _student(qdb)
    seen_before_commit = []
    with qdb.session() as s:
        @event.listens_for(s, "before_commit")
        def look(_session) -> None:  # the insert and NOTIFY are issued, not yet committed
            seen_before_commit.append((_rows(qdb), listener.received(0.2)))

        _upload(s, user_id, ca_id)
    assert seen_before_commit == [(0, 0)]
    assert _rows(qdb) == 1 and listener.received(2) == 1


@postgres_only
def test_a_failing_upload_leaves_neither_row_nor_notify(qdb, listener):
    user_id, ca_id = _student(qdb)
    with qdb.session() as s:
        @event.listens_for(s, "before_commit")
        def fail(_session) -> None:  # the NOTIFY is already queued in this transaction
            raise IntegrityError("INSERT", {}, Exception("constraint failed at commit"))

        with pytest.raises(IntegrityError):
            _upload(s, user_id, ca_id)
        s.rollback()
        # an insert that fails outright (unknown course assignment) notifies nobody either
        ghost = CourseAssignment(id=10**9, course_id=s.get(CourseAssignment, ca_id).course_id,
                                 assignment_slug="queue-echo", enabled=True)
        event.remove(s, "before_commit", fail)
        with pytest.raises(IntegrityError):
            _upload(s, user_id, ghost)
        s.rollback()
    assert _rows(qdb) == 0 and listener.received(0.5) == 0
