"""An instructor's day in a real browser against a real server with real grading workers.

The instructor logs in, enables an assignment, sets its deadline and policy,
watches two students' submissions grade through the sandbox, switches the
rubric, regrades everyone's latest submission and reads the old → new summary,
opens a submission's source, adds a student to the roster and exports the
grades CSV. Screenshots of each page go to docs/screenshots/.

This module is also the throwaway course plugin the server and its worker
processes load (`EXTRA_PLUGINS`), so the test does not depend on the built-in course.
"""

from __future__ import annotations

import csv
import io
import socket
import threading
from pathlib import Path

import pytest

from plugins import hookimpl
from plugins.types import AssignmentDef, CheckDef, Limits, Outcome, RubricDef, StudentCallError
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]

SHOTS = SCREENSHOTS  # docs/screenshots, or NEUROGRADE_SCREENSHOTS_DIR
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SLUG = "triple"
CORRECT = "def triple(x):\n    return 3 * x\n"
HALF_RIGHT = "def triple(x):\n    return 3 * x if x < 10 else x\n"


# --- the throwaway course plugin -------------------------------------------------------------

def _small(ctx) -> Outcome:
    try:
        got = ctx.call("triple", 2)
    except StudentCallError as error:
        return Outcome(False, str(error))
    return Outcome(got == 6, f"triple(2) returned {got!r}, expected 6")


def _large(ctx) -> Outcome:
    x = int(ctx.rng.integers(100, 1000))
    try:
        got = ctx.call("triple", x)
    except StudentCallError as error:
        return Outcome(False, str(error))
    return Outcome(got == 3 * x, "correct" if got == 3 * x else "wrong for a large number")


@hookimpl
def neurograde_register_assignments():
    return [AssignmentDef(
        slug=SLUG, title="Triple a number", handout="Write `triple(x)`.",
        starter="def triple(x):\n    raise NotImplementedError\n",
        reference_path=Path(__file__), summary="Multiply by three.",
        checks=(CheckDef("small", _small, points=1, visibility="visible"),
                CheckDef("large", _large, points=1, hint="try numbers above 100")),
        limits=Limits(wall_seconds=10, cpu_seconds=10, memory_mb=512),
        default_rubric="triple-default",
    )]


@hookimpl
def neurograde_register_rubrics():
    return [RubricDef("triple-default", SLUG, points={"small": 1, "large": 1}),
            RubricDef("triple-large-matters", SLUG, points={"small": 1, "large": 4})]


# --- a live server ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(tmp_path):
    """A waitress server on a free port plus one grading worker process, on SQLite."""
    waitress = pytest.importorskip("waitress")
    from plugins.manager import get_plugin_manager
    from server.app import create_app
    from server.models import Base
    from server.runtime.worker import start_embedded_workers

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    instance = tmp_path / "instance"
    config = {"INSTANCE_PATH": str(instance),
              "DATABASE_URL": f"sqlite:///{instance / 'live.sqlite3'}",
              "SECRET_KEY": "browser-test", "EMBEDDED_WORKERS": 0,
              "LOAD_PLUGIN_ENTRYPOINTS": False, "EXTRA_PLUGINS": [__name__],
              "POLL_SECONDS": 0.05}
    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(__import__(__name__, fromlist=["_"]), name=__name__)
    app = create_app({**config, "PLUGIN_MANAGER": pm})
    state = app.extensions["neurograde"]
    Base.metadata.create_all(state.engine)
    _seed(state)
    port = _free_port()
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    workers = start_embedded_workers(config, 1)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "state": state}
    finally:
        workers.stop(grace_seconds=5)
        server.close()
        state.engine.dispose()


def _seed(state) -> None:
    from server.models import Course
    from server.services import accounts

    with state.session_factory() as session:
        course = Course(slug="nn101", title="Neural networks from scratch")
        session.add(course)
        session.flush()
        teacher = accounts.create_user(session, "teacher", "teacher-pw", role="instructor",
                                       name="Terry Teacher")
        accounts.enroll(session, teacher, course, "instructor")
        for name in ("alice", "bob"):
            user = accounts.create_user(session, name, f"{name}-pw", name=f"{name.title()} Doe")
            accounts.enroll(session, user, course, "student")
        session.commit()


def _submit(state, username: str, source: str) -> int:
    """Insert a queued submission the way an upload does (and wake the workers)."""
    from sqlalchemy import select

    from server.models import Course, CourseAssignment
    from server.services import accounts
    from server.services.submissions import Upload, create_submission

    with state.session_factory() as session:
        user = accounts.find_user(session, username)
        ca = session.scalar(select(CourseAssignment).join(Course).where(
            Course.slug == "nn101", CourseAssignment.assignment_slug == SLUG))
        return create_submission(session, user, ca, Upload("solution.py", source.encode())).id


