"""The `neurograde` command line: set-up, administration and the server.

Commands owned by other packages (grading, datasets, preflight, workers, the student
client) are imported only when used, so grading from the command line never loads
the web stack.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from server.errors import NeurogradeError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: commands defined elsewhere, imported only when used: `neurograde grade` and `check` load
#: neither the web stack nor the database layer
COMMANDS: dict[str, str] = {
    "grade": "grader.cli:grade",
    "check": "grader.cli:check",
    "verify": "grader.course_cli:verify",
    "datasets": "grader.course_cli:datasets",
    "doctor": "server.doctor:doctor",
    "worker": "server.runtime.cli:worker_command",
    "queue": "server.runtime.cli:queue_command",
    "submit": "server.client:submit",
    "lti": "server.lti.cli:lti",
    "export": "grader.gradescope_export:export",
    "new": "grader.scaffold:new",
}
DEMO_COURSE, DEMO_TITLE = "nn101", "Neural networks from scratch"
DEMO_INSTRUCTOR, DEMO_STUDENTS = "teacher", ("alice", "bob", "carol")


class Dispatch(click.Group):
    """A group whose `COMMANDS` are imported on first use (a broken import fails loudly)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in COMMANDS:
            module_name, attribute = COMMANDS[name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
        return command


def _state(ctx: click.Context) -> Any:
    """The `server.state.State` of this invocation (plugins, registry, database), built once."""
    obj = ctx.ensure_object(dict)
    if "state" not in obj:
        from server.state import build_state

        obj["state"] = build_state(obj.get("config"))
    return obj["state"]


@contextmanager
def _transaction(ctx: click.Context) -> Iterator[Session]:
    """A session committed on success; service errors become clean CLI errors."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    session = _state(ctx).session_factory()
    try:
        yield session
        session.commit()
    except NeurogradeError as exc:
        session.rollback()
        raise click.ClickException(exc.message) from None
    except (OperationalError, ProgrammingError) as exc:
        session.rollback()
        raise click.ClickException(f"database error ({exc.orig}); has the schema been created? "
                                   "Run `neurograde db upgrade`.") from None
    finally:
        session.close()


@click.group(cls=Dispatch, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """neurograde: a teaching server that autogrades neural-network coursework.

    Settings come from NEUROGRADE_* environment variables (see the README);
    the default instance folder is ./instance with a SQLite database.
    """
    ctx.ensure_object(dict)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# --- database -------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create the database schema or upgrade it to the latest version."""
    from server.db import safe_url, upgrade_database

    url = _state(ctx).config["DATABASE_URL"]
    upgrade_database(url, revision)
    click.echo(f"database at {safe_url(url)} is at revision {revision}")


# --- courses, users, tokens, assignments ----------------------------------------------------

@main.group()
def course() -> None:
    """Create courses."""


@course.command("create")
@click.argument("slug")
@click.option("--title", required=True, help="The course title shown to students.")
@click.pass_context
def course_create(ctx: click.Context, slug: str, title: str) -> None:
    """Create the course SLUG (lower-case letters, digits and dashes)."""
    from server.services.courses import create_course

    with _transaction(ctx) as session:
        create_course(session, slug, title)
    click.echo(f"created course {slug!r}: {title}")


@main.group()
def user() -> None:
    """Create user accounts."""


@user.command("add")
@click.argument("username")
@click.option("--password", required=True, help="The initial password.")
@click.option("--role", type=click.Choice(["student", "instructor", "admin"]), default="student",
              show_default=True, help="Site-wide role.")
@click.option("--course", "course_slug", help="Also enrol the user in this course.")
@click.option("--name", default="", help="Display name (default: the username).")
@click.option("--email", default="", help="E-mail address.")
@click.pass_context
def user_add(ctx: click.Context, username: str, password: str, role: str,
             course_slug: str | None, name: str, email: str) -> None:
    """Add the user USERNAME, optionally enrolled in a course."""
    from server.services import accounts, courses

    with _transaction(ctx) as session:
        new = accounts.create_user(session, username, password, role=role, name=name,
                                   email=email)
        if course_slug:
            accounts.enroll(session, new, courses.get_course(session, course_slug))
    where = f" in course {course_slug!r}" if course_slug else ""
    click.echo(f"added {role} {username!r}{where}")


@user.command("check-pseudonyms")
@click.option("--reset", is_flag=True,
              help="Replace each pseudonym found by the account's generated one.")
@click.pass_context
def user_check_pseudonyms(ctx: click.Context, reset: bool) -> None:
    """List chosen pseudonyms that break the rules (invisible characters, look-alikes of
    another account's name), e.g. ones stored before the rules existed."""
    from server.services import pseudonyms

    with _transaction(ctx) as session:
        found = pseudonyms.audit(session)
        for account, reason in found:
            click.echo(f"{account.username}: {account.pseudonym!r} {reason}")
            if reset:
                account.pseudonym = ""  # shown under its generated name
    verb = "reset" if reset else "found (run with --reset to replace them)"
    click.echo(f"{len(found)} pseudonym(s) {verb}")


@main.group()
def token() -> None:
    """Personal API tokens (for `neurograde submit` and the JSON API)."""


@token.command("create")
@click.argument("username")
@click.option("--label", default="cli", show_default=True, help="A note to recognise the token.")
@click.pass_context
def token_create(ctx: click.Context, username: str, label: str) -> None:
    """Create an API token for USERNAME and print it (it is shown only this once)."""
    from server.services import accounts, tokens

    with _transaction(ctx) as session:
        _row, plaintext = tokens.create_token(session, accounts.get_user(session, username),
                                              label)
    click.echo(plaintext)


@main.group()
def assignment() -> None:
    """Enable installed assignments in courses."""


@assignment.command("enable")
@click.argument("course_slug", metavar="COURSE")
@click.argument("slug")
@click.option("--deadline", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                                                   "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M",
                                                   "%Y-%m-%d"]),
              help="ISO 8601 deadline, e.g. 2026-12-24T23:59+01:00 (UTC if no offset).")
