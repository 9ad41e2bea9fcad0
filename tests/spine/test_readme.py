"""The README keeps its promises: two one-line set-up commands, the second run by CI,
and a configuration table naming every setting the app reads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    head = README.split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.+)\n```$", head, re.M)


def test_exactly_two_single_line_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2
    serve, test = commands
    assert serve.startswith("python3 -m venv .venv && ")
    for step in (".venv/bin/neurograde datasets prepare", ".venv/bin/neurograde demo",
                 ".venv/bin/neurograde serve"):
        assert step in serve
    assert "'.[test]'" in test and test.endswith(".venv/bin/python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci
    assert setup_commands()[1] in ci.splitlines()
    assert "apt-get update" in ci and "NEUROGRADE_TEST_POSTGRES_URL=" in ci


def configuration_table() -> set[str]:
    """The names in the first column of the README's one configuration table."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(NEUROGRADE_[A-Z0-9_]+)` \|", section, re.M))


def _is_name(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"NEUROGRADE_[A-Z0-9]+(_[A-Z0-9]+)*",
                                                   value) is not None


def _prefixed_keys(tree: ast.Module) -> set[str]:
    """Names built as f"NEUROGRADE_{key}" inside a function: the string keys it is called
    with anywhere in the module (e.g. the worker's `pick("LEASE_SECONDS", …)`)."""
    functions = set()
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if (isinstance(node, ast.JoinedStr) and node.values
                        and isinstance(node.values[0], ast.Constant)
                        and node.values[0].value == "NEUROGRADE_"):
                    functions.add(func.name)
    return {f"NEUROGRADE_{node.args[0].value}" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in functions and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}


def settings_read_by_the_code() -> set[str]:
    """Every NEUROGRADE_* name the code of server/, grader/ and plugins/ reads: whole
    string literals (os.environ.get("NEUROGRADE_X"), getenv, helpers) and prefixed keys."""
    found: set[str] = set()
    for package in ("server", "grader", "plugins"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found |= {node.value for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and _is_name(node.value)}
            found |= _prefixed_keys(tree)
    return found


def test_configuration_table_lists_every_setting_the_code_reads():
    read = settings_read_by_the_code()
    # the scan really sees literals, helpers and the worker's prefixed keys
    assert {"NEUROGRADE_DATABASE_URL", "NEUROGRADE_CGROUPS", "NEUROGRADE_SECURE_COOKIES",
            "NEUROGRADE_STOP_GRACE_SECONDS", "NEUROGRADE_MAX_UPLOAD_KB"} <= read, read
    table = configuration_table()
    missing = read - table
    assert not missing, f"add these to the README's configuration table: {sorted(missing)}"
    for name in ("NEUROGRADE_TEST_POSTGRES_URL", "NEUROGRADE_TRUSTED_PROXIES"):
        assert name in table, name


def test_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