def _wait_graded(state, ids: list[int], timeout: float = 60.0) -> None:
    import time

    from server.models import DONE, Submission

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with state.session_factory() as session:
            rows = [session.get(Submission, i) for i in ids]
            if all(r.state == DONE for r in rows):
                assert all(r.status == "graded" for r in rows), [r.result for r in rows]
                return
        time.sleep(0.1)
    raise AssertionError(f"submissions {ids} were not graded within {timeout} s")


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_instructor_enables_sets_deadline_regrades_and_exports(live, browser, tmp_path):
    from playwright.sync_api import expect

    base, state = live["url"], live["state"]
    page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    _login(page, base, "teacher", "teacher-pw")

    # enable the installed assignment and set its policy
    page.goto(f"{base}/instructor/nn101/assignments")
    _shot(page, "instructor-assignments")
    page.click(f"button[data-enable={SLUG}]")
    expect(page.locator(".flash-success")).to_contain_text("Enabled")
    page.fill("input[name=deadline]", "2031-06-30T18:00")
    page.fill("input[name=late_penalty_percent]", "10")
    page.fill("input[name=daily_submission_limit]", "5")
    page.click("#settings-form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Settings saved")
    expect(page.locator("input[name=deadline]")).to_have_value("2031-06-30T18:00")
    _shot(page, "instructor-settings")

    # two students submit; the worker grades them through the sandbox
    ids = [_submit(state, "alice", CORRECT), _submit(state, "bob", HALF_RIGHT)]
    _wait_graded(state, ids)
    page.goto(f"{base}/instructor/nn101/")
    expect(page.locator("body")).to_contain_text("Alice Doe")
    _shot(page, "instructor-dashboard")

    # a heavier rubric for the hidden check, then regrade each student's latest submission
    page.goto(f"{base}/instructor/nn101/assignments/{SLUG}")
    page.select_option("select[name=rubric_name]", "triple-large-matters")
    page.click("#settings-form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Settings saved")
    page.select_option("#regrade-form select[name=scope]", "latest")
    # the regrade asks first, naming how many submissions it queues
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click("#regrade-form button[type=submit]")
    expect(page.locator("#regrade-state")).to_be_visible()
    assert questions and "Regrade 2 submission(s)" in questions[0], questions
    expect(page.locator("#regrade-state")).to_have_text("finished", timeout=60_000)
    summary = page.locator("#regrade-summary")
    alice_row = summary.locator("tr", has_text="alice")
    bob_row = summary.locator("tr", has_text="bob")
    expect(alice_row).to_contain_text("2 / 2")
    expect(alice_row).to_contain_text("5 / 5")
    expect(bob_row).to_contain_text("1 / 2")
    expect(bob_row).to_contain_text("1 / 5")
    _shot(page, "instructor-regrade-summary")

    # any student's source and grading history
    alice_row.locator("a").first.click()
    expect(page.locator("#source")).to_contain_text("return 3 * x")
    expect(page.locator("#history tbody tr")).to_have_count(2)
    _shot(page, "instructor-submission")

    # roster: add one student
    page.goto(f"{base}/instructor/nn101/roster")
    page.fill("#add-student input[name=username]", "carol")
    page.fill("#add-student input[name=name]", "Carol <i>Doe</i>")
    page.fill("#add-student input[name=email]", "carol@example.org")
    page.click("#add-student button[type=submit]")
    expect(page.locator("#roster-report")).to_contain_text("account created and enrolled")
    expect(page.locator("body")).to_contain_text("Carol <i>Doe</i>")  # shown as text
    _shot(page, "instructor-roster")

    # leaderboard with real names for the instructor
    page.goto(f"{base}/courses/nn101/assignments/{SLUG}/leaderboard")
    expect(page.locator("#leaderboard")).to_contain_text("Alice Doe")
    _shot(page, "leaderboard-instructor")

    # export the grades
    page.goto(f"{base}/instructor/nn101/")
    with page.expect_download() as info:
        page.click("text=Export grades (CSV)")
    path = tmp_path / "grades.csv"
    info.value.save_as(path)
    rows = {r[0]: r for r in csv.reader(io.StringIO(path.read_text()))}
    assert rows["username"][3] == f"{SLUG} (/5)"
    assert rows["alice"][3] == "5" and rows["bob"][3] == "1" and rows["carol"][3] == ""

    # a student is refused the instructor pages and sees only pseudonyms
    student = browser.new_page()
    _login(student, base, "alice", "alice-pw")
    response = student.goto(f"{base}/instructor/nn101/")
    assert response.status == 404
    student.goto(f"{base}/courses/nn101/assignments/{SLUG}/leaderboard")
    expect(student.locator("#leaderboard")).not_to_contain_text("Bob Doe")
    expect(student.locator("#leaderboard")).to_contain_text("you")
    _shot(student, "leaderboard-student")
