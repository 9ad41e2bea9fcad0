"""The leaderboard for the metric assignments of the rest of the course: real submissions
are claimed, graded through the sandbox and completed as a worker does, and the ranking
follows the assignment's metric and direction (digits: accuracy, higher is better;
mnist-binary: test error, lower is better)."""

from __future__ import annotations

import pytest

from grader.engine import grade_submission
from server.models import CourseAssignment, Submission
from server.runtime import queue
from server.services import leaderboard

pytestmark = pytest.mark.sandbox

#: appended to the reference: the first predictions (of test images in a per-run order)
#: are made wrong, so the same model scores a little worse, still with full marks
WORSE = {"digits": "    p[:10] = (p[:10] + 1) % 10\n", "mnist-binary": "    p[:3] = 1 - p[:3]\n"}


def worse_source(reference: str, slug: str) -> str:
    return (reference + "\n\n_reference_predict = predict\n\n\ndef predict(model, X):\n"
            "    p = _reference_predict(model, X).copy()\n" + WORSE[slug] + "    return p\n")


def grade_queue(state, metric: str, seed: int) -> None:
    """Claim and grade every queued job with a fixed seed, then complete it."""
    while True:
        with state.session_factory() as session:
            job = queue.claim(session, "test-worker")
            if job is None:
                return
            ca = session.get(CourseAssignment, job.course_assignment_id)
            assignment = state.registry.assignment(ca.assignment_slug)
            result = grade_submission(job.source, assignment,
                                      rubric=state.registry.rubric_for(assignment.slug),
                                      datasets=state.datasets, seed=seed,
                                      extra_params={"split_seed": ca.split_seed})
            assert queue.complete(session, job.id, job.lease_token, result, metric=metric)


def ranked(state, ca_id: int, slug: str) -> list[tuple[str, float]]:
    leaderboard.clear_leaderboard_cache()
    higher = state.registry.assignment(slug).metric_higher_is_better
    with state.session_factory() as session:
        row = session.get(CourseAssignment, ca_id)
        return [(s.username, s.metric) for s in leaderboard.standings(session, row,
                                                                    higher_is_better=higher)]


def run_leaderboard(state, client, auth, make_course, make_course_assignment, make_user,
                    make_submission, slug: str):
    assignment = state.registry.assignment(slug)
    course = make_course(slug="nn101", title="Neural nets")
    ca = make_course_assignment(course=course, assignment_slug=slug, split_seed=5)
    reference = assignment.reference_path.read_text()
    best = make_user(username="best", pseudonym="Best", course=course)
    second = make_user(username="second", pseudonym="Second", course=course)
    make_submission(user=second, course_assignment=ca, source=worse_source(reference, slug))
    make_submission(user=best, course_assignment=ca, source=reference)
    grade_queue(state, assignment.metric, seed=31)
    with state.session_factory() as session:
        rows = session.query(Submission).filter_by(course_assignment_id=ca.id).all()
        assert {r.status for r in rows} == {"graded"}
        assert all(r.score == r.max_score for r in rows), [r.result["checks"] for r in rows]
        for row in rows:  # the leaderboard columns come from the result's metrics
            metrics = row.result["metrics"]
            assert row.metric_public == metrics[f"{assignment.metric}_public"]
            assert row.metric_private == metrics[f"{assignment.metric}_private"]
    standings = ranked(state, ca.id, slug)
    assert [name for name, _ in standings] == ["best", "second"], standings
    auth.login(best)
    page = client.get(f"/courses/nn101/assignments/{slug}/leaderboard").get_data(as_text=True)
    assert page.index("Best") < page.index("Second")
    return standings


def test_digits_leaderboard_ranks_higher_accuracy_first(
        state, client, auth, make_course, make_course_assignment, make_user, make_submission):
    standings = run_leaderboard(state, client, auth, make_course, make_course_assignment,
                                make_user, make_submission, "digits")
    assert standings[0][1] > standings[1][1] >= 0.9


@pytest.mark.slow
def test_mnist_binary_leaderboard_ranks_lower_test_error_first(
        state, client, auth, make_course, make_course_assignment, make_user, make_submission):
    if not state.datasets.is_cached("mnist"):
        pytest.skip("MNIST is not prepared: run `neurograde datasets prepare` first")
    standings = run_leaderboard(state, client, auth, make_course, make_course_assignment,
                                make_user, make_submission, "mnist-binary")
    assert standings[0][1] < standings[1][1] <= 0.006
