"""Errors rendered in one place: `NeurogradeError`s and Werkzeug's HTTP errors become JSON
under `/api` (or when JSON is preferred) and an HTML page elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from jinja2 import TemplateNotFound
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from server.errors import NeurogradeError

log = logging.getLogger(__name__)

FALLBACK_PAGE = ("<!doctype html><html lang='en'><meta charset='utf-8'><title>{status} {title}"
                 "</title><body><h1>{status} {title}</h1><p>{message}</p>"
                 "<p><a href='/'>Back to the start page</a></p></body></html>")


def wants_json() -> bool:
    if request.path.startswith("/api"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def render_error(status: int, code: str, message: str, details: dict | None = None) -> Response:
    """The one place errors become responses."""
    if wants_json():
        body: dict[str, Any] = {"error": code, "message": message}
        if details:
            body["details"] = details
        response = jsonify(body)
    else:
        title = code.replace("_", " ").capitalize()
        try:
            html = render_template("error.html", status=status, code=code, title=title,
                                   message=message)
        except TemplateNotFound:
            html = FALLBACK_PAGE.format(status=status, title=escape(title), message=escape(message))
        response = Response(html, mimetype="text/html")
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(NeurogradeError)
    def _neurograde_error(error: NeurogradeError) -> Response:
        if error.status >= 500:
            log.exception("request failed: %s", error.message)
        return render_error(error.status, error.code, error.message, error.details)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException:
        if error.code is None or error.response is not None:
            return error  # redirects and prepared responses pass through
        code = (error.name or "error").lower().replace(" ", "_")
        if error.code >= 500:
            original = getattr(error, "original_exception", None)
            if original is not None:
                log.error("unhandled error", exc_info=original)
            return render_error(error.code, "internal_error", NeurogradeError.default_message)
        return render_error(error.code, code, error.description or error.name)
