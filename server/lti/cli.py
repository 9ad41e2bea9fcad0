"""`neurograde lti ...`: register platforms, show the tool's keys, run passbacks, sync rosters."""

from __future__ import annotations

import json
import time

import click
from sqlalchemy import select

from server.cli import _state, _transaction
from server.lti import nrps, passback, platforms
from server.lti.keys import tool_keys
from server.lti.models import LtiContext
from server.services.courses import get_course


@click.group()
def lti() -> None:
    """LMS integration (LTI 1.3 Advantage)."""


@lti.command("register")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. "
              "https://canvas.instructure.com.")
@click.option("--client-id", required=True, help="The client id the LMS gave this tool.")
@click.option("--deployment-id", "deployment_ids", multiple=True, required=True,
              help="A deployment id (repeat for several).")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token URL.")
@click.option("--key-set-url", required=True, help="The platform's JWKS URL.")
@click.option("--auth-audience", default=None, help="Token audience, if not the token URL.")
@click.option("--name", default="", help="A name to show on the admin page.")
@click.pass_context
def register(ctx: click.Context, **fields: object) -> None:
    """Register an LMS (or update its registration)."""
    with _transaction(ctx) as session:
        platform = platforms.register_platform(session, **fields)  # type: ignore[arg-type]
        click.echo(f"registered {platform.name}: {platform.issuer} / {platform.client_id} "
                   f"(deployments: {', '.join(platform.deployment_ids)})")


@lti.command("platforms")
@click.pass_context
def list_platforms(ctx: click.Context) -> None:
    """List the registered platforms."""
    with _transaction(ctx) as session:
        for p in platforms.list_platforms(session):
            click.echo(f"{p.name}\t{p.issuer}\t{p.client_id}\t{','.join(p.deployment_ids)}")


@lti.command("jwks")
@click.pass_context
def jwks(ctx: click.Context) -> None:
    """Print the tool's public keys (generated into the instance folder on first use)."""
    click.echo(json.dumps(tool_keys(_state(ctx).config["INSTANCE_PATH"]).jwks(), indent=2))


@lti.command("passback")
@click.option("--loop", is_flag=True, help="Keep running (every few seconds) until Ctrl-C.")
@click.option("--retry-failed", is_flag=True, help="Queue the failed passbacks again first.")
@click.pass_context
def run_passback(ctx: click.Context, loop: bool, retry_failed: bool) -> None:
    """Send due grade passbacks (grading workers do this on their own too)."""
    state = _state(ctx)
    if retry_failed:
        with _transaction(ctx) as session:
            click.echo(f"{passback.retry_failed(session)} failed passback(s) queued again")
    while True:
        handled = passback.run_due(state.session_factory, state.config, limit=100)
        click.echo(f"{handled} passback(s) handled")
        if not loop:
            return
        time.sleep(5)


@lti.command("sync-roster")
@click.argument("course_slug")
@click.pass_context
def sync_roster(ctx: click.Context, course_slug: str) -> None:
    """Enrol the members of every LMS course bound to COURSE_SLUG (Names and Roles)."""
    state = _state(ctx)
    with _transaction(ctx) as session:
        course = get_course(session, course_slug)
        keys = tool_keys(state.config["INSTANCE_PATH"])
        for context in session.scalars(select(LtiContext).where(
                LtiContext.course_id == course.id)):
            outcome = nrps.sync_roster(session, context, keys)
            click.echo(f"{context.title or context.context_id}: {len(outcome.enrolled)} "
                       f"enrolled, {len(outcome.ignored)} ignored")
