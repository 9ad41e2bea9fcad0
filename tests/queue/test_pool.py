"""Worker pools started from a web app's configuration (what `neurograde serve` does)."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pytest

from server.models import DONE, Submission
from server.runtime.worker_pool import portable_config
from tests.queue import fakes


def test_portable_config_keeps_plain_values_only(pm):
    config = {"DATABASE_URL": "sqlite://", "EMBEDDED_WORKERS": 2, "LEASE_SECONDS": 1.5,
              "TESTING": True, "SECRET_KEY": None, "EXTRA_PLUGINS": ["a.b", "c"],
              "PLUGIN_MANAGER": pm, "PERMANENT_SESSION_LIFETIME": timedelta(days=1),
              "MIXED": ["x", object()]}
    assert portable_config(config) == {
        "DATABASE_URL": "sqlite://", "EMBEDDED_WORKERS": 2, "LEASE_SECONDS": 1.5,
        "TESTING": True, "SECRET_KEY": None, "EXTRA_PLUGINS": ["a.b", "c"]}


@pytest.mark.slow
def test_embedded_workers_from_the_app_config_grade_uploads(app, state, make_submission,
                                                            start_workers, tmp_path):
    config = dict(app.config)  # holds live objects (plugin manager, timedeltas)
    config.update(POLL_SECONDS=0.05, LOG_LEVEL="WARNING", GRADE_LOG=str(tmp_path / "log"))
    pool = start_workers(config, 2, fakes.quick)
    ids = [make_submission().id for _ in range(6)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with state.session_factory() as s:
            rows = [s.get(Submission, i) for i in ids]
            if all(r.state == DONE for r in rows):
                break
        time.sleep(0.05)
    assert [(r.state, r.status) for r in rows] == [(DONE, "graded")] * len(ids)
    assert pool.alive() == 2
    pool.stop(grace_seconds=5)
    assert pool.alive() == 0


@pytest.mark.slow
def test_workers_dying_at_start_are_restarted_with_backoff(monkeypatch, tmp_path, caplog,
                                                           start_workers):
    from server.runtime import worker_pool

    monkeypatch.setattr(worker_pool, "RESTART_FIRST_DELAY", 0.2)
    monkeypatch.setattr(worker_pool, "RESTART_MAX_DELAY", 0.4)
    # an unusable database URL: every worker process dies while building its state
    config = {"DATABASE_URL": "nosuchdb://nowhere", "INSTANCE_PATH": str(tmp_path),
              "LOAD_PLUGIN_ENTRYPOINTS": False, "LOG_LEVEL": "CRITICAL"}
    with caplog.at_level(logging.ERROR, logger="server.runtime.worker_pool"):
        pool = start_workers(config, 1, fakes.quick)
        deadline = time.monotonic() + 30
        while pool.restarts < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        pool.stop(grace_seconds=1)
    delays = [float(m.group(1)) for r in caplog.records
              if (m := re.search(r"starting a new one in ([\d.]+) s", r.getMessage()))]
    assert delays[:4] == [0.0, 0.2, 0.4, 0.4], delays  # doubling, then capped
    assert "quick exits in a row" in caplog.text
    assert pool.alive() == 0
