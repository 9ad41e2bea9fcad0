"""Database engine, sessions and the request-scoped session of the web app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

#: how long a SQLite writer waits for the lock before "database is locked"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys on connect,
    because many workers and web threads share one file."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def safe_url(url: str) -> str:
    """The database URL without its password, for logs and messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched. `Session.execute` is typed as returning a plain
    `Result`; for these statements it is a `CursorResult`, which carries the count."""
    return cast(CursorResult[Any], result).rowcount


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: views and the CLI keep using objects after committing
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_session() -> Session:
    """The session of the current request (created on first use, closed on teardown)."""
    from flask import current_app, g

    session = g.get("_neurograde_session")
    if session is None:
        session = current_app.extensions["neurograde"].session_factory()
        g._neurograde_session = session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    """Flask teardown: roll back anything uncommitted and close the request's session."""
    from flask import g

    session = g.pop("_neurograde_session", None)
    if session is not None:
        session.close()


def alembic_config(url: str) -> Any:
    """The Alembic configuration of the packaged `migrations/` for database `url`."""
    from alembic.config import Config

    from migrations import ALEMBIC_INI, MIGRATIONS_DIR

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', which URL-encoded options contain
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema of `url` to `revision` (what `neurograde db upgrade`,
    `serve` and `demo` do), under a lock: web machines that start together do not race
    in Alembic; the first upgrades, the others wait and then find the schema current."""
    from alembic import command

    with _migration_lock(url):
        command.upgrade(alembic_config(url), revision)


#: the pg_advisory_lock key held while the schema is upgraded (a constant of neurograde's)
MIGRATION_LOCK_KEY = 0x6E67_7261_6465  # "ngrade"


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        with _pg_advisory_lock(url):
            yield
    elif parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        with _file_lock(f"{parsed.database}.upgrade-lock"):
            yield
    else:
        yield


@contextmanager
def _pg_advisory_lock(url: str) -> Iterator[None]:
    """A session-level advisory lock on a connection of its own (autocommit, so it never
    sits idle in a transaction while Alembic works on another connection)."""
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                             {"key": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield
