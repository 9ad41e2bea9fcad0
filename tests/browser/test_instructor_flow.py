"""An instructor in the browser: enable an assignment and set its deadline (students
see it), regrade an assignment through the real workers, export the grades CSV."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest

from tests.browser.conftest import COURSE, shot
from tests.browser.test_student_flow import CORRECT, upload, wait_graded

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
    shot(page, "instructor-assignment-settings")

    student = new_page("bob")
    student.goto(f"/courses/{COURSE}/")
    row = student.locator("#assignments tr", has_text="XOR")
    assert row.count() == 1
    assert "2031-05-17 23:59 UTC" in row.inner_text() and "7 of 7" in row.inner_text()


def test_regrade_and_export_csv(new_page):
    alice = new_page("alice")
    upload(alice, CORRECT)
    wait_graded(alice)

    page = new_page("teacher")
    page.goto(f"/instructor/{COURSE}/assignments/sigmoid")
    page.select_option("#regrade-form select[name=scope]", "all")
    page.click("#regrade-form button[type=submit]")
    page.wait_for_url(re.compile(r"/regrades/\d+$"))
    deadline = time.monotonic() + 90
    while "finished" not in page.locator("#regrade-state").inner_text():
        assert time.monotonic() < deadline, "regrade did not finish"
        time.sleep(1)
        page.reload()
    assert page.locator("#regrade-summary tbody tr").count() >= 1
    assert "alice" in page.locator("#regrade-summary").inner_text()
    shot(page, "instructor-regrade-finished")

    response = page.request.get(f"/instructor/{COURSE}/grades.csv")
    assert response.ok and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text())))
    alice_row = next(r for r in rows if "alice" in r.values())
    sigmoid_column = next(k for k in alice_row if "sigmoid" in k)
    assert float(alice_row[sigmoid_column]) > 0


def test_student_cannot_reach_instructor_pages(new_page):
    page = new_page("bob")
    for url in (f"/instructor/{COURSE}/", f"/instructor/{COURSE}/grades.csv",
                f"/instructor/{COURSE}/assignments"):
        response = page.goto(url) if not url.endswith(".csv") else page.request.get(url)
        assert response.status in (403, 404), url
