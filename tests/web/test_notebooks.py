"""Notebook submissions in the app: upload through the form and the API, what is stored,
the pages (left-out cells, the graded code, the notebook download), malformed uploads,
grading by the worker's own function, and the starter as a notebook."""

from __future__ import annotations

import ast
import io
import json

import nbformat
import pytest
from sqlalchemy import func, select

from grader.notebook import convert
from server.models import CourseAssignment, Submission
from server.runtime.grading import grade_job
from server.services import accounts
from tests.notebooks import notebook_bytes, student_notebook

SIGMOID = "/courses/c1/assignments/sigmoid/"
API = "/api/v1/courses/c1/assignments/sigmoid/submissions"


@pytest.fixture
def alice(state, make_course, make_user, make_course_assignment):
    course = make_course(slug="c1", title="Course 1")
    make_course_assignment(course=course, assignment_slug="sigmoid")
    return make_user(username="alice", course=course)


def reference_notebook(state) -> bytes:
    reference = state.registry.assignment("sigmoid").reference_path.read_text()
    return student_notebook(reference, "sigmoid")[0]


def upload(client, data: bytes | None, name: str = "homework.ipynb"):
    files = {} if data is None else {"file": (io.BytesIO(data), name)}
    return client.post(SIGMOID + "submit", data=files, content_type="multipart/form-data")


def count(db) -> int:
    return db.scalar(select(func.count(Submission.id)))


def test_a_notebook_uploaded_through_the_form_is_stored_with_its_conversion(
        client, auth, db, state, alice):
    auth.login(alice)
    data = reference_notebook(state)
    response = upload(client, data)
    assert response.status_code == 302
    sub = db.scalars(select(Submission)).one()
    assert sub.filename == "homework.ipynb" and sub.state == "queued"
    assert sub.source == convert(json.loads(data), "homework.ipynb").source
    assert "\ndef neuron(" in sub.source and "!pip" not in sub.source
    stored = sub.notebook["ipynb"]
    nbformat.validate(nbformat.from_dict(stored))
    assert [c["source"] for c in stored["cells"]] == \
        [c["source"] for c in json.loads(data)["cells"]]
    assert sub.notebook["conversion"]["lines"]

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="notebook-report"' in page
    assert "cell 2, line 3: shell command (!pip install numpy)" in page
    assert "cell 3, lines 2–3: plotting or display library" in page

    source = client.get(f"/submissions/{sub.id}/source").get_data(as_text=True)
    assert 'id="from-notebook"' in source and "homework.ipynb" in source
    assert "# cell 4" in source and "neuron" in source
    download = client.get(f"/submissions/{sub.id}/source?download=notebook")
    assert download.headers["Content-Disposition"].endswith(f'submission-{sub.id}.ipynb"')
    again = nbformat.reads(download.get_data(as_text=True), as_version=4)
    assert all(c.get("outputs", []) == [] for c in again.cells)
    module = client.get(f"/submissions/{sub.id}/source?download=1").get_data(as_text=True)
    assert module == sub.source


def test_a_python_file_has_no_notebook_part(client, auth, db, alice):
    auth.login(alice)
    upload(client, b"def sigmoid(z):\n    return z\n", "solution.py")
    sub = db.scalars(select(Submission)).one()
    assert sub.notebook is None and sub.source.startswith("def sigmoid")
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert 'id="notebook-report"' not in page


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "it is not valid JSON"),
    (notebook_bytes("x = 1", nbformat=3), "only version 4"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 3}',
     "not a valid Jupyter notebook"),
    (notebook_bytes("x = '" + "a" * 300_000 + "'"), "the limit is 256 kB"),
    (notebook_bytes(("markdown", "# just text")), "has no code"),
])
def test_malformed_notebooks_are_refused_and_nothing_is_stored(client, auth, db, alice, data,
                                                               message):
    auth.login(alice)
    response = upload(client, data)
    assert response.headers["Location"].endswith(SIGMOID)
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert count(db) == 0


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"[]", 415, "unsupported_file"),
    (notebook_bytes("x = '" + "a" * 300_000 + "'"), 413, "too_large"),
    (notebook_bytes("   "), 400, "bad_request"),
])
def test_the_api_refuses_malformed_notebooks(client, auth, db, alice, data, status, code):
    response = client.post(API, data={"file": (io.BytesIO(data), "nb.ipynb")},
                           headers=auth.headers(alice), content_type="multipart/form-data")
    assert response.status_code == status and response.get_json()["error"] == code
    assert count(db) == 0


