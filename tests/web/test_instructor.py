"""Instructor pages: dashboard, assignment settings, regrades, submissions, CSV, roster."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from grader.result import GradingResult
from plugins import hookimpl
from plugins.manager import get_plugin_manager
from plugins.types import AssignmentDef, CheckDef, Outcome, RubricDef
from server.models import (
    DONE,
    LANE_REGRADE,
    QUEUED,
    CourseAssignment,
    Enrollment,
    GradingRecord,
    RegradeBatch,
    Submission,
    User,
)
from server.runtime import queue
from server.services import accounts

DEADLINE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _passes(_ctx) -> Outcome:
    return Outcome(True)


class CoursePlugin:
    """Throwaway assignments: `alpha` (two rubrics), `beta` (metric accuracy, higher is
    better) and `gamma` (metric loss, lower is better)."""

    @hookimpl
    def neurograde_register_assignments(self):
        def make(slug, **extra):
            return AssignmentDef(slug=slug, title=f"Assignment {slug}", handout="", starter="",
                                 reference_path=Path(__file__),
                                 checks=(CheckDef("works", _passes, points=10),), **extra)

        return [make("alpha", default_rubric="alpha-default"),
                make("beta", metric="accuracy"),
                make("gamma", metric="loss", metric_higher_is_better=False)]

    @hookimpl
    def neurograde_register_rubrics(self):
        return [RubricDef("alpha-default", "alpha"),
                RubricDef("alpha-strict", "alpha", late_penalty_per_day=0.25)]


def course_plugin_manager():
    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(CoursePlugin(), name="instructor-test-course")
    return pm


@pytest.fixture
def pm():
    return course_plugin_manager()


@pytest.fixture
def course(make_course):
    return make_course(slug="nn101", title="Neural nets")


@pytest.fixture
def teacher(make_user, course, auth):
    user = make_user(username="teacher", role="instructor", course=course)
    auth.login(user)
    return user


@pytest.fixture
def ca(make_course_assignment, course):
    return make_course_assignment(course=course, assignment_slug="alpha", deadline=DEADLINE,
                                  late_penalty_per_day=0.1)


@pytest.fixture
def graded(state, make_submission):
    """`graded(user, ca, score, at=..., **columns)`: a finished submission with one record."""

    def make(user, ca, score, at=DEADLINE - timedelta(hours=1), max_score=10.0, **columns):
        sub = make_submission(user=user, course_assignment=ca, state=DONE, attempts=1,
                              status=columns.pop("status", "graded"), score=score,
                              max_score=max_score, submitted_at=at, graded_at=at,
                              result={"status": "graded", "score": score, "checks": []},
                              **columns)
        with state.session_factory() as session:
            session.add(GradingRecord(submission_id=sub.id, status=sub.status, score=score,
                                      max_score=max_score, result={}, graded_at=at))
            session.commit()
        return sub

    return make


def grade_everything(state, score_of) -> int:
    """Run the real queue: claim every queued job and complete it with `score_of(sub)`."""
    done = 0
    with state.session_factory() as session:
        while (job := queue.claim(session, "test-worker", lease_seconds=30)) is not None:
            result = GradingResult(status="graded", score=score_of(job), max_score=10.0)
            assert queue.complete(session, job.id, job.lease_token, result)
            done += 1
    return done


# --- dashboard -------------------------------------------------------------------------------

def test_dashboard_shows_students_counts_distribution_queue_and_errors(
        client, teacher, course, ca, make_user, graded, make_submission, state):
    alice = make_user(username="alice", name="Alice <b>A</b>", course=course)
    bob = make_user(username="bob", name="Bob B", course=course)
    graded(alice, ca, 10.0)
    graded(alice, ca, 4.0)
    graded(bob, ca, 2.5)
    make_submission(user=bob, course_assignment=ca)  # still queued
    graded(bob, ca, 0.0, status="crashed")
    with state.session_factory() as session:
        running = queue.claim(session, "worker-7", lease_seconds=60)
        assert running is not None

    page = client.get("/instructor/nn101/").get_data(as_text=True)
    assert "Alice &lt;b&gt;A&lt;/b&gt;" in page and "<b>A</b>" not in page
    assert "Bob B" in page
    # 5 submissions by 2 students, best scores 10/10 and 2.5/10 in the last and third bins
    row = page.split('href="/instructor/nn101/assignments/alpha"', 1)[1].split("</tr>")[0]
    assert ">5</a>" in row and '<td data-label="Students" class="num">2</td>' in row
    assert "maximum score: 0, 0, 1, 0, 0, 0, 0, 0, 0, 1" in row
    assert "▁▁█▁▁▁▁▁▁█" in row
    assert "worker-7" in page  # the running job and its worker
    assert "crashed" in page  # recent errors


def test_dashboard_queue_counts_every_course_but_lists_only_this_one(
        client, teacher, course, ca, make_user, make_course, make_course_assignment,
        make_submission, state):
    other = make_course(slug="other")
    other_ca = make_course_assignment(course=other, assignment_slug="alpha")
    outsider = make_user(username="outsider", course=other)
    mine = make_submission(user=make_user(username="alice", course=course),
                           course_assignment=ca)
    theirs = make_submission(user=outsider, course_assignment=other_ca)
    failed = make_submission(user=outsider, course_assignment=other_ca, state=DONE,
                             status="internal_error", attempts=3, graded_at=DEADLINE,
                             last_error="Traceback: secret-path-of-other-course")
    make_submission(user=outsider, course_assignment=other_ca)  # stays queued
    with state.session_factory() as session:  # both courses' jobs are running
        claimed = {queue.claim(session, f"worker-{n}", lease_seconds=60).id for n in (1, 2)}
    assert claimed == {mine.id, theirs.id}

    page = client.get("/instructor/nn101/").get_data(as_text=True)
    panel = page.split("<h2>Grading queue</h2>", 1)[1].split("</section>", 1)[0]
    assert "Queued: <strong>1</strong>" in panel  # the shared queue's counts
    assert "running <strong>2</strong>" in panel and "failed <strong>1</strong>" in panel
    assert f"#{mine.id}<" in panel
    for hidden in (f"#{theirs.id}<", f"#{failed.id}<", "secret-path-of-other-course"):
        assert hidden not in panel, hidden
    assert 'id="failed-jobs"' not in panel


def test_dashboard_says_why_a_queued_job_waits(client, teacher, course, ca, make_user,
                                               make_submission, state):
    """A worker that cannot grade an assignment leaves its jobs queued with the reason."""
    job = make_submission(user=make_user(username="alice", course=course), course_assignment=ca)
    reason = "dataset mnist not prepared on this worker (run `neurograde datasets prepare`)"
    with state.session_factory() as session:
        assert queue.mark_waiting(session, {ca.assignment_slug: reason}) == 1
    panel = client.get("/instructor/nn101/").get_data(as_text=True).split(
        "<h2>Grading queue</h2>", 1)[1].split("</section>", 1)[0]
    waiting = panel.split('id="waiting-jobs"', 1)[1]
    assert f"#{job.id}<" in waiting and "neurograde datasets prepare" in waiting


def test_enable_an_installed_assignment_and_set_its_policy(client, teacher, course, state):
    page = client.get("/instructor/nn101/assignments").get_data(as_text=True)
    assert 'data-enable="alpha"' in page
    response = client.post("/instructor/nn101/assignments", data={"slug": "alpha"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/instructor/nn101/assignments/alpha")

    rubric = "alpha-strict"
    response = client.post("/instructor/nn101/assignments/alpha", data={
        "deadline": "2026-12-01T09:30", "late_penalty_percent": "12.5",
        "hard_cutoff": "2026-12-03T09:30", "daily_submission_limit": "5",
        "rubric_name": rubric, "enabled": "on"})
    assert response.status_code == 302
    with state.session_factory() as session:
        ca = session.scalar(select(CourseAssignment).where(CourseAssignment.course_id == course.id))
        assert ca.assignment_slug == "alpha" and ca.enabled
        assert ca.deadline.replace(tzinfo=UTC) == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
        assert ca.hard_cutoff.replace(tzinfo=UTC) == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
        assert ca.late_penalty_per_day == pytest.approx(0.125)
        assert ca.daily_submission_limit == 5
        assert ca.rubric_name == rubric


def test_enabling_an_unknown_assignment_is_refused(client, teacher, course, state):
    response = client.post("/instructor/nn101/assignments", data={"slug": "no-such-thing"},
                           follow_redirects=True)
    assert "No installed plugin provides" in response.get_data(as_text=True)
    with state.session_factory() as session:
        assert session.scalar(select(CourseAssignment)) is None


def test_invalid_settings_are_explained_and_nothing_is_saved(client, teacher, ca, state):
    response = client.post("/instructor/nn101/assignments/alpha", data={
        "deadline": "next tuesday", "late_penalty_percent": "150",
        "daily_submission_limit": "-2", "rubric_name": "<script>x</script>", "enabled": "on"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "YYYY-MM-DD" in page and "between 0 and 100" in page and "whole number" in page
    assert "no rubric" in page and "<script>x</script>" not in page
    with state.session_factory() as session:
        row = session.get(CourseAssignment, ca.id)
        assert row.late_penalty_per_day == pytest.approx(0.1)
        assert row.daily_submission_limit is None


def test_a_cutoff_before_the_deadline_is_refused(client, teacher, ca):
    response = client.post("/instructor/nn101/assignments/alpha", data={
        "deadline": "2026-12-05T00:00", "hard_cutoff": "2026-12-01T00:00",
        "late_penalty_percent": "0"})
    assert "must not be before the deadline" in response.get_data(as_text=True)


# --- regrades --------------------------------------------------------------------------------

@pytest.mark.parametrize("scope, expected", [
    ("all", {"a1", "a2", "a3", "b1"}), ("latest", {"a3", "b1"}), ("best", {"a2", "b1"})])
def test_regrade_scopes_requeue_the_right_rows_on_the_regrade_lane(
        client, teacher, course, ca, make_user, graded, state, scope, expected):
    alice = make_user(username="alice", course=course)
    bob = make_user(username="bob", course=course)
    t0 = DEADLINE - timedelta(days=3)
    subs = {"a1": graded(alice, ca, 3.0, at=t0), "a2": graded(alice, ca, 9.0, at=t0 + timedelta(1)),
            "a3": graded(alice, ca, 5.0, at=t0 + timedelta(2)),
            "b1": graded(bob, ca, 7.0, at=t0)}
    response = client.post("/instructor/nn101/assignments/alpha/regrade", data={"scope": scope})
    assert response.status_code == 302 and "/regrades/" in response.headers["Location"]
    with state.session_factory() as session:
        batch = session.scalars(select(RegradeBatch)).one()
        assert batch.scope == scope and batch.requested_by == teacher.id
        requeued = {name for name, sub in subs.items()
                    if session.get(Submission, sub.id).state == QUEUED}
        assert requeued == expected
        for name in expected:
            row = session.get(Submission, subs[name].id)
            assert (row.lane, row.attempts, row.regrade_batch_id) == (LANE_REGRADE, 0, batch.id)


def test_regrade_runs_through_the_queue_and_summarises_old_to_new(
        client, teacher, course, ca, make_user, graded, state):
    alice = make_user(username="alice", course=course)
    bob = make_user(username="bob", course=course)
    a = graded(alice, ca, 4.0)
    b = graded(bob, ca, 6.0)
    client.post("/instructor/nn101/assignments/alpha/regrade", data={"scope": "all"})
    with state.session_factory() as session:
        batch_id = session.scalars(select(RegradeBatch.id)).one()

    pending = client.get(f"/instructor/nn101/regrades/{batch_id}").get_data(as_text=True)
    assert "in progress" in pending and 'http-equiv="refresh"' in pending

    new_scores = {a.id: 7.0, b.id: 6.0}
    assert grade_everything(state, lambda job: new_scores[job.id]) == 2

    page = client.get(f"/instructor/nn101/regrades/{batch_id}").get_data(as_text=True)
    assert "finished" in page and 'http-equiv="refresh"' not in page
    assert "1 changed score" in page
    alice_row = page.split(f"#{a.id}</a>", 1)[1].split("</tr>")[0]
    assert "4 / 10" in alice_row and "7 / 10" in alice_row and "+3" in alice_row
    with state.session_factory() as session:  # the history keeps both grades
        history = session.scalars(select(GradingRecord.score).where(
            GradingRecord.submission_id == a.id).order_by(GradingRecord.id)).all()
        assert history == [4.0, 7.0]


def test_regrade_one_submission_from_its_page(client, teacher, course, ca, make_user, graded,
                                              state):
    alice = make_user(username="alice", course=course)
    a1, a2 = graded(alice, ca, 4.0), graded(alice, ca, 5.0)
    page = client.get(f"/instructor/nn101/submissions/{a1.id}").get_data(as_text=True)
    assert 'name="scope" value="one"' in page
    client.post("/instructor/nn101/assignments/alpha/regrade",
                data={"scope": "one", "submission_id": str(a1.id)})
    with state.session_factory() as session:
        assert session.get(Submission, a1.id).state == QUEUED
        assert session.get(Submission, a2.id).state == DONE


def test_regrading_nothing_says_so(client, teacher, ca, state):
    response = client.post("/instructor/nn101/assignments/alpha/regrade",
                           data={"scope": "all"}, follow_redirects=True)
    assert "no finished submission" in response.get_data(as_text=True)
    with state.session_factory() as session:
        assert session.scalar(select(RegradeBatch)) is None


# --- submissions and source ------------------------------------------------------------------

def test_instructor_sees_any_students_submission_source_escaped(
        client, teacher, course, ca, make_user, graded):
    alice = make_user(username="alice", name="Alice", course=course)
    source = "def sigmoid(z):\n    return '</code><script>alert(1)</script>'\n"
    sub = graded(alice, ca, 3.0, source=source)
    listing = client.get("/instructor/nn101/assignments/alpha/submissions").get_data(as_text=True)
    assert f"/instructor/nn101/submissions/{sub.id}" in listing
    student_page = client.get("/instructor/nn101/students/alice").get_data(as_text=True)
    assert f"#{sub.id}" in student_page
    page = client.get(f"/instructor/nn101/submissions/{sub.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    # highlighted with line numbers: the text survives once the token spans are removed
    source_html = page.split('id="source"', 1)[1].split("</table>", 1)[0]
    assert "def sigmoid(z):" in re.sub(r"<[^>]+>", "", source_html)
    assert 'class="k">def</span>' in source_html and 'href="#L-2"' in source_html


# --- grades CSV ------------------------------------------------------------------------------

def test_grades_csv_one_row_per_student_best_score_after_penalties(
        client, teacher, course, ca, make_user, make_course_assignment, graded, state):
    with state.session_factory() as session:
        row = session.get(CourseAssignment, ca.id)
        row.hard_cutoff = DEADLINE + timedelta(days=3)
        session.commit()
        ca = row
    second = make_course_assignment(course=course, assignment_slug="beta")
    alice = make_user(username="alice", name="Alice", email="a@example.org", course=course)
    bob = make_user(username="bob", name="=HYPERLINK(1)", course=course)
    make_user(username="carol", name="\t=1+2", email="\r@x", course=course)  # no submissions
    graded(alice, ca, 6.0)  # on time
    graded(alice, ca, 10.0, at=DEADLINE + timedelta(hours=30))  # 2 days late: 10 * 0.8 = 8
    graded(bob, ca, 9.0, at=DEADLINE + timedelta(days=1, hours=1))  # 2 days: 7.2
    graded(bob, ca, 10.0, at=DEADLINE + timedelta(days=4))  # after the cutoff: 0
    graded(bob, second, 3.0)
    graded(bob, second, 9.0, status="internal_error")  # never a grade

    response = client.get("/instructor/nn101/grades.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["username", "name", "email", "alpha (/10)", "beta (/10)"]
    by_user = {r[0]: r for r in rows[1:]}
    assert set(by_user) == {"alice", "bob", "carol"}  # the instructor is not a row
    assert by_user["alice"][3:] == ["8", ""]
    assert by_user["bob"][3:] == ["7.2", "3"]
    assert by_user["bob"][1] == "'=HYPERLINK(1)"  # no formula injection
    assert by_user["carol"][3:] == ["", ""]
    assert by_user["carol"][1:3] == ["'\t=1+2", "'\r@x"]


# --- roster ----------------------------------------------------------------------------------

def test_add_one_student_creates_an_account_that_can_log_in(client, teacher, course, state):
    response = client.post("/instructor/nn101/roster",
                           data={"username": "dora", "name": "Dora D", "email": "d@example.org"})
    page = response.get_data(as_text=True)
    assert "account created and enrolled" in page
    password = page.split("<code>", 1)[1].split("</code>", 1)[0]
    with state.session_factory() as session:
        dora = accounts.find_user(session, "dora")
        assert accounts.verify_password(dora, password)
        assert dora.name == "Dora D" and dora.pseudonym == "" and dora.role == "student"
        enrolment = session.scalar(select(Enrollment).where(Enrollment.user_id == dora.id))
        assert (enrolment.course_id, enrolment.role) == (course.id, "student")


def test_roster_csv_upload_reports_every_row(client, teacher, course, make_user, state):
    make_user(username="erin")  # exists, not enrolled yet
    make_user(username="frank", course=course)  # already enrolled
    data = ("username,name,email\n"
            "gina,Gina G,g@example.org\n"
            "erin,Erin,e@example.org\n"
            "frank,Frank,f@example.org\n"
            "bad name!,X,x@example.org\n"
            "hugo,Hugo,not-an-email\n"
            ",Nobody,n@example.org\n"
            "ivan,Ivan,i@example.org,extra\n"
            "<img src=x onerror=alert(1)>,Evil,\n")
    response = client.post("/instructor/nn101/roster", data={
        "csv_file": (io.BytesIO(data.encode()), "students.csv")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    report = page.split('id="roster-report"', 1)[1].split("</table>", 1)[0]
    lines = {int(cells[0]): cells for cells in _rows(report)}
    assert "account created" in lines[2][2]
    assert "existing account invited" in lines[3][2]  # she must accept first
    assert "already enrolled" in lines[4][2]
    assert "username" in lines[5][2].lower()
    assert "not an email address" in lines[6][2]
    assert "username is missing" in lines[7][2]
    assert "expected 3 columns" in lines[8][2]
    assert "<img src=x" not in page and "&lt;img src=x" in page
    with state.session_factory() as session:
        enrolled = set(session.scalars(
            select(User.username).join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.course_id == course.id, Enrollment.role == "student")))
    assert enrolled == {"gina", "frank"}
    assert 'id="invited"' in page and "erin" in page.split('id="invited"', 1)[1]


def test_roster_upload_that_is_not_utf8_is_explained(client, teacher, course):
    response = client.post("/instructor/nn101/roster", data={
        "csv_file": (io.BytesIO("zoë,Zoë,z@example.org\n".encode("utf-16")), "s.csv")},
        content_type="multipart/form-data")
    assert "not UTF-8" in response.get_data(as_text=True)


def _rows(table_html: str) -> list[list[str]]:
    import re

    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table_html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if cells and cells[0].isdigit():
            rows.append(cells)
    return rows


# --- rules in isolation ----------------------------------------------------------------------

@pytest.mark.parametrize("late, kept", [
    (timedelta(0), 1.0), (timedelta(seconds=-1), 1.0), (timedelta(seconds=1), 0.9),
    (timedelta(days=1), 0.9), (timedelta(days=1, seconds=1), 0.8), (timedelta(days=12), 0.0)])
def test_late_penalty_counts_started_days(late, kept):
    from server.services.grades import penalty_factor

    ca = CourseAssignment(deadline=DEADLINE, late_penalty_per_day=0.1, hard_cutoff=None)
    assert penalty_factor(DEADLINE + late, ca) == pytest.approx(kept)
    naive = (DEADLINE + late).replace(tzinfo=None)  # as SQLite hands it back
    assert penalty_factor(naive, ca) == pytest.approx(kept)


def test_no_deadline_means_no_penalty_and_the_cutoff_wins():
    from server.services.grades import penalty_factor

    assert penalty_factor(DEADLINE, CourseAssignment(deadline=None, late_penalty_per_day=0.5,
                                                     hard_cutoff=None)) == 1.0
    ca = CourseAssignment(deadline=None, late_penalty_per_day=0.0, hard_cutoff=DEADLINE)
    assert penalty_factor(DEADLINE, ca) == 1.0
    assert penalty_factor(DEADLINE + timedelta(seconds=1), ca) == 0.0


def test_fresh_submissions_are_graded_before_a_regrade(client, teacher, course, ca, make_user,
                                                       graded, make_submission, state):
    alice = make_user(username="alice", course=course)
    old = [graded(alice, ca, 1.0) for _ in range(3)]
    client.post("/instructor/nn101/assignments/alpha/regrade", data={"scope": "all"})
    fresh = make_submission(user=make_user(username="bob", course=course), course_assignment=ca)
    with state.session_factory() as session:
        order = []
        while (job := queue.claim(session, "w", lease_seconds=30)) is not None:
            order.append(job.id)
            queue.complete(session, job.id, job.lease_token,
                           GradingResult(status="graded", score=1.0, max_score=10.0))
    assert order[0] == fresh.id and sorted(order[1:]) == sorted(s.id for s in old)
