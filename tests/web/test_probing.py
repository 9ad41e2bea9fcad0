"""Probing the scores before the deadline, through the web app and the JSON API.

The partial-credit probe: the accuracy check's points were linear in the accuracy on
the *whole* test set, shown beside the public half's, so private = 2·overall − public.
Here a real grading run (real sandbox) is stored the way a worker stores it, and every
page and API a student can reach is read back: the probe must come out equal to the
public figure, and the private figure and the final score must appear nowhere before
the deadline; after it the final score counts. The Ladder rule of the leaderboard is
tested here too."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from grader.config import dataset_cache_dir
from grader.engine import grade_submission
from plugins.datasets import DatasetStore
from server.models import CourseAssignment, Submission
from server.runtime import queue
from server.services import leaderboard, tokens

SLUG = "digits"
#: resolved at import, before any test changes the working directory or environment
DATASETS_DIR = dataset_cache_dir()
CHECK = "accuracy on hidden test set"
#: thresholds that put the reference (about 97 %) in the partial-credit range
FULL, ZERO = 1.0, 0.5


@pytest.fixture(autouse=True)
def _fresh_cache():
    leaderboard.clear_leaderboard_cache()
    yield
    leaderboard.clear_leaderboard_cache()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The digits reference graded through the sandbox with partial-credit thresholds."""
    from plugins.manager import get_plugin_manager
    from plugins.registry import build_registry

    registry = build_registry(get_plugin_manager(load_entrypoints=False))
    store = DatasetStore(registry.datasets, DATASETS_DIR)
    assignment = registry.assignment(SLUG)
    rubric = dataclasses.replace(registry.rubric_for(SLUG), params={
        "full_credit_accuracy": FULL, "zero_credit_accuracy": ZERO})
    for seed in range(20):  # a run whose halves differ, or the probe could not tell
        result = grade_submission(assignment.reference_path.read_text(encoding="utf-8"),
                                  assignment, rubric=rubric, datasets=store, seed=seed)
        metrics = result.metrics
        if abs(metrics["accuracy_private"] - metrics["accuracy_public"]) > 0.005:
            return result
    pytest.fail("no run with different public and private accuracy")


def probe(score: float, points: float) -> float:
    """The attack: the accuracy the shown points stand for, as 2·overall − public would use."""
    return ZERO + (FULL - ZERO) * score / points


def texts_of(client, urls: list[str], headers: dict | None = None) -> str:
    bodies = []
    for url in urls:
        response = client.get(url, headers=headers or {})
        assert response.status_code == 200, url
        bodies.append(response.get_data(as_text=True))
    return "\n".join(bodies)


def numbers_in(text: str) -> set[str]:
    return set(re.findall(r"\d+\.\d+", text))