def test_the_api_takes_a_notebook_and_reports_what_it_left_out(client, auth, state, alice):
    headers = auth.headers(alice)
    response = client.post(API, data={"file": (io.BytesIO(reference_notebook(state)),
                                               "hw.ipynb")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 202
    body = client.get(response.get_json()["url"], headers=headers).get_json()
    assert body["filename"] == "hw.ipynb" and body["notebook"]["name"] == "hw.ipynb"
    assert "cell 2, line 3: shell command (!pip install numpy)" in [
        e["summary"] for e in body["notebook"]["left_out"]]
    assert "lines" not in body["notebook"]  # the line map stays on the server


def grade_stored(state, db, finish, sub_id: int) -> Submission:
    """Grade a stored submission with the worker's own function and store the result."""
    sub = db.get(Submission, sub_id)
    _ = sub.course_assignment
    result = grade_job(state, sub)
    finish(sub, result)
    db.expire_all()
    return db.get(Submission, sub_id)


@pytest.mark.sandbox
def test_the_worker_grades_a_notebook_and_the_page_names_the_cell(client, auth, db, state,
                                                                   alice, finish):
    auth.login(alice)
    good = reference_notebook(state)
    upload(client, good)
    broken = notebook_bytes(
        ("markdown", "# Sigmoid"), "import numpy as np",
        "def sigmoid(z):\n    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))",
        ("markdown", "next"), "def sigmoid_prime(z):\n    return sigmoid(z) * (1 - sigmoid(z))",
        "print(sigmoid(0))", "def neuron(weights, bias, x):\n    return float(sigmoid(totl))")
    upload(client, broken)
    first, second = db.scalars(select(Submission.id).order_by(Submission.id)).all()

    graded = grade_stored(state, db, finish, first)
    assert graded.status == "graded" and graded.score == graded.max_score > 0
    assert graded.result["notebook"]["left_out"][0]["summary"] == \
        "cell 2, lines 1–2: IPython magic (%matplotlib inline, %load_ext autoreload)"

    failed = grade_stored(state, db, finish, second)
    assert failed.status == "graded" and failed.score < failed.max_score
    page = client.get(f"/submissions/{second}").get_data(as_text=True)
    assert "cell 7, line 2, in neuron" in page and "NameError" in page


def test_a_syntax_error_in_a_notebook_is_shown_at_its_cell_and_line(client, auth, db, state,
                                                                    alice, finish):
    """The static phase alone (no sandbox): the page's caret block names cell 7."""
    auth.login(alice)
    upload(client, notebook_bytes(
        ("markdown", "a"), "import numpy as np", "x = 1", ("markdown", "b"), "y = 2", "z = 3",
        "!pip install numpy\ndef sigmoid(z)\n    return z"))
    sub_id = db.scalars(select(Submission.id)).one()
    sub = grade_stored(state, db, finish, sub_id)
    assert sub.status == "compile_error"
    assert sub.result["message"].startswith("SyntaxError: expected ':' (cell 7, line 2")
    page = client.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "cell 7, line 2:" in page and "def sigmoid(z)" in page


@pytest.mark.parametrize("slug", ["sigmoid", "mse-loss", "backprop-2-2-1", "mnist", "xor"])
def test_the_starter_downloads_as_a_notebook(client, auth, state, make_course, make_user,
                                             make_course_assignment, slug):
    course = make_course(slug="c2")
    make_course_assignment(course=course, assignment_slug=slug)
    auth.login(make_user(course=course))
    page = client.get(f"/courses/c2/assignments/{slug}/").get_data(as_text=True)
    assert 'id="starter-notebook-link"' in page
    response = client.get(f"/courses/c2/assignments/{slug}/starter.ipynb")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(
        f'{slug.replace("-", "_")}.ipynb"')
    notebook = nbformat.reads(response.get_data(as_text=True), as_version=4)
    nbformat.validate(notebook)
    definition = state.registry.assignment(slug)
    markdown = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert definition.handout.splitlines()[0] in markdown  # the handout's own title
    assert "Upload this file as solution.py" not in markdown  # true of the .py starter only
    assert "this notebook takes its place" in markdown
    starter = ast.parse(definition.starter)
    wanted = [s.name for s in starter.body if isinstance(s, ast.FunctionDef)]
    graded = convert(dict(notebook), "starter.ipynb")
    assert [s.name for s in ast.parse(graded.source).body
            if isinstance(s, ast.FunctionDef)] == wanted
    assert all(e["kind"] == "top_level" for e in graded.report()["left_out"])


def test_the_students_guide_states_the_rule(client, auth, alice):
    auth.login(alice)
    page = client.get("/help/students").get_data(as_text=True)
    assert "Notebooks" in page and "grade" in page and "skip" in page


def test_the_starter_notebook_follows_the_starters_access_rule(client, auth, db, alice):
    ca = db.scalars(select(CourseAssignment)).one()
    ca.enabled = False
    db.commit()
    auth.login(alice)
    assert client.get(SIGMOID + "starter.ipynb").status_code == 404  # as starter.py is
    assert client.get(SIGMOID + "starter.py").status_code == 404


def test_the_api_page_links_to_the_guide(client, auth, alice):
    auth.login(alice)
    response = client.get("/help/students.md")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/help/students")
    guide = client.get("/help/students").get_data(as_text=True)
    assert 'src="screenshots/submission-notebook.png"' in guide
    assert client.get("/help/screenshots/submission-notebook.png").status_code == 200


def test_the_instructor_sees_what_was_left_out(client, auth, db, state, alice, make_user):
    auth.login(alice)
    upload(client, reference_notebook(state))
    sub = db.scalars(select(Submission)).one()
    ca = db.scalars(select(CourseAssignment)).one()
    teacher = make_user(role="instructor")
    accounts.enroll(db, teacher, ca.course, "instructor")
    db.commit()
    auth.login(teacher)
    page = client.get(f"/instructor/c1/submissions/{sub.id}").get_data(as_text=True)
    assert 'id="notebook-report"' in page and "homework.ipynb" in page
    assert "cell 2, line 3: shell command (!pip install numpy)" in page


def test_a_notebook_over_the_servers_request_limit_is_told_to_clear_its_outputs(
        app, client, auth, db, alice):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    auth.login(alice)
    with_outputs = json.loads(notebook_bytes("print(1)"))
    with_outputs["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                            "text": "1\n" * 5000}]
    response = upload(client, json.dumps(with_outputs).encode())
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "too large" in page and "clear them and upload it again" in page
    assert count(db) == 0
