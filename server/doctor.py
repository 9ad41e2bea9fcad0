"""`neurograde doctor`: every layer grading depends on, each with the fix for a problem.

The sandbox's layers come from `grader.preflight`; this adds what a server needs: the
datasets prepared and the database reachable. `serve` and `worker` run the same checks
at start (`log_preflight`) and say loudly what is missing.
"""

from __future__ import annotations

import logging

import click

from grader.preflight import Finding, blocking, sandbox_findings
from server.runtime.readiness import database_finding, dataset_findings
from server.state import State

log = logging.getLogger(__name__)


def all_findings(state: State) -> list[Finding]:
    return [*sandbox_findings(), *dataset_findings(state), database_finding(state)]


def log_preflight(state: State, what: str) -> list[Finding]:
    """Run every check and log each problem (an error when grading cannot run)."""
    findings = all_findings(state)
    for finding in findings:
        if not finding.ok:
            level = logging.ERROR if finding.required else logging.WARNING
            log.log(level, "%s: %s: %s; fix: %s", what, finding.layer, finding.detail,
                    finding.fix)
    problem = blocking([f for f in findings if not f.layer.startswith("dataset ")])
    if problem:
        log.error("%s: GRADING IS NOT POSSIBLE HERE: jobs stay queued until this is fixed "
                  "(run `neurograde doctor`)", what)
    return findings


def echo_problems(findings: list[Finding], what: str) -> None:
    """Say on the terminal, not only in the log, what is missing (serve, worker)."""
    for f in findings:
        if not f.ok:
            mark = "ERROR" if f.required else "warning"
            click.secho(f"neurograde {what}: {mark}: {f.layer}: {f.detail} (fix: {f.fix})",
                        err=True, fg="red" if f.required else "yellow")


@click.command("doctor")
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check every layer grading needs (sandbox, datasets, database) and say how to fix
    each problem. Exits 1 if grading cannot run here."""
    from server.state import build_state

    state = build_state((ctx.obj or {}).get("config"))
    findings = all_findings(state)
    for f in findings:
        mark = "ok" if f.ok else ("FAIL" if f.required else "warn")
        click.echo(f"[{mark:>4}] {f.layer:<18} {f.detail}")
        if not f.ok:
            click.echo(f"       {'':<18} fix: {f.fix}")
    state.engine.dispose()
    if blocking(findings):
        raise SystemExit(1)
