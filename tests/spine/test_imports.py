"""The grading path never imports the web stack: checked in a fresh interpreter each."""

from __future__ import annotations

import subprocess
import sys

import pytest

WEB_ONLY = ("flask", "flask_login", "flask_wtf", "jinja2", "werkzeug", "waitress")

#: what `neurograde grade`/`check`/`verify` and a grading worker import
GRADING_PATH = {
    "grade and check": "import server.cli, grader.cli; server.cli.main.get_command(None, 'grade')",
    "verify": "import server.cli; server.cli.main.get_command(None, 'verify')",
    "worker": "import server.runtime.worker, server.runtime.worker_pool, server.runtime.cli",
    "worker state": "import server.state, server.runtime.grading, grader.engine",
}


@pytest.mark.parametrize("code", GRADING_PATH.values(), ids=GRADING_PATH.keys())
def test_grading_path_imports_no_web_module(code):
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {WEB_ONLY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]", out


def test_a_worker_with_its_plugins_and_datasets_imports_no_web_module(tmp_path):
    """Building a worker's state loads every plugin (the built-in course too)."""
    probe = ("import sys\nfrom server.state import build_state\n"
             f"state = build_state({{'INSTANCE_PATH': {str(tmp_path)!r}, "
             f"'DATABASE_URL': 'sqlite:///{tmp_path}/db.sqlite3'}})\n"
             "assert state.registry.assignments\n"
             f"print(sorted(m for m in {WEB_ONLY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]", out


def test_the_probe_would_see_flask():
    """The same probe on the web app finds Flask (the test above can fail)."""
    probe = ("import server.app, sys\n"
             f"print(sorted(m for m in {WEB_ONLY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert "flask" in out


def test_grade_command_does_not_load_the_database_layer():
    """`neurograde grade` is run on every edit: SQLAlchemy is not part of its start-up."""
    probe = ("import server.cli, sys; server.cli.main.get_command(None, 'grade')\n"
             "print('sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "False"
