"""The state one process needs — plugins, registry, database, datasets — without Flask.

The web app keeps it in `app.extensions["neurograde"]` (see `server.extensions.get_state`);
the command line and every grading worker build it the same way with `build_state`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from plugins.datasets import DatasetStore
from plugins.registry import Registry, build_registry_disabling_conflicts, load_registry
from server.config import extra_plugins, load_config
from server.db import make_engine, make_session_factory

log = logging.getLogger(__name__)


@dataclass
class State:
    """Plugins, registry, database and datasets of one web, CLI or worker process."""

    config: dict[str, Any]
    pm: pluggy.PluginManager
    registry: Registry
    engine: Engine
    session_factory: sessionmaker[Session]
    datasets: DatasetStore


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


def build_state(config: Mapping[str, Any] | None = None) -> State:
    """Plugins, registry, database and datasets for one process, from a config (a loaded
    one, or overrides of the environment's).

    `config` may carry `PLUGIN_MANAGER` (a ready manager, e.g. a test's with throwaway
    plugins), `LOAD_PLUGIN_ENTRYPOINTS` (False skips installed plugins) and
    `EXTRA_PLUGINS` (modules registered on top of the built-in and installed plugins,
    e.g. a course package that is not installed as a distribution). A broken plugin, or
    the later of two registering the same name, is disabled and logged, and every other
    assignment still works.
    """
    config = load_config(config)  # a loaded config passes through unchanged
    pm, registry = load_plugins(bool(config.get("LOAD_PLUGIN_ENTRYPOINTS", True)),
                                config.get("PLUGIN_MANAGER"), extra_plugins(config))
    engine = make_engine(config["DATABASE_URL"])
    datasets_dir = Path(config.get("DATASETS_DIR") or Path(config["INSTANCE_PATH"], "datasets"))
    datasets_dir.mkdir(parents=True, exist_ok=True)
    return State(config=config, pm=pm, registry=registry, engine=engine,
                 session_factory=make_session_factory(engine),
                 datasets=DatasetStore(registry.datasets, datasets_dir))
