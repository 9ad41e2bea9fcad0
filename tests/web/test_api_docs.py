"""Every API route is documented in docs/api.md and docs/openapi.yaml, and nothing
documented is missing from the app."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            path = path.replace("{submission_id}", "{id}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((method, path))
    return routes


def test_every_route_is_in_api_md(app):
    text = (DOCS / "api.md").read_text()
    for method, path in api_routes(app):
        assert f"`{method} {path}`" in text, (method, path)


def test_openapi_paths_match_the_app(app):
    text = (DOCS / "openapi.yaml").read_text()
    documented = set()
    current = None
    for line in text.splitlines():
        if match := re.match(r"^  (/\S+):$", line):
            current = "/api/v1" + match.group(1)
        elif current and (match := re.match(r"^    (get|post|put|delete|patch):", line)):
            documented.add((match.group(1).upper(), current))
    assert documented == api_routes(app)
