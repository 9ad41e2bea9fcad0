"""Gradescope's autograder format: a neurograde result as `results.json`, and the entry
point the exported `run_autograder` calls inside Gradescope's container.

Gradescope lays a submission out as `<root>/submission/` and reads
`<root>/results/results.json` (root `/autograder`; `NEUROGRADE_GRADESCOPE_ROOT`
overrides it). Visible checks are shown at once; hidden checks become
`after_due_date` tests, so the figures a student could probe with stay back until the
deadline, as on neurograde's own leaderboard.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from grader.result import GradingResult

log = logging.getLogger(__name__)

DEFAULT_ROOT = "/autograder"
VISIBILITY = {"visible": "visible", "hidden": "after_due_date"}


def results_json(result: GradingResult, metric: str | None = None,
                 higher_is_better: bool = True) -> dict[str, Any]:
    """Gradescope's results.json for `result`: one test per check (name, score,
    max_score, output, visibility), the run's message and output, and a leaderboard
    entry for the assignment's declared `metric` (its public part when split)."""
    out: dict[str, Any] = {
        "score": round(float(result.score), 6),
        "output": _run_output(result),
        "tests": [{"name": c.name, "score": round(float(c.score), 6),
                   "max_score": float(c.max_score), "output": c.message,
                   "visibility": VISIBILITY.get(c.visibility, "after_due_date"),
                   "status": "passed" if c.passed else "failed"} for c in result.checks],
        "execution_time": round(float(result.duration_s), 3),
        "stdout_visibility": "visible",
    }
    value = None
    if metric:
        value = result.metrics.get(f"{metric}_public", result.metrics.get(metric))
    if value is not None:
        out["leaderboard"] = [{"name": metric, "value": float(value),
                               "order": "desc" if higher_is_better else "asc"}]
    return out


def _run_output(result: GradingResult) -> str:
    parts = [f"neurograde: {result.status}, {result.score:g} / {result.max_score:g}"]
    if result.message:
        parts.append(result.message)
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text.strip():
            parts.append(f"--- your {name} ---\n{text.rstrip()}")
    return "\n\n".join(parts)


def find_submission(folder: Path) -> Path | None:
    """`solution.py` if present, else the only .py file (anywhere below `folder`)."""
    preferred = folder / "solution.py"
    if preferred.is_file():
        return preferred
    found = sorted(folder.rglob("*.py"))
    return found[0] if len(found) == 1 else None


def grade_folder(root: Path, slug: str) -> dict[str, Any]:
    """Grade `<root>/submission` with every check and write `<root>/results/results.json`."""
    from grader.config import dataset_cache_dir
    from grader.engine import grade_submission
    from plugins.datasets import DatasetStore
    from plugins.registry import load_registry

    pm, registry = load_registry()
    assignment = registry.assignment(slug)
    file = find_submission(root / "submission")
    if file is None:
        result = GradingResult.failure(
            "import_error", "Upload one Python file (solution.py) for this assignment.")
    else:
        plugin = registry.plugin_of("assignment", slug)
        result = grade_submission(
            file.read_bytes(), assignment, rubric=registry.rubric_for(slug, None),
            datasets=DatasetStore(registry.datasets, dataset_cache_dir()), plugin=plugin)
    data = results_json(result, assignment.metric_name, assignment.metric_higher_is_better)
    if result.status == "internal_error":
        data["output"] = "The grader failed (not your fault); please resubmit.\n\n" + data["output"]
    out = root / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=2))
    log.info("%s: %s %g/%g", slug, result.status, result.score, result.max_score)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade a Gradescope submission folder.")
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--root", default=os.environ.get("NEUROGRADE_GRADESCOPE_ROOT",
                                                         DEFAULT_ROOT))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    grade_folder(Path(args.root), args.assignment)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
