"""The instructor-side queries on PostgreSQL: leaderboard, grades, regrade, dashboard."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from grader.result import GradingResult
from server.models import Course, CourseAssignment, RegradeBatch
from server.runtime import queue
from server.services import dashboard, grades, leaderboard, regrade
from tests.web.test_instructor import course_plugin_manager

pytestmark = pytest.mark.postgres

DEADLINE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def pm():
    return course_plugin_manager()


@pytest.fixture
def app_config(pg_schema_url):
    return {"DATABASE_URL": pg_schema_url}


def test_instructor_queries_on_postgres(state, client, auth, make_course, make_user,
                                        make_course_assignment, make_submission):
    leaderboard.clear_leaderboard_cache()
    assert state.engine.dialect.name == "postgresql"
    course = make_course(slug="nn101")
    teacher = make_user(username="teacher", role="instructor", course=course)
    ann = make_user(username="ann", course=course)
    ben = make_user(username="ben", course=course)
    ca = make_course_assignment(course=course, assignment_slug="beta", deadline=DEADLINE,
                                late_penalty_per_day=0.5)

    a = make_submission(user=ann, course_assignment=ca, submitted_at=DEADLINE - timedelta(1))
    b1 = make_submission(user=ben, course_assignment=ca, submitted_at=DEADLINE - timedelta(2))
    # one started day late: 10 * 0.5 = 5 in the grades, not on the leaderboard at all
    b2 = make_submission(user=ben, course_assignment=ca,
                         submitted_at=DEADLINE + timedelta(hours=2))
    scores = {a.id: (8.0, 0.8), b1.id: (8.0, 0.9), b2.id: (10.0, 0.95)}
    with state.session_factory() as session:  # graded through the real queue
        while (job := queue.claim(session, "pg-worker", lease_seconds=30)) is not None:
            score, metric = scores[job.id]
            queue.complete(session, job.id, job.lease_token, GradingResult(
                status="graded", score=score, max_score=10.0,
                metrics={"accuracy_public": metric, "accuracy_private": metric}))

    with state.session_factory() as session:
        row = session.get(CourseAssignment, ca.id)
        ranked = leaderboard.standings(session, row, now=DEADLINE - timedelta(days=3))
        assert [(s.username, s.score) for s in ranked] == [("ben", 8.0), ("ann", 8.0)]
        course_row = session.get(Course, course.id)
        rows = list(csv.reader(io.StringIO(grades.grades_csv(session, course_row))))
        assert rows[1:] == [["ann", "User " + rows[1][1].split()[-1], rows[1][2], "8"],
                            ["ben", rows[2][1], rows[2][2], "8"]]
        stats = dashboard.assignment_stats(session, course_row)
        assert (stats[0].submissions, stats[0].students) == (3, 2)
        assert dashboard.recent_errors(session, course_row) == []

        batch = regrade.start_regrade(session, row, "latest", requested_by=None)
        session.commit()
        batch_id = batch.id

    with state.session_factory() as session:  # the real claim path (FOR UPDATE SKIP LOCKED)
        while (job := queue.claim(session, "pg-worker", lease_seconds=30)) is not None:
            queue.complete(session, job.id, job.lease_token, GradingResult(
                status="graded", score=9.0 if job.id == a.id else 10.0, max_score=10.0))
        summary = regrade.summarize(session, session.get(RegradeBatch, batch_id))
        assert summary.finished and summary.changed == 1
        assert {(line.username, line.old_score, line.new_score) for line in summary.lines} == {
            ("ann", 8.0, 9.0), ("ben", 10.0, 10.0)}
        assert "queued" in dashboard.queue_overview(session, session.get(Course, course.id))

    auth.login(teacher)
    page = client.get(f"/instructor/nn101/regrades/{batch_id}").get_data(as_text=True)
    assert "finished" in page
    assert client.get("/instructor/nn101/").status_code == 200
    auth.login(ann)
    page = client.get("/courses/nn101/assignments/beta/leaderboard").get_data(as_text=True)
    assert page.index("9 / 10") < page.index("8 / 10") and "10 / 10" not in page
    with state.session_factory() as session:
        assert session.scalar(select(RegradeBatch.scope)) == "latest"
