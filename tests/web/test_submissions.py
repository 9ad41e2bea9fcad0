"""The submission page: live status JSON, queue position, results, error explanations,
captured output, source view and pictures."""

from __future__ import annotations

import pytest

from server.models import RUNNING, Submission
from tests.web.conftest import sample_result
from tests.web.toy import toy_pm


@pytest.fixture
def pm():
    return toy_pm()


@pytest.fixture
def mine(toy_classroom, make_submission):
    return lambda **kw: make_submission(user=toy_classroom.alice,
                                        course_assignment=toy_classroom.ca, **kw)


def test_queued_page_shows_position_and_polls(client, auth, toy_classroom, make_submission,
                                              mine):
    make_submission(user=toy_classroom.bob, course_assignment=toy_classroom.ca)
    sub = mine()
    auth.login(toy_classroom.alice)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert 'id="position">2<' in page
    assert f'data-status-url="/submissions/{sub.id}/status"' in page
    assert "status.js" in page
    status = client.get(f"/submissions/{sub.id}/status").get_json()
    assert status["state"] == "queued" and status["queue_position"] == 2
    assert not status["done"] and "result_html" not in status


def test_two_queued_uploads_show_positions_one_and_two(client, auth, db, toy_classroom):
    """No worker runs in web tests, so both uploads wait: the next to be graded is 1."""
    import io

    auth.login(toy_classroom.alice)
    ids = []
    for name in ("first.py", "second.py"):
        response = client.post("/courses/c1/assignments/toy/submit", data={
            "file": (io.BytesIO(b"def double(x):\n    return 2 * x\n"), name)},
            content_type="multipart/form-data")
        ids.append(int(response.headers["Location"].rsplit("/", 1)[1]))
    for position, sub_id in enumerate(ids, 1):
        page = client.get(f"/submissions/{sub_id}").get_data(as_text=True)
        assert f'id="position">{position}<' in page, position
        status = client.get(f"/submissions/{sub_id}/status").get_json()
        assert status["state"] == "queued" and status["queue_position"] == position
        api = client.get(f"/api/v1/submissions/{sub_id}",
                         headers=auth.headers(toy_classroom.alice)).get_json()
        assert api["queue_position"] == position


def test_running_status(client, auth, db, mine, toy_classroom):
    sub = mine()
    row = db.get(Submission, sub.id)
    row.state = RUNNING
    db.commit()
    auth.login(toy_classroom.alice)
    status = client.get(f"/submissions/{sub.id}/status").get_json()
    assert status["status"] == "running" and status["queue_position"] is None
    assert "Grading your code" in client.get(f"/submissions/{sub.id}").get_data(as_text=True)


def test_graded_result_table_and_escaped_output(client, auth, mine, finish, toy_classroom):
    sub = finish(mine())
    auth.login(toy_classroom.alice)
    status = client.get(f"/submissions/{sub.id}/status").get_json()
    assert status["done"] and status["score"] == 1.0 and status["max_score"] == 3.0
    for html in (status["result_html"], client.get(f"/submissions/{sub.id}").get_data(
            as_text=True)):
        assert "double_two" in html and "double_random" in html
        assert "try negatives" in html  # the hint of the hidden check
        assert "hello &lt;b&gt;world&lt;/b&gt;" in html and "<b>world</b>" not in html
        hidden_row = html[html.index("<code>double_random"):]
        hidden_row = hidden_row[:hidden_row.index("</tr>")]
        assert "0 / 2" in hidden_row  # points per check are shown, hidden or not
    assert "1 / 3" in client.get(f"/submissions/{sub.id}").get_data(as_text=True)


def test_instructor_sees_hidden_points_and_student(client, auth, mine, finish, toy_classroom):
    sub = finish(mine())
    auth.login(toy_classroom.teacher)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert "Alice Real-Name" in page and "0 / 2" in page


def test_syntax_error_shows_line_and_caret(client, auth, mine, finish, toy_classroom):
    sub = finish(mine(source="def double(x):\n    return 2 *\n"),
                 sample_result(status="compile_error", score=0.0, checks=[], stdout="",
                               message="SyntaxError: invalid syntax (line 2)"))
    auth.login(toy_classroom.alice)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert "Python could not compile your file" in page
    assert "line 2" in page
    assert "   2 |     return 2 *\n" in page
    caret_line = page.split("   2 |     return 2 *\n", 1)[1].split("</pre>", 1)[0]
    assert caret_line.strip() == "^"
    assert len(caret_line) - 7 > len("    return 2")  # the caret points after the '*'


