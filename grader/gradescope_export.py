"""`neurograde export gradescope SLUG`: an autograder zip for Gradescope.

The zip holds `setup.sh` (run once when Gradescope builds the image: Python, bubblewrap,
neurograde from the bundled source, the assignment's datasets), `run_autograder` (grades
`/autograder/submission` with the same checks and rubric as `neurograde grade` and writes
`/autograder/results/results.json`), and `neurograde/`, the project's own source.
"""

from __future__ import annotations

import shlex
import stat
import zipfile
from pathlib import Path

import click

#: what the autograder needs of the project (no web server)
BUNDLED = ("grader", "plugins", "assignments")
PROJECT_FILES = ("pyproject.toml", "README.md")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install /autograder/source/neurograde{extra}
export NEUROGRADE_INSTANCE_PATH=/autograder/instance
{datasets}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission. NEUROGRADE_GRADESCOPE_ROOT and
# NEUROGRADE_GRADESCOPE_PYTHON point it elsewhere (tests, a local dry run).
set -euo pipefail
ROOT="${{NEUROGRADE_GRADESCOPE_ROOT:-/autograder}}"
PY="${{NEUROGRADE_GRADESCOPE_PYTHON:-$ROOT/venv/bin/python}}"
export NEUROGRADE_GRADESCOPE_ROOT="$ROOT"
export NEUROGRADE_INSTANCE_PATH="${{NEUROGRADE_INSTANCE_PATH:-$ROOT/instance}}"
export PYTHONPATH="$ROOT/source/neurograde${{PYTHONPATH:+:$PYTHONPATH}}"
exec "$PY" -m grader.gradescope --assignment {slug} --root "$ROOT"
"""


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


def build_zip(slug: str, out: Path, datasets: tuple[str, ...] = (),
              pip: tuple[str, ...] = ()) -> Path:
    """Write the autograder zip for `slug` to `out`."""
    extra = "".join(f" {shlex.quote(req)}" for req in pip)
    prepare = (f"/autograder/venv/bin/neurograde datasets prepare {' '.join(datasets)}"
               if datasets else "# this assignment needs no prepared datasets")
    root = project_root()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_text(zf, "setup.sh", SETUP.format(extra=extra, datasets=prepare))
        _add_text(zf, "run_autograder", RUN.format(slug=shlex.quote(slug)))
        for name in PROJECT_FILES:
            zf.write(root / name, f"neurograde/{name}")
        for package in BUNDLED:
            for path in sorted((root / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, f"neurograde/{path.relative_to(root)}")
    return out


def _add_text(zf: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o755) << 16  # executable, as Gradescope expects
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text)


@click.group()
def export() -> None:
    """Export assignments for other platforms."""


@export.command("gradescope")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the zip (default: <slug>-gradescope.zip).")
@click.option("--pip", "pip", multiple=True,
              help="An extra pip requirement to install (e.g. the distribution of a "
                   "third-party assignment plugin); repeatable.")
def gradescope(slug: str, output: Path | None, pip: tuple[str, ...]) -> None:
    """Write a Gradescope autograder zip for the assignment SLUG."""
    from plugins.registry import load_registry

    _, registry = load_registry()
    try:
        assignment = registry.assignment(slug)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    out = build_zip(slug, output or Path(f"{slug}-gradescope.zip"), assignment.datasets, pip)
    click.echo(f"wrote {out}: upload it as the autograder of a Gradescope programming "
               "assignment (see docs/lms.md)")
