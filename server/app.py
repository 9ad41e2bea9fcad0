"""The neurograde web server: Flask app factory and the state every process shares.

`create_app(config)` builds an app; `build_state(config)` builds the same
plugin registry, database engine and dataset store without Flask (the CLI and
grading workers use it).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pluggy
from flask import Flask, jsonify

from plugins.registry import Registry, build_registry_disabling_conflicts, load_registry
from server.config import extra_plugins, load_config
from server.db import close_session, make_engine, make_session_factory
from server.errors import register_error_handlers
from server.extensions import AppState, csrf, login_manager

log = logging.getLogger(__name__)

#: blueprint modules, each exposing `bp`; registered in this order
BLUEPRINTS = ("auth", "student", "submissions", "leaderboard", "instructor", "api")


def load_plugins(load_entrypoints: bool = True, pm: pluggy.PluginManager | None = None,
                 extra: Iterable[str] = ()) -> tuple[pluggy.PluginManager, Registry]:
    """The plugin manager and its validated registry, never failing on a bad plugin: the
    one loading path of the web app, the command line and the grading workers
    (`plugins.registry.load_registry`, with the `extra` modules).

    When two plugins register the same name, the one registered later (third-party
    plugins load after the built-ins) is disabled as a whole and reported in
    `registry.errors` under its name, with a message naming both plugins. A ready `pm`
    (a test's, with throwaway plugins) is used as it is.
    """
    if pm is None:
        return load_registry(load_entrypoints, extra)
    return pm, build_registry_disabling_conflicts(pm)


def _dataset_store(registry: Registry, cache_dir: Path) -> Any:
    try:
        from plugins.datasets import DatasetStore
    except ModuleNotFoundError as exc:
        if exc.name != "plugins.datasets":
            raise
        log.debug("plugins.datasets is not available; no dataset store")
        return None
    return DatasetStore(registry.datasets, cache_dir)


def build_state(config: Mapping[str, Any] | None = None) -> AppState:
    """Plugins, registry, database and datasets for one process, from a loaded config.

    `config` may carry `PLUGIN_MANAGER` (a ready manager, e.g. a test's with
    throwaway plugins), `LOAD_PLUGIN_ENTRYPOINTS` (False skips installed plugins) and
    `EXTRA_PLUGINS` (modules registered too, as the grading workers do).
    """
    config = dict(config) if config and "DATABASE_URL" in config else load_config(config)
    pm, registry = load_plugins(bool(config.get("LOAD_PLUGIN_ENTRYPOINTS", True)),
                                config.get("PLUGIN_MANAGER"), extra_plugins(config))
    engine = make_engine(config["DATABASE_URL"])
    return AppState(config=config, pm=pm, registry=registry, engine=engine,
                    session_factory=make_session_factory(engine),
                    datasets=_dataset_store(registry, Path(config["DATASETS_DIR"])))


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
        module_name = f"server.blueprints.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # only a missing blueprint is skipped; a broken import inside one must surface
            if exc.name not in (module_name, "server.blueprints"):
                raise
            log.debug("blueprint %s is not available yet", module_name)
            continue
        app.register_blueprint(module.bp)
