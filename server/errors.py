"""A small error hierarchy with status codes (rendered in one place: `server.error_pages`).

Services and views raise these; the web app turns them into JSON under `/api` and
into an HTML page elsewhere, the command line into a one-line error. Messages are
written for the person who sees them. No Flask here: the command line uses them too.
"""

from __future__ import annotations

from typing import Any


class NeurogradeError(Exception):
    """Base class: `status` is the HTTP status, `code` a stable machine-readable name."""

    status = 500
    code = "internal_error"
    default_message = "Something went wrong on the server."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class BadRequest(NeurogradeError):
    status, code, default_message = 400, "bad_request", "The request is not valid."


class ValidationError(BadRequest):
    code = "invalid"


class Unauthorized(NeurogradeError):
    status, code, default_message = 401, "unauthorized", "Please log in or send an API token."


class Forbidden(NeurogradeError):
    status, code, default_message = 403, "forbidden", "You are not allowed to do that."


class NotFound(NeurogradeError):
    status, code, default_message = 404, "not_found", "There is nothing here."


class Conflict(NeurogradeError):
    status, code, default_message = 409, "conflict", "That already exists."


class PayloadTooLarge(NeurogradeError):
    status, code, default_message = 413, "too_large", "The upload is too large."


class TooManyRequests(NeurogradeError):
    status, code, default_message = 429, "rate_limited", "Too many submissions; try again later."
