"""docs/plugins.md's tutorial, followed to the letter: every snippet lands in a scaffolded
package that pip installs, and `neurograde verify` passes on it through the real sandbox
(reference: full marks; both known-bad cases: their declared outcomes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests import tutorial_package as tutorial

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def test_every_code_block_of_the_tutorial_is_used():
    blocks = tutorial.blocks()
    assert tutorial.tutorial().count("```") == 2 * len(blocks)  # every block is parsed
    # every block of code is marked with its file; the rest are shell commands
    assert all(kind or not language for kind, _, language, _ in blocks)
    assert len(tutorial.snippets()) == 9
    kinds = {path: kind for kind, path, _ in tutorial.snippets()}
    for name in ("handout.md", "starter.py", "reference.py", "checks.py", "picture.py",
                 "__init__.py", "cases/expected.json"):
        assert kinds.get(f"{tutorial.PACKAGE}/{name}") == "file", name
    expected = json.loads(dict((p, c) for _, p, c in tutorial.snippets())[
        f"{tutorial.PACKAGE}/cases/expected.json"])
    cases = {p.rsplit("/", 1)[1] for k, p, _ in tutorial.snippets() if k == "replace in"}
    assert set(expected) == cases and len(cases) == 2
    for name in cases:  # the tutorial's cp commands make exactly these cases
        assert f"cp {tutorial.PACKAGE}/reference.py {tutorial.PACKAGE}/cases/{name}" in \
            tutorial.shell_commands()
    assert f"neurograde verify {tutorial.SLUG}" in tutorial.shell_commands()
    assert f"pip install -e neurograde-{tutorial.SLUG}" in tutorial.shell_commands()


def test_a_case_is_the_reference_with_one_function_replaced():
    source = "import numpy as np\n\n\ndef f(x):\n    return x\n\n\ndef g(x):\n    return 2\n"
    out = tutorial.replace_functions(source, "def g(x):\n    return 3\n")
    assert out == source.replace("return 2", "return 3")
    with pytest.raises(AssertionError):
        tutorial.replace_functions(source, "def h():\n    pass\n")


def test_the_tutorial_package_installs_and_verifies(tmp_path):
    package, site = tutorial.build_and_install(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(site), "NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD": "0"}
    listing = subprocess.run([str(tutorial.BIN / "neurograde"), "plugins"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert tutorial.PACKAGE in listing.stdout and "BROKEN" not in listing.stdout, listing.stdout
    run = subprocess.run([str(tutorial.BIN / "neurograde"), "verify", tutorial.SLUG],
                         env=env, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "all outcomes as expected" in out
    assert "ok   reference" in out and "graded 7/7" in out
    assert "ok   unstable_softmax.py" in out and "failed: softmax of large inputs" in out
    assert "ok   summed_cross_entropy.py" in out and "failed: cross-entropy" in out
    # the package's own tests, the scaffold's, in-process (verify above was the sandbox's)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "-m", "not sandbox", str(package / "tests")], env=env,
                           cwd=package, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_the_scaffold_as_it_is_installs_and_verifies(tmp_path):
    subprocess.run([str(tutorial.BIN / "neurograde"), "new", "assignment", "plain-relu",
                    "--dir", str(tmp_path)], check=True, capture_output=True, timeout=120)
    site = tutorial.install(tmp_path / "neurograde-plain-relu", tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([str(tutorial.BIN / "neurograde"), "verify", "plain-relu"], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "all outcomes as expected" in run.stdout, run.stdout
    assert "ok   absolute_value.py" in run.stdout
