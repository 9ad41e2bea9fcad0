"""The pages at a phone's width (390 px) and a desktop's (1280 px), in light and dark:
no page scrolls sideways, dark mode is dark, and each point of the layout review holds
(breadcrumbs, handout first, typeset math, outcome badges with words, one assignment
order, labelled forms, time zones, live progress, source and diff, leaderboard headers,
class analytics, API page, favicon). An axe-core audit of the main student and
instructor pages finds no serious or critical violation.

One browser for the module, one page load per page: the four views are the same page
resized and re-coloured."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from assignments.sigmoid import neurograde_register_assignments as sigmoid_hook
from server.models import Course, CourseAssignment, Submission, User, utcnow
from server.services import submissions as subs_service
from tests.browser.conftest import COURSE, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]
log = logging.getLogger(__name__)

VIEWS = [(390, "light"), (390, "dark"), (1280, "light"), (1280, "dark")]
ROOT = Path(__file__).resolve().parents[2]
#: where axe-core is installed from the npm registry (NEUROGRADE_AXE_DIR overrides)
AXE_DIR = Path(os.environ.get("NEUROGRADE_AXE_DIR") or ROOT / ".cache" / "axe")
AXE_VERSION = "4.10"
TIME_ZONE = "Europe/Berlin"

CORRECT = sigmoid_hook.assignment.reference_path.read_text()
assert "return float(sigmoid(total))" in CORRECT and "    total = np.dot(" in CORRECT
# a right sigmoid whose neuron forgets the activation: partial credit, a diagnosis
WRONG = CORRECT.replace("return float(sigmoid(total))", "return float(total)")
# correct, but each neuron call takes a moment: the page sees checks run one by one
SLOW = CORRECT.replace("    total = np.dot(",
                       "    __import__('time').sleep(0.6)\n    total = np.dot(")


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe.min.js from the npm registry's axe-core, installed once into AXE_DIR."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("the accessibility audit needs npm (Debian package npm)")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund",
                        "--no-save", f"axe-core@{AXE_VERSION}"], check=True, timeout=300,
                       capture_output=True)
    return script.read_text()


@pytest.fixture(scope="module")
def world(site):
    """alice: a partial, a full and a slow submission of sigmoid; bob: a partial one.
    The course gets a time zone and deadlines (restored afterwards)."""
    state = site.app.extensions["neurograde"]
    with site.session() as session:
        course = session.query(Course).filter_by(slug=COURSE).one()
        old_zone, course.time_zone = course.time_zone, TIME_ZONE
        cas = {ca.assignment_slug: ca for ca in course.assignments}
        old_deadlines = {slug: ca.deadline for slug, ca in cas.items()}
        cas["sigmoid"].deadline = utcnow() + timedelta(days=2, hours=3)
        cas["mse-loss"].deadline = utcnow() + timedelta(days=9)
        session.commit()
        ids = [_submit(session, state, "alice", WRONG), _submit(session, state, "bob", WRONG),
               _submit(session, state, "alice", CORRECT)]
    _wait_done(site, ids)
    yield {"partial": ids[0], "bob": ids[1], "full": ids[2]}
    with site.session() as session:
        course = session.query(Course).filter_by(slug=COURSE).one()
        course.time_zone = old_zone
        for ca in course.assignments:
            if ca.assignment_slug in old_deadlines:
                ca.deadline = old_deadlines[ca.assignment_slug]
        session.commit()


def _submit(session, state, username: str, source: str) -> int:
    user = session.query(User).filter_by(username=username).one()
    ca = session.query(CourseAssignment).filter_by(assignment_slug="sigmoid").join(Course).filter(
        Course.slug == COURSE).one()
    sub = subs_service.create_submission(
        session, user, ca, subs_service.Upload(f"{username}.py", source.encode()))
    return sub.id


def _wait_done(site, ids: list[int], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with site.session() as session:
            if all(session.get(Submission, i).state == "done" for i in ids):
                return
        time.sleep(0.2)
    raise AssertionError(f"submissions {ids} were not graded in {timeout} s")


@pytest.fixture(scope="module")
def context(browser, site):
    # bypass_csp only so the audit can inject axe; the pages themselves are unchanged
    ctx = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900},
                              bypass_csp=True)
    yield ctx
    ctx.close()


def _page_as(context, username: str):
    page = context.new_page()
    page.set_default_timeout(20_000)
    context.clear_cookies()
    login(page, username)
    return page


def views(page, name: str, shots: tuple[tuple[int, str], ...] = ()) -> None:
    """At each width and scheme: the page never scrolls sideways, and dark mode is dark."""
    for width, scheme in VIEWS:
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme=scheme)
        wide = page.evaluate("""() => {
            const w = innerWidth, s = document.scrollingElement.scrollWidth;
            if (s <= w) return null;
            const culprits = [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > w + 1)
              .slice(-3).map(e => e.tagName + '.' + e.className + '#' + e.id);
            return [s, w, culprits];
        }""")
        assert wide is None, (name, width, scheme, wide)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert _luminance(background) < 0.2 if scheme == "dark" else _luminance(background) > 0.8
        if (width, scheme) in shots:
            shot(page, f"{name}-{width}-{scheme}" if (width, scheme) != (1280, "light")
                 else name)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(color_scheme="light")


def _luminance(css_rgb: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css_rgb)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def crumbs(page) -> list[str]:
    return [x.strip() for x in page.locator("nav.crumbs li").all_inner_texts()]


AUDIT: dict[str, dict[str, int]] = {}


def audit(page, name: str, axe: str) -> None:
    """axe-core at both widths in light and dark: no serious or critical violation."""
    for width, scheme in VIEWS:
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme=scheme)
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=axe)
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length,
                                           target: v.nodes[0].target.join(' ')}));
        }""")
        counts = AUDIT.setdefault(scheme, {})
        for violation in result:
            counts[violation["impact"]] = counts.get(violation["impact"], 0) + violation["n"]
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, (name, width, scheme, bad)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(color_scheme="light")


