"""Flask extensions, created unbound and bound in `create_app`, plus the app state.

Blueprints import `login_manager` / `csrf` from here (e.g. `csrf.exempt(bp)` for
token-authenticated API routes) and reach the plugin registry, datasets and
database through `get_state()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pluggy
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from plugins.registry import Registry

login_manager = LoginManager()
login_manager.login_view = "auth.login"
csrf = CSRFProtect()


@dataclass
class AppState:
    """What one app or CLI process needs; stored in `app.extensions["neurograde"]`."""

    config: dict[str, Any]
    pm: pluggy.PluginManager
    registry: Registry
    engine: Engine
    session_factory: sessionmaker[Session]
    #: a `plugins.datasets.DatasetStore`, or None if that module is unavailable
    datasets: Any


def get_state() -> AppState:
    """The `AppState` of the current Flask app."""
    from flask import current_app

    return current_app.extensions["neurograde"]
