"""The pages' own logic: math typesetting, highlighted source and diffs, result badges,
time zones, live progress, upload messages, the API page, favicon and class analytics."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import Markup

from grader import progress as grader_progress
from grader.result import CheckResult
from server.blueprints import check_outcome, render_markdown, when
from server.models import RUNNING, Course, CourseAssignment, GradingProgress, Submission, utcnow
from server.services import analytics, highlight, mathml
from server.services import progress as progress_service
from server.services.submissions import clean_filename
from tests.web.conftest import sample_result
from tests.web.toy import toy_pm


@pytest.fixture
def pm():
    return toy_pm()


# --- math ------------------------------------------------------------------------------------

def test_dollar_math_becomes_mathml_and_code_stays_code():
    html = str(render_markdown(
        "Inline $\\sigma(z) = \\frac{1}{1+e^{-z}}$, costs $5 and $6, `$x$` is code.\n\n"
        "$$\n\\frac{\\partial L}{\\partial w_1}\n$$\n\n    $$ indented code $$\n"))
    assert html.count("<math") == 2 and 'display="block"' in html
    assert "<mfrac>" in html and "costs $5 and $6" in html
    assert "<code>$x$</code>" in html and "$$ indented code $$" in html


def test_math_that_cannot_be_typeset_is_shown_as_its_source_not_as_markup():
    assert mathml.to_mathml("\\frac{") .startswith('<code class="math-source">')
    html = str(render_markdown("$<script>alert(1)</script>$"))
    assert "<script>" not in html


@pytest.mark.parametrize("package", ["sigmoid", "mse_loss", "backprop_221", "mnist"])
def test_builtin_handouts_typeset_their_formulas(package):
    import importlib

    module = importlib.import_module(f"assignments.{package}")
    definition = module.neurograde_register_assignments.assignment
    html = str(render_markdown(definition.handout))
    assert html.count("<math") >= 3 and "math-source" not in html


# --- source and diff ---------------------------------------------------------------------------

def test_source_is_highlighted_with_anchored_line_numbers():
    html = str(highlight.source_html("import numpy as np\n\ndef f(x):\n    return '<b>'\n"))
    assert 'class="k">def</span>' in html and 'id="L-4"' in html and 'href="#L-3"' in html
    assert "&lt;b&gt;" in html and "<b>" not in html


def test_diff_lists_removed_and_added_lines_with_both_numbers():
    rows = highlight.diff_lines("a = 1\nb = 2\nc = 3\n", "a = 1\nb = 20\nc = 3\nd = 4\n")
    kinds = [(r.kind, r.old_no, r.new_no) for r in rows]
    assert ("removed", 2, None) in kinds and ("added", None, 2) in kinds
    assert ("added", None, 4) in kinds and highlight.diff_counts(rows) == (2, 1)


def test_diff_page_for_the_author_and_staff_only(client, auth, toy_classroom, make_submission):
    ca = toy_classroom.ca
    old = make_submission(user=toy_classroom.alice, course_assignment=ca,
                          source="def double(x):\n    return x + x\n")
    new = make_submission(user=toy_classroom.alice, course_assignment=ca,
                          source="def double(x):\n    return 2 * x\n")
    other = make_submission(user=toy_classroom.bob, course_assignment=ca)
    url = f"/submissions/diff?old={old.id}&new={new.id}"
    auth.login(toy_classroom.alice)
    page = client.get(url).get_data(as_text=True)
    assert "1 line(s) added, 1 removed" in page and 'class="removed"' in page
    source = client.get(f"/submissions/{new.id}/source").get_data(as_text=True)
    assert 'id="compare-form"' in source and f'value="{old.id}"' in source
    assert client.get(f"/submissions/diff?old={other.id}&new={new.id}").status_code == 404
    auth.login(toy_classroom.bob)
    assert client.get(url).status_code == 404
    auth.login(toy_classroom.teacher)
    assert client.get(url).status_code == 200


# --- badges and times --------------------------------------------------------------------------

@pytest.mark.parametrize(("check", "outcome"), [
    (CheckResult("a", True, 2.0, 2.0, "visible", "ok"), "passed"),
    (CheckResult("a", False, 1.2, 2.0, "hidden", "accuracy 0.91"), "partial"),
    (CheckResult("a", False, 0.0, 2.0, "hidden", "wrong sign"), "failed"),
    (CheckResult("a", False, 0.0, 2.0, "hidden", "not run: time limit"), "not_run"),
])
def test_check_outcomes(check, outcome):
    assert check_outcome(check) == outcome
    assert check_outcome(check.__dict__) == outcome


def test_partial_credit_is_not_shown_as_failed(client, auth, toy_classroom, make_submission,
                                               finish):
    sub = make_submission(user=toy_classroom.alice, course_assignment=toy_classroom.ca)
    finish(sub, sample_result(checks=[
        CheckResult("double_two", True, 1.0, 1.0, "visible", "double(2) == 4"),
        CheckResult("double_random", False, 1.2, 2.0, "hidden", "close")], score=2.2))
    auth.login(toy_classroom.alice)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert 'data-outcome="partial">◐ partial' in page and 'data-outcome="passed">✓ passed' in page
    assert 'data-outcome="failed"' not in page


def test_times_in_the_course_time_zone_with_utc_alongside():
    moment = datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
    assert when(moment) == "2026-12-10 17:00 UTC"
    local = str(when(moment, "Europe/Berlin"))
    assert "2026-12-10 18:00 CET" in local and "(17:00 UTC)" in local
    assert isinstance(when(moment, "Asia/Tokyo"), Markup)
    assert "2026-12-10 17:00 UTC" in str(when(moment, "Asia/Tokyo"))  # other day: full date


def test_deadline_entered_in_the_course_time_zone(client, auth, db, toy_classroom):
    auth.login(toy_classroom.teacher)
    response = client.post("/instructor/c1/time-zone", data={"time_zone": "Mars/Olympus"})
    assert "not a time zone" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post("/instructor/c1/time-zone", data={"time_zone": "America/New_York"})
    client.post("/instructor/c1/assignments/toy", data={
        "deadline": "2031-06-30T18:00", "late_penalty_percent": "0", "enabled": "on"})
    db.expire_all()
    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    assert db.get(Course, toy_classroom.course.id).time_zone == "America/New_York"
    assert ca.deadline.replace(tzinfo=UTC) == datetime(2031, 6, 30, 22, 0, tzinfo=UTC)
    page = client.get("/instructor/c1/assignments/toy").get_data(as_text=True)
    assert 'value="2031-06-30T18:00"' in page and "Deadline (America/New_York)" in page
    auth.login(toy_classroom.alice)
    page = client.get("/courses/c1/").get_data(as_text=True)
    assert "2031-06-30 18:00 EDT" in page and "(22:00 UTC)" in page


# --- live progress ------------------------------------------------------------------------------

def test_worker_side_progress_is_stored_while_grading_and_removed_after(state, make_submission):
    sub = make_submission()
    seen = []
    with progress_service.publishing_progress(state.session_factory, sub.id):
        grader_progress.report("gradient_check", 2, 5)
        with state.session_factory() as session:
            row = session.get(GradingProgress, sub.id)
            seen.append((row.check_name, row.checks_done, row.checks_total))
    with state.session_factory() as session:
        assert session.get(GradingProgress, sub.id) is None
    assert seen == [("gradient_check", 2, 5)]
    grader_progress.report("outside", 0, 1)  # no sink: nothing happens


def test_a_failing_progress_sink_never_disturbs_grading():
    def broken(*_):
        raise RuntimeError("database away")

    with grader_progress.reporting_to(broken):
        grader_progress.report("x", 0, 1)


def test_status_reports_progress_and_queue_estimate(client, auth, state, toy_classroom,
                                                    make_submission, finish):
    ca = toy_classroom.ca
    now = utcnow()
    done = make_submission(user=toy_classroom.bob, course_assignment=ca)
    finish(done)
    with state.session_factory() as session:
        row = session.get(Submission, done.id)
        row.started_at, row.graded_at = now - timedelta(seconds=12), now
        session.commit()
    running = make_submission(user=toy_classroom.alice, course_assignment=ca)
    queued = make_submission(user=toy_classroom.alice, course_assignment=ca)
    with state.session_factory() as session:
        row = session.get(Submission, running.id)
        row.state, row.started_at = RUNNING, now - timedelta(seconds=4)
        session.add(GradingProgress(submission_id=running.id, check_name="speed_check",
                                    checks_done=3, checks_total=7))
        session.commit()
    auth.login(toy_classroom.alice)
    body = client.get(f"/submissions/{running.id}/status").get_json()
    assert body["progress"]["check"] == "speed_check"
    assert (body["progress"]["checks_done"], body["progress"]["checks_total"]) == (3, 7)
    assert 3.5 <= body["progress"]["elapsed_s"] < 60
    body = client.get(f"/submissions/{queued.id}/status").get_json()
    assert body["queue_position"] == 1 and body["estimated_wait_s"] == pytest.approx(12, abs=1)
    page = client.get(f"/submissions/{queued.id}").get_data(as_text=True)
    assert "Waiting in the queue: position" in page and "about 12 s" in page


# --- uploads, help, favicon ----------------------------------------------------------------------

def test_long_file_names_keep_their_extension():
    name = "a" * 300 + ".py"
    assert len(clean_filename(name)) == 255 and clean_filename(name).endswith(".py")


def test_upload_limit_is_the_same_in_the_form_and_in_the_refusal(app, client, auth,
                                                                 toy_classroom):
    app.config["MAX_CONTENT_LENGTH"] = 3 * 1024
    auth.login(toy_classroom.alice)
    form = client.get("/courses/c1/assignments/toy/").get_data(as_text=True)
    promised = re.search(r"at most (\d+) kB", form).group(1)
    response = client.post("/courses/c1/assignments/toy/submit", data={
        "file": (io.BytesIO(b"#" * 5000), "solution.py")}, content_type="multipart/form-data")
    refusal = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"at most {promised} kB" in refusal


def test_api_docs_are_served_to_logged_in_users(client, auth, toy_classroom):
    assert client.get("/help/api").status_code == 302
    auth.login(toy_classroom.alice)
    page = client.get("/help/api").get_data(as_text=True)
    assert "Authorization: Bearer" in page and 'href="/help/api"' in page
    assert client.get("/help/openapi.yaml").status_code == 200
    assert client.get("/help/../pyproject.toml").status_code == 404
    assert client.get("/help/screenshots/../../pyproject.toml").status_code == 404
    settings = client.get("/settings").get_data(as_text=True)
    assert "/help/api" in settings and "docs/api.md" not in settings


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert client.get(response.headers["Location"]).mimetype == "image/svg+xml"


# --- class analytics ----------------------------------------------------------------------------

def test_diagnosis_phrases_group_the_same_mistake_across_runs():
    a = analytics.diagnosis_phrases(
        "on a random 3-4-2 network with m = 5: ∂C/∂W2 (dW2) has the wrong sign; "
        "∂C/∂b1 (db1) is 2× the correct value\nHint: check the sign")
    b = analytics.diagnosis_phrases(
        "on a random 2-3-3-2 network with m = 5: ∂C/∂W2 (dW2) has the wrong sign")
    assert a[0] == b[0] == "∂C/∂W2 (dW2) has the wrong sign" and len(a) == 2
    assert analytics.diagnosis_phrases("expected 0.5, got 0.25") == ["expected …, got …"]
    assert analytics.diagnosis_phrases("not run: time limit") == []


def test_class_analytics_page_and_csv(client, auth, toy_classroom, make_submission, finish,
                                      make_user):
    ca = toy_classroom.ca
    carol = make_user(username="carol", name="Carol", course=toy_classroom.course)
    wrong = "on a random 3-4 network: ∂C/∂w5 has the wrong sign"
    for user, score in ((toy_classroom.alice, 1.0), (toy_classroom.bob, 1.0)):
        sub = make_submission(user=user, course_assignment=ca)
        finish(sub, sample_result(score=score, checks=[
            CheckResult("double_two", True, 1.0, 1.0, "visible", "ok"),
            CheckResult("double_random", False, 0.0, 2.0, "hidden", wrong)]))
    auth.login(toy_classroom.teacher)
    page = client.get("/instructor/c1/analytics/toy").get_data(as_text=True)
    assert "2 of 3" in page  # carol has not submitted
    assert "2 student(s)</strong>: ∂C/∂w5 has the wrong sign" in page
    assert '<svg class="chart"' in page and "<title>Submissions per day</title>" in page
    assert f'/instructor/c1/students/{carol.username}' in page
    body = client.get("/instructor/c1/analytics/toy.csv?kind=checks").get_data(as_text=True)
    assert "double_random,2,2,0,0,1.000" in body and "double_two,2,0,0,2,0.000" in body
    missing = client.get("/instructor/c1/analytics/toy.csv?kind=missing").get_data(as_text=True)
    assert "carol,Carol" in missing and "alice" not in missing
    assert client.get("/instructor/c1/analytics/toy.csv?kind=nope").status_code == 404
    overview = client.get("/instructor/c1/analytics").get_data(as_text=True)
    assert "double_random</code> · 100 %" in overview
    auth.login(toy_classroom.alice)
    assert client.get("/instructor/c1/analytics/toy").status_code == 404
