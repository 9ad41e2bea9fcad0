"""Flask extensions, created unbound and bound in `create_app`, and the app's state.

Blueprints import `login_manager` / `csrf` from here (e.g. `csrf.exempt(bp)` for
token-authenticated API routes) and reach the plugin registry, datasets and
database through `get_state()`.
"""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from server.state import State

login_manager = LoginManager()
login_manager.login_view = "auth.login"
csrf = CSRFProtect()


def get_state() -> State:
    """The `server.state.State` of the current Flask app."""
    from flask import current_app

    return current_app.extensions["neurograde"]