def test_student_pages(context, world, axe_source):
    page = _page_as(context, "alice")
    course_url = f"/courses/{COURSE}/"

    page.goto(course_url)
    assert crumbs(page) == ["Courses", "Neural networks from scratch"]
    titles = page.locator("#assignments tbody tr td:first-child strong").all_inner_texts()
    assert titles[:2] == ["The sigmoid neuron", "Mean squared error loss"]
    row = page.locator("#assignments tr", has_text="sigmoid neuron").inner_text()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T \(.*UTC\)", row), row
    assert "✓ passed" in row  # the best score's outcome, in words
    views(page, "course", shots=((390, "light"), (390, "dark"), (1280, "light")))
    audit(page, "course", axe_source)

    page.goto(f"{course_url}assignments/sigmoid/")
    handout, form = page.locator("#handout"), page.locator("#submit")
    assert handout.bounding_box()["y"] < form.bounding_box()["y"]  # the handout first
    assert page.locator("#handout math").count() >= 5
    assert page.locator("h1").count() == 1 or not page.locator(".handout h1").first.is_visible()
    assert "at most 256 kB" in page.locator("label[for=file]").inner_text()
    views(page, "assignment", shots=((390, "light"), (1280, "dark"), (1280, "light")))
    audit(page, "assignment", axe_source)

    page.goto(f"/submissions/{world['partial']}")
    badges = page.locator("#checks [data-outcome]")
    words = set(badges.all_inner_texts())
    assert "✓ passed" in words and ("✗ failed" in words or "◐ partial" in words)
    assert page.locator("#outcome").inner_text().strip() == "◐ partial"
    views(page, "submission-partial", shots=((390, "dark"), (1280, "light")))
    audit(page, "submission", axe_source)

    page.goto(f"/submissions/{world['full']}/source")
    assert page.locator("#source td.linenos").count() == 1
    assert page.locator("#source .k", has_text="def").count() >= 3
    views(page, "source", shots=((390, "light"),))
    page.select_option("#diff-old", str(world["partial"]))
    page.click("#compare-form button")
    page.wait_for_url(re.compile(r"/submissions/diff"))
    assert page.locator("#diff tr.added").count() >= 1
    assert page.locator("#diff tr.removed").count() >= 1
    views(page, "source-diff", shots=((1280, "light"), (390, "dark")))
    audit(page, "diff", axe_source)

    page.goto(f"/courses/{COURSE}/leaderboard")
    headers = page.locator("#leaderboard thead th").all_inner_texts()
    assert "THE SIGMOID NEURON" in [h.upper() for h in headers]
    assert not any(h.lower() == "sigmoid" for h in headers)  # titles, not slugs
    me = page.locator("#leaderboard tr.you").inner_text()
    n = page.locator("#leaderboard thead th.num").count() - 2
    assert f"1 of {n}" in me, me  # assignments scored out of all enabled
    assert crumbs(page)[-1] == "Leaderboard"
    views(page, "leaderboard-student", shots=((390, "light"), (1280, "light")))
    audit(page, "leaderboard", axe_source)

    page.goto("/settings")
    page.click("a[href='/help/api']")
    assert "Authorization: Bearer" in page.locator("#api-docs").inner_text()
    views(page, "api-docs", shots=((390, "light"),))
    icon = page.evaluate("document.querySelector('link[rel=icon]').href")
    assert page.request.get(icon).status == 200 and page.request.get("/favicon.ico").ok


