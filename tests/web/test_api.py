"""The JSON API: every endpoint, token auth failures, upload size/type limits."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.models import CourseAssignment, Submission, utcnow
from tests.web.conftest import sample_result
from tests.web.toy import MAX_KB, toy_pm

SUBMIT = "/api/v1/courses/c1/assignments/toy/submissions"
GOOD = b"def double(x):\n    return 2 * x\n"


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def alice_headers(auth, toy_classroom):
    return auth.headers(toy_classroom.alice)


def post(client, headers, data: bytes | None = GOOD, name: str = "solution.py",
         url: str = SUBMIT, **extra):
    files = {} if data is None else {"file": (io.BytesIO(data), name)}
    files.update(extra)
    return client.post(url, data=files, headers=headers, content_type="multipart/form-data")


def count(db) -> int:
    return db.scalar(select(func.count(Submission.id)))


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ngt_not-a-token", "Basic abc",
                                    "Token ngt_x"])
def test_auth_failures_are_json_401(client, toy_classroom, header):
    headers = {"Authorization": header} if header else {}
    for method, url in (("post", SUBMIT), ("get", "/api/v1/submissions/1"),
                        ("get", "/api/v1/courses/c1/assignments/toy/leaderboard")):
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code == 401, (header, url)
        assert response.get_json()["error"] == "unauthorized"


def test_session_cookie_is_not_enough(client, auth, toy_classroom):
    auth.login(toy_classroom.alice)
    assert client.get("/api/v1/courses/c1/assignments/toy/leaderboard").status_code == 401


def test_submit_then_poll(client, db, alice_headers, finish):
    response = post(client, alice_headers)
    assert response.status_code == 202
    body = response.get_json()
    assert set(body) >= {"id", "status", "url"} and body["status"] == "queued"
    assert response.headers["Location"] == body["url"]
    assert body["url"].endswith(f"/api/v1/submissions/{body['id']}")
    queued = client.get(body["url"], headers=alice_headers).get_json()
    assert queued["status"] == "queued" and queued["queue_position"] == 1
    assert queued["graded_at"] is None and queued["attempts"] == 0
    finish(db.get(Submission, body["id"]), sample_result(metrics={"accuracy_public": 0.9}))
    done = client.get(body["url"], headers=alice_headers).get_json()
    assert done["status"] == "graded" and done["id"] == body["id"]
    assert done["score"] == 1.0 and done["max_score"] == 3.0 and done["attempts"] == 1
    assert done["submitted_at"] and done["graded_at"]
    assert [c["name"] for c in done["checks"]] == ["double_two", "double_random"]
    assert done["stdout"] == "hello <b>world</b>\n"  # JSON carries the raw text
    listing = client.get(SUBMIT, headers=alice_headers).get_json()["submissions"]
    assert [s["id"] for s in listing] == [body["id"]]


@pytest.mark.parametrize(("data", "name", "status", "code"), [
    (b"# " + b"a" * (MAX_KB * 1024), "solution.py", 413, "too_large"),
    (GOOD, "solution.txt", 415, "unsupported_file"),
    (b"x = '\xff'\n", "solution.py", 415, "unsupported_file"),
    (b"x = 1\x00\n", "solution.py", 415, "unsupported_file"),  # a NUL byte
    (b"", "solution.py", 400, "bad_request"),
    (None, "solution.py", 400, "bad_request"),
])
def test_rejected_uploads(client, db, alice_headers, data, name, status, code):
    response = post(client, alice_headers, data, name)
    assert response.status_code == status
    assert response.get_json()["error"] == code and response.get_json()["message"]
    assert count(db) == 0


def test_two_files_rejected(client, db, alice_headers):
    response = post(client, alice_headers, other=(io.BytesIO(b"x=1\n"), "other.py"))
    assert response.status_code == 400 and count(db) == 0


def test_two_files_in_the_file_field_rejected(client, db, alice_headers):
    files = {"file": [(io.BytesIO(GOOD), "a.py"), (io.BytesIO(GOOD), "b.py")]}
    response = client.post(SUBMIT, data=files, headers=alice_headers,
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert "exactly one" in response.get_json()["message"]
    assert count(db) == 0


def test_hidden_checks_carry_points_and_hint_only(client, db, alice_headers, finish, auth,
                                                 toy_classroom):
    response = post(client, alice_headers)
    sub = db.get(Submission, response.get_json()["id"])
    result = sample_result()
    stored = result.to_dict()
    for check in stored["checks"]:  # a grader that stored more than the schema
        check["expected"] = [4, -8]
    finish(sub, result)
    row = db.get(Submission, sub.id)
    row.result = stored
    db.commit()
    url = response.get_json()["url"]
    checks = {c["name"]: c for c in client.get(url, headers=alice_headers).get_json()["checks"]}
    assert checks["double_random"] == {"name": "double_random", "passed": False, "score": 0.0,
                                       "max_score": 2.0, "visibility": "hidden",
                                       "message": "try negatives"}
    assert checks["double_two"]["expected"] == [4, -8]  # a visible check shows its values
    staff = client.get(url, headers=auth.headers(toy_classroom.teacher)).get_json()
    assert staff["checks"][1]["expected"] == [4, -8]


def test_request_over_server_limit_is_json_413(app, client, db, alice_headers):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = post(client, alice_headers, b"#" * 4096)
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert count(db) == 0


def test_not_enrolled_and_unknown_assignment(client, auth, make_user, db, toy_classroom):
    stranger = auth.headers(make_user(username="stranger"))
    assert post(client, stranger).status_code == 404
    headers = auth.headers(toy_classroom.alice)
    assert post(client, headers, url="/api/v1/courses/c1/assignments/nope/submissions"
                ).status_code == 404
    assert count(db) == 0


def test_deadline_cutoff_and_daily_limit(client, db, alice_headers, toy_classroom):
    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.daily_submission_limit = 1
    db.commit()
    assert post(client, alice_headers).status_code == 202
    limited = post(client, alice_headers)
    assert limited.status_code == 429 and limited.get_json()["error"] == "rate_limited"
    ca.daily_submission_limit = None
    ca.hard_cutoff = utcnow() - timedelta(seconds=1)
    db.commit()
    closed = post(client, alice_headers)
    assert closed.status_code == 403 and "closed" in closed.get_json()["message"]
    assert count(db) == 1


def test_leaderboard(client, auth, db, toy_classroom, make_submission, finish):
    finish(make_submission(user=toy_classroom.alice, course_assignment=toy_classroom.ca),
           sample_result(score=3.0, max_score=3.0))
    finish(make_submission(user=toy_classroom.bob, course_assignment=toy_classroom.ca),
           sample_result(score=2.0, max_score=3.0))
    board = client.get("/api/v1/courses/c1/assignments/toy/leaderboard",
                       headers=auth.headers(toy_classroom.bob)).get_json()
    assert board["metric"] == "accuracy"
    assert [(r["rank"], r["display_name"], r["you"]) for r in board["rows"]] == [
        (1, "Quiet Otter", False), (2, "Bold Yak", True)]
    assert all("name" not in r and "username" not in r for r in board["rows"])
    staff = client.get("/api/v1/courses/c1/assignments/toy/leaderboard",
                       headers=auth.headers(toy_classroom.teacher)).get_json()
    assert [r["name"] for r in staff["rows"]] == ["Alice Real-Name", "Bob Real-Name"]


def test_concurrent_uploads_respect_the_daily_limit(app, auth, db, toy_classroom):
    import threading

    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.daily_submission_limit = 2
    db.commit()
    headers = auth.headers(toy_classroom.alice)
    codes: list[int] = []
    barrier = threading.Barrier(6)

    def upload() -> None:
        barrier.wait()
        codes.append(post(app.test_client(), headers).status_code)

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202, 202, 429, 429, 429, 429]
    assert count(db) == 2


def test_token_last_used_is_written_at_most_once_a_minute(client, db, auth, toy_classroom):
    from server.models import ApiToken

    headers = auth.headers(toy_classroom.alice)
    url = "/api/v1/courses/c1/assignments/toy/submissions"
    assert client.get(url, headers=headers).status_code == 200
    first = db.query(ApiToken).one().last_used_at
    assert first is not None
    assert client.get(url, headers=headers).status_code == 200
    db.expire_all()
    assert db.query(ApiToken).one().last_used_at == first  # polled again within a minute
    token = db.query(ApiToken).one()
    token.last_used_at = first - timedelta(minutes=5)
    db.commit()
    assert client.get(url, headers=headers).status_code == 200
    db.expire_all()
    assert db.query(ApiToken).one().last_used_at > first


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
             "X-Forwarded-Host": "grader.example.org"}


#: a small address budget, so five failures spend it
FEW_FAILURES_PER_ADDRESS = {"LOGIN_THROTTLE": {"address_limit": 5}}


def forwarded_submit_and_login(client, auth, toy_classroom, make_user):
    """The API's `url` and the address the login limit sees, for a forwarded request."""
    response = post(client, {**auth.headers(toy_classroom.alice), **FORWARDED})
    make_user(username="pia", password="right")
    for n in range(5):  # from the proxy's own address, as the client
        client.post("/login", data={"username": f"guess{n}", "password": "typo"},
                    headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    direct = client.post("/login", data={"username": "pia", "password": "right"},
                         headers={"X-Forwarded-For": "198.51.100.1"},
                         environ_base={"REMOTE_ADDR": "10.9.9.9"})
    return response.get_json()["url"], direct.status_code


class TestOneTrustedProxy:
    @pytest.fixture
    def app_config(self):
        return {"TRUSTED_PROXIES": 1, **FEW_FAILURES_PER_ADDRESS}

    def test_forwarded_scheme_host_and_address_are_honoured(self, client, auth, toy_classroom,
                                                            make_user):
        url, login = forwarded_submit_and_login(client, auth, toy_classroom, make_user)
        assert url.startswith("https://grader.example.org/api/v1/submissions/")
        assert login == 302  # another client behind the proxy: its own budget


class TestNoTrustedProxy:
    @pytest.fixture
    def app_config(self):
        return FEW_FAILURES_PER_ADDRESS

    def test_without_trusted_proxies_forwarded_headers_are_ignored(self, client, auth,
                                                                   toy_classroom, make_user):
        url, login = forwarded_submit_and_login(client, auth, toy_classroom, make_user)
        assert url.startswith("http://localhost/api/v1/submissions/")
        assert login == 429  # every request comes from the proxy's address
