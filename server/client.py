"""`neurograde submit`: upload a solution through the JSON API and optionally wait for
its grade. Only the standard library (urllib) is used, so students need nothing else.

Exit codes: 0 submitted (with --wait: graded), 1 request refused or failed,
3 graded with an error status (syntax error, timeout, ...), 4 gave up waiting.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import click

USER_AGENT = "neurograde-submit/1"
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
EXIT_ERROR_STATUS, EXIT_TIMEOUT = 3, 4


class ApiError(click.ClickException):
    """A refused or failed API request; the server's message is shown as is."""


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field, and its content type."""
    boundary = f"neurograde-{uuid.uuid4().hex}"
    safe_name = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    kind = "application/x-ipynb+json" if filename.lower().endswith(".ipynb") else "text/x-python"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{safe_name}\"\r\nContent-Type: {kind}\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


def request_json(url: str, token: str, *, data: bytes | None = None,
                 content_type: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """One API call; raises ApiError with the server's message on failure."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
               "User-Agent": USER_AGENT}
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=data, headers=headers,
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (http/https)
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise ApiError(f"{error.code}: {_error_message(error)}") from None
    except urllib.error.URLError as error:
        raise ApiError(f"cannot reach {url}: {error.reason}") from None
    except (TimeoutError, json.JSONDecodeError) as error:
        raise ApiError(f"bad answer from {url}: {error}") from None


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read().decode("utf-8"))
        return str(body.get("message") or body.get("error") or body)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return error.reason or "request failed"


def submit_file(server: str, token: str, course: str, assignment: str,
                path: Path) -> dict[str, Any]:
    """POST the file; returns {"id", "status", "url", ...}."""
    url = (f"{server.rstrip('/')}/api/v1/courses/{quote(course, safe='')}/assignments/"
           f"{quote(assignment, safe='')}/submissions")
    body, content_type = multipart("file", path.name, path.read_bytes())
    return request_json(url, token, data=body, content_type=content_type)


def wait_for_grade(url: str, token: str, *, timeout: float, interval: float = 1.0,
                   out: Any = None) -> dict[str, Any] | None:
    """Poll until the submission is done, drawing a one-line progress indicator on `out`
    (redrawn in place on a terminal, a line per change otherwise). None on timeout."""
    out = out or sys.stderr
    live = getattr(out, "isatty", lambda: False)()
    started, last_line = time.monotonic(), ""
    for frame in itertools.cycle(SPINNER):
        body = request_json(url, token)
        if body.get("state") == "done":
            if live:
                out.write("\r\033[K")
            return body
        elapsed = time.monotonic() - started
        position = body.get("queue_position")
        doing = (f"queued (position {position})" if body.get("state") == "queued" and position
                 else "grading" if body.get("state") == "running" else body.get("state", "?"))
        if live:
            out.write(f"\r\033[K{frame} {doing} · {elapsed:.0f}s")
            out.flush()
        elif doing != last_line:
            out.write(f"… {doing}\n")
            last_line = doing
        if elapsed > timeout:
            if live:
                out.write("\n")
            return None
        time.sleep(interval)
    return None  # unreachable: cycle() never ends


def format_result(body: dict[str, Any]) -> str:
    """The grade as a student reads it in a terminal."""
    lines = [f"#{body.get('id')}: {body.get('status')}  "
             f"score {_num(body.get('score'))} / {_num(body.get('max_score'))}"]
    if body.get("message"):
        lines += ["", str(body["message"]).rstrip()]
    checks = body.get("checks") or []
    if checks:
        width = max(len(c.get("name", "")) for c in checks)
        lines.append("")
        for check in checks:
            mark = "PASS" if check.get("passed") else "FAIL"
            message = (check.get("message") or "").splitlines()
            lines.append(f"  {mark}  {check.get('name', ''):<{width}}  "
                         f"{message[0] if message else ''}")
    notebook = body.get("notebook") or {}
    if notebook.get("left_out"):
        lines += ["", f"Left out of {notebook.get('name', 'the notebook')}:"]
        lines += [f"  {entry.get('summary', '')}" for entry in notebook["left_out"]]
    if body.get("stdout"):
        lines += ["", "--- stdout ---", str(body["stdout"]).rstrip()]
    if body.get("stderr"):
        lines += ["", "--- stderr ---", str(body["stderr"]).rstrip()]
    if body.get("html_url"):
        lines += ["", f"Details: {body['html_url']}"]
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "—" if value is None else f"{float(value):g}"


@click.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", "-c", required=True, help="Course code, e.g. nn101.")
@click.option("--assignment", "-a", required=True, help="Assignment slug, e.g. sigmoid.")
@click.option("--server", envvar="NEUROGRADE_SERVER", default="http://127.0.0.1:5000",
              show_default=True, help="Base URL of the server (env NEUROGRADE_SERVER).")
@click.option("--token", envvar="NEUROGRADE_TOKEN", required=True,
              help="Your personal API token (env NEUROGRADE_TOKEN; see your settings page).")
@click.option("--wait/--no-wait", default=False, help="Wait for the grade and show it.")
@click.option("--timeout", default=900.0, show_default=True, help="Seconds to wait at most.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def submit(file: Path, course: str, assignment: str, server: str, token: str, wait: bool,
           timeout: float, as_json: bool) -> None:
    """Upload FILE (one .py file or Jupyter notebook .ipynb) for grading."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https"):
        raise click.BadParameter("use an http:// or https:// URL", param_hint="--server")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        click.echo("warning: sending your token over plain http", err=True)
    created = submit_file(server, token, course, assignment, file)
    if not wait:
        click.echo(json.dumps(created) if as_json else
                   f"Submitted #{created['id']} ({created['status']}): "
                   f"{created.get('html_url') or created['url']}")
        return
    click.echo(f"Submitted #{created['id']}; waiting for the grade…", err=True)
    body = wait_for_grade(created["url"], token, timeout=timeout)
    if body is None:
        click.echo(f"Still not graded after {timeout:g}s; see {created['url']}", err=True)
        sys.exit(EXIT_TIMEOUT)
    click.echo(json.dumps(body, indent=2) if as_json else format_result(body))
    if body.get("status") != "graded":
        sys.exit(EXIT_ERROR_STATUS)
