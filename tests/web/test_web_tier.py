"""What keeps the pages a class refreshes cheap: a fixed number of queries however many
assignments or queued jobs there are, conditional GETs, and leaderboard caches that every
web process sees invalidated by the database."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import create_engine, insert, select, text

from grader.result import GradingResult
from server.models import DONE, QUEUED, Base, Course, CourseAssignment, Submission, User
from server.runtime import queue
from server.services import leaderboard
from tests.web.test_instructor import course_plugin_manager


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
def people(make_user, course):
    students = [make_user(username=f"s{i}", course=course) for i in range(4)]
    teacher = make_user(username="teach", role="instructor", course=course)
    return students, teacher


def graded(make_submission, user, ca, score: float) -> Submission:
    return make_submission(user=user, course_assignment=ca, state=DONE, status="graded",
                           score=score, max_score=10.0, result={"checks": []})


def enable(make_course_assignment, make_submission, course, slug, students) -> CourseAssignment:
    ca = make_course_assignment(course=course, assignment_slug=slug)
    for i, student in enumerate(students):
        graded(make_submission, student, ca, float(i))
        graded(make_submission, student, ca, float(i) + 0.5)
    return ca


def statements_for(client, statements, url: str, **kwargs) -> int:
    assert client.get(url, **kwargs).status_code == 200  # warm: caches filled
    with statements:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return statements.count


def test_course_page_and_boards_do_not_query_per_assignment(
        client, auth, statements, course, people, make_course_assignment, make_submission):
    students, _teacher = people
    enable(make_course_assignment, make_submission, course, "alpha", students)
    auth.login(students[0])
    urls = ("/courses/nn101/", "/courses/nn101/leaderboard",
            "/courses/nn101/assignments/alpha/leaderboard")
    one = {url: statements_for(client, statements, url) for url in urls}
    enable(make_course_assignment, make_submission, course, "beta", students)
    enable(make_course_assignment, make_submission, course, "gamma", students)
    three = {url: statements_for(client, statements, url) for url in urls}
    assert three == one
    assert one["/courses/nn101/"] <= 6
    # a warm board costs the page's own lookups, nothing per student or assignment
    assert one["/courses/nn101/leaderboard"] <= 5
    assert not [s for s in statements.statements if "FROM submissions" in s]


def test_status_poll_is_a_few_queries_and_never_loads_the_result(
        client, auth, statements, course, people, make_course_assignment, make_submission):
    students, _teacher = people
    ca = make_course_assignment(course=course, assignment_slug="alpha")
    mine = make_submission(user=students[0], course_assignment=ca, state=QUEUED)
    auth.login(students[0])
    few = statements_for(client, statements, f"/submissions/{mine.id}/status")
    for other in students[1:]:
        for _ in range(5):
            make_submission(user=other, course_assignment=ca, state=QUEUED)
    many = statements_for(client, statements, f"/submissions/{mine.id}/status")
    # session, light row, queue position, recent grading times (the wait estimate)
    assert many == few <= 6
    assert not [s for s in statements.statements if "submissions.source" in s
                or "submissions.result" in s]


def test_unchanged_status_and_boards_answer_304(
        client, auth, state, course, people, make_course_assignment, make_submission):
    students, _teacher = people
    ca = make_course_assignment(course=course, assignment_slug="beta")
    mine = make_submission(user=students[0], course_assignment=ca, state=QUEUED)
    auth.login(students[0])
    urls = [f"/submissions/{mine.id}/status", "/courses/nn101/leaderboard",
            "/courses/nn101/assignments/beta/leaderboard"]
    etags = {}
    for url in urls:
        first = client.get(url)
        assert first.status_code == 200 and first.headers["ETag"]
        assert "no-cache" in first.headers["Cache-Control"]
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
        etags[url] = first.headers["ETag"]
    with state.session_factory() as session:  # graded: the status and both boards change
        row = session.get(Submission, mine.id)
        row.state, row.status, row.score, row.max_score = DONE, "graded", 7.0, 10.0
        row.result = {"checks": []}
        session.commit()
    for url in urls:
        changed = client.get(url, headers={"If-None-Match": etags[url]})
        assert changed.status_code == 200, url
    # another viewer never gets this student's copy confirmed
    auth.login(students[1])
    board = "/courses/nn101/leaderboard"
    mine_now = client.get(board).headers["ETag"]
    auth.login(students[0])
    assert client.get(board, headers={"If-None-Match": mine_now}).status_code == 200


def test_api_board_is_paginated_with_the_callers_row(
        client, auth, course, people, make_course_assignment, make_submission):
    students, _teacher = people
    ca = make_course_assignment(course=course, assignment_slug="beta")
    for i, student in enumerate(students):
        graded(make_submission, student, ca, float(i))
    headers = auth.headers(students[0])  # last place
    url = "/api/v1/courses/nn101/assignments/beta/leaderboard"
    page = client.get(url + "?per_page=2", headers=headers).get_json()
    assert (page["total"], page["pages"], len(page["rows"])) == (4, 2, 2)
    assert [r["rank"] for r in page["rows"]] == [1, 2]
    assert page["you"]["rank"] == 4 and page["you"]["you"] is True
    second = client.get(url + "?per_page=2&page=2", headers=headers).get_json()
    assert [r["rank"] for r in second["rows"]] == [3, 4]
    tag = client.get(url + "?per_page=2", headers=headers).headers["ETag"]
    assert client.get(url + "?per_page=2", headers={**headers, "If-None-Match": tag}
                      ).status_code == 304


def test_api_reads_write_the_token_at_most_once_a_minute(
        client, auth, statements, course, people):
    students, _teacher = people
    headers = auth.headers(students[0])
    url = "/api/v1/courses/nn101/assignments/alpha/submissions"
    client.get(url, headers=headers)  # first use: recorded
    with statements:
        client.get(url, headers=headers)
    assert not [s for s in statements.statements if s.lstrip().upper().startswith("UPDATE")]


WRITER = textwrap.dedent("""
    import sys
    from grader.result import GradingResult
    from server.runtime import queue
    from server.db import make_engine, make_session_factory
    session = make_session_factory(make_engine(sys.argv[1]))()
    job = queue.claim(session, "other-machine")
    assert job is not None and job.id == int(sys.argv[2])
    assert queue.complete(session, job.id, job.lease_token,
                          GradingResult(status="graded", score=9.5, max_score=10.0))