@pytest.mark.parametrize(("status", "extra", "expected"), [
    ("timeout", {"limit_hit": {"name": "wall_seconds", "value": 2.5}}, "2.5 s"),
    ("timeout", {}, "20 s"),
    ("memory_limit", {"limit_hit": {"name": "memory_mb", "value": 512}}, "512 MB"),
    ("forbidden_import", {"message": "line 1: import of 'torch' is not allowed"},
     "import of &#39;torch&#39; is not allowed"),
    ("import_error", {"message": "NameError: name 'foo' is not defined"}, "while it was being"),
    ("internal_error", {}, "not your fault"),
])
def test_error_statuses_explain_themselves(client, auth, mine, finish, toy_classroom, status,
                                           extra, expected):
    sub = finish(mine(), sample_result(status=status, score=0.0, checks=[], **extra))
    auth.login(toy_classroom.alice)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert expected in page


def test_source_view_is_escaped(client, auth, mine, toy_classroom):
    sub = mine(source="print('<script>alert(1)</script>')\n")
    auth.login(toy_classroom.alice)
    page = client.get(f"/submissions/{sub.id}/source").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    raw = client.get(f"/submissions/{sub.id}/source?download=1")
    assert raw.get_data(as_text=True) == "print('<script>alert(1)</script>')\n"
    assert raw.mimetype == "text/plain"


def test_confusion_picture(client, auth, mine, finish, toy_classroom):
    matrix = [[5 if i == j else (1 if j == (i + 1) % 10 else 0) for j in range(10)]
              for i in range(10)]
    sub = finish(mine(), sample_result(artifacts={"confusion_matrix": matrix}))
    auth.login(toy_classroom.alice)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert f"/submissions/{sub.id}/confusion_matrix.png" in page
    assert "misclassified.png" not in page
    png = client.get(f"/submissions/{sub.id}/confusion.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/submissions/{sub.id}/misclassified.png").status_code == 404


def test_no_pictures_before_grading(client, auth, mine, toy_classroom):
    sub = mine()
    auth.login(toy_classroom.alice)
    assert client.get(f"/submissions/{sub.id}/confusion.png").status_code == 404


def test_private_metrics_hidden_from_students_until_the_deadline(client, auth, db, mine,
                                                                  finish, toy_classroom):
    """A real result carries the overall figure too: with it and the public part a student
    could compute the private part, so before the deadline both are withheld."""
    from datetime import timedelta

    from server.models import CourseAssignment, utcnow

    ca = db.get(CourseAssignment, toy_classroom.ca.id)
    ca.deadline = utcnow() + timedelta(days=1)
    db.commit()
    sub = finish(mine(submitted_at=utcnow() - timedelta(minutes=5)), sample_result(metrics={
        "accuracy": 0.8944, "accuracy_public": 0.9123, "accuracy_private": 0.8765,
        "loss": 0.3141}))
    api_url = f"/api/v1/submissions/{sub.id}"
    board_url = "/api/v1/courses/c1/assignments/toy/leaderboard"
    auth.login(toy_classroom.alice)
    for html in (client.get(f"/submissions/{sub.id}").get_data(as_text=True),
                 client.get(f"/submissions/{sub.id}/status").get_json()["result_html"]):
        assert "0.9123" in html and "0.3141" in html
        assert "0.8765" not in html and "0.8944" not in html
    alice = auth.headers(toy_classroom.alice)
    api = client.get(api_url, headers=alice).get_json()
    assert api["metrics"] == {"accuracy_public": 0.9123, "loss": 0.3141}
    row = client.get(board_url, headers=alice).get_json()["rows"][0]
    # the leaderboard shows the Ladder's figure: rounded down to a step of 0.005
    assert row["metric"] == row["metric_public"] == 0.91 and row["metric_private"] is None
    auth.login(toy_classroom.teacher)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert "0.8765" in page and "0.8944" in page
    ca.deadline = utcnow() - timedelta(seconds=1)
    db.commit()
    auth.login(toy_classroom.alice)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert "0.8765" in page and "0.8944" in page
    api = client.get(api_url, headers=alice).get_json()
    assert api["metrics"]["accuracy_private"] == 0.8765 and api["metrics"]["accuracy"] == 0.8944
    row = client.get(board_url, headers=alice).get_json()["rows"][0]
    assert row["metric"] == row["metric_private"] == 0.8765
