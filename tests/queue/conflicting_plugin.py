"""A throwaway plugin that registers a slug a built-in plugin already has (a configuration
error: it must be disabled without stopping the grading of everything else)."""

from __future__ import annotations

from dataclasses import replace

from plugins import hookimpl
from tests.queue.throwaway_plugin import ASSIGNMENT


@hookimpl
def neurograde_register_assignments():
    return [replace(ASSIGNMENT, slug="sigmoid", title="Shadows the built-in sigmoid")]
