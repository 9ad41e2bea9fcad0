"""Who may see what, route by route: a student never reaches another student's
submission, source, pictures or real name, through the web pages or the API."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import sample_result
from tests.web.toy import toy_pm

STUDENT_BLUEPRINTS = ("student", "submissions", "api")


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def world(toy_classroom, make_submission, make_course, make_course_assignment, make_user,
          finish):
    matrix = [[3] * 10 for _ in range(10)]
    alice_sub = finish(make_submission(user=toy_classroom.alice,
                                       course_assignment=toy_classroom.ca,
                                       source="SECRET_SOURCE_OF_ALICE = 1\n"),
                       sample_result(artifacts={"confusion_matrix": matrix},
                                     stdout="ALICE_PRINTED\n"))
    other_course = make_course(slug="c2", title="Other")
    outsider_teacher = make_user(username="outsider", role="instructor", course=other_course)
    return dict(sub=alice_sub, outsider=outsider_teacher, **toy_classroom.__dict__)


def submission_urls(app, submission_id: int) -> list[str]:
    """Every GET route of the student-side blueprints that takes a submission id."""
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if rule.endpoint.split(".")[0] not in STUDENT_BLUEPRINTS:
                continue
            if "submission_id" not in rule.arguments or "GET" not in rule.methods:
                continue
            values = {"submission_id": submission_id}
            if "kind" in rule.arguments:
                for kind in ("confusion", "misclassified"):
                    urls.append(url_for(rule.endpoint, kind=kind, **values))
            else:
                urls.append(url_for(rule.endpoint, **values))
    return urls


def test_every_submission_route_is_covered(app):
    paths = submission_urls(app, 7)
    assert {"/submissions/7", "/submissions/7/status", "/submissions/7/source",
            "/submissions/7/confusion.png", "/api/v1/submissions/7"} <= set(paths)


def test_owner_sees_everything(app, client, auth, world):
    auth.login(world["alice"])
    api = auth.headers(world["alice"])
    for url in submission_urls(app, world["sub"].id):
        if "misclassified" in url:
            continue  # no such picture for this result
        response = client.get(url, headers=api if url.startswith("/api") else {})
        assert response.status_code == 200, url


@pytest.mark.parametrize("who", ["bob", "outsider"])
def test_others_get_not_found_for_real_and_guessed_ids(app, client, auth, world, who):
    viewer = world[who]
    auth.login(viewer)
    headers = auth.headers(viewer)
    for submission_id in (world["sub"].id, world["sub"].id + 1, 999_999):
        for url in submission_urls(app, submission_id):
            response = client.get(url, headers=headers if url.startswith("/api") else {})
            assert response.status_code == 404, (who, url)
            body = response.get_data(as_text=True)
            assert "SECRET_SOURCE_OF_ALICE" not in body and "ALICE_PRINTED" not in body
            assert "Alice Real-Name" not in body


def test_anonymous_is_sent_to_login_or_401(app, client, world):
    for url in submission_urls(app, world["sub"].id):
        response = client.get(url)
        if url.startswith("/api"):
            assert response.status_code == 401, url
            assert response.get_json()["error"] == "unauthorized"
        else:
            assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_course_instructor_sees_the_submission(app, client, auth, world):
    auth.login(world["teacher"])
    page = client.get(f"/submissions/{world['sub'].id}").get_data(as_text=True)
    assert "Alice Real-Name" in page
    source = client.get(f"/submissions/{world['sub'].id}/source").get_data(as_text=True)
    assert "SECRET_SOURCE_OF_ALICE" in source
    response = client.get(f"/api/v1/submissions/{world['sub'].id}",
                          headers=auth.headers(world["teacher"]))
    assert response.status_code == 200


def test_student_pages_never_show_real_names_of_others(client, auth, world, finish,
                                                        make_submission):
    finish(make_submission(user=world["bob"], course_assignment=world["ca"]))
    auth.login(world["alice"])
    for url in ("/courses/c1/", "/courses/c1/assignments/toy/",
                f"/submissions/{world['sub'].id}"):
        body = client.get(url).get_data(as_text=True)
        assert "Bob Real-Name" not in body and not re.search(r"\bbob\b", body, re.I)
    board = client.get("/api/v1/courses/c1/assignments/toy/leaderboard",
                       headers=auth.headers(world["alice"])).get_json()
    text = str(board)
    assert "Bob Real-Name" not in text and "'bob'" not in text
    assert {row["display_name"] for row in board["rows"]} == {"Quiet Otter", "Bold Yak"}


def test_student_cannot_reach_other_course_pages_or_api(client, auth, world):
    auth.login(world["alice"])
    assert client.get("/courses/c2/").status_code == 404
    headers = auth.headers(world["alice"])
    for url in ("/api/v1/courses/c2/assignments/toy/leaderboard",
                "/api/v1/courses/c2/assignments/toy/submissions"):
        assert client.get(url, headers=headers).status_code == 404