@click.option("--rubric", help="A rubric registered for this assignment (default: its own).")
@click.option("--late-penalty", type=click.FloatRange(0, 1), default=None,
              help="Fraction of the score lost per started day late.")
@click.option("--daily-limit", type=click.IntRange(min=1), default=None,
              help="Submissions per student per day.")
@click.pass_context
def assignment_enable(ctx: click.Context, course_slug: str, slug: str,
                      deadline: datetime | None, rubric: str | None,
                      late_penalty: float | None, daily_limit: int | None) -> None:
    """Enable the installed assignment SLUG in COURSE (or update its settings)."""
    from server.services import courses

    policy: dict[str, Any] = {}
    if late_penalty is not None:
        policy["late_penalty_per_day"] = late_penalty
    if daily_limit is not None:
        policy["daily_submission_limit"] = daily_limit
    state = _state(ctx)
    with _transaction(ctx) as session:
        row = courses.enable_assignment(session, state.registry,
                                        courses.get_course(session, course_slug), slug,
                                        deadline=deadline, rubric=rubric, **policy)
    due = f", deadline {row.deadline.isoformat()}" if row.deadline else ""
    click.echo(f"enabled {slug!r} in {course_slug!r}{due}")


# --- plugins --------------------------------------------------------------------------------

@main.command("assignments")
@click.pass_context
def assignments_command(ctx: click.Context) -> None:
    """List the assignments the installed plugins provide."""
    registry = _state(ctx).registry
    if not registry.assignments:
        click.echo("no assignments installed")
    for slug, item in sorted(registry.assignments.items(), key=lambda kv: (kv[1].order, kv[0])):
        rubrics = ", ".join(registry.rubric_names(slug)) or "default"
        datasets = ", ".join(item.datasets) or "none"
        click.echo(f"{slug:<20} {item.title}  [plugin {registry.plugin_of('assignment', slug)}; "
                   f"{len(item.checks)} checks; datasets: {datasets}; rubrics: {rubrics}]")
    _echo_errors(registry)


@main.command("plugins")
@click.pass_context
def plugins_command(ctx: click.Context) -> None:
    """List loaded plugins with what they provide, and broken ones with the reason."""
    registry = _state(ctx).registry
    for name in registry.plugins:
        provided = [f"{kind} {key}" for (kind, key), owner in sorted(registry.owners.items())
                    if owner == name]
        status = "BROKEN" if name in registry.errors else "ok"
        click.echo(f"{name:<32} {status:<7} {', '.join(provided) or 'nothing'}")
    for name in sorted(set(registry.errors) - set(registry.plugins)):
        click.echo(f"{name:<32} {'BROKEN':<7} not active")
    _echo_errors(registry)


def _echo_errors(registry: Any) -> None:
    for name, reason in sorted(registry.errors.items()):
        click.echo(f"error: plugin {name!r}: {reason}", err=True)


# --- demo and serve -------------------------------------------------------------------------

