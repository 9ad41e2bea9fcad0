"""Configuration, the app factory, the database layer and error rendering."""

from __future__ import annotations

import importlib
import multiprocessing
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from server.app import create_app
from server.config import load_config
from server.db import get_session, make_engine
from server.errors import Forbidden, NotFound, ValidationError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("NEUROGRADE_INSTANCE_PATH", "NEUROGRADE_DATABASE_URL", "NEUROGRADE_SECRET_KEY",
                 "NEUROGRADE_WORKERS", "NEUROGRADE_SANDBOX", "NEUROGRADE_MAX_UPLOAD_KB",
                 "NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_use_an_instance_folder_with_sqlite(clean_env):
    config = load_config()
    instance = clean_env / "instance"
    assert config["INSTANCE_PATH"] == str(instance)
    assert config["DATABASE_URL"] == f"sqlite:///{instance / 'neurograde.sqlite3'}"
    assert config["DATASETS_DIR"] == str(instance / "datasets")
    assert config["EMBEDDED_WORKERS"] >= 1 and config["SANDBOX"] == "bwrap"
    assert config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert config["LOAD_PLUGIN_ENTRYPOINTS"] is True


def test_secret_key_is_generated_once_private_and_reused(clean_env):
    first = load_config()["SECRET_KEY"]
    key_file = clean_env / "instance" / "secret_key"
    assert len(first) == 64 and key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_config()["SECRET_KEY"] == first


def test_environment_and_overrides(clean_env, monkeypatch):
    monkeypatch.setenv("NEUROGRADE_INSTANCE_PATH", str(clean_env / "elsewhere"))
    monkeypatch.setenv("NEUROGRADE_DATABASE_URL", "postgresql+psycopg://u@db/neurograde")
    monkeypatch.setenv("NEUROGRADE_SECRET_KEY", "from-env")
    monkeypatch.setenv("NEUROGRADE_MAX_UPLOAD_KB", "64")
    monkeypatch.setenv("NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD", "1")
    config = load_config()
    assert config["INSTANCE_PATH"] == str(clean_env / "elsewhere")
    assert config["SECRET_KEY"] == "from-env"
    assert not (clean_env / "elsewhere" / "secret_key").exists()
    assert config["EMBEDDED_WORKERS"] == 0  # PostgreSQL: run `neurograde worker` instead
    assert config["MAX_CONTENT_LENGTH"] == 64 * 1024
    assert config["LOAD_PLUGIN_ENTRYPOINTS"] is False
    monkeypatch.setenv("NEUROGRADE_WORKERS", "3")
    assert load_config()["EMBEDDED_WORKERS"] == 3
    assert load_config({"EMBEDDED_WORKERS": 5})["EMBEDDED_WORKERS"] == 5
    monkeypatch.setenv("NEUROGRADE_WORKERS", "many")
    with pytest.raises(ValueError, match="NEUROGRADE_WORKERS must be an integer"):
        load_config()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    engine.dispose()


def test_foreign_keys_are_enforced(db):
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        db.execute(text("INSERT INTO enrollments (course_id, user_id, role, created_at) "
                        "VALUES (9999, 9999, 'student', '2026-01-01')"))


def test_app_state_is_complete(app, state):
    assert state.registry is not None and state.pm is not None
    assert "mnist" in state.registry.datasets
    assert state.datasets is not None and state.datasets.cache_dir.name == "datasets"
    assert state.config["DATABASE_URL"] == app.config["DATABASE_URL"]


def test_request_session_is_shared_within_a_request_and_closed_after(app):
    seen = []

    @app.get("/_probe")
    def probe():
        session = get_session()
        assert get_session() is session
        seen.append(session)
        return str(session.execute(text("SELECT 1")).scalar())

    assert app.test_client().get("/_probe").data == b"1"
    assert len(seen) == 1 and not seen[0].in_transaction()


@pytest.mark.parametrize(("error", "status", "code"), [
    (NotFound("No such submission."), 404, "not_found"),
    (Forbidden(), 403, "forbidden"),
    (ValidationError("Bad file.", field="file"), 400, "invalid"),
])
def test_errors_render_as_json_under_api_and_html_elsewhere(app, error, status, code):
    def fail():
        raise error

    app.add_url_rule("/api/_fail", "api_fail", fail)
    app.add_url_rule("/_fail", "page_fail", fail)
    client = app.test_client()
    api = client.get("/api/_fail")
    assert api.status_code == status
    assert api.json["error"] == code and api.json["message"] == error.message
    page = client.get("/_fail")
    assert page.status_code == status and page.mimetype == "text/html"
    assert error.message in page.get_data(as_text=True)


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/definitely-not-here")
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_a_blueprint_that_cannot_be_imported_fails_loudly(monkeypatch, tmp_path):
    real_import = importlib.import_module

    for missing in ("server.blueprints.leaderboard", "requests"):
        def broken_import(name, *args, missing=missing):
            if name == "server.blueprints.api":
                raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
            return real_import(name, *args)

        monkeypatch.setattr(importlib, "import_module", broken_import)
        with pytest.raises(ModuleNotFoundError, match=missing):
            create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_PLUGIN_ENTRYPOINTS": False})


def test_concurrent_writers_do_not_hit_database_is_locked(state, make_course):
    course = make_course()
    errors: list[Exception] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                with state.session_factory() as session, session.begin():
                    session.execute(text("UPDATE courses SET title = :t WHERE id = :id"),
                                    {"t": f"{n}-{i}", "id": course.id})
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _key_of(instance: str, barrier, keys) -> None:
    from server.config import load_secret_key

    barrier.wait(60)
    keys.put(load_secret_key(Path(instance)))


@pytest.mark.slow
def test_processes_starting_together_share_one_complete_secret_key(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, keys = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_key_of, args=(str(tmp_path), barrier, keys)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    found = {keys.get(timeout=5) for _ in procs}
    assert len(found) == 1 and len(found.pop()) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_a_key_file_still_being_written_is_waited_for(tmp_path):
    from server.config import load_secret_key

    key_file = tmp_path / "secret_key"
    key_file.touch(mode=0o600)  # another process created it and has not written yet
    writer = threading.Timer(0.3, lambda: key_file.write_text("k" * 64 + "\n"))
    writer.start()
    try:
        assert load_secret_key(tmp_path) == "k" * 64
    finally:
        writer.join()
