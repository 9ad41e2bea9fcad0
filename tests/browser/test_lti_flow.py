"""From inside an LMS: the instructor adds a neurograde assignment by deep linking, a
student launches, submits in the browser, is graded by the real sandbox, and the score
(late penalty applied) reaches the LMS's AGS endpoint once; a regrade updates it.

The LMS is tests.lti.platform on its own HTTP server; the launches are real browser
navigations through its auto-posted forms (OIDC login, signed id_token)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from server.lti import platforms
from server.lti.models import LtiContext
from server.models import CourseAssignment
from tests.browser.conftest import shot
from tests.lti.platform import Platform, ServedPlatform

SIGMOID = ("import numpy as np\n\n"
           "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(z, dtype=float),"
           " -500, 500)))\n\n"
           "def sigmoid_prime(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n\n"
           "def neuron(weights, bias, x):\n"
           "    return float(sigmoid(np.dot(weights, x) + bias))\n")


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_lms_instructor_deep_links_and_student_score_passes_back(site, browser):
    lms = Platform(context={"id": "ctx-browser", "label": "NN-LMS",
                            "title": "Neural networks in the LMS"})
    lms.add_member("teacher-9", "Tess Teacher", "Instructor")
    lms.add_member("student-9", "Sam Student", "Learner")
    with ServedPlatform(lms):
        lms.tool_login_url, lms.tool_launch_url = site.url + "/lti/login", site.url + "/lti/launch"
        lms.tool_jwks_url = site.url + "/.well-known/jwks.json"
        with site.session() as session:
            platforms.register_platform(session, **lms.registration())
            session.commit()

        # the instructor adds sigmoid from the LMS (deep linking)
        teacher = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        teacher.set_default_timeout(20_000)
        teacher.goto(lms.launch_url("teacher-9"))
        teacher.wait_for_url(re.compile(r"/lti/deep-link$"))
        shot(teacher, "lti-deep-link")
        teacher.check("input[value=sigmoid]")
        teacher.click("#deep-link button[type=submit]")
        expect(teacher.locator("#added")).to_contain_text("Sigmoid", ignore_case=True)
        link = next(iter(lms.resource_links))
        assert len(lms.line_items) == 1

        # the instructor's policy: deadline 12 h ago, 10 % per started late day
        with site.session() as session:
            context = session.query(LtiContext).filter_by(context_id="ctx-browser").one()
            ca = session.query(CourseAssignment).filter_by(
                course_id=context.course_id, assignment_slug="sigmoid").one()
            ca.deadline = datetime.now(UTC) - timedelta(hours=12)
            ca.late_penalty_per_day = 0.1
            session.commit()

        # the student launches the link, submits, and is graded
        student = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        student.set_default_timeout(20_000)
        student.goto(lms.launch_url("student-9", link))
        student.wait_for_url(re.compile(r"/assignments/sigmoid/$"))
        student.set_input_files("input[name=file]", files=[{
            "name": "solution.py", "mimeType": "text/x-python", "buffer": SIGMOID.encode()}])
        student.click("#upload-form button[type=submit]")
        student.wait_for_url(re.compile(r"/submissions/\d+$"))
        student.wait_for_selector("#live[data-done=true]", timeout=120_000)
        shot(student, "lti-student-graded")

        # a grading worker posts the score: once, one day late -> 90 %
        wait_for(lambda: len(lms.scores) >= 1, timeout=90)
        first = lms.scores[0]
        assert first["userId"] == "student-9" and first["lineitem"] == lms.line_items[0]["id"]
        assert first["scoreGiven"] == round(0.9 * first["scoreMaximum"], 6)
        time.sleep(6)  # longer than a worker's passback interval
        assert len(lms.scores) == 1 and lms.score_posts == [("student-9", 200)]

        # the instructor raises the penalty to 20 % and regrades from the LMS link
        teacher.goto(lms.launch_url("teacher-9", link))
        teacher.wait_for_url(re.compile(r"/instructor/.+/assignments/sigmoid$"))
        teacher.fill("input[name=late_penalty_percent]", "20")
        teacher.click("#settings-form button[type=submit]")
        teacher.select_option("#regrade-form select[name=scope]", "latest")
        teacher.once("dialog", lambda dialog: dialog.accept())  # "Regrade N submissions?"
        teacher.click("#regrade-form button[type=submit]")
        expect(teacher.locator("#regrade-state")).to_have_text("finished", timeout=90_000)
        wait_for(lambda: len(lms.scores) >= 2, timeout=90)
        assert lms.scores[1]["scoreGiven"] == round(0.8 * lms.scores[1]["scoreMaximum"], 6)
        assert all(sub == "student-9" for sub, _ in lms.score_posts)