@pytest.mark.sandbox
def test_partial_credit_probe_gains_nothing_before_the_deadline(
        client, auth, state, make_course, make_user, make_course_assignment, make_submission,
        graded):
    course = make_course(slug="probe")
    ca = make_course_assignment(course=course, assignment_slug=SLUG,
                                deadline=datetime.now(UTC) + timedelta(days=1))
    student = make_user(username="eve", course=course)
    classmate = make_user(username="carol", course=course, pseudonym="Carol P")
    mine = make_submission(user=student, course_assignment=ca)
    make_submission(user=classmate, course_assignment=ca)
    with state.session_factory() as session:  # a worker grades both
        for _ in range(2):
            job = queue.claim(session, "w", lease_seconds=30)
            assert queue.complete(session, job.id, job.lease_token, graded, metric="accuracy")
        token = tokens.create_token(session, session.merge(student), "probe")[1]
        session.commit()
    metrics = graded.metrics
    public, private, overall = (metrics["accuracy_public"], metrics["accuracy_private"],
                                metrics["accuracy"])
    check = next(c for c in graded.checks if c.name == CHECK)
    assert graded.final_score != graded.score  # there is something to hide

    auth.login(student)
    base = f"/courses/probe/assignments/{SLUG}"
    api = {"Authorization": f"Bearer {token}"}
    pages = texts_of(client, [f"/submissions/{mine.id}", f"{base}/", f"{base}/leaderboard",
                              "/courses/probe/", "/courses/probe/leaderboard",
                              f"/submissions/{mine.id}/status"])
    apis = texts_of(client, [f"/api/v1/submissions/{mine.id}", f"/api/v1{base}/submissions",
                             f"/api/v1{base}/leaderboard"], api)
    shown = json.loads(client.get(f"/api/v1/submissions/{mine.id}", headers=api).data)
    board = json.loads(client.get(f"/api/v1{base}/leaderboard", headers=api).data)

    # the probe: the shown points stand for the public accuracy, so it learns nothing new
    shown_check = next(c for c in shown["checks"] if c["name"] == CHECK)
    assert shown_check["score"] == check.score
    assert probe(shown_check["score"], shown_check["max_score"]) == pytest.approx(public)
    assert 2 * probe(shown_check["score"], shown_check["max_score"]) - public != \
        pytest.approx(private, abs=1e-3)
    assert shown["score"] == graded.score and "final_score" not in shown
    assert {"accuracy", "accuracy_private"}.isdisjoint(shown["metrics"])
    for row in board["rows"]:  # a classmate's row tells no more
        assert row["score"] == graded.score and row["metric_private"] is None
        assert row["metric"] == row["metric_public"] == pytest.approx(
            public // leaderboard.LADDER_STEP * leaderboard.LADDER_STEP)
    hidden = {f"{private:.4f}", f"{overall:.4f}", f"{graded.final_score:g}"}
    hidden -= {f"{public:.4f}", f"{graded.score:g}"}
    assert not hidden & (numbers_in(pages) | numbers_in(apis)), hidden
    assert "provisional" in pages and "fixed at the deadline" in pages

    # after the deadline the final score (whole set) counts, everywhere
    with state.session_factory() as session:
        session.get(CourseAssignment, ca.id).deadline = datetime.now(UTC) - timedelta(minutes=1)
        for row in session.scalars(select(Submission)):  # made by the deadline
            row.submitted_at = datetime.now(UTC) - timedelta(hours=1)
        session.commit()
    leaderboard.clear_leaderboard_cache()
    shown = json.loads(client.get(f"/api/v1/submissions/{mine.id}", headers=api).data)
    assert shown["score"] == shown["final_score"] == graded.final_score
    board = json.loads(client.get(f"/api/v1{base}/leaderboard", headers=api).data)
    assert board["rows"][0]["metric_private"] == pytest.approx(private)
    assert board["rows"][0]["score"] == graded.final_score
    auth.logout()
    teacher = make_user(username="prof", role="instructor", course=course)
    auth.login(teacher)
    csv_text = client.get("/instructor/probe/grades.csv").get_data(as_text=True)
    assert f"{round(graded.final_score, 4):g}" in csv_text


@dataclasses.dataclass
class Row:
    id: int
    user_id: int
    metric_public: float | None
    submitted_at: datetime


def test_the_ladder_releases_only_improvements_of_a_step_rounded_to_it():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [Row(i, 1, value, at + timedelta(minutes=i))
            for i, value in enumerate([0.9712, 0.9731, 0.9749, 0.9768, 0.9701, 0.9903])]
    assert leaderboard.ladder_figures(rows[:1]) == {1: 0.97}
    assert leaderboard.ladder_figures(rows[:3]) == {1: 0.97}  # +0.0037: not a step
    assert leaderboard.ladder_figures(rows[:4]) == {1: 0.975}
    assert leaderboard.ladder_figures(rows[:5]) == {1: 0.975}  # a worse one changes nothing
    assert leaderboard.ladder_figures(rows) == {1: 0.99}
    errors = [Row(1, 2, 0.0123, at), Row(2, 2, 0.0101, at + timedelta(minutes=1))]
    assert leaderboard.ladder_figures(errors, higher_is_better=False) == {2: 0.015}
    errors.append(Row(3, 2, 0.0069, at + timedelta(minutes=2)))
    assert leaderboard.ladder_figures(errors, higher_is_better=False) == {2: 0.01}


def test_probing_the_public_half_with_many_submissions_moves_the_board_rarely():
    """A thousand submissions that wander ±1 % around 0.97: the board changes a few times."""
    import numpy as np

    rng = np.random.default_rng(0)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    values = 0.97 + rng.uniform(-0.01, 0.01, 1000)
    rows = [Row(i, 1, float(v), at + timedelta(seconds=i)) for i, v in enumerate(values)]
    released = {leaderboard.ladder_figures(rows[:n])[1] for n in range(1, 1001, 7)}
    assert len(released) <= 4
    assert max(released) <= values.max()
