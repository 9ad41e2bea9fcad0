"""Log in / log out, change password, and the settings page (pseudonym, leaderboard
opt-out, personal API tokens). Also installs the app-wide template helpers, the
user loader and the security headers, because this blueprint is always present."""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from server.blueprints import install_template_helpers
from server.db import get_session
from server.errors import ValidationError
from server.extensions import login_manager
from server.models import ApiToken, User
from server.services import accounts, tokens
from server.services.leaderboard import default_pseudonym, display_pseudonym

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
install_template_helpers(bp)

MAX_PSEUDONYM = 40
#: self-only by default; no inline script or style anywhere in the templates
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class LoginLimiter:
    """Failed logins per `window` seconds: at most `limit` per (client address, username)
    and `address_limit` per address.

    The pair is the tight budget: a classroom behind one NAT shares an address, so one
    student's typos must not lock out their classmates, and someone elsewhere must not be
    able to lock out a named student. The loose per-address budget still stops one machine
    from guessing across many usernames. A successful login clears its pair only.

    In-process memory: with several web processes each enforces its own budget, which
    still caps guessing at a small multiple of the limits.
    """

    MAX_KEYS = 10_000

    def __init__(self, limit: int = 5, window: float = 300.0, address_limit: int = 100) -> None:
        self.limit, self.window, self.address_limit = limit, window, address_limit
        self._fails: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def _budgets(self, address: str, username: str) -> tuple[tuple[tuple[str, ...], int], ...]:
        return ((("pair", address, username.lower()), self.limit),
                (("addr", address), self.address_limit))

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        fails = self._fails.setdefault(key, deque())
        while fails and now - fails[0] > self.window:
            fails.popleft()
        return fails

    def retry_after(self, address: str, username: str) -> int:
        """Seconds until `username` may try again from `address` (0 = now)."""
        now = time.monotonic()
        with self._lock:
            waits = [self.window - (now - fails[-limit])
                     for key, limit in self._budgets(address, username)
                     if len(fails := self._recent(key, now)) >= limit]
        return int(max(waits, default=0)) + (1 if waits else 0)

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._fails) > self.MAX_KEYS:  # many distinct names: forget stale ones
                for key in [k for k in self._fails if not self._recent(k, now)]:
                    del self._fails[key]
            for key, _limit in self._budgets(address, username):
                self._recent(key, now).append(now)

    def succeeded(self, address: str, username: str) -> None:
        """Forget this pair's failures (the address budget keeps them)."""
        with self._lock:
            self._fails.pop(self._budgets(address, username)[0][0], None)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    # behind HTTPS, cookies must never travel over plain http
    secure = app.config.get("SECURE_COOKIES",
                            os.environ.get("NEUROGRADE_SECURE_COOKIES", "") == "1")
    if secure:
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    # (failures per address and username, window in seconds, failures per address)
    limits = app.config.get("LOGIN_RATE_LIMIT", (5, 300.0, 100))
    app.extensions["neurograde_login_limiter"] = LoginLimiter(*limits)
    if login_manager._user_callback is None:  # the spine may provide its own loader
        login_manager.user_loader(_load_user)


def _load_user(session_id: str) -> User | None:
    """The user of a login session, unless the password changed since it began."""
    user_id, _, stamp = session_id.partition(":")
    try:
        user = get_session().get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not hmac.compare_digest(stamp, user.session_stamp()):
        return None
    return user


@bp.after_app_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _limiter() -> LoginLimiter:
    return current_app.extensions["neurograde_login_limiter"]


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce users elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("student.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    # behind a proxy this is the client's address only with NEUROGRADE_TRUSTED_PROXIES set
    address = request.remote_addr or ""
    wait = _limiter().retry_after(address, username)
    if wait:
        log.warning("login rate limit hit for %r from %s", username, address)
        flash(f"Too many failed attempts. Try again in {wait} seconds.", "error")
        return render_template("auth/login.html", username=username,
                               next=request.form.get("next", "")), 429
    user = accounts.find_user(get_session(), username)
    if not accounts.verify_password(user, password):
        _limiter().failed(address, username)
        flash("Wrong username or password.", "error")
        return render_template("auth/login.html", username=username,
                               next=request.form.get("next", "")), 401
    _limiter().succeeded(address, username)
    login_user(user)
    log.info("user %s logged in", user.id)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))


def _settings_page(new_token: str | None = None, status: int = 200):
    session = get_session()
    user_tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                                  .order_by(ApiToken.created_at.desc())).all()
    return render_template("auth/settings.html", tokens=user_tokens, new_token=new_token,
                           default_pseudonym=default_pseudonym(current_user),
                           max_pseudonym=MAX_PSEUDONYM), status


@bp.get("/settings")
@login_required
def settings():
    return _settings_page()


@bp.post("/settings/profile")
@login_required
def save_profile():
    pseudonym = " ".join(request.form.get("pseudonym", "").split())
    if len(pseudonym) > MAX_PSEUDONYM:
        flash(f"A pseudonym has at most {MAX_PSEUDONYM} characters.", "error")
        return _settings_page(status=400)
    session = get_session()
    if pseudonym and pseudonym.lower() != current_user.pseudonym.lower() and _pseudonym_taken(
            pseudonym):
        flash("That pseudonym is taken; choose another one.", "error")
        return _settings_page(status=400)
    current_user.pseudonym = pseudonym or default_pseudonym(current_user)
    current_user.leaderboard_opt_out = request.form.get("opt_out") == "on"
    session.commit()
    flash("Settings saved.", "success")
    return redirect(url_for("auth.settings"))


def _pseudonym_taken(pseudonym: str) -> bool:
    """Pseudonyms must not impersonate anyone: not their username, not the name they appear
    under on leaderboards (chosen or generated, e.g. a classmate's ``Nimble Otter 42``)."""
    lowered = pseudonym.lower()
    # every account, so one enrolled in a course later is covered too
    others = get_session().scalars(select(User).where(User.id != current_user.id))
    return any(lowered in (user.username.lower(), display_pseudonym(user).lower())
               for user in others)


@bp.post("/settings/password")
@login_required
def change_password():
    session = get_session()
    if not accounts.verify_password(current_user, request.form.get("current_password", "")):
        flash("Your current password is not right.", "error")
        return _settings_page(status=400)
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        flash("The two new passwords differ.", "error")
        return _settings_page(status=400)
    try:
        accounts.change_password(current_user, new)
    except ValidationError as error:
        flash(error.message, "error")
        return _settings_page(status=400)
    session.commit()
    login_user(current_user._get_current_object())  # this session goes on; the others end
    flash("Password changed. Other sessions were logged out.", "success")
    return redirect(url_for("auth.settings"))


@bp.post("/settings/tokens")
@login_required
def create_token():
    session = get_session()
    label = " ".join(request.form.get("label", "").split())[:100]
    _token, plaintext = tokens.create_token(session, current_user, label)
    session.commit()
    flash("Token created. Copy it now: it is shown only once.", "success")
    return _settings_page(new_token=plaintext)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    session = get_session()
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        flash("There is no such token.", "error")
        return redirect(url_for("auth.settings"))
    tokens.revoke_token(session, token)
    session.commit()
    flash("Token revoked.", "success")
    return redirect(url_for("auth.settings"))
