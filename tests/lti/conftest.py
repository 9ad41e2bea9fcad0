"""An LMS (tests.lti.platform) and neurograde, each on its own HTTP server, registered
with each other; `LmsBrowser` plays the browser between them (cookies, auto-posted forms)."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
import requests

from grader.result import GradingResult
from server.app import create_app
from server.lti import platforms
from server.models import Base, CourseAssignment, Submission, User, utcnow
from server.runtime import queue
from tests.lti.platform import Platform, ServedPlatform

FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
#: the forms pages post by script: the test LMS's and the tool's deep-linking answer
AUTO = re.compile(r'<form[^>]*id="(?:f|lti-autosubmit)"[^>]*>.*?</form>', re.S)
INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@dataclass
class Tool:
    url: str
    app: Any

    def session(self):
        return self.app.extensions["neurograde"].session_factory()

    @property
    def state(self):
        return self.app.extensions["neurograde"]


@pytest.fixture
def lms() -> Iterator[Platform]:
    platform = Platform()
    platform.add_member("t-1", "Ada Teacher", "Instructor")
    platform.add_member("s-1", "Alice Student", "Learner")
    platform.add_member("s-2", "Bob Student", "Learner")
    with ServedPlatform(platform) as served:
        yield served


@pytest.fixture
def tool(tmp_path, lms) -> Iterator[Tool]:
    from waitress.server import create_server

    instance = tmp_path / "tool"
    app = create_app({
        "INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'tool.db'}",
        "SECRET_KEY": "lti-tests", "EMBEDDED_WORKERS": 0, "LOAD_PLUGIN_ENTRYPOINTS": False,
        "WTF_CSRF_ENABLED": True,
    })
    state = app.extensions["neurograde"]
    Base.metadata.create_all(state.engine)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    lms.tool_login_url, lms.tool_launch_url = url + "/lti/login", url + "/lti/launch"
    lms.tool_jwks_url = url + "/.well-known/jwks.json"
    with state.session_factory() as session:
        platforms.register_platform(session, **lms.registration())
        session.commit()
    try:
        yield Tool(url, app)
    finally:
        server.close()
        thread.join(timeout=5)
        state.engine.dispose()


class LmsBrowser:
    """A cookie jar that opens LMS pages and submits the auto-posting forms, as a
    browser's script would."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def open(self, url: str) -> requests.Response:
        response = self.http.get(url, timeout=20)
        return self.follow_forms(response)

    def follow_forms(self, response: requests.Response) -> requests.Response:
        for _ in range(5):
            if 'id="f"' not in response.text and 'id="lti-autosubmit"' not in response.text:
                return response
            action, fields = form_of(response.text)
            response = self.http.post(action, data=fields, timeout=20)
        return response

    def submit(self, response: requests.Response, form_id: str, **fields: Any
               ) -> requests.Response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)
        url = response.url
        result = self.http.post(url, data={"csrf_token": token, **fields}, timeout=20)
        return self.follow_forms(result)


def form_of(page: str) -> tuple[str, dict[str, str]]:
    action, body = FORM.search(AUTO.search(page).group(0)).groups()
    return unescape(action), {k: unescape(v) for k, v in INPUT.findall(body)}


def deep_link(lms: Platform, teacher: str = "t-1", slugs: tuple[str, ...] = ("sigmoid",)
              ) -> str:
    """The instructor adds `slugs` from inside the LMS; returns the new resource link id."""
    browser = LmsBrowser()
    page = browser.open(lms.launch_url(teacher))
    assert "/lti/deep-link" in page.url, page.text[:500]
    done = browser.submit(page, "deep-link", assignment=list(slugs))
    assert "Added:" in done.text, done.text[:500]
    return list(lms.resource_links)[-1]


def write_grade(tool: Tool, user_id: int, ca_id: int, score: float, max_score: float = 10.0,
                days_after_deadline: float | None = None) -> int:
    """A submission graded through the queue's own write path (claim, then complete)."""
    with tool.session() as session:
        ca = session.get(CourseAssignment, ca_id)
        when = utcnow() if days_after_deadline is None or ca.deadline is None \
            else ca.deadline + timedelta(days=days_after_deadline)
        source = f"# {secrets.token_hex(4)}\n"
        sub = Submission(course_assignment_id=ca_id, user_id=user_id, filename="solution.py",
                         source=source, sha256=hashlib.sha256(source.encode()).hexdigest(),
                         size=len(source), submitted_at=when)
        session.add(sub)
        session.commit()
        job = queue.claim(session, "test-worker", 60)
        assert job is not None and job.id == sub.id
        assert queue.complete(session, job.id, job.lease_token, GradingResult(
            status="graded", score=score, max_score=max_score))
        return sub.id


def regrade(tool: Tool, submission_id: int, score: float, max_score: float = 10.0) -> None:
    with tool.session() as session:
        session.get(Submission, submission_id).state = "queued"
        session.commit()
        job = queue.claim(session, "test-worker", 60)
        assert job.id == submission_id
        assert queue.complete(session, job.id, job.lease_token, GradingResult(
            status="graded", score=score, max_score=max_score))


def user_of(tool: Tool, email: str) -> User:
    with tool.session() as session:
        user = session.query(User).filter_by(email=email).one()
        session.expunge(user)
        return user
