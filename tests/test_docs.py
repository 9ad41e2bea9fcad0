"""Every hookspec is documented in docs/plugins.md with its exact signature and is
called by at least one test (the contract cannot drift from its documentation)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from plugins import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
TESTS = Path(__file__).resolve().parent


def _hookspecs() -> list[str]:
    return sorted(name for name, value in vars(hookspecs).items()
                  if name.startswith("neurograde_") and inspect.isfunction(value))


def _signature(name: str) -> str:
    function = getattr(hookspecs, name)
    signature = inspect.signature(function, eval_str=False)
    return f"{name}{signature}".replace("'", "")


@pytest.fixture(scope="module")
def docs_text() -> str:
    return DOCS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def test_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py")
                     if p.resolve() != Path(__file__).resolve())


def test_there_are_hookspecs():
    assert len(_hookspecs()) >= 3


@pytest.mark.parametrize("name", _hookspecs())
def test_hookspec_documented_with_exact_signature(name, docs_text):
    headings = re.findall(r"^### `(.+?)`$", docs_text, re.M)
    assert _signature(name) in headings, (
        f"docs/plugins.md needs a heading: ### `{_signature(name)}`")


@pytest.mark.parametrize("name", _hookspecs())
def test_hookspec_has_a_docstring(name):
    assert (getattr(hookspecs, name).__doc__ or "").strip()


@pytest.mark.parametrize("name", _hookspecs())
def test_hookspec_is_called_by_a_test(name, test_sources):
    assert re.search(rf"\.hook\.{name}\(", test_sources), (
        f"no test calls pm.hook.{name}(...)")


def test_example_package_named_in_docs_exists(docs_text):
    assert "examples/neurograde-example-course/" in docs_text
    assert (ROOT / "examples" / "neurograde-example-course" / "pyproject.toml").is_file()
