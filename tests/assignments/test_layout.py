"""The built-in course keeps each assignment's internals its own: nothing outside
assignments/mnist/ imports from it (shared code lives in assignments/_sigmoid_network.py),
and every assignment package is the one `assignment_hook` call."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MNIST = ROOT / "assignments" / "mnist"
SOURCES = [p for top in ("assignments", "plugins", "neurograde", "grader", "server", "tests",
                         "examples", "bench")
           for p in (ROOT / top).rglob("*.py") if MNIST not in p.parents]


def test_no_module_outside_mnist_imports_from_it():
    pattern = re.compile(r"^\s*(from|import)\s+assignments\.mnist(\.|\s|$)", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


@pytest.mark.parametrize("init", sorted((ROOT / "assignments").glob("*/__init__.py")),
                         ids=lambda p: p.parent.name)
def test_an_assignment_package_is_one_assignment_hook_call(init):
    code = init.read_text(encoding="utf-8")
    assert code.count("assignment_hook(") == 1 and "@hookimpl" not in code
    assert "neurograde_register_assignments = assignment_hook(" in code