@main.command("demo")
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Create (or complete) the demo course nn101 with every built-in assignment, the
    instructor `teacher` and the students alice, bob and carol. Safe to run again."""
    from plugins.manager import DEFAULT_PLUGINS
    from server.db import upgrade_database
    from server.services import accounts, courses

    state = _state(ctx)
    upgrade_database(state.config["DATABASE_URL"])
    builtin = sorted(slug for slug in state.registry.assignments
                     if state.registry.plugin_of("assignment", slug) in DEFAULT_PLUGINS)
    with _transaction(ctx) as session:
        demo_course = (courses.find_course(session, DEMO_COURSE)
                       or courses.create_course(session, DEMO_COURSE, DEMO_TITLE))
        for slug in builtin:
            if courses.find_course_assignment(session, demo_course, slug) is None:
                courses.enable_assignment(session, state.registry, demo_course, slug)
        for username, role in [(DEMO_INSTRUCTOR, "instructor"),
                               *((name, "student") for name in DEMO_STUDENTS)]:
            person = accounts.find_user(session, username) or accounts.create_user(
                session, username, username, role=role, name=username.capitalize())
            accounts.enroll(session, person, demo_course, role)
    click.echo(f"demo course {DEMO_COURSE!r} ({DEMO_TITLE}) with assignments: "
               f"{', '.join(builtin) or 'none installed'}")
    click.echo(f"instructor: {DEMO_INSTRUCTOR}; students: {', '.join(DEMO_STUDENTS)}; "
               "each password is the same as the username")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Embedded grading worker processes [default: one per CPU on SQLite, "
                   "0 on PostgreSQL, or NEUROGRADE_WORKERS].")
@click.option("--processes", type=click.IntRange(min=0), default=None,
              help="Web processes sharing the port [default: one per CPU, or "
                   "NEUROGRADE_WEB_PROCESSES].")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Request threads per web process [default: 8, or NEUROGRADE_WEB_THREADS].")
@click.option("--connections", type=click.IntRange(min=2), default=None,
              help="Open connections per web process [default: 1000, or "
                   "NEUROGRADE_WEB_CONNECTIONS].")
@click.option("--backlog", type=click.IntRange(min=1), default=None,
              help="Connections queued by the kernel [default: 2048, or "
                   "NEUROGRADE_WEB_BACKLOG].")
@click.option("--max-wait-ms", type=click.IntRange(min=0), default=None,
              help="A request that waited longer for a thread is answered 503 with "
                   "Retry-After [default: 1000, or NEUROGRADE_WEB_MAX_WAIT_MS].")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None, **web: Any) -> None:
    """Upgrade the database, start grading workers and serve the web app with several
    processes behind one port (see docs/operations.md)."""
    import multiprocessing

    from server.config import load_config
    from server.db import upgrade_database
    from server.web import WebSettings

    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    config = load_config(ctx.obj.get("config"))
    try:
        settings = WebSettings.from_env(host=host, port=port, **web)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    upgrade_database(config["DATABASE_URL"])
    count = config["EMBEDDED_WORKERS"] if workers is None else workers
    if count > 0:  # without workers here, grading is the worker machines' business
        from server.doctor import echo_problems, log_preflight
        from server.state import build_state

        echo_problems(log_preflight(build_state(config), "serve"), "serve")
    # the web tier runs in a process of its own: its pre-forked children must not
    # inherit (and at exit signal) the grading workers this process supervises
    web_process = multiprocessing.get_context("spawn").Process(
        target=_serve_web, args=(_portable(config), settings, logging.getLogger().level),
        name="neurograde-web")
    web_process.start()
    pool = _start_workers(config, count)
    # make SIGTERM (service managers, tests) stop everything as Ctrl-C does
    signal.signal(signal.SIGTERM, _interrupt)
    click.echo(f"neurograde: serving on http://{host}:{port} with "
               f"{settings.process_count} web process(es) × {settings.threads} threads "
               f"and {count} grading worker(s)")
    try:
        web_process.join()
    except KeyboardInterrupt:
        pass
    finally:
        _stop(web_process)
        if pool is not None:
            click.echo("neurograde: stopping grading workers")
            pool.stop()
    if web_process.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT):
        raise click.ClickException(f"the web server exited with {web_process.exitcode}")


def _portable(config: dict[str, Any]) -> dict[str, Any]:
    from server.runtime.worker_pool import portable_config

    return portable_config(config)


def _serve_web(config: dict[str, Any], settings: Any, level: int) -> None:
    """The web tier's process: build the app once, then fork the web processes."""
    from functools import partial

    from server import web

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run(partial(_web_app, config), settings, after_fork=_after_fork)


def _web_app(config: dict[str, Any]) -> Any:
    from server.app import create_app

    return create_app(config)


def _after_fork(app: Any) -> None:
    # connections opened before the fork must not be shared between web processes
    app.extensions["neurograde"].engine.dispose(close=False)


def _stop(process: Any, grace_seconds: float = 30.0) -> None:
    if process.is_alive():
        process.terminate()  # SIGTERM: gunicorn finishes the requests in flight
        process.join(grace_seconds)
    if process.is_alive():
        process.kill()
        process.join()


def _interrupt(_signum: int, _frame: Any) -> None:
    # one shutdown: a second SIGTERM (e.g. sent to the whole process group) must not
    # abort the graceful one under way
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _start_workers(config: Any, count: int) -> Any:
    if count <= 0:
        return None
    from server.runtime.worker import start_embedded_workers

    return start_embedded_workers(dict(config), count)


if __name__ == "__main__":
    sys.exit(main())
