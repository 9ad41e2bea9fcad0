"""Leaderboards: the tie-break rule, public/private metric, names, opt-out, cache."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from grader.result import GradingResult
from server.models import DONE, CourseAssignment, Submission
from server.runtime import queue
from server.services import grades, leaderboard
from tests.web.test_instructor import course_plugin_manager

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=2)


@pytest.fixture
def pm():
    return course_plugin_manager()


@pytest.fixture(autouse=True)
def _fresh_cache():
    leaderboard.clear_leaderboard_cache()
    yield
    leaderboard.clear_leaderboard_cache()


@pytest.fixture
def course(make_course):
    return make_course(slug="nn101", title="Neural nets")


@pytest.fixture
def students(make_user, course):
    return {name: make_user(username=name, name=f"{name.title()} Realname", course=course,
                            pseudonym="" if name == "dan" else f"P-{name}")
            for name in ("ann", "ben", "cat", "dan")}


@pytest.fixture
def sub(make_submission):
    def make(user, ca, score, minutes=0, public=None, private=None, **columns):
        at = T0 + timedelta(minutes=minutes)
        return make_submission(user=user, course_assignment=ca, state=DONE,
                               status=columns.pop("status", "graded"), score=score,
                               max_score=10.0, metric_public=public, metric_private=private,
                               submitted_at=at, graded_at=at, **columns)

    return make


def ranking(state, ca, now=NOW, higher=True) -> list[str]:
    with state.session_factory() as session:
        row = session.get(CourseAssignment, ca.id)
        return [s.username for s in leaderboard.standings(session, row, higher_is_better=higher,
                                                          now=now)]


def test_rank_by_score_then_public_metric_then_earliest_time(
        state, make_course_assignment, course, students, sub):
    ca = make_course_assignment(course=course, assignment_slug="beta",
                                deadline=NOW + timedelta(days=1))
    ann, ben, cat, dan = (students[n] for n in ("ann", "ben", "cat", "dan"))
    sub(ann, ca, 8.0, minutes=1, public=0.90, private=0.99)
    sub(ann, ca, 9.0, minutes=5, public=0.91, private=0.10)  # ann's best: higher score
    sub(ben, ca, 9.0, minutes=2, public=0.95, private=0.10)
    sub(cat, ca, 9.0, minutes=3, public=0.95, private=0.99)  # ties ben; later
    sub(dan, ca, 10.0, minutes=9, public=0.50)
    sub(dan, ca, 10.0, minutes=4, status="internal_error")  # never counts
    assert ranking(state, ca) == ["dan", "ben", "cat", "ann"]


def test_private_metric_decides_after_the_deadline(
        state, make_course_assignment, course, students, sub):
    deadline = NOW - timedelta(hours=1)
    ca = make_course_assignment(course=course, assignment_slug="beta", deadline=deadline)
    ben, cat, ann = students["ben"], students["cat"], students["ann"]
    sub(ben, ca, 9.0, minutes=2, public=0.95, private=0.80)
    sub(cat, ca, 9.0, minutes=3, public=0.95, private=0.90)
    sub(ann, ca, 9.0, minutes=1, public=0.99)  # no private part: falls back to public
    assert ranking(state, ca, now=deadline - timedelta(seconds=1)) == ["ann", "ben", "cat"]
    assert ranking(state, ca, now=NOW) == ["ann", "cat", "ben"]


def test_lower_is_better_metric(state, make_course_assignment, course, students, sub):
    ca = make_course_assignment(course=course, assignment_slug="gamma")
    sub(students["ann"], ca, 5.0, minutes=1, public=0.30)
    sub(students["ben"], ca, 5.0, minutes=2, public=0.10)
    sub(students["cat"], ca, 5.0, minutes=0)  # no metric ranks last among equals
    assert ranking(state, ca, higher=False) == ["ben", "ann", "cat"]


def test_students_see_pseudonyms_only_and_no_opted_out_classmate(
        client, auth, state, make_course_assignment, course, students, sub, make_user):
    ca = make_course_assignment(course=course, assignment_slug="beta")
    for minutes, name in enumerate(("ann", "ben", "cat", "dan")):
        sub(students[name], ca, 10.0 - minutes, minutes=minutes, public=0.9)
    with state.session_factory() as session:
        ben = session.get(type(students["ben"]), students["ben"].id)
        ben.leaderboard_opt_out = True
        cat = session.get(type(students["cat"]), students["cat"].id)
        cat.pseudonym = "<script>alert('x')</script>"
        session.commit()

    auth.login(students["ann"])
    for url in ("/courses/nn101/assignments/beta/leaderboard", "/courses/nn101/leaderboard"):
        page = client.get(url).get_data(as_text=True)
        assert "Realname" not in page, url
        table = page.split('id="leaderboard"', 1)[1].split("</table>", 1)[0]
        for username in ("ann", "ben", "cat", "dan"):  # the page names only the viewer
            where = table if username == "ann" else page
            assert f">{username}<" not in where and f"({username})" not in where, username
        assert "P-ann" in page and "you" in page
        assert "/instructor/" not in page.split("</header>", 1)[1]
        assert "P-ben" not in page  # opted out
        assert "&lt;script&gt;alert(" in page and "<script>alert(" not in page
        generated = leaderboard.default_pseudonym(students["dan"])
        assert generated in page  # dan chose none: a generated name, never the username

    auth.login(students["ben"])  # an opted-out student still sees their own line
    page = client.get("/courses/nn101/assignments/beta/leaderboard").get_data(as_text=True)
    assert "P-ben" in page and "Realname" not in page

    teacher = make_user(username="teacher", role="instructor", course=course)
    auth.login(teacher)
    page = client.get("/courses/nn101/assignments/beta/leaderboard").get_data(as_text=True)
    for name in ("Ann", "Ben", "Cat", "Dan"):
        assert f"{name} Realname" in page
    assert "opted out" in page
    assert "/instructor/nn101/submissions/" in page  # staff can open each best submission


def test_leaderboard_shows_private_column_only_after_the_deadline(
        client, auth, state, make_course_assignment, course, students, sub):
    ca = make_course_assignment(course=course, assignment_slug="beta",
                                deadline=datetime.now(UTC) + timedelta(days=1))
    sub(students["ann"], ca, 9.0, public=0.9123, private=0.4567)
    auth.login(students["ann"])
    url = "/courses/nn101/assignments/beta/leaderboard"
    page = client.get(url).get_data(as_text=True)
    # before the deadline: the Ladder's figure, rounded down to a step of 0.005
    assert "0.9100" in page and "0.9123" not in page and "0.4567" not in page
    assert "public" in page and "Ladder" in page
    with state.session_factory() as session:
        session.get(CourseAssignment, ca.id).deadline = datetime.now(UTC) - timedelta(minutes=1)
        session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "0.9123" in page and "0.4567" in page


def test_outsiders_get_not_found(client, auth, make_user, make_course, make_course_assignment,
                                 course):
    make_course_assignment(course=course, assignment_slug="beta")
    other = make_course(slug="other")
    auth.login(make_user(username="mallory", course=other))
    assert client.get("/courses/nn101/leaderboard").status_code == 404
    assert client.get("/courses/nn101/assignments/beta/leaderboard").status_code == 404
    auth.logout()
    response = client.get("/courses/nn101/leaderboard")
    assert response.status_code in (302, 401)


def test_a_grade_written_by_a_worker_shows_without_waiting(
        state, make_course_assignment, course, students, sub, make_submission):
    ca = make_course_assignment(course=course, assignment_slug="beta")
    sub(students["ann"], ca, 5.0, minutes=0)
    assert ranking(state, ca) == ["ann"]
    make_submission(user=students["ben"], course_assignment=ca)  # queued
    with state.session_factory() as session:  # a worker grades it (another session)
        job = queue.claim(session, "w", lease_seconds=30)
        queue.complete(session, job.id, job.lease_token,
                       GradingResult(status="graded", score=7.0, max_score=10.0))
    assert ranking(state, ca) == ["ben", "ann"]


def test_cache_serves_until_the_database_bumps_the_version(
        state, make_course_assignment, course, students, sub, statements):
    ca = make_course_assignment(course=course, assignment_slug="beta")
    sub(students["ann"], ca, 5.0)
    sub(students["ben"], ca, 4.0)
    assert ranking(state, ca) == ["ann", "ben"]
    with state.session_factory() as session:
        row = session.get(CourseAssignment, ca.id)
        with statements:
            assert [s.username for s in leaderboard.standings(session, row, now=NOW)] == [
                "ann", "ben"]
        assert statements.count == 0  # served from the cache: no freshness query either
        # an opt-out is a change of the board: the database bumps the version
        session.get(type(students["ann"]), students["ann"].id).leaderboard_opt_out = True
        session.commit()
    with state.session_factory() as session:  # the next request
        row = session.get(CourseAssignment, ca.id)
        assert leaderboard.standings(session, row, now=NOW)[0].opted_out is True


def test_course_total_sums_best_scores(state, client, auth, make_course_assignment, course,
                                       students, sub):
    alpha = make_course_assignment(course=course, assignment_slug="alpha")
    beta = make_course_assignment(course=course, assignment_slug="beta")
    sub(students["ann"], alpha, 6.0, minutes=1)
    sub(students["ann"], alpha, 8.0, minutes=2)
    sub(students["ann"], beta, 2.0, minutes=3)
    sub(students["ben"], alpha, 10.0, minutes=4)  # also 10 in total, reached later
    sub(students["cat"], beta, 3.0, minutes=0)
    with state.session_factory() as session:
        cas = list(session.scalars(select(CourseAssignment)))
        totals = leaderboard.course_totals(session, cas, now=NOW)
    assert [(t.username, t.score) for t in totals] == [("ann", 10.0), ("ben", 10.0),
                                                       ("cat", 3.0)]
    assert totals[0].per_assignment == {"alpha": 8.0, "beta": 2.0}
    auth.login(students["cat"])
    page = client.get("/courses/nn101/leaderboard").get_data(as_text=True)
    assert page.index("P-ann") < page.index("P-ben") < page.index("P-cat")


def test_only_students_are_ranked(state, make_course_assignment, course, students, sub,
                                  make_user):
    ca = make_course_assignment(course=course, assignment_slug="beta")
    teacher = make_user(username="teacher", role="instructor", course=course)
    sub(teacher, ca, 10.0)
    sub(students["ann"], ca, 1.0)
    assert ranking(state, ca) == ["ann"]
    with state.session_factory() as session:
        assert session.scalar(select(Submission).where(Submission.user_id == teacher.id))


def test_only_submissions_made_by_the_deadline_are_ranked(
        state, client, auth, make_course_assignment, course, students, sub):
    """After the deadline the private part is public; a late submission tuned to it must not
    climb the board (it still counts for the grade, with the late penalty)."""
    deadline = T0 + timedelta(hours=1)
    ca = make_course_assignment(course=course, assignment_slug="beta", deadline=deadline,
                                late_penalty_per_day=0.1)
    ann, ben = students["ann"], students["ben"]
    sub(ann, ca, 8.0, minutes=10, public=0.90, private=0.90)
    sub(ben, ca, 9.0, minutes=20, public=0.95, private=0.95)
    late = sub(ann, ca, 10.0, minutes=120, public=0.99, private=0.99)  # after the deadline
    sub(students["cat"], ca, 10.0, minutes=61)  # only a late one: not on the board
    assert ranking(state, ca) == ["ben", "ann"]
    with state.session_factory() as session:
        row = session.get(CourseAssignment, ca.id)
        standing = {s.username: s for s in leaderboard.standings(session, row, now=NOW)}
        assert standing["ann"].score == 8.0 and standing["ann"].submission_id != late.id
        totals = leaderboard.course_totals(session, [row], now=NOW)
        assert [(t.username, t.score) for t in totals] == [("ben", 9.0), ("ann", 8.0)]
        csv_text = grades.grades_csv(session, session.get(type(course), course.id))
    grade = {r["username"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    assert grade["ann"]["beta (/10)"] == "9"  # the late 10, one day late at 10 % a day
    assert grade["cat"]["beta (/10)"] == "9"

    auth.login(ann)
    page = client.get("/courses/nn101/assignments/beta/leaderboard").get_data(as_text=True)
    assert 'id="ranked-until"' in page and "by the deadline" in page
    assert "10 / 10" not in page
    board = client.get("/api/v1/courses/nn101/assignments/beta/leaderboard",
                       headers=auth.headers(ann)).get_json()
    assert [r["score"] for r in board["rows"]] == [9.0, 8.0]
    assert board["ranked_until"] == deadline.isoformat()


def test_without_a_deadline_every_submission_is_ranked(
        state, make_course_assignment, course, students, sub):
    ca = make_course_assignment(course=course, assignment_slug="beta")
    sub(students["ann"], ca, 8.0, minutes=10)
    sub(students["ben"], ca, 9.0, minutes=20)
    sub(students["ann"], ca, 10.0, minutes=10_000)
    assert ranking(state, ca) == ["ann", "ben"]
