"""A student's day in the browser, graded for real through the sandbox: log in, read
the handout, upload a wrong and then a correct solution, watch each grade live (no
reload), read the per-check table, find themself on the leaderboard; a syntax error
explains itself; another student is refused the submission page."""

from __future__ import annotations

import re

import pytest

from assignments.sigmoid import neurograde_register_assignments as sigmoid_plugin
from tests.browser.conftest import COURSE, mnist_ready, shot

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]

CORRECT = sigmoid_plugin.assignment.reference_path.read_text()
# The same, taking a moment on import so its page too is seen before the grade arrives.
CORRECT_SLOW = CORRECT + "\n\nimport time as _time\n\n_time.sleep(1.5)\n"
# Correct sigmoid, but the neuron forgets the activation; importing takes a moment, so
# the page is seen while the job is still queued or running.
WRONG = """import time
import numpy as np

time.sleep(1.5)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def neuron(weights, bias, x):
    return float(np.dot(weights, x) + bias)
"""
SYNTAX_ERROR = "import numpy as np\n\ndef sigmoid(z)\n    return 1 / (1 + np.exp(-z))\n"
ASSIGNMENT_URL = f"/courses/{COURSE}/assignments/sigmoid/"


def upload(page, source: str, name: str = "solution.py") -> None:
    page.goto(ASSIGNMENT_URL)
    page.set_input_files("input[name=file]", files=[{
        "name": name, "mimeType": "text/x-python", "buffer": source.encode()}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/submissions/\d+$"))


def wait_graded(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector("#live[data-done=true]", timeout=timeout_ms)


def upload_and_watch_live(page, source: str, name: str) -> None:
    """Upload, see the page waiting, and see the grade arrive in the same document."""
    upload(page, source, name)
    page.evaluate("window.__sameDocument = true")
    first_status = page.locator("#status-badge .badge").get_attribute("data-status")
    assert first_status in ("queued", "running"), first_status
    assert page.locator("#waiting").is_visible()
    wait_graded(page)
    assert page.evaluate("window.__sameDocument") is True  # updated without a reload
    assert page.locator("#checks").is_visible() and not page.locator("#waiting").is_visible()


def test_student_uploads_watches_live_and_finds_leaderboard(new_page):
    page = new_page("alice")
    page.goto(f"/courses/{COURSE}/")
    assert page.locator("#assignments").get_by_text("Sigmoid", exact=False).count() >= 1
    shot(page, "course")
    page.goto(ASSIGNMENT_URL)
    assert page.locator(".handout h1").count() >= 1
    assert page.locator("a", has_text="Download starter code").count() == 1
    shot(page, "assignment")

    upload_and_watch_live(page, WRONG, "wrong.py")
    score = page.locator("#score").inner_text()
    got, total = (float(x) for x in score.split("/"))
    assert 0 < got < total
    failed = page.locator("#checks tr.check-fail")
    assert failed.count() >= 1 and "neuron" in failed.first.inner_text()
    shot(page, "submission-partial")

    upload_and_watch_live(page, CORRECT_SLOW, "sigmoid.py")
    assert page.locator("#checks tr.check-fail").count() == 0
    score = page.locator("#score").inner_text()
    got, total = (float(x) for x in score.split("/"))
    assert got == total > 0
    shot(page, "submission-graded")

    page.goto(ASSIGNMENT_URL)
    assert page.locator("#history tbody tr").count() >= 2
    page.goto(f"/courses/{COURSE}/assignments/sigmoid/leaderboard")
    me = page.locator("#leaderboard tr.you")
    assert me.count() == 1 and "you" in me.inner_text()
    assert "Alice Liddell" not in page.content()


def test_syntax_error_is_explained_with_a_caret(new_page):
    page = new_page("bob")
    upload(page, SYNTAX_ERROR)
    wait_graded(page)
    explanation = page.locator("#explanation")
    assert "could not compile" in explanation.inner_text()
    block = page.locator("#syntax-error").inner_text()
    assert "3 | def sigmoid(z)" in block and "^" in block
    shot(page, "submission-syntax-error")


def test_second_student_is_refused_anothers_submission(new_page):
    alice = new_page("alice")
    upload(alice, CORRECT)
    submission_url = alice.url
    bob = new_page("bob")
    response = bob.goto(submission_url)
    assert response.status == 404
    assert "not yours" in bob.content()
    assert bob.goto(submission_url + "/source").status == 404
    shot(bob, "refused")


@pytest.mark.skipif(not mnist_ready(), reason="MNIST is not prepared "
                    "(run `neurograde datasets prepare`)")
def test_mnist_pictures(new_page):
    from plugins.manager import get_plugin_manager
    from plugins.registry import build_registry

    MNIST = build_registry(get_plugin_manager(load_entrypoints=False)).assignment("mnist")
    page = new_page("alice")
    page.goto(f"/courses/{COURSE}/assignments/mnist/")
    page.set_input_files("input[name=file]", files=[{
        "name": "mnist.py", "mimeType": "text/x-python",
        "buffer": MNIST.reference_path.read_bytes()}])
    page.click("#upload-form button[type=submit]")
    wait_graded(page, timeout_ms=240_000)
    for picture in ("#confusion_matrix-img", "#misclassified-img"):
        image = page.locator(picture)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "s => { const i = document.querySelector(s); return i && i.complete "
            "&& i.naturalWidth > 0; }", arg=picture)
    # the grid says, for each digit, what the network predicted and what it truly is
    alt = page.locator("#misclassified-img").get_attribute("alt")
    pairs = re.findall(r"got (\d), true (\d)", alt)
    assert pairs and all(predicted != true for predicted, true in pairs), alt
    caption = page.locator("#misclassified-img + figcaption").inner_text()
    assert "predicted" in caption and "true" in caption
    # one caption per digit, numbered as in the grid, in the grid's order
    captions = page.locator("#misclassified-legend li").all_inner_texts()
    assert [re.fullmatch(r"#(\d+): got (\d), true (\d)", c).groups() for c in captions] == [
        (str(n), p, t) for n, (p, t) in enumerate(pairs, start=1)]
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    shot(page, "submission-mnist-390-light")
    page.set_viewport_size({"width": 1200, "height": 900})
    shot(page, "submission-mnist")


def test_login_and_settings_pages(new_page):
    page = new_page()
    page.goto("/login")
    shot(page, "login")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "Wrong username or password" in page.content()
    from tests.browser.conftest import login

    login(page, "bob")
    page.goto("/settings")
    page.fill("input[name=pseudonym]", "Bold <Yak>")
    page.click("text=Save")
    assert page.locator("input[name=pseudonym]").input_value() == "Bold <Yak>"
    page.fill("input[name=label]", "laptop")
    page.click("text=Create token")
    assert page.locator("#new-token").inner_text().startswith("ngt_")
    # a token in a published picture would look like a leaked secret
    page.locator("#new-token").evaluate("e => e.textContent = 'ngt_••••••••••••••••'")
    shot(page, "settings")
