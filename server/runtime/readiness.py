"""Can this process grade? The sandbox's layers (`grader.preflight`), the datasets each
assignment needs, the database: what `neurograde doctor` reports and what a worker
checks before it claims a job."""

from __future__ import annotations

import logging

from grader.preflight import Finding
from server.state import State

log = logging.getLogger(__name__)

PREPARE = "neurograde datasets prepare"


def dataset_findings(state: State) -> list[Finding]:
    """One finding per dataset an installed assignment needs: prepared (cached) or not."""
    needed = sorted({name for a in state.registry.assignments.values() for name in a.datasets})
    return [Finding(f"dataset {name}", state.datasets.is_cached(name),
                    "prepared" if state.datasets.is_cached(name) else "not prepared",
                    PREPARE) for name in needed]


def database_finding(state: State) -> Finding:
    from sqlalchemy import text

    from server.db import safe_url

    url = safe_url(state.config["DATABASE_URL"])
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error: unreachable, refused, bad credentials
        return Finding("database", False, f"{url} is not reachable: {str(exc).splitlines()[0]}",
                       "check NEUROGRADE_DATABASE_URL and that the server is up")
    return Finding("database", True, url)


def unready_assignments(state: State, sandbox_problem: str | None) -> dict[str, str]:
    """Assignment slug -> why this process cannot grade it now (sandbox down, a dataset
    it needs not prepared); a worker does not claim those jobs."""
    missing = {name for name in {n for a in state.registry.assignments.values()
                                 for n in a.datasets} if not state.datasets.is_cached(name)}
    reasons = {}
    for slug, assignment in state.registry.assignments.items():
        lacking = sorted(set(assignment.datasets) & missing)
        if sandbox_problem:
            reasons[slug] = f"the sandbox cannot start on this worker: {sandbox_problem}"
        elif lacking:
            reasons[slug] = (f"dataset {', '.join(lacking)} not prepared on this worker "
                             f"(run `{PREPARE}`)")
    return reasons
