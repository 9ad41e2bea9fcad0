"""CLI: `neurograde worker` (standalone grading workers) and `neurograde queue` (queue stats)."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from typing import Any

import click

log = logging.getLogger(__name__)


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


@click.command("worker")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Worker processes on this machine [default: one per CPU].")
@click.option("--lease-seconds", type=click.FloatRange(min=1), default=None,
              help="Lease length; a job whose worker stops heart-beating for this long is "
                   "graded again [default: 30 or NEUROGRADE_LEASE_SECONDS].")
@click.option("--max-attempts", type=click.IntRange(min=1), default=None,
              help="Attempts before a job ends as internal_error [default: 3].")
@click.pass_context
def worker_command(ctx: click.Context, concurrency: int | None, lease_seconds: float | None,
                   max_attempts: int | None) -> None:
    """Run grading workers against the configured database until SIGTERM.

    SIGTERM lets each worker finish its current job; Ctrl-C (SIGINT) puts current
    jobs back in the queue at once.
    """
    from server.config import load_config
    from server.db import safe_url
    from server.runtime.worker import start_embedded_workers

    overrides: dict[str, Any] = dict(_base_config(ctx))
    if lease_seconds is not None:
        overrides["LEASE_SECONDS"] = lease_seconds
    if max_attempts is not None:
        overrides["MAX_ATTEMPTS"] = max_attempts
    config = load_config(overrides)
    logging.basicConfig(level=config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    n = concurrency or _cpu_count()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    _preflight(config)
    pool = start_embedded_workers(config, n)
    click.echo(f"neurograde: {n} grading worker(s) on {safe_url(config['DATABASE_URL'])}")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        click.echo("neurograde: stopping workers (finishing current jobs)")
        pool.stop()


def _preflight(config: dict[str, Any]) -> None:
    from server.doctor import echo_problems, log_preflight
    from server.state import build_state

    state = build_state(config)
    try:
        echo_problems(log_preflight(state, "worker"), "worker")
    finally:
        state.engine.dispose()


@click.command("queue")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option("--failed", "failed_limit", type=int, default=10, show_default=True,
              help="How many recent failed jobs to list.")
@click.pass_context
def queue_command(ctx: click.Context, as_json: bool, failed_limit: int) -> None:
    """Show the grading queue: queued jobs by lane, running jobs, failed jobs."""
    from server.config import load_config
    from server.db import make_engine, make_session_factory
    from server.runtime.queue import queue_stats

    config = load_config(_base_config(ctx))
    engine = make_engine(config["DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            stats = queue_stats(session, failed_limit=failed_limit)
    finally:
        engine.dispose()
    click.echo(json.dumps(stats, indent=2) if as_json else format_stats(stats))


def format_stats(stats: dict[str, Any]) -> str:
    """The human-readable form of `server.runtime.queue.queue_stats`."""
    lanes = ", ".join(f"{name} {n}" for name, n in stats["queued"].items())
    oldest = stats["oldest_queued_age_s"]
    lines = [f"queued: {stats['queued_total']} ({lanes})"
             + (f", oldest waiting {oldest:.1f}s" if oldest is not None else "")]
    lines.append(f"running: {len(stats['running'])}")
    for job in stats["running"]:
        lines.append(f"  #{job['id']:<8} worker {job['worker_id']}  age {job['age_s']:.1f}s  "
                     f"attempt {job['attempt']}  lease left {job['lease_left_s']:.1f}s")
    lines.append(f"failed (internal_error): {stats['failed_total']}")
    for job in stats["failed"]:
        reason = (job["last_error"] or "").splitlines()[0:1]
        lines.append(f"  #{job['id']:<8} attempts {job['attempts']}  {job['graded_at']}  "
                     f"{reason[0] if reason else ''}")
    return "\n".join(lines)


def _base_config(ctx: click.Context) -> dict[str, Any]:
    """Config overrides handed down by the `neurograde` group (tests, embedding)."""
    return dict((ctx.obj or {}).get("config") or {})
