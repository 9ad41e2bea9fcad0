"""`neurograde grade` and `neurograde check`: grading from the command line.

`grade` runs the full grading exactly as a worker does (hidden checks included);
`check` runs only the visible checks, the student's local pre-check. FILE is a `.py`
file or a Jupyter notebook (`.ipynb`, converted by `grader.notebook`). Both exit 0
whenever grading completed, whatever the score; 1 when the grader itself failed
(`internal_error`); 2 for a usage error (unknown assignment or rubric, missing file, a
file that is not a usable notebook).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.config import dataset_cache_dir
from grader.result import GradingResult

if TYPE_CHECKING:
    from grader.notebook import Conversion

log = logging.getLogger(__name__)


def _registry():
    # the same conflict-tolerant loading as the server: a broken or clashing plugin is
    # reported (logged) and the others still grade
    from plugins.registry import load_registry

    return load_registry()


def _run(file: Path, slug: str, rubric_name: str | None, visible_only: bool,
         seed: int | None) -> GradingResult:
    from grader.engine import grade_submission
    from plugins.datasets import DatasetStore
    from plugins.manager import plugin_version

    pm, registry = _registry()
    try:
        assignment = registry.assignment(slug)
        rubric = registry.rubric_for(slug, rubric_name)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    source, conversion = _source(file, assignment.limits.max_source_kb)
    datasets = DatasetStore(registry.datasets, dataset_cache_dir())
    plugin = registry.plugin_of("assignment", slug)
    return grade_submission(source, assignment, rubric=rubric, datasets=datasets,
                            visible_only=visible_only, seed=seed, plugin=plugin,
                            plugin_version=plugin_version(pm, plugin), notebook=conversion)


def _source(file: Path, max_kb: int) -> tuple[bytes | str, Conversion | None]:
    """The file's bytes, or for a notebook its graded module and conversion."""
    from grader import notebook

    data = file.read_bytes()
    if not notebook.is_notebook(file.name):
        return data, None
    try:
        _, conversion = notebook.load(data, file.name, max_kb=max_kb)
    except notebook.NotebookError as exc:
        raise click.BadParameter(exc.message, param_hint="FILE") from None
    return conversion.source, conversion


def _report(result: GradingResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(format_result(result))
    if result.status == "internal_error":
        raise SystemExit(1)


def format_result(result: GradingResult) -> str:
    """A terminal-friendly rendering of a result."""
    lines = [f"status: {result.status}    score: {result.score:g} / {result.max_score:g}"]
    if result.message:
        lines += ["", result.message]
    if result.notebook:
        lines += ["", f"From the notebook {result.notebook['name']}, not graded:"]
        lines += [f"    {e['summary']}" for e in result.notebook["left_out"]] or ["    nothing"]
        lines += [f"  Note: {note}" for note in result.notebook["notes"]]
    for check in result.checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"\n[{mark}] {check.name} ({check.visibility}) "
                     f"{check.score:g}/{check.max_score:g}")
        lines += [f"    {line}" for line in check.message.splitlines()]
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text.strip():
            lines += ["", f"--- your {name} ---", text.rstrip()]
    usage = result.usage
    if usage:
        lines.append(f"\nused {usage.get('wall_s', 0):.2f} s wall, {usage.get('cpu_s', 0):.2f} s "
                     f"CPU, {usage.get('peak_memory_mb', 0):.0f} MiB peak memory "
                     f"(seed {result.provenance.get('seed')})")
    return "\n".join(lines)


_file = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_slug = click.option("--assignment", "slug", required=True, help="Assignment slug, e.g. sigmoid.")
_json = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
_seed = click.option("--seed", type=int, default=None, help="Fix the per-run seed.")


@click.command()
@_file
@_slug
@click.option("--rubric", "rubric_name", default=None, help="Rubric name (default: the "
              "assignment's default rubric).")
@_json
@_seed
def grade(file: Path, slug: str, rubric_name: str | None, as_json: bool, seed: int | None) -> None:
    """Grade FILE with every check, exactly as a worker would."""
    _report(_run(file, slug, rubric_name, False, seed), as_json)


@click.command()
@_file
@_slug
@_json
@_seed
def check(file: Path, slug: str, as_json: bool, seed: int | None) -> None:
    """Run only the visible checks on FILE (a local pre-check before submitting)."""
    _report(_run(file, slug, None, True, seed), as_json)
