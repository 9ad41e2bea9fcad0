"""`neurograde queue` and `neurograde worker`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.result import GradingResult
from server.cli import main
from server.models import LANE_REGRADE
from server.runtime import queue

ROOT = Path(__file__).resolve().parents[2]


def test_queue_command_shows_lanes_running_and_failed(qdb, tmp_path):
    ca = qdb.course_assignment()
    alice, bob = qdb.users(2)
    qdb.submit(alice, ca, 2)
    qdb.submit(bob, ca, 1, lane=LANE_REGRADE)
    with qdb.session() as s:
        running = queue.claim(s, "host-a:42")
        failed = queue.claim(s, "host-b:7")
        queue.complete(s, failed.id, failed.lease_token,
                       GradingResult.failure("internal_error", "sandbox exploded"),
                       max_attempts=1)
    config = {"DATABASE_URL": qdb.url, "INSTANCE_PATH": str(tmp_path / "instance")}
    runner = CliRunner()
    out = runner.invoke(main, ["queue"], obj={"config": config}, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "queued: 1 (fresh 0, regrade 1)" in out.output
    assert f"#{running.id}" in out.output and "worker host-a:42" in out.output
    assert "failed (internal_error): 1" in out.output and "sandbox exploded" in out.output
    out = runner.invoke(main, ["queue", "--json"], obj={"config": config})
    stats = json.loads(out.output)
    assert stats["queued"] == {"fresh": 0, "regrade": 1}
    assert [r["worker_id"] for r in stats["running"]] == ["host-a:42"]


@pytest.mark.sandbox
@pytest.mark.slow
def test_worker_command_grades_then_stops_on_sigterm(qdb, tmp_path):
    pytest.importorskip("grader.engine", reason="the grading engine is not installed")
    ca = qdb.course_assignment("queue-echo")
    users = qdb.users(4)
    ids = [qdb.submit(u, ca, source="def double(x):\n    return x * 2\n")[0] for u in users]
    env = {**os.environ, "NEUROGRADE_DATABASE_URL": qdb.url,
           "NEUROGRADE_INSTANCE_PATH": str(tmp_path / "instance"),
           "NEUROGRADE_EXTRA_PLUGINS": "tests.queue.throwaway_plugin",
           "NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD": "1", "NEUROGRADE_POLL_SECONDS": "0.05"}
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "-c", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        qdb.wait_all_done(len(ids), timeout=120)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    assert "2 grading worker(s)" in output
    assert qdb.count(status="graded", score=3.0) == len(ids)
    workers = {qdb.get(i).worker_id for i in ids}
    assert all(w and ":" in w for w in workers)
