"""Log in / log out, change password, and the settings page (pseudonym, leaderboard
opt-out, personal API tokens). Also installs the app-wide template helpers, the
user loader and the security headers, because this blueprint is always present."""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from flask import (
    Blueprint,
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
from server.services import accounts, devices, login_sessions, pseudonyms, throttle, tokens
from server.services.leaderboard import default_pseudonym, display_pseudonym

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
install_template_helpers(bp)

MAX_PSEUDONYM = 40
#: self-only by default; no inline script or style anywhere in the templates
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    # behind HTTPS, cookies must never travel over plain http
    secure = app.config.get("SECURE_COOKIES",
                            os.environ.get("NEUROGRADE_SECURE_COOKIES", "") == "1")
    if secure:
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    # delays per account and known device, failures per address (server.services.throttle)
    app.extensions["neurograde_login_throttle"] = throttle.ThrottlePolicy.from_config(
        app.config.get("LOGIN_THROTTLE"))
    if login_manager._user_callback is None:  # the spine may provide its own loader
        login_manager.user_loader(_load_user)


def _load_user(session_id: str) -> User | None:
    """The user of a login session that is still open on the server."""
    return login_sessions.load(get_session(), session_id)


@bp.after_app_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _policy() -> throttle.ThrottlePolicy:
    return current_app.extensions["neurograde_login_throttle"]


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
    session = get_session()
    user = accounts.find_user(session, username)
    known = devices.read(_secret_key(), request.cookies.get(devices.COOKIE))
    nonce = known.get(user.id) if user is not None else None
    # behind a proxy this is the client's address only with NEUROGRADE_TRUSTED_PROXIES set
    counters = _counters(username, request.remote_addr or "", user, nonce)
    wait = throttle.wait_seconds(session, counters.values())
    if wait:
        log.warning("login throttled for %r from %s", username, request.remote_addr)
        return _login_form(username, f"Too many failed attempts. Try again in {wait} seconds.",
                           429, {"Retry-After": str(wait)})
    if not accounts.verify_password(user, password):
        for kind, key in counters.items():
            throttle.record_failure(session, _policy(), kind, key)
        throttle.prune(session, _policy())
        session.commit()
        return _login_form(username, "Wrong username or password.", 401)
    throttle.clear(session, [throttle.account_key(username), *counters.values()])
    login_sessions.start(session, user)
    session.commit()
    login_user(user)
    log.info("user %s logged in", user.id)
    response = redirect(_safe_next(request.form.get("next")))
    _remember_device(response, known, user)
    return response


def _counters(username: str, address: str, user: User | None,
              nonce: str | None) -> dict[str, str]:
    """The failure counters that judge this attempt: the known device's own, or else the
    account's and the address's (see `server.services.throttle`)."""
    if user is not None and nonce:
        return {throttle.DEVICE: throttle.device_key(user.id, nonce)}
    return {throttle.ACCOUNT: throttle.account_key(username),
            throttle.ADDRESS: throttle.address_key(address)}


def _login_form(username: str, message: str, status: int,
                headers: dict[str, str] | None = None):
    flash(message, "error")
    page = render_template("auth/login.html", username=username,
                           next=request.form.get("next", ""))
    return page, status, headers or {}


def _secret_key() -> str | bytes:
    key = current_app.secret_key
    if not key:  # the app factory always sets one (server.config.load_secret_key)
        raise RuntimeError("the app has no SECRET_KEY")
    return key


def _remember_device(response: Response, known: dict[int, str], user: User) -> None:
    entries, _nonce = devices.remember(known, user.id)
    response.set_cookie(
        devices.COOKIE, devices.dump(_secret_key(), entries),
        max_age=devices.MAX_AGE_DAYS * 86400, path=url_for("auth.login"), httponly=True,
        samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:  # end it on the server: a copied cookie dies too
        login_sessions.end(get_session(), current_user)
        get_session().commit()
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
    try:
        pseudonym = pseudonyms.normalise(request.form.get("pseudonym", ""))
    except pseudonyms.PseudonymRefused as refused:
        flash(str(refused), "error")
        return _settings_page(status=400)
    if len(pseudonym) > MAX_PSEUDONYM:
        flash(f"A pseudonym has at most {MAX_PSEUDONYM} characters.", "error")
        return _settings_page(status=400)
    session = get_session()
    # checked on every save, so one stored before these rules is refused at its next edit
    if pseudonym and _pseudonym_taken(pseudonym):
        flash("That pseudonym is taken, or looks like someone else's name (letters that look "
              "alike, such as Cyrillic і and Latin i, count as the same); choose another one.",
              "error")
        return _settings_page(status=400)
    current_user.pseudonym = pseudonym or default_pseudonym(current_user)
    current_user.leaderboard_opt_out = request.form.get("opt_out") == "on"
    session.commit()
    flash("Settings saved.", "success")
    return redirect(url_for("auth.settings"))


def _pseudonym_taken(pseudonym: str) -> bool:
    """Pseudonyms must not impersonate anyone: not their username, not the name they appear
    under on leaderboards (chosen or generated, e.g. a classmate's ``Nimble Otter 42``),
    not even through look-alike letters (`server.services.pseudonyms`)."""
    # every account, so one enrolled in a course later is covered too
    others = get_session().scalars(select(User).where(User.id != current_user.id))
    names = (name for user in others for name in (user.username, display_pseudonym(user)))
    return pseudonyms.impersonates(pseudonym, names) is not None


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
    login_sessions.end_others(session, current_user)  # this session goes on
    session.commit()
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
