"""The Alembic migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import inspect

from server.cli import main
from server.db import alembic_config, make_engine, upgrade_database
from server.models import Base

TABLES = {"users", "api_tokens", "courses", "enrollments", "course_assignments", "submissions",
          "grading_records", "regrade_batches", "grading_progress", "alembic_version",
          "login_sessions", "login_throttles", "enrollment_invitations"}
TABLES |= {"lti_platforms", "lti_contexts", "lti_users", "lti_line_items", "lti_passbacks",
           "lti_passback_log", "lti_launch_data"}


def schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_one_linear_history():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_sqlite_upgrade_matches_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade_database(url)
    assert table_names(url) == TABLES
    assert schema_diff(url) == []


def test_sqlite_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'cycle.sqlite3'}"
    upgrade_database(url)
    command.downgrade(alembic_config(url), "base")
    assert table_names(url) == {"alembic_version"}
    upgrade_database(url)
    assert schema_diff(url) == []


def test_cli_db_upgrade_creates_the_default_database(tmp_path):
    result = CliRunner().invoke(main, ["db", "upgrade"], obj={"config": {
        "INSTANCE_PATH": str(tmp_path), "LOAD_PLUGIN_ENTRYPOINTS": False}})
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{tmp_path / 'neurograde.sqlite3'}"
    assert schema_diff(url) == []
    again = CliRunner().invoke(main, ["db", "upgrade"], obj={"config": {
        "INSTANCE_PATH": str(tmp_path), "LOAD_PLUGIN_ENTRYPOINTS": False}})
    assert again.exit_code == 0, again.output


@pytest.mark.postgres
def test_postgres_upgrade_matches_models(pg_schema_url):
    assert table_names(pg_schema_url) == set()
    upgrade_database(pg_schema_url)
    assert table_names(pg_schema_url) == TABLES
    assert schema_diff(pg_schema_url) == []
    command.downgrade(alembic_config(pg_schema_url), "base")
    assert table_names(pg_schema_url) == {"alembic_version"}


def _upgrade_at_once(url: str, barrier) -> None:
    """Child process: wait for the others, then upgrade (what each `serve` does at start)."""
    barrier.wait(60)
    upgrade_database(url)


def _concurrent_upgrades(url: str, n: int) -> list[int | None]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    procs = [ctx.Process(target=_upgrade_at_once, args=(url, barrier))
             for _ in range(n)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    return [proc.exitcode for proc in procs]


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_postgres_upgrades_of_an_empty_schema_all_succeed(pg_schema_url):
    assert table_names(pg_schema_url) == set()
    assert _concurrent_upgrades(pg_schema_url, 3) == [0, 0, 0]
    assert table_names(pg_schema_url) == TABLES
    assert schema_diff(pg_schema_url) == []


@pytest.mark.slow
def test_concurrent_sqlite_upgrades_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'together.sqlite3'}"
    assert _concurrent_upgrades(url, 3) == [0, 0, 0]
    assert schema_diff(url) == []
