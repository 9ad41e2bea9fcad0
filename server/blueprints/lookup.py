"""Views that take a course: the URL's `<course>` slug arrives already resolved.

`with_course(lookup)` wraps a view whose first parameter is the `Course`; Flask passes
the slug, `lookup` turns it into the course or aborts (404), and the view's own
signature says what it works with.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from server.models import Course

P = ParamSpec("P")
R = TypeVar("R")

View = Callable[Concatenate[Course, P], R]
SlugView = Callable[Concatenate[str, P], R]


def with_course(lookup: Callable[[str], Course]) -> Callable[[View[P, R]], SlugView[P, R]]:
    """A decorator giving a view the course `lookup` finds for the URL's `course` slug."""
    def decorate(view: View[P, R]) -> SlugView[P, R]:
        @functools.wraps(view)
        def wrapper(course: str, *args: P.args, **kwargs: P.kwargs) -> R:
            return view(lookup(course), *args, **kwargs)
        return wrapper
    return decorate