""")


@pytest.mark.slow
def test_a_grade_written_by_another_process_reaches_every_web_process(
        app, client, auth, state, course, people, make_course_assignment, make_submission):
    """The standings of this process are cached; a worker in another process grades a
    submission; the next request here shows it (the database bumped the version)."""
    students, _teacher = people
    ca = make_course_assignment(course=course, assignment_slug="alpha")
    graded(make_submission, students[1], ca, 5.0)
    late = make_submission(user=students[0], course_assignment=ca, state=QUEUED)
    auth.login(students[0])
    url = "/api/v1/courses/nn101/assignments/alpha/leaderboard"
    headers = auth.headers(students[0])
    assert client.get(url, headers=headers).get_json()["you"] is None
    subprocess.run([sys.executable, "-c", WRITER, app.config["DATABASE_URL"], str(late.id)],
                   check=True, timeout=120)
    board = client.get(url, headers=headers).get_json()
    assert board["you"]["rank"] == 1 and board["you"]["score"] == 9.5


@pytest.mark.postgres
def test_postgres_triggers_bump_the_version_on_grades_enrolments_and_names(pg_schema_url):
    engine = create_engine(pg_schema_url)
    Base.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            course_id = conn.execute(insert(Course).values(slug="c", title="C")
                                     .returning(Course.id)).scalar_one()
            ca_id = conn.execute(insert(CourseAssignment).values(
                course_id=course_id, assignment_slug="alpha").returning(CourseAssignment.id)
            ).scalar_one()
            user_id = conn.execute(insert(User).values(
                username="u", password_hash="-").returning(User.id)).scalar_one()

        def version() -> int:
            with engine.connect() as conn:
                return conn.scalar(select(CourseAssignment.standings_version)
                                   .where(CourseAssignment.id == ca_id))

        steps = [
            f"INSERT INTO enrollments (course_id, user_id, role, created_at) "
            f"VALUES ({course_id}, {user_id}, 'student', now())",
            f"INSERT INTO submissions (course_assignment_id, user_id, filename, source, sha256, "
            f"size, submitted_at, state, lane, enqueued_at, attempts) VALUES ({ca_id}, "
            f"{user_id}, 'a.py', '', '', 0, now(), 'queued', 0, now(), 0)",
            "UPDATE submissions SET state = 'done', score = 3",
            f"UPDATE users SET pseudonym = 'Quiet Otter' WHERE id = {user_id}",
            "DELETE FROM submissions",
        ]
        seen = [version()]
        for step in steps:
            with engine.begin() as conn:
                conn.execute(text(step))
            seen.append(version())
        # a queued insert changes no board; everything else does
        assert seen[1] > seen[0] and seen[2] == seen[1]
        assert seen[3] > seen[2] and seen[4] > seen[3] and seen[5] > seen[4]
    finally:
        engine.dispose()


def test_claims_and_heartbeats_do_not_invalidate_the_board(
        state, course, people, make_course_assignment, make_submission):
    students, _teacher = people
    ca = make_course_assignment(course=course, assignment_slug="alpha")
    make_submission(user=students[0], course_assignment=ca, state=QUEUED)

    def version() -> int:
        with state.session_factory() as session:
            return session.get(CourseAssignment, ca.id).standings_version

    before = version()
    with state.session_factory() as session:
        job = queue.claim(session, "w")
        queue.heartbeat(session, job.id, job.lease_token)
        assert version() == before
        queue.complete(session, job.id, job.lease_token,
                       GradingResult(status="graded", score=1.0, max_score=10.0))
    assert version() > before
