"""The administration CLI, run in-process against the `app` fixture's database."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from plugins import RubricDef
from server.cli import COMMANDS, main
from server.models import Course, CourseAssignment, Enrollment, User
from server.services import accounts, tokens
from tests.spine.plugin_helpers import AssignmentPlugin, make_assignment

VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def pm(pm, tmp_path):
    """The built-ins plus a throwaway course with a rubric, so tests do not depend on
    which built-in assignments exist."""
    pm.register(AssignmentPlugin(
        [make_assignment("toy", tmp_path), make_assignment("toy-two", tmp_path)],
        rubrics=[RubricDef(name="toy-strict", assignment="toy", late_penalty_per_day=0.5)]),
        name="toy-course")
    return pm


def test_course_create_and_duplicate(runner, db):
    result = runner.invoke("course create ml1 --title Machine-learning")
    assert result.exit_code == 0, result.output
    assert db.scalar(select(Course).where(Course.slug == "ml1")).title == "Machine-learning"
    again = runner.invoke("course create ml1 --title Again")
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(["course", "create", "Bad Slug", "--title", "x"])
    assert bad.exit_code == 1 and "lower-case" in bad.output


def test_user_add_with_course_and_password(runner, db, make_course):
    course = make_course(slug="c1")
    result = runner.invoke("user add erin --password s3cret --role instructor --course c1 "
                           "--name Erin --email erin@example.org")
    assert result.exit_code == 0, result.output
    user = db.scalar(select(User).where(User.username == "erin"))
    assert (user.role, user.name, user.email) == ("instructor", "Erin", "erin@example.org")
    assert accounts.verify_password(user, "s3cret") and not accounts.verify_password(user, "x")
    assert "s3cret" not in user.password_hash
    enrollment = db.scalar(select(Enrollment).where(Enrollment.user_id == user.id))
    assert (enrollment.course_id, enrollment.role) == (course.id, "instructor")

    assert "already exists" in runner.invoke("user add erin --password other").output
    missing = runner.invoke("user add frank --password abcdef --course nope")
    assert missing.exit_code == 1 and "no course 'nope'" in missing.output
    # the failed command left nothing behind
    assert db.scalar(select(User).where(User.username == "frank")) is None
    wrong_role = runner.invoke("user add gus --password abcdef --role wizard")
    assert wrong_role.exit_code == 2


def test_token_create_prints_a_working_token_once(runner, db, make_user):
    user = make_user(username="tina")
    result = runner.invoke("token create tina --label laptop")
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip()
    assert re.fullmatch(r"ngt_[A-Za-z0-9_-]{40,}", plaintext)
    assert tokens.lookup_token(db, plaintext).id == user.id
    assert tokens.lookup_token(db, plaintext + "x") is None
    stored = user_tokens = db.scalars(select(User).where(User.id == user.id)).one().tokens
    assert [t.label for t in user_tokens] == ["laptop"]
    assert plaintext not in stored[0].token_hash and len(stored[0].token_hash) == 64
    assert runner.invoke("token create nobody").exit_code == 1


def test_assignment_enable_validates_against_the_registry(runner, db, make_course):
    make_course(slug="c2")
    result = runner.invoke("assignment enable c2 toy --deadline 2026-12-24T23:59+01:00 "
                           "--rubric toy-strict --daily-limit 5")
    assert result.exit_code == 0, result.output
    row = db.scalar(select(CourseAssignment).where(CourseAssignment.assignment_slug == "toy"))
    deadline = row.deadline if row.deadline.tzinfo else row.deadline.replace(tzinfo=UTC)
    assert deadline == datetime(2026, 12, 24, 22, 59, tzinfo=UTC)
    assert (row.rubric_name, row.daily_submission_limit) == ("toy-strict", 5)

    unknown = runner.invoke("assignment enable c2 no-such-thing")
    assert unknown.exit_code == 1 and "toy" in unknown.output  # names what is installed
    bad_rubric = runner.invoke("assignment enable c2 toy-two --rubric toy-strict")
    assert bad_rubric.exit_code == 1 and "no rubric 'toy-strict'" in bad_rubric.output
    assert runner.invoke("assignment enable c2 toy --deadline tomorrow").exit_code == 2
    # enabling again updates the same row
    assert runner.invoke("assignment enable c2 toy --deadline 2027-01-10").exit_code == 0
    db.expire_all()
    rows = db.scalars(select(CourseAssignment).where(CourseAssignment.assignment_slug == "toy"))
    assert len(rows.all()) == 1


def test_assignments_lists_installed_assignments(runner, state):
    result = runner.invoke("assignments")
    assert result.exit_code == 0, result.output
    assert re.search(r"^toy\s+Assignment toy .*plugin toy-course.*rubrics: toy-strict",
                     result.output, re.M)
    for slug in state.registry.assignments:
        assert re.search(rf"^{re.escape(slug)}\s", result.output, re.M)


def test_plugins_lists_builtins_and_their_provisions(runner):
    result = runner.invoke("plugins")
    assert result.exit_code == 0, result.output
    assert re.search(r"^plugins\.builtin_datasets\s+ok\s+.*dataset mnist", result.output, re.M)
    assert re.search(r"^toy-course\s+ok\s+assignment toy, assignment toy-two, rubric toy-strict",
                     result.output, re.M)


def test_demo_is_idempotent_and_says_the_passwords(runner, db, state):
    first = runner.invoke("demo")
    assert first.exit_code == 0, first.output
    assert "password is the same as the username" in first.output
    second = runner.invoke("demo")
    assert second.exit_code == 0, second.output
    course = db.scalar(select(Course).where(Course.slug == "nn101"))
    people = {e.user.username: e.role for e in db.scalars(
        select(Enrollment).where(Enrollment.course_id == course.id))}
    assert people == {"teacher": "instructor", "alice": "student", "bob": "student",
                      "carol": "student"}
    for name in people:
        assert accounts.verify_password(accounts.find_user(db, name), name)
    enabled = set(db.scalars(select(CourseAssignment.assignment_slug).where(
        CourseAssignment.course_id == course.id)))
    builtin = {slug for slug in state.registry.assignments
               if state.registry.plugin_of("assignment", slug).startswith("assignments.")}
    assert enabled == builtin  # built-ins only: the throwaway "toy" course is not included
    assert len(db.scalars(select(User)).all()) == 4


def test_every_command_has_help():
    commands = ["db", "db upgrade", "course", "course create", "user", "user add", "token",
                "token create", "assignment", "assignment enable", "assignments", "plugins",
                "demo", "serve"]
    top = CliRunner().invoke(main, ["--help"])
    assert top.exit_code == 0
    for name in commands:
        result = CliRunner().invoke(main, [*name.split(), "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage: main " + name in result.output.replace("neurograde", "main")
        assert len(result.output.splitlines()) >= 3
    listed = re.findall(r"^  (\S+)", top.output.split("Commands:")[1], re.M)
    assert {"assignments", "plugins", "demo", "serve", "db", *COMMANDS} <= set(listed)
    for name in COMMANDS:
        assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0, name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_serve_upgrades_serves_and_stops_its_workers(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROGRADE_")}
    env.update(NEUROGRADE_INSTANCE_PATH=str(tmp_path), NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD="1")
    server = subprocess.Popen([str(VENV_BIN / "neurograde"), "serve", "--port", str(port),
                               "--workers", "1"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read()
                    break
            except OSError:
                time.sleep(0.2)
        assert body == b'{"ok":true}\n', server.stdout.read() if server.poll() is not None else ""
        assert (tmp_path / "neurograde.sqlite3").is_file()
        workers = _children(server.pid)
        assert workers, "an embedded grading worker process should be running"
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0]
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, output
    assert "serving on http://127.0.0.1:" in output
    # workers are stopped before serve exits; multiprocessing's helper may take a moment
    gone_by = time.monotonic() + 10
    while time.monotonic() < gone_by and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_a_command_whose_module_is_broken_fails_loudly(monkeypatch, tmp_path):
    (tmp_path / "ng_broken_cli.py").write_text("raise RuntimeError('half-written module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(COMMANDS, "wreck", "ng_broken_cli:wreck")
    result = CliRunner().invoke(main, ["wreck", "--anything"])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError) and "half-written" in str(result.exception)
