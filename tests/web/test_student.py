"""Course list, course page, assignment page, starter download and the upload form."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.models import CourseAssignment, Submission, utcnow
from tests.web.conftest import sample_result
from tests.web.toy import MAX_KB, STARTER, toy_pm


@pytest.fixture
def pm():
    return toy_pm()


def upload(client, data: bytes | None = b"def double(x):\n    return 2 * x\n",
           name: str = "solution.py", course: str = "c1"):
    files = {} if data is None else {"file": (io.BytesIO(data), name)}
    return client.post(f"/courses/{course}/assignments/toy/submit", data=files,
                       content_type="multipart/form-data")


def count(db) -> int:
    return db.scalar(select(func.count(Submission.id)))


def test_single_course_goes_straight_to_course_page(client, auth, toy_classroom):
    auth.login(toy_classroom.alice)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/courses/c1/")


def test_course_page_lists_assignment_deadline_best_and_left(client, auth, db, toy_classroom,
                                                             make_submission, finish):
    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.deadline = utcnow() + timedelta(days=3)
    ca.daily_submission_limit = 5
    db.commit()
    sub = make_submission(user=toy_classroom.alice, course_assignment=ca)
    finish(sub, sample_result(score=2.5, max_score=3.0))
    make_submission(user=toy_classroom.bob, course_assignment=ca)
    auth.login(toy_classroom.alice)
    page = client.get("/courses/c1/").get_data(as_text=True)
    assert "Toy doubling" in page and "Neural networks &lt;from scratch&gt;" in page
    assert f"{ca.deadline:%Y-%m-%d %H:%M} UTC" in page
    assert "2.5 / 3" in page
    assert "4 of 5" in page  # one of alice's five used today, bob's do not count


def test_other_course_and_disabled_assignment_are_not_found(client, auth, db, toy_classroom,
                                                           make_course):
    make_course(slug="secret", title="Other")
    auth.login(toy_classroom.alice)
    assert client.get("/courses/secret/").status_code == 404
    assert client.get("/courses/nope/").status_code == 404
    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.enabled = False
    db.commit()
    assert "Toy doubling" not in client.get("/courses/c1/").get_data(as_text=True)
    assert client.get("/courses/c1/assignments/toy/").status_code == 404
    assert upload(client).status_code == 404
    assert client.get("/courses/c1/assignments/other/").status_code == 404


def test_assignment_page_renders_handout_safely(client, auth, toy_classroom):
    auth.login(toy_classroom.alice)
    page = client.get("/courses/c1/assignments/toy/").get_data(as_text=True)
    assert "<h1>Toy assignment</h1>" in page
    assert '&lt;script&gt;alert("handout")&lt;/script&gt;' in page
    assert "<script>alert" not in page and "javascript:" not in page
    assert '<a href="https://numpy.org">docs</a>' in page
    assert 'name="file"' in page and 'accept=".py' in page


def test_starter_download(client, auth, toy_classroom):
    auth.login(toy_classroom.alice)
    response = client.get("/courses/c1/assignments/toy/starter.py")
    assert response.get_data(as_text=True) == STARTER
    assert "attachment" in response.headers["Content-Disposition"]


def test_upload_queues_a_submission_and_shows_it(client, auth, db, toy_classroom):
    auth.login(toy_classroom.alice)
    response = upload(client, name="../alice/my_solution.py")
    assert response.status_code == 302
    sub = db.scalars(select(Submission)).one()
    assert response.headers["Location"].endswith(f"/submissions/{sub.id}")
    assert (sub.state, sub.user_id, sub.filename) == ("queued", toy_classroom.alice.id,
                                                      "my_solution.py")
    history = client.get("/courses/c1/assignments/toy/").get_data(as_text=True)
    assert f"#{sub.id}" in history and "queued" in history


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"x = 1\n", "solution.txt", "ending in .py"),
    (b"x = 1\n", "solution.py.exe", "ending in .py"),
    (b"# " + b"a" * (MAX_KB * 1024), "solution.py", f"the limit is {MAX_KB} kB"),
    (b"x = '\xff\xfe'\n", "solution.py", "not valid UTF-8"),
    (b"   \n\n", "solution.py", "empty"),
    (b"x = 1\x00\n", "solution.py", "NUL"),
    (None, "solution.py", "Choose a .py file or a notebook"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(client, auth, db, toy_classroom,
                                                       data, name, message):
    auth.login(toy_classroom.alice)
    response = upload(client, data, name)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/courses/c1/assignments/toy/")
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert count(db) == 0


def test_two_files_are_refused(client, auth, db, toy_classroom):
    auth.login(toy_classroom.alice)
    data = {"file": [(io.BytesIO(b"x = 1\n"), "a.py"), (io.BytesIO(b"y = 2\n"), "b.py")]}
    response = client.post("/courses/c1/assignments/toy/submit", data=data,
                           content_type="multipart/form-data")
    assert "exactly one" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert count(db) == 0


def test_request_over_the_server_limit_gets_a_clear_message(app, client, auth, db,
                                                             toy_classroom):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    auth.login(toy_classroom.alice)
    response = upload(client, b"#" * 5000)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "too large" in page and "2 kB" in page
    assert count(db) == 0


def test_hard_cutoff_is_enforced(client, auth, db, toy_classroom):
    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.hard_cutoff = utcnow() - timedelta(minutes=1)
    db.commit()
    auth.login(toy_classroom.alice)
    page = client.get("/courses/c1/assignments/toy/").get_data(as_text=True)
    assert "no longer accepts" in page and 'id="upload-form"' not in page
    assert 'href="/courses/c1/assignments/toy/starter.py"' in page  # still downloadable
    response = upload(client)
    assert "Submissions closed" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert count(db) == 0


def test_daily_limit_ignores_internal_errors(client, auth, db, toy_classroom, finish):
    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.daily_submission_limit = 2
    db.commit()
    auth.login(toy_classroom.alice)
    upload(client)
    first = db.scalars(select(Submission)).one()
    finish(first, sample_result(status="internal_error", score=0.0, checks=[]))
    upload(client)
    upload(client)
    assert count(db) == 3  # the internal error did not use up one of the two
    response = upload(client)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "used all 2 submissions" in page and 'id="upload-form"' not in page
    assert 'href="/courses/c1/assignments/toy/starter.py"' in page  # still downloadable
    assert count(db) == 3


def test_not_enrolled_user_cannot_upload(client, auth, make_user, db, toy_classroom):
    stranger = make_user(username="stranger")
    auth.login(stranger)
    assert upload(client).status_code == 404
    assert count(db) == 0


class TestUploadLimitWithCsrf:
    """With CSRF on, the form is parsed before the view runs; the message is the same."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True, "MAX_CONTENT_LENGTH": 2048}

    def test_too_large(self, client, auth, db, toy_classroom):
        auth.login(toy_classroom.alice)
        response = upload(client, b"#" * 5000)
        assert response.status_code == 303
        assert "too large" in client.get(response.headers["Location"]).get_data(as_text=True)
        assert count(db) == 0
