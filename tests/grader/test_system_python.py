"""The sandbox also works for a worker on the distribution's own Python, whose prefix is
`/usr` (a fresh Debian machine): the staged trees and the libraries bound for them must
be told apart from the system libraries under the same prefix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _system_python() -> Path:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} is not installed")
    if Path(sys.base_prefix).resolve() == Path("/usr"):
        pytest.skip("this suite already runs on the system Python: every sandbox test covers it")
    version = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"{SYSTEM_PYTHON} is Python {version}; this environment's packages are "
                    f"built for {sys.version_info[:2]}")
    return SYSTEM_PYTHON


@pytest.fixture
def fresh_stage():
    """A staging directory of its own (reachable by the sandbox uid, unlike tmp_path), so
    trees staged by earlier runs cannot hide a layout that fails to build."""
    stage = Path(tempfile.mkdtemp(prefix="neurograde-stage-test-", dir="/var/tmp"))
    yield stage
    shutil.rmtree(stage, ignore_errors=True)


def test_grading_on_the_system_python(tmp_path, fresh_stage):
    python = _system_python()
    # this environment's packages (numpy, click, …) on the system interpreter's path
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PYTHONPATH": f"{ROOT}{os.pathsep}{sysconfig.get_path('purelib')}",
           "NEUROGRADE_INSTANCE_PATH": str(tmp_path / "instance"),
           "NEUROGRADE_STAGE_DIR": str(fresh_stage),
           "NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [python, "-m", "server.cli", "grade", str(ROOT / "assignments/sigmoid/reference.py"),
         "--assignment", "sigmoid", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == "graded", result.get("message")
    assert result["score"] == result["max_score"] > 0
    assert result["provenance"]["sandbox"], result["provenance"]
