"""Fixtures of the student-side web tests: a course with the toy assignment, its
students and an instructor, and a helper that finishes a submission the way a
worker would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from grader.result import CheckResult, GradingResult
from server.models import DONE, Course, CourseAssignment, Submission, User, utcnow


@dataclass
class Classroom:
    course: Course
    ca: CourseAssignment
    alice: User
    bob: User
    teacher: User


@pytest.fixture
def toy_classroom(state, make_course, make_user, make_course_assignment) -> Classroom:
    """Course `c1` with `toy` enabled, students alice and bob, instructor teacher."""
    assert "toy" in state.registry.assignments, "use the toy plugin manager in this module"
    course = make_course(slug="c1", title="Neural networks <from scratch>")
    ca = make_course_assignment(course=course, assignment_slug="toy")
    alice = make_user(username="alice", name="Alice Real-Name", course=course,
                      pseudonym="Quiet Otter")
    bob = make_user(username="bob", name="Bob Real-Name", course=course, pseudonym="Bold Yak")
    teacher = make_user(username="teacher", name="Teacher", role="instructor", course=course)
    return Classroom(course, ca, alice, bob, teacher)


def sample_result(**overrides: Any) -> GradingResult:
    values: dict[str, Any] = dict(
        status="graded", score=1.0, max_score=3.0,
        checks=[CheckResult("double_two", True, 1.0, 1.0, "visible", "double(2) == 4"),
                CheckResult("double_random", False, 0.0, 2.0, "hidden", "try negatives")],
        stdout="hello <b>world</b>\n", stderr="", duration_s=0.4,
        limits={"wall_seconds": 20, "memory_mb": 768})
    values.update(overrides)
    return GradingResult(**values)


@pytest.fixture
def finish(state) -> Callable[..., Submission]:
    """`finish(submission, result)`: store a result as a worker does when it completes."""

    def done(submission: Submission, result: GradingResult | None = None) -> Submission:
        result = result or sample_result()
        with state.session_factory() as session:
            row = session.get(Submission, submission.id)
            row.state, row.status = DONE, result.status
            row.score, row.max_score = result.score, result.max_score
            row.result, row.graded_at, row.attempts = result.to_dict(), utcnow(), 1
            row.metric_public = result.metrics.get("accuracy_public")
            row.metric_private = result.metrics.get("accuracy_private")
            session.commit()
            return row

    return done


@pytest.fixture
def live_url(app):
    """The `app` served over real HTTP by waitress in a thread; yields its base URL."""
    import threading

    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


class StatementCounter:
    """The SQL statements an engine runs while the counter is open (`with counter:`)."""

    def __init__(self, engine) -> None:
        self.engine, self.statements = engine, []

    def _record(self, _conn, _cursor, statement, _params, _context, _many) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        from sqlalchemy import event

        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def statements(state) -> StatementCounter:
    """`with statements: …` records every SQL statement the app's engine runs."""
    return StatementCounter(state.engine)