def test_live_progress_shows_elapsed_time_and_checks(context, world):
    page = _page_as(context, "alice")
    page.goto(f"/courses/{COURSE}/assignments/sigmoid/")
    long_name = "my_" + "very_" * 60 + "long_solution.py"  # over 255 characters
    page.set_input_files("input[name=file]", files=[{
        "name": long_name, "mimeType": "text/x-python", "buffer": SLOW.encode()}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/submissions/\d+$"))  # accepted, not "not ending in .py"
    shown = page.locator("#live a code").inner_text()
    assert len(shown) == 255 and shown.startswith("my_very_") and shown.endswith(".py")
    text = page.locator("#waiting-text")
    # while it runs: the running check's name, checks done so far, a ticking clock
    page.wait_for_function(
        "() => /running \\w+/.test(document.getElementById('waiting-text').textContent)"
        " && /\\d+ of \\d+/.test(document.getElementById('checks-done').textContent)",
        timeout=60_000)
    assert re.search(r"running \w.*…", text.inner_text())
    views(page, "submission-progress", shots=((390, "light"), (1280, "light")))
    first = page.locator("#elapsed").inner_text()
    page.wait_for_function(
        "s => document.getElementById('elapsed').textContent !== s", arg=first, timeout=5_000)
    page.wait_for_selector("#live[data-done=true]", timeout=60_000)
    assert page.locator("#outcome").inner_text().strip() == "✓ passed"


def test_instructor_pages(context, world, axe_source, site):
    page = _page_as(context, "teacher")
    base = f"/instructor/{COURSE}"

    page.goto(f"{base}/")
    assert crumbs(page) == ["Instructor", "Neural networks from scratch"]
    order = page.locator("#dashboard-assignments tbody td:first-child a").all_inner_texts()
    student_order = ["The sigmoid neuron", "Mean squared error loss"]
    assert order[:2] == student_order  # the teaching order, as on the students' pages
    views(page, "instructor-dashboard", shots=((390, "light"), (1280, "dark"),
                                               (1280, "light")))
    audit(page, "dashboard", axe_source)

    page.goto(f"{base}/assignments/sigmoid")
    form = page.locator("#settings-form")
    for control in form.locator("input:not([type=hidden]), select").all():
        control_id = control.get_attribute("id")
        has_label = (control_id and page.locator(f"label[for='{control_id}']").count()) or \
            control.evaluate("e => !!e.closest('label')")
        assert has_label, control.evaluate("e => e.outerHTML")
    assert f"Deadline ({TIME_ZONE})" in form.inner_text()
    assert "UTC" in page.locator("#deadline-hint").inner_text()
    scope = page.locator("#regrade-form select")
    assert page.locator("label[for=regrade-scope]").count() == 1
    assert re.search(r"\(\d+\)", scope.locator("option").first.inner_text())
    views(page, "instructor-settings", shots=((390, "light"), (1280, "light")))
    audit(page, "assignment settings", axe_source)

    page.goto(f"{base}/submissions/{world['partial']}")
    assert page.locator("#checks [data-outcome]").count() >= 2
    assert page.locator("#source td.linenos").count() == 1
    views(page, "instructor-submission", shots=((390, "light"), (1280, "light")))
    audit(page, "instructor submission", axe_source)

    page.goto(f"{base}/roster")
    for control in page.locator("#add-student input:not([type=hidden]), "
                                "#upload-roster input:not([type=hidden])").all():
        assert page.locator(f"label[for='{control.get_attribute('id')}']").count() == 1
    views(page, "instructor-roster", shots=((1280, "light"),))

    page.goto(f"{base}/analytics")
    page.locator("#analytics-overview a", has_text="sigmoid neuron").click()
    page.wait_for_url(re.compile(r"/analytics/sigmoid$"))
    assert page.locator("#check-failures svg.chart").count() == 1
    assert page.locator("#timeline svg.chart line.deadline").count() == 1
    assert page.locator("#scores svg.chart rect.bar").count() == 10
    common = page.locator("#diagnoses li").first.inner_text()
    assert common.startswith("2 student(s)"), common  # alice and bob made the same mistake
    link = page.locator("#diagnoses li a").first.get_attribute("href")
    assert re.search(r"/instructor/nn101/submissions/\d+$", link)
    with page.expect_download() as download:
        page.locator("#check-failures a[download]").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0].startswith("check,students,failed")
    views(page, "instructor-analytics", shots=((390, "light"), (1280, "dark"),
                                               (1280, "light")))
    audit(page, "analytics", axe_source)
    log.info("axe violations by impact: %s", json.dumps(AUDIT))
    assert not any(AUDIT.get(s, {}).get(i) for s in ("light", "dark")
                   for i in ("serious", "critical"))


def test_queue_position_comes_with_an_estimate(context, world, site):
    """Both workers busy: a fresh submission waits, and says where and for how long."""
    page = _page_as(context, "bob")
    with site.session() as session:
        state = site.app.extensions["neurograde"]
        busy = [_submit(session, state, "bob", SLOW) for _ in range(2)]
        waiting = _submit(session, state, "bob", CORRECT)
    page.goto(f"/submissions/{waiting}")
    sentence = page.locator("#waiting-text").inner_text()
    if "queue" in sentence:  # not yet claimed (the usual case): position and estimate
        assert re.search(r"Waiting in the queue: position \d+, about \d+ s\.", sentence), sentence
        shot(page, "submission-queued")
    _wait_done(site, busy + [waiting])
