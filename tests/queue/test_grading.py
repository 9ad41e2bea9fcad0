"""`server.runtime.grading.grade_job`: course assignment → plugin assignment + rubric → engine."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from plugins.manager import plugin_version
from plugins.registry import build_registry
from server.runtime.grading import grade_job
from tests.queue import throwaway_plugin


@pytest.fixture
def worker_state(pm):
    pm.register(throwaway_plugin, name="tests.queue.throwaway_plugin")
    return SimpleNamespace(pm=pm, registry=build_registry(pm), datasets=None)


def job(slug: str = "queue-echo", rubric: str | None = None, source: str = "x = 1\n"):
    ca = SimpleNamespace(assignment_slug=slug, rubric_name=rubric, split_seed=3)
    return SimpleNamespace(id=1, source=source, notebook=None, course_assignment=ca)


def test_an_uninstalled_assignment_is_an_internal_error(worker_state):
    result = grade_job(worker_state, job(slug="no-such-assignment"))
    assert result.status == "internal_error"
    assert "no-such-assignment" in result.message and "queue-echo" in result.message


def test_an_unknown_rubric_is_an_internal_error(worker_state):
    result = grade_job(worker_state, job(rubric="no-such-rubric"))
    assert result.status == "internal_error" and "no-such-rubric" in result.message


def test_the_result_names_the_providing_plugin(worker_state):
    result = grade_job(worker_state, job(source="def double(x)\n"))  # fails before the sandbox
    assert result.status == "compile_error"
    assert result.provenance["plugin"] == "tests.queue.throwaway_plugin"
    assert result.provenance["assignment"] == "queue-echo"


def test_plugin_version_of_builtin_and_unknown_plugins(worker_state):
    assert plugin_version(worker_state.pm, "assignments.sigmoid") not in ("", "?")
    assert plugin_version(worker_state.pm, "no.such.plugin") == "?"
