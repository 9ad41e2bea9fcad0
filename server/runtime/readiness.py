"""Can this process grade? The sandbox's layers (`grader.preflight`), the datasets each
assignment needs, the database: what `neurograde doctor` reports and what a worker
checks before it claims a job."""

from __future__ import annotations

import logging

from grader.preflight import Finding
from server.state import State

log = logging.getLogger(__name__)

PREPARE = "neurograde datasets prepare"


def _needed(state: State) -> list[str]:
    return sorted({name for a in state.registry.assignments.values() for name in a.datasets})


def dataset_problem(state: State, name: str) -> str | None:
    """Why dataset `name` cannot be loaded here (None if it can). A dataset that is not
    cached yet is built now if its provider can do that offline (digits, the toy tables);
    MNIST can only come from `neurograde datasets prepare`."""
    if state.datasets.is_cached(name):
        return None
    try:
        state.datasets.get(name)
    except Exception as exc:  # the provider's own message says what to do
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def dataset_findings(state: State) -> list[Finding]:
    """One finding per dataset an installed assignment needs: loadable here or not."""
    findings = []
    for name in _needed(state):
        problem = dataset_problem(state, name)
        findings.append(Finding(f"dataset {name}", problem is None, problem or "prepared",
                                PREPARE))
    return findings


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
    it needs cannot be loaded); a worker does not claim those jobs."""
    missing = {name: problem for name in _needed(state)
               if (problem := dataset_problem(state, name)) is not None}
    reasons = {}
    for slug, assignment in state.registry.assignments.items():
        lacking = sorted(set(assignment.datasets) & set(missing))
        if sandbox_problem:
            reasons[slug] = f"the sandbox cannot start on this worker: {sandbox_problem}"
        elif lacking:
            reasons[slug] = (f"dataset {', '.join(lacking)} is not prepared on this worker "
                             f"(run `{PREPARE}`): {missing[lacking[0]]}")
    return reasons
