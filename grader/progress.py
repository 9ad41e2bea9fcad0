"""Where a grading run says which check it is on.

The engine calls `report` before each check; whoever runs the engine decides where that
goes by wrapping the run in `reporting_to(sink)` (the worker stores it for the live page).
No sink, no cost. A failing sink is logged and never disturbs grading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)

#: sink(check_name, checks_done, checks_total)
Sink = Callable[[str, int, int], None]
_sink: ContextVar[Sink | None] = ContextVar("neurograde_progress_sink", default=None)


def report(check_name: str, checks_done: int, checks_total: int) -> None:
    """Tell the current sink (if any) that `check_name` starts after `checks_done` checks."""
    sink = _sink.get()
    if sink is None:
        return
    try:
        sink(check_name, checks_done, checks_total)
    except Exception:  # progress is a courtesy; grading goes on without it
        log.warning("progress report for %s failed", check_name, exc_info=True)


@contextmanager
def reporting_to(sink: Sink) -> Iterator[None]:
    """Send the `report`s made inside this block to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
