"""Blueprints of the web app, plus the few helpers every page template uses.

`install_template_helpers` is called once by the auth blueprint (always registered),
so `base.html` and every other template can use `url_for_if`, `badge`, `when`,
`check_badge` and `markdown` whichever blueprints are installed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import markdown as _markdown
from flask import Blueprint, url_for
from markupsafe import Markup
from werkzeug.routing import BuildError

from server.services.mathml import MathExtension

#: status -> (label, css class) for the little coloured badges
BADGES: dict[str, tuple[str, str]] = {
    "queued": ("queued", "badge-info"),
    "running": ("grading…", "badge-info"),
    "graded": ("graded", "badge-ok"),
    "compile_error": ("syntax error", "badge-bad"),
    "import_error": ("import error", "badge-bad"),
    "forbidden_import": ("forbidden import", "badge-bad"),
    "timeout": ("time limit", "badge-bad"),
    "memory_limit": ("memory limit", "badge-bad"),
    "crashed": ("crashed", "badge-bad"),
    "internal_error": ("grading failed", "badge-warn"),
}

#: outcome of one check (or a graded run) -> (label, css class); the label carries a symbol
#: so the meaning never rests on colour alone
OUTCOMES: dict[str, tuple[str, str]] = {
    "passed": ("✓ passed", "badge-ok"),
    "partial": ("◐ partial", "badge-warn"),
    "failed": ("✗ failed", "badge-bad"),
    "not_run": ("– not run", "badge-muted"),
}

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def url_for_if(endpoint: str, **values: Any) -> str | None:
    """`url_for`, or None when that endpoint is not installed (optional blueprints)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def submission_status(submission: Any) -> str:
    """The one word that describes a submission now: its job state until done."""
    if submission.state != "done":
        return submission.state
    return submission.status or "internal_error"


def badge(status: str) -> Markup:
    label, css = BADGES.get(status, (status, ""))
    return Markup('<span class="badge {}" data-status="{}">{}</span>').format(css, status, label)


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA time zone `name`, or None for UTC, empty or unknown names."""
    if not name or name.upper() == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def when(moment: datetime | None, time_zone: str | None = None) -> str:
    """A moment to the minute: in the course's time zone with UTC alongside, or in UTC."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    local_zone = zone(time_zone)
    if local_zone is None:
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    local = moment.astimezone(local_zone)
    utc_text = utc.strftime("%H:%M UTC" if utc.date() == local.date() else "%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}">{}</time> <span class="utc">({})</span>').format(
        utc.strftime("%Y-%m-%dT%H:%MZ"), local.strftime("%Y-%m-%d %H:%M %Z"), utc_text)


def local_input(moment: datetime | None, time_zone: str | None = None) -> str:
    """A moment as a datetime-local input value in `time_zone` (UTC if none)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(time_zone) or UTC).strftime("%Y-%m-%dT%H:%M")


def check_outcome(check: Any) -> str:
    """passed / partial / failed / not_run for one check result (a dict or an object)."""
    get = check.get if isinstance(check, dict) else lambda k, d=None: getattr(check, k, d)
    score, maximum = get("score") or 0.0, get("max_score") or 0.0
    if get("passed") and score >= maximum:
        return "passed"
    if score > 0:
        return "partial"
    if str(get("message") or "").startswith("not run"):
        return "not_run"
    return "failed"


def score_outcome(score: float | None, maximum: float | None) -> str | None:
    """passed / partial / failed for a graded score, None without one."""
    if score is None or not maximum:
        return None
    return "passed" if score >= maximum else "partial" if score > 0 else "failed"


def outcome_badge(outcome: str | None) -> Markup:
    if outcome is None:
        return Markup("")
    label, css = OUTCOMES[outcome]
    return Markup('<span class="badge {}" data-outcome="{}">{}</span>').format(
        css, outcome, label)


def check_badge(check: Any) -> Markup:
    return outcome_badge(check_outcome(check))


def fmt_score(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


class _StripUnsafeLinks(_markdown.treeprocessors.Treeprocessor):
    def run(self, root: ElementTree.Element) -> None:
        for element in root.iter():
            if element.tag == "table":  # it may scroll sideways on a phone: reachable by keyboard
                element.set("tabindex", "0")
            for attr in ("href", "src"):
                value = element.get(attr)
                if value is not None and not _safe_url(value):
                    element.set(attr, "#")


def _safe_url(value: str) -> bool:
    # browsers ignore whitespace and control characters inside a scheme ("java\tscript:")
    match = _SCHEME.match(re.sub(r"[\x00-\x20]", "", value))
    return match is None or match.group(1).lower() in _SAFE_SCHEMES


class _SafeMarkdown(_markdown.Extension):
    """Raw HTML in a handout is shown as text and only http(s)/relative links survive,
    so even a careless plugin cannot inject script into the page."""

    def extendMarkdown(self, md: _markdown.Markdown) -> None:  # noqa: N802 (library API)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_StripUnsafeLinks(md), "strip_unsafe_links", 0)


def render_markdown(text: str) -> Markup:
    html = _markdown.markdown(
        text or "", extensions=["fenced_code", "tables", "sane_lists", _SafeMarkdown(),
                                MathExtension()],
        output_format="html")
    return Markup(html)


def install_template_helpers(bp: Blueprint) -> None:
    bp.add_app_template_global(url_for_if, "url_for_if")
    bp.add_app_template_global(submission_status, "submission_status")
    bp.add_app_template_filter(badge, "badge")
    bp.add_app_template_filter(when, "when")
    bp.add_app_template_filter(fmt_score, "score")
    bp.add_app_template_filter(render_markdown, "markdown")
    bp.add_app_template_filter(check_badge, "check_badge")
    bp.add_app_template_filter(local_input, "local_input")
    bp.add_app_template_filter(outcome_badge, "outcome_badge")
    bp.add_app_template_global(score_outcome, "score_outcome")
