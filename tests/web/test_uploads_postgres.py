"""Uploads on PostgreSQL: the daily limit holds under concurrent uploads (the user's row
is locked while counting), and the insert wakes listening workers (NOTIFY)."""

from __future__ import annotations

import io
import threading

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from server.models import CourseAssignment, Submission
from tests.web.toy import toy_pm

pytestmark = pytest.mark.postgres

SUBMIT = "/api/v1/courses/c1/assignments/toy/submissions"


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def app_config(pg_schema_url):
    return {"DATABASE_URL": pg_schema_url}


def post(app, headers):
    client = app.test_client()
    return client.post(SUBMIT, headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"def double(x):\n    return 2 * x\n"),
                                      "solution.py")})


def test_concurrent_uploads_respect_the_daily_limit(app, auth, db, toy_classroom):
    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.daily_submission_limit = 2
    db.commit()
    headers = auth.headers(toy_classroom.alice)
    codes: list[int] = []
    barrier = threading.Barrier(6)

    def upload() -> None:
        barrier.wait()
        codes.append(post(app, headers).status_code)

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202, 202, 429, 429, 429, 429]
    assert db.scalar(select(func.count(Submission.id))) == 2


def test_upload_notifies_listening_workers(app, auth, pg_schema_url, toy_classroom):
    from server.runtime import queue

    channel = queue.CHANNEL
    url = make_url(pg_schema_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'LISTEN "{channel}"')
        assert post(app, auth.headers(toy_classroom.alice)).status_code == 202
        notes = list(conn.notifies(timeout=5, stop_after=1))
    assert [n.channel for n in notes] == [channel]
