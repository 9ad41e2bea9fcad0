"""The built-in course, registered as an ordinary plugin.

Every sub-package that defines `ASSIGNMENT` (and optionally `RUBRICS`) is part
of the course; adding an assignment means adding a package, nothing else.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from functools import cache
from types import ModuleType

from plugins import hookimpl

log = logging.getLogger(__name__)

__version__ = "0.1.0"


@cache
def _packages() -> tuple[ModuleType, ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # one broken assignment must not hide the others
            log.error("built-in assignment %r failed to load: %s: %s", info.name,
                      type(exc).__name__, exc)
            continue
        if hasattr(module, "ASSIGNMENT"):
            found.append(module)
    return tuple(found)


@hookimpl
def neurograde_register_assignments():
    return [package.ASSIGNMENT for package in _packages()]


@hookimpl
def neurograde_register_rubrics():
    return [rubric for package in _packages() for rubric in getattr(package, "RUBRICS", ())]
