"""Blueprints of the web app, plus the few helpers every page template uses.

`install_template_helpers` is called once by the auth blueprint (always registered),
so `base.html` and every other template can use `url_for_if`, `badge`, `when` and
`markdown` whichever blueprints are installed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import markdown as _markdown
from flask import Blueprint, url_for
from markupsafe import Markup
from werkzeug.routing import BuildError

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


def when(moment: datetime | None) -> str:
    """Times are shown in UTC, to the minute."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_score(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


class _StripUnsafeLinks(_markdown.treeprocessors.Treeprocessor):
    def run(self, root: ElementTree.Element) -> None:
        for element in root.iter():
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
        text or "", extensions=["fenced_code", "tables", "sane_lists", _SafeMarkdown()],
        output_format="html")
    return Markup(html)


def install_template_helpers(bp: Blueprint) -> None:
    bp.add_app_template_global(url_for_if, "url_for_if")
    bp.add_app_template_global(submission_status, "submission_status")
    bp.add_app_template_filter(badge, "badge")
    bp.add_app_template_filter(when, "when")
    bp.add_app_template_filter(fmt_score, "score")
    bp.add_app_template_filter(render_markdown, "markdown")
