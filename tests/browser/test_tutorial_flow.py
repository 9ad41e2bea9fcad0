"""The tutorial's assignment, end to end: built from docs/plugins.md alone and pip-installed,
it is found through its entry point when the server starts (as after `pip install` and a
restart); an instructor enables it on the course's assignments page, a student uploads
the tutorial's reference in the browser, a real worker grades it through the sandbox, the
leaderboard ranks by the declared metric shown as declared, and the result page shows the
picture of the tutorial's own renderer."""

from __future__ import annotations

import importlib
import os
import re
import sys
import threading
from pathlib import Path

import pytest

from server.services.leaderboard import LADDER_STEP
from tests import tutorial_package as tutorial
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, shot

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]

COURSE, PASSWORD = "nn101", "correct horse"
SLUG = tutorial.SLUG


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The tutorial's package pip-installed into a folder put on the path of this process
    and of the worker processes it spawns (and taken off again)."""
    package, site = tutorial.build_and_install(tmp_path_factory.mktemp("tutorial"))
    old_path = os.environ.get("PYTHONPATH")
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), old_path]))
    importlib.invalidate_caches()
    try:
        yield package
    finally:
        sys.path.remove(str(site))
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path
        for name in [m for m in sys.modules if m.split(".")[0] == tutorial.PACKAGE]:
            del sys.modules[name]
        importlib.invalidate_caches()


@pytest.fixture(scope="module")
def live(installed, tmp_path_factory):
    """A server started after the install, loading installed plugins by entry point, with
    one grading worker process."""
    from waitress.server import create_server

    from grader.config import dataset_cache_dir
    from server.app import create_app
    from server.models import Base
    from server.runtime.worker import start_embedded_workers

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    instance = tmp_path_factory.mktemp("tutorial-instance")
    config = {"INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'db'}",
              "SECRET_KEY": "tutorial-test", "EMBEDDED_WORKERS": 0,
              "LOAD_PLUGIN_ENTRYPOINTS": True, "DATASETS_DIR": str(dataset_cache_dir()),
              "POLL_SECONDS": 0.05, "STOP_GRACE_SECONDS": 2}
    app = create_app(config)
    state = app.extensions["neurograde"]
    assert SLUG in state.registry.assignments, state.registry.errors
    Base.metadata.create_all(state.engine)
    _seed(state)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    workers = start_embedded_workers(config, 1)
    try:
        yield {"url": f"http://127.0.0.1:{server.effective_port}", "state": state}
    finally:
        workers.stop(grace_seconds=2)
        server.close()
        thread.join(timeout=5)
        state.engine.dispose()


def _seed(state) -> None:
    from server.services import accounts, courses

    with state.session_factory() as session:
        course = courses.create_course(session, COURSE, "Neural networks from scratch")
        teacher = accounts.create_user(session, "teacher", PASSWORD, role="instructor")
        accounts.enroll(session, teacher, course, "instructor")
        alice = accounts.create_user(session, "alice", PASSWORD, name="Alice Liddell")
        accounts.enroll(session, alice, course, "student")
        session.commit()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, base: str, username: str):
    context = browser.new_context(base_url=base, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url
    return page


def test_tutorial_assignment_enabled_submitted_ranked_and_pictured(live, installed, browser):
    from playwright.sync_api import expect

    from server.models import Submission

    base, state = live["url"], live["state"]
    teacher = _page(browser, base, "teacher")
    teacher.goto(f"/instructor/{COURSE}/assignments")
    teacher.click(f"button[data-enable={SLUG}]")
    expect(teacher.locator(".flash-success")).to_contain_text("Enabled")

    alice = _page(browser, base, "alice")
    alice.goto(f"/courses/{COURSE}/assignments/{SLUG}/")
    expect(alice.locator(".handout h1")).to_contain_text("Softmax regression")
    reference = (installed / tutorial.PACKAGE / "reference.py").read_bytes()
    alice.set_input_files("input[name=file]", files=[{
        "name": "softmax.py", "mimeType": "text/x-python", "buffer": reference}])
    alice.click("#upload-form button[type=submit]")
    alice.wait_for_url(re.compile(r"/submissions/\d+$"))
    alice.wait_for_selector("#live[data-done=true]", timeout=120_000)
    submission_id = int(alice.url.rsplit("/", 1)[1])
    with state.session_factory() as session:
        graded = session.get(Submission, submission_id)
        assert graded.status == "graded" and graded.score == graded.max_score == 7, \
            graded.result
        accuracy = graded.metric_public
    assert accuracy is not None and accuracy > 0.9

    # the picture of the tutorial's own renderer, served as a PNG
    image = alice.locator("#digit_accuracy-img")
    image.scroll_into_view_if_needed()
    alice.wait_for_function("s => { const i = document.querySelector(s); return i && "
                            "i.complete && i.naturalWidth > 0; }", arg="#digit_accuracy-img")
    assert "lowest: digit" in image.get_attribute("alt")
    response = alice.request.get(image.get_attribute("src"))
    assert response.status == 200 and response.body().startswith(b"\x89PNG\r\n\x1a\n")
    shot(alice, "submission-tutorial")

    # the leaderboard ranks by the declared metric, under its label, formatted as declared
    # ("{:.1%}"; the public value is rounded towards worse to the Ladder's steps)
    alice.goto(f"/courses/{COURSE}/assignments/{SLUG}/leaderboard")
    board = alice.locator("#leaderboard")
    expect(board.locator("thead")).to_contain_text("Accuracy (public)")
    cells = board.locator("tr", has_text="you").locator("td").all_inner_texts()
    shown = [c for c in cells if c.endswith("%")]
    assert len(shown) == 1 and re.fullmatch(r"\d+\.\d%", shown[0]), cells
    assert accuracy - LADDER_STEP - 0.0005 <= float(shown[0][:-1]) / 100 <= accuracy + 0.0005
    shot(alice, "leaderboard-tutorial")
