"""`neurograde submit` against a real HTTP server (waitress in a thread)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from server.client import submit, wait_for_grade
from server.models import Submission
from tests.web.conftest import sample_result
from tests.web.toy import toy_pm


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def solution(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text("def double(x):\n    return 2 * x\n")
    return path


def run(*args: str):
    return CliRunner().invoke(submit, list(args), catch_exceptions=False)


def test_submit_without_wait(live_url, auth, db, toy_classroom, solution):
    token = auth.token(toy_classroom.alice)
    result = run(str(solution), "--course", "c1", "--assignment", "toy", "--server", live_url,
                 "--token", token)
    assert result.exit_code == 0, result.output
    sub = db.scalars(select(Submission)).one()
    assert f"Submitted #{sub.id} (queued)" in result.output
    assert sub.source == solution.read_text() and sub.filename == "solution.py"


def finish_later(db, finish, result=None) -> threading.Thread:
    """Plays the grading worker: finishes the first queued job a moment after it appears."""

    def work() -> None:
        for _ in range(200):
            db.expire_all()
            row = db.scalars(select(Submission).where(Submission.state == "queued")).first()
            if row is not None:
                time.sleep(1.2)
                finish(row, result)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_submit_and_wait_shows_the_grade(live_url, auth, db, toy_classroom, solution, finish):
    token = auth.token(toy_classroom.alice)
    thread = finish_later(db, finish)
    result = run(str(solution), "-c", "c1", "-a", "toy", "--server", live_url, "--token",
                 token, "--wait", "--timeout", "20")
    thread.join()
    assert result.exit_code == 0, result.output
    assert "graded  score 1 / 3" in result.output
    assert "PASS  double_two" in result.output and "FAIL  double_random" in result.output
    assert "… queued (position 1)" in result.output  # progress lines when not a terminal


def test_error_status_and_timeout_exit_codes(live_url, auth, db, toy_classroom, solution,
                                             finish):
    token = auth.token(toy_classroom.alice)
    thread = finish_later(db, finish, sample_result(
        status="timeout", checks=[], score=0.0, message="Stopped after the 20 s limit."))
    result = run(str(solution), "-c", "c1", "-a", "toy", "--server", live_url, "--token",
                 token, "--wait", "--timeout", "20")
    thread.join()
    assert result.exit_code == 3, result.output
    assert "timeout  score 0 / 3" in result.output and "20 s limit" in result.output
    # nobody grades this one: the client gives up after --timeout
    waited = run(str(solution), "-c", "c1", "-a", "toy", "--server", live_url, "--token",
                 token, "--wait", "--timeout", "0.5", "--json")
    assert waited.exit_code == 4 and "Still not graded" in waited.output


def test_refusals_are_shown_with_the_servers_message(live_url, auth, toy_classroom, tmp_path):
    token = auth.token(toy_classroom.alice)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    wrong_type = run(str(text_file), "-c", "c1", "-a", "toy", "--server", live_url,
                     "--token", token)
    assert wrong_type.exit_code == 1 and "415: Upload a Python file" in wrong_type.output
    bad_token = run(str(text_file), "-c", "c1", "-a", "toy", "--server", live_url,
                    "--token", "ngt_wrong")
    assert bad_token.exit_code == 1 and "401" in bad_token.output
    nowhere = run(str(text_file), "-c", "c1", "-a", "toy", "--server", "http://127.0.0.1:9",
                  "--token", token)
    assert nowhere.exit_code == 1 and "cannot reach" in nowhere.output


def test_progress_indicator_redraws_on_a_terminal(live_url, auth, toy_classroom, db,
                                                  make_submission, finish):
    token = auth.token(toy_classroom.alice)
    sub = make_submission(user=toy_classroom.alice, course_assignment=toy_classroom.ca)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    threading.Timer(1.0, finish, args=(sub,)).start()
    body = wait_for_grade(f"{live_url}/api/v1/submissions/{sub.id}", token, timeout=10,
                          interval=0.2, out=out)
    assert body["status"] == "graded"
    drawn = out.getvalue()
    assert "\r\033[K" in drawn and "queued (position 1)" in drawn and "\n" not in drawn
