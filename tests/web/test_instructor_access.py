"""Only a course's instructors reach its instructor pages: checked route by route."""

from __future__ import annotations

import re

import pytest

from server.models import DONE, GradingRecord, RegradeBatch
from tests.web.test_instructor import course_plugin_manager


@pytest.fixture
def pm():
    return course_plugin_manager()


@pytest.fixture
def world(state, make_course, make_user, make_course_assignment, make_submission):
    course = make_course(slug="nn101", title="Neural nets")
    other = make_course(slug="other", title="Other course")
    teacher = make_user(username="teacher", role="instructor", course=course)
    outsider_teacher = make_user(username="outsider", role="instructor", course=other)
    alice = make_user(username="alice", name="Alice Real", course=course)
    ca = make_course_assignment(course=course, assignment_slug="alpha")
    sub = make_submission(user=alice, course_assignment=ca, state=DONE, status="graded",
                          score=1.0, max_score=2.0)
    with state.session_factory() as session:
        batch = RegradeBatch(course_assignment_id=ca.id, scope="all")
        session.add(batch)
        session.add(GradingRecord(submission_id=sub.id, status="graded", score=1.0,
                                  max_score=2.0, result={}))
        session.commit()
    return dict(course=course, outsider_course=other, teacher=teacher, outsider=outsider_teacher,
                alice=alice, ca=ca, sub=sub, batch_id=batch.id)


def instructor_urls(app, world) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every instructor route, filled with real ids."""
    values = {"course": "nn101", "slug": "alpha", "submission_id": world["sub"].id,
              "batch_id": world["batch_id"], "username": "alice", "kind": "confusion"}
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith(("instructor.", "analytics.")):
                continue
            url = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, url))
    return found


EXPECTED_ENDPOINTS = {
    "instructor.index", "instructor.course", "instructor.assignments",
    "instructor.enable_assignment", "instructor.assignment", "instructor.start_regrade",
    "instructor.regrade_summary", "instructor.assignment_submissions", "instructor.student",
    "instructor.submission", "instructor.picture", "instructor.grades_csv",
    "instructor.roster_page", "instructor.course_time_zone",
    "analytics.course", "analytics.assignment", "analytics.assignment_csv",
}


def _form_for(endpoint: str) -> dict[str, str]:
    return {"scope": "all", "slug": "beta", "username": "mallory", "deadline": "",
            "late_penalty_percent": "0", "enabled": "on", "time_zone": "Asia/Tokyo"}


def test_every_instructor_route_is_checked(app, world):
    endpoints = {endpoint for endpoint, _, _ in instructor_urls(app, world)}
    assert endpoints == EXPECTED_ENDPOINTS, "a new instructor route needs an access test"


@pytest.mark.parametrize("who", ["alice", "outsider"])
def test_students_and_other_instructors_are_refused_everywhere(app, client, auth, state, world,
                                                               who):
    auth.login(world[who])
    for endpoint, method, url in instructor_urls(app, world):
        response = client.open(url, method=method, data=_form_for(endpoint))
        assert b"Alice Real" not in response.data
        if endpoint == "instructor.index" and who == "outsider":
            # their own course list, without this one
            assert response.status_code == 200 and b"nn101" not in response.data
            continue
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
    with state.session_factory() as session:  # nothing changed behind the refusals
        assert session.query(RegradeBatch).count() == 1
        assert session.get(type(world["sub"]), world["sub"].id).state == DONE
        assert session.get(type(world["course"]), world["course"].id).time_zone == "UTC"


def test_anonymous_users_are_sent_to_the_login_page(app, client, world):
    for endpoint, method, url in instructor_urls(app, world):
        response = client.open(url, method=method, data=_form_for(endpoint))
        assert response.status_code in (302, 401), (endpoint, method, url)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


def test_the_course_instructor_gets_in(app, client, auth, world):
    auth.login(world["teacher"])
    for endpoint, method, url in instructor_urls(app, world):
        if method != "GET" or endpoint == "instructor.picture":
            continue
        response = client.get(url)
        assert response.status_code == 200, (endpoint, url, response.status_code)


def test_unknown_ids_are_not_found_even_for_the_instructor(client, auth, world):
    auth.login(world["teacher"])
    for url in ("/instructor/nn101/submissions/99999", "/instructor/nn101/regrades/99999",
                "/instructor/nn101/students/nobody", "/instructor/nn101/assignments/nope",
                "/instructor/nope/"):
        assert client.get(url).status_code == 404, url


def test_another_courses_rows_are_not_found_through_this_course(
        client, auth, state, world, make_user, make_course_assignment, make_submission):
    other_ca = make_course_assignment(course=world["outsider_course"], assignment_slug="alpha")
    stranger = make_user(username="stranger", name="Stranger Real",
                         course=world["outsider_course"])
    foreign = make_submission(user=stranger, course_assignment=other_ca, state=DONE,
                              status="graded", score=1.0, max_score=1.0)
    with state.session_factory() as session:
        batch = RegradeBatch(course_assignment_id=other_ca.id, scope="all")
        session.add(batch)
        session.commit()
    auth.login(world["teacher"])
    for url in (f"/instructor/nn101/submissions/{foreign.id}",
                f"/instructor/nn101/submissions/{foreign.id}/confusion.png",
                f"/instructor/nn101/regrades/{batch.id}", "/instructor/nn101/students/stranger"):
        response = client.get(url)
        assert response.status_code == 404 and b"Stranger Real" not in response.data, url
    client.post("/instructor/nn101/assignments/alpha/regrade",
                data={"scope": "one", "submission_id": str(foreign.id)})
    with state.session_factory() as session:
        assert session.get(type(foreign), foreign.id).state == DONE  # not re-queued


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_forms_need_a_csrf_token(client, auth, state, world, app_config):
    auth.login(world["teacher"])
    for url, data in (("/instructor/nn101/assignments/alpha/regrade", {"scope": "all"}),
                      ("/instructor/nn101/roster", {"username": "mallory"}),
                      ("/instructor/nn101/assignments", {"slug": "beta"}),
                      ("/instructor/nn101/assignments/alpha", {"late_penalty_percent": "5"})):
        assert client.post(url, data=data).status_code == 400, url
    with state.session_factory() as session:
        assert session.query(RegradeBatch).count() == 1
    # the same form with the page's token goes through
    page = client.get("/instructor/nn101/roster").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/instructor/nn101/roster",
                           data={"username": "mallory", "csrf_token": token})
    assert response.status_code == 200 and "account created" in response.get_data(as_text=True)
