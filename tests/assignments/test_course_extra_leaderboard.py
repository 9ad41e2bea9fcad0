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

#: appended to the reference: the trained model is worsened a little (the score is the
#: model's, so that is the way to score worse): digits by a push towards class 0 that costs
#: a few public images, still with full marks; mnist-binary by a push towards 0 that costs
#: more than one Ladder step (0.005) of public test error, so some partial credit
WORSE = {"digits": "    W, b = m[-1]\n    m = m[:-1] + [(W, b + 5.0 * (np.arange(10) == 0)"
                   ".reshape(10, 1))]\n",
         "mnist-binary": "    m = {**m, 'b2': m['b2'] - 6.0}\n"}
#: whether the worse model keeps full marks
WORSE_FULL_MARKS = {"digits": True, "mnist-binary": False}


def worse_source(reference: str, slug: str) -> str:
    return (reference + "\n\n_reference_train = train\n\n\ndef train(X_train, y_train, "
            "seed=0):\n    m = _reference_train(X_train, y_train, seed)\n" + WORSE[slug]
            + "    return m\n")


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
    grade_queue(state, assignment.metric_name, seed=31)
    with state.session_factory() as session:
        rows = session.query(Submission).filter_by(course_assignment_id=ca.id).all()
        assert {r.status for r in rows} == {"graded"}
        full = [r.score == r.max_score for r in rows]
        assert all(full) or not WORSE_FULL_MARKS[slug] and any(full), \
            [r.result["checks"] for r in rows]
        for row in rows:  # the leaderboard columns come from the result's metrics
            metrics = row.result["metrics"]
            assert row.metric_public == metrics[f"{assignment.metric_name}_public"]
            assert row.metric_private == metrics[f"{assignment.metric_name}_private"]
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
    assert standings[0][1] < standings[1][1] <= 0.02
