"""Conditional GET: an ETag computed from what a response depends on, checked before
the response is built, so a client that already has it gets ``304 Not Modified``
without the page being computed or rendered.

Responses stay ``private, no-cache``: browsers keep them but ask every time, and a
shared cache never stores one person's page for another.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Response, request

try:
    #: a new release may render the same data differently
    _RELEASE = version("neurograde")
except PackageNotFoundError:  # running from a source tree
    _RELEASE = "source"


def etag_for(*parts: Any) -> str:
    """A strong ETag for a response determined by `parts` (values with a stable repr)."""
    return hashlib.sha256(repr((_RELEASE, *parts)).encode()).hexdigest()[:32]


def not_modified(etag: str) -> Response | None:
    """A 304 response if the client's copy matches `etag`, else None (build the page)."""
    if not request.if_none_match.contains(etag):
        return None
    return conditional(Response(status=304), etag)


def conditional(response: Any, etag: str) -> Any:
    """`response` with its ETag and the caching rule of this module."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response
