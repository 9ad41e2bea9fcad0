"""The Flask app factory of the web server.

`create_app(config)` builds an app around a `server.state.State` (plugins, registry,
database, datasets), built as the command line and the grading workers build theirs.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify

from server.config import load_config
from server.db import close_session
from server.error_pages import register_error_handlers
from server.extensions import csrf, login_manager
from server.state import build_state

log = logging.getLogger(__name__)

#: blueprint modules, each exposing `bp`; registered in this order
BLUEPRINTS = ("auth", "student", "submissions", "leaderboard", "instructor", "api", "help",
              "analytics", "lti")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask app: `config` overrides the `NEUROGRADE_*` environment (see server.config)."""
    settings = load_config(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    _trust_proxies(app, int(settings.get("TRUSTED_PROXIES") or 0))
    app.extensions["neurograde"] = build_state(settings)
    login_manager.init_app(app)
    csrf.init_app(app)
    register_error_handlers(app)
    app.teardown_appcontext(close_session)
    _register_blueprints(app)

    @app.get("/healthz")
    def healthz():
        return jsonify(ok=True)

    csrf.exempt(healthz)
    return app


def _trust_proxies(app: Flask, proxies: int) -> None:
    """Behind `proxies` reverse proxies, take the client's address, scheme, host and port
    from their X-Forwarded-* headers: external URLs (the API's `url`, which the CLI polls
    with its token) must be https, and the login limit must see the client, not the proxy.
    With 0 the headers are ignored, since anyone could send them."""
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)


def _register_blueprints(app: Flask) -> None:
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f"server.blueprints.{name}").bp)
