"""Instructor settings as students see them: an assignment the instructor enables with a
deadline and a daily limit shows up on the students' course page; students cannot reach
instructor pages. (The instructor's own day, with regrades and the CSV export, is in
test_instructor_regrade_flow.py.)"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import COURSE

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]


def test_enable_assignment_and_set_deadline(new_page):
    page = new_page("teacher")
    page.goto(f"/instructor/{COURSE}/assignments")
    page.click("button[data-enable=xor]")
    page.wait_for_url(re.compile(r"/instructor/nn101/assignments/xor$"))
    page.fill("#settings-form input[name=deadline]", "2031-05-17T23:59")
    page.fill("#settings-form input[name=daily_submission_limit]", "7")
    page.click("#settings-form button[type=submit]")
    page.wait_for_load_state()
    assert "Settings saved" in page.content()

    student = new_page("bob")
    student.goto(f"/courses/{COURSE}/")
    row = student.locator("#assignments tr", has_text="XOR")
    assert row.count() == 1
    assert "2031-05-17 23:59 UTC" in row.inner_text() and "7 of 7" in row.inner_text()


def test_student_cannot_reach_instructor_pages(new_page):
    page = new_page("bob")
    for url in (f"/instructor/{COURSE}/", f"/instructor/{COURSE}/grades.csv",
                f"/instructor/{COURSE}/assignments"):
        response = page.goto(url) if not url.endswith(".csv") else page.request.get(url)
        assert response.status in (403, 404), url
