"""Worker pools started from a web app's configuration (what `neurograde serve` does)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from server.models import DONE, Submission
from server.worker_pool import portable_config
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
