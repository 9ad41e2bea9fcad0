"""The README keeps its promises: two one-line set-up commands, the second run by CI,
and a configuration table naming every setting the app reads."""

from __future__ import annotations

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


def test_configuration_table_lists_the_app_settings():
    for name in ("NEUROGRADE_INSTANCE_PATH", "NEUROGRADE_DATABASE_URL", "NEUROGRADE_SECRET_KEY",
                 "NEUROGRADE_WORKERS", "NEUROGRADE_SANDBOX", "NEUROGRADE_MAX_UPLOAD_KB",
                 "NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD"):
        assert re.search(rf"^\| `{name}` \|", README, re.M), name
    server_config = (ROOT / "server" / "config.py").read_text(encoding="utf-8")
    for name in set(re.findall(r"NEUROGRADE_[A-Z_]+", server_config)):
        assert f"`{name}`" in README, name


def test_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
