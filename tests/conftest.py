"""Shared fixtures: an app on a temporary instance with SQLite, its client and CLI
runner, a fresh plugin manager, an `auth` helper and `make_<thing>(**overrides)`
factories. PostgreSQL fixtures skip unless NEUROGRADE_TEST_POSTGRES_URL is set.

A test module can override `app_config` (a dict merged into the app's config)
or `pm` (e.g. a manager with throwaway plugins) to change the app it gets.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from grader.config import dataset_cache_dir
from plugins.manager import get_plugin_manager
from server.app import create_app
from server.db import alembic_config
from server.models import Base, Course, CourseAssignment, Submission, User
from server.services import accounts, tokens

POSTGRES_ENV = "NEUROGRADE_TEST_POSTGRES_URL"
#: the datasets cache shared by all tests (prepared once, e.g. by `neurograde datasets prepare`)
SHARED_DATASETS_DIR = dataset_cache_dir()
_counter = itertools.count(1)
_hash_cache: dict[str, str] = {}


def _password_hash(password: str) -> str:
    # scrypt is slow on purpose; hash each test password once per session
    if password not in _hash_cache:
        _hash_cache[password] = accounts.hash_password(password)
    return _hash_cache[password]


@pytest.fixture
def pm():
    """A fresh plugin manager with the built-in plugins only (no installed entry points)."""
    return get_plugin_manager(load_entrypoints=False)


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra config for the `app` fixture; override in a test module to change it."""
    return {}


@pytest.fixture
def app(tmp_path, pm, app_config):
    """An app on a temporary instance folder with a fresh SQLite database (tables created)."""
    instance = tmp_path / "instance"
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'test.sqlite3'}",
        "DATASETS_DIR": str(SHARED_DATASETS_DIR),
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "EMBEDDED_WORKERS": 0,
        "SANDBOX": os.environ.get("NEUROGRADE_SANDBOX", "bwrap"),
        "PLUGIN_MANAGER": pm,
        **app_config,
    }
    app = create_app(config)
    state = app.extensions["neurograde"]
    Base.metadata.create_all(state.engine)
    # mark the schema as migrated, so `neurograde db upgrade`/`demo` in tests are no-ops
    command.stamp(alembic_config(config["DATABASE_URL"]), "head")
    yield app
    state.engine.dispose()


@pytest.fixture
def state(app):
    """The app's `server.state.State` (registry, pm, engine, session_factory, datasets)."""
    return app.extensions["neurograde"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(state) -> Iterator[Session]:
    """A session on the app's database, closed after the test."""
    session = state.session_factory()
    yield session
    session.close()


class CliHelper:
    """Runs `neurograde …` in-process against the `app` fixture's instance and database."""

    def __init__(self, app) -> None:
        self.app = app

    def invoke(self, args: list[str] | str, **kwargs: Any) -> Result:
        from server.cli import main

        config = dict(self.app.config)
        config["PLUGIN_MANAGER"] = self.app.extensions["neurograde"].pm
        args = args.split() if isinstance(args, str) else args
        return CliRunner().invoke(main, args, obj={"config": config}, catch_exceptions=False,
                                  **kwargs)


@pytest.fixture
def runner(app) -> CliHelper:
    return CliHelper(app)


@pytest.fixture
def make_user(state) -> Callable[..., User]:
    """`make_user(username=..., password=..., role=..., course=Course, **columns)`."""

    def make(**overrides: Any) -> User:
        number = next(_counter)
        password = overrides.pop("password", "password")
        course = overrides.pop("course", None)
        values = {"username": f"user{number}", "name": f"User {number}", "role": "student",
                  "email": f"user{number}@example.org", "password_hash": _password_hash(password)}
        values.update(overrides)
        values.setdefault("pseudonym", values["username"])
        with state.session_factory() as session:
            user = User(**values)
            session.add(user)
            session.flush()
            if course is not None:
                accounts.enroll(session, user, session.get(Course, course.id))
            session.commit()
            return user

    return make


@pytest.fixture
def make_course(state) -> Callable[..., Course]:
    def make(**overrides: Any) -> Course:
        number = next(_counter)
        values = {"slug": f"course{number}", "title": f"Course {number}", **overrides}
        with state.session_factory() as session:
            course = Course(**values)
            session.add(course)
            session.commit()
            return course

    return make


@pytest.fixture
def make_course_assignment(state, make_course) -> Callable[..., CourseAssignment]:
    """Defaults: a new course and the first installed assignment (or "sigmoid")."""

    def make(**overrides: Any) -> CourseAssignment:
        course = overrides.pop("course", None) or make_course()
        slug = overrides.pop("assignment_slug", None) or next(iter(sorted(
            state.registry.assignments)), "sigmoid")
        with state.session_factory() as session:
            row = CourseAssignment(course_id=course.id, assignment_slug=slug, **overrides)
            session.add(row)
            session.commit()
            return row

    return make


@pytest.fixture
def make_submission(state, make_user, make_course_assignment) -> Callable[..., Submission]:
    """Defaults: a new student, a new course assignment and a small queued `solution.py`."""

    def make(**overrides: Any) -> Submission:
        user = overrides.pop("user", None) or make_user()
        course_assignment = (overrides.pop("course_assignment", None)
                             or make_course_assignment())
        source = overrides.pop("source", "def sigmoid(z):\n    return z\n")
        values = {"filename": "solution.py", "source": source,
                  "sha256": hashlib.sha256(source.encode()).hexdigest(),
                  "size": len(source.encode()), **overrides}
        with state.session_factory() as session:
            row = Submission(user_id=user.id, course_assignment_id=course_assignment.id, **values)
            session.add(row)
            session.commit()
            return row

    return make


class AuthActions:
    """Log a test client in as a user (through the session cookie or the login form)."""

    def __init__(self, client, state) -> None:
        self.client, self.state = client, state

    def login(self, user: User) -> None:
        """Log in without the form, as Flask-Login does after a successful login (with a
        login session opened on the server)."""
        from server.services import login_sessions

        with self.state.session_factory() as db:
            row = db.get(User, user.id)
            login_sessions.start(db, row)
            db.commit()
            cookie_id = row.get_id()
        with self.client.session_transaction() as session:
            session["_user_id"] = cookie_id
            session["_fresh"] = True

    def login_form(self, username: str, password: str = "password"):
        """Log in through the login page (the `auth.login` endpoint)."""
        with self.client.application.test_request_context():
            from flask import url_for

            url = url_for("auth.login")
        return self.client.post(url, data={"username": username, "password": password})

    def logout(self) -> None:
        with self.client.session_transaction() as session:
            session.clear()

    def token(self, user: User, label: str = "test") -> str:
        """A new API token for `user` (plaintext)."""
        with self.state.session_factory() as session:
            _row, plaintext = tokens.create_token(session, session.get(User, user.id), label)
            session.commit()
        return plaintext

    def headers(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}


@pytest.fixture
def auth(client, state) -> AuthActions:
    return AuthActions(client, state)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL for tests; skips when NEUROGRADE_TEST_POSTGRES_URL is unset."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test); PostgreSQL test skipped")
    return url


@pytest.fixture
def pg_schema_url(pg_url) -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema (dropped afterwards), so tests
    sharing the `test` database never see each other's tables."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
