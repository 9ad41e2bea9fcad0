"""Pages about the site itself: the API documentation (docs/api.md, rendered) for the
students who create tokens, the students' guide (docs/students.md), the files they link
to, and /favicon.ico."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, send_from_directory, url_for
from flask_login import login_required

from server.blueprints import render_markdown

bp = Blueprint("help", __name__)

#: the repository's docs/ folder (present in a source checkout or editable install)
DOCS = Path(__file__).resolve().parents[2] / "docs"
#: what the API page may link to besides itself
LINKED = {"openapi.yaml": "application/yaml"}


@bp.get("/help/api")
@login_required
def api():
    try:
        text = (DOCS / "api.md").read_text(encoding="utf-8")
    except OSError:
        abort(404)
    return render_template("help/api.html", body=render_markdown(text))


@bp.get("/help/students")
@login_required
def students():
    """The students' guide (docs/students.md): uploading, notebooks and how they are graded."""
    try:
        text = (DOCS / "students.md").read_text(encoding="utf-8")
    except OSError:
        abort(404)
    return render_template("help/students.html", body=render_markdown(text))


@bp.get("/help/<path:name>")
@login_required
def linked(name: str):
    """openapi.yaml, the students' guide and the screenshots the pages link to; nothing
    else of docs/."""
    if name in LINKED:
        return send_from_directory(DOCS, name, mimetype=LINKED[name])
    if name == "students.md":  # the API page's link to the students' guide
        return redirect(url_for("help.students"))
    if name.startswith("screenshots/") and name.endswith(".png") and name.count("/") == 1:
        return send_from_directory(DOCS, name, mimetype="image/png")
    abort(404)


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)
