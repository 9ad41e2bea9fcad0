"""Building the plugin manager: built-in plugins in code, third-party via entry points."""

from __future__ import annotations

import functools
import importlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from importlib.metadata import entry_points

import pluggy

from plugins import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "neurograde"
#: Set to 1 to skip third-party plugins (tests, debugging), like PYTEST_DISABLE_PLUGIN_AUTOLOAD.
DISABLE_AUTOLOAD_ENV = "NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD"

#: Built-in features are ordinary plugins registered through the same hooks: the
#: datasets, the renderers and each assignment of the built-in course on its own.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.builtin_datasets",
    "plugins.builtin_renderers",
    "assignments.sigmoid",
    "assignments.mse_loss",
    "assignments.backprop_221",
    "assignments.gradient_descent",
    "assignments.minibatch",
    "assignments.xor",
    "assignments.digits",
    "assignments.mnist_binary",
    "assignments.mnist",
)


@dataclass
class LoadReport:
    """What happened while loading plugins: names loaded and failures with reasons."""

    loaded: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def get_plugin_manager(load_entrypoints: bool = True,
                       extra: Iterable[str] = ()) -> pluggy.PluginManager:
    """Return a fresh manager with the built-in plugins, (optionally) installed ones and
    the `extra` modules (e.g. a course package that is not installed as a distribution).

    A plugin that fails to import is logged and recorded in `pm.neurograde_load_report`;
    the others keep working.
    """
    pm = pluggy.PluginManager("neurograde")
    pm.add_hookspecs(hookspecs)
    report = LoadReport()
    for module_name in DEFAULT_PLUGINS:
        _register(pm, report, module_name, lambda m=module_name: importlib.import_module(m))
    if load_entrypoints and os.environ.get(DISABLE_AUTOLOAD_ENV) != "1":
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _register(pm, report, ep.name, ep.load)
    for module_name in extra:
        _register(pm, report, module_name, lambda m=module_name: importlib.import_module(m))
    pm.neurograde_load_report = report  # type: ignore[attr-defined]
    return pm


def _register(pm: pluggy.PluginManager, report: LoadReport, name: str, load) -> None:
    try:
        plugin = load()
        if pm.get_plugin(name) is None:
            pm.register(plugin, name=name)
        report.loaded.append(name)
    except Exception as exc:  # a broken plugin must not take the server down
        log.error("plugin %r failed to load: %s: %s", name, type(exc).__name__, exc)
        report.errors[name] = f"failed to load: {type(exc).__name__}: {exc}"


#: top-level packages shipped inside the neurograde distribution itself
_BUILTIN_PACKAGES = frozenset({"assignments", "plugins", "grader", "server"})


def plugin_version(pm: pluggy.PluginManager | None, plugin: str) -> str:
    """The version of `plugin` recorded with every result: its module's `__version__`, else
    the installed distribution that provides its top-level package ("?" if unknown)."""
    module = pm.get_plugin(plugin) if pm is not None else None
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    return _dist_version((getattr(module, "__name__", None) or plugin).split(".")[0])


@functools.lru_cache(maxsize=64)
def _dist_version(top_level_module: str) -> str:
    dists = list(metadata.packages_distributions().get(top_level_module, []))
    if top_level_module in _BUILTIN_PACKAGES:
        dists.append("neurograde")
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "?"
