"""The LTI blueprint: login initiation, launch, deep linking, JWKS and the admin page.

Only `login` and `launch` are exempt from CSRF tokens: the platform posts to them from
its own site, and what protects them instead is the signed id_token (checked against
the platform's JWKS), the single-use nonce and the state cookie. Every other form here
(deep-link choice, registration, roster sync) is an ordinary same-site form with a token.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required, login_user
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem
from sqlalchemy import select

from server.blueprints.auth import CSP
from server.db import get_session
from server.errors import BadRequest, Forbidden, NotFound
from server.extensions import csrf, get_state
from server.lti import accounts, ags, nrps, passback, platforms
from server.lti.keys import tool_keys
from server.lti.models import SCORE_POLICIES, LtiContext, LtiLineItem, LtiPassback, LtiPassbackLog
from server.lti.storage import DbLaunchDataStorage
from server.lti.toolconf import DbToolConf, find_platform
from server.models import CourseAssignment
from server.services import courses, login_sessions

log = logging.getLogger(__name__)

bp = Blueprint("lti", __name__)

C = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DEEP_LINK_KEY = "lti_deep_link_launch"


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    for key in ("LTI_IFRAME_COOKIES", "LTI_FRAME_ANCESTORS"):
        app.config.setdefault(key, os.environ.get(f"NEUROGRADE_{key}", ""))
    # Inside an LMS iframe the login session is a third-party cookie: it needs
    # SameSite=None (and therefore Secure/https). See docs/lms.md for the trade-off.
    if app.config["LTI_IFRAME_COOKIES"] in (True, "1", "true"):
        app.config["SESSION_COOKIE_SAMESITE"] = "None"
        app.config["SESSION_COOKIE_SECURE"] = True


@bp.after_app_request
def _allow_lms_frames(response: Response) -> Response:
    """Let the configured LMS origins frame the pages (CSP frame-ancestors replaces the
    X-Frame-Options DENY the other pages send; browsers ignore XFO when it is present)."""
    origins = current_app.config.get("LTI_FRAME_ANCESTORS") or ""
    if origins and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = CSP.replace(
            "frame-ancestors 'none'", f"frame-ancestors 'self' {origins}")
    return response


def _conf() -> DbToolConf:
    return DbToolConf(get_session(), tool_keys(current_app.instance_path))


def _storage() -> DbLaunchDataStorage:
    return DbLaunchDataStorage(get_session())


# --- public endpoints ------------------------------------------------------------------------

@bp.get("/.well-known/jwks.json")
@bp.get("/lti/jwks")
def jwks() -> Response:
    return jsonify(tool_keys(current_app.instance_path).jwks())


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt
def login():
    """OIDC login initiation (third-party initiated login)."""
    try:
        oidc = FlaskOIDCLogin(FlaskRequest(), _conf(), launch_data_storage=_storage())
        response = oidc.redirect(url_for("lti.launch", _external=True))
    except (LtiException, OIDCException) as exc:
        raise BadRequest(f"LTI login refused: {exc}") from None
    get_session().commit()
    return response


@bp.post("/lti/launch")
@csrf.exempt
def launch():
    session = get_session()
    message = FlaskMessageLaunch(FlaskRequest(), _conf(), launch_data_storage=_storage(),
                                 requests_session=ags._TimeoutSession())
    try:
        data = message.get_launch_data()
    except LtiException as exc:
        session.rollback()
        log.warning("LTI launch refused: %s", exc)
        raise BadRequest(f"LTI launch refused: {exc}") from None
    platform = find_platform(session, data["iss"], message.get_client_id())
    role = accounts.course_role(data.get(C + "roles", []))
    if role is None:
        raise Forbidden("neurograde admits instructors, teaching assistants and students; "
                        "your role in this LMS course is none of these.")
    user = accounts.link_user(session, platform, data["sub"], data, role)
    context = accounts.bind_context(session, platform, data, role)
    _remember_services(context, data)
    accounts.enrol(session, user, context, role)
    if message.is_deep_link_launch():
        if role != "instructor":
            raise Forbidden("Only instructors add neurograde assignments to a course.")
        target = url_for("lti.deep_link")
    else:
        target = _resource_target(session, context, data, role)
    login_sessions.start(session, user)  # a server-side session, ended by logout like any
    session.commit()
    flask_session.clear()  # a fresh session for whoever launched
    login_user(user)
    if message.is_deep_link_launch():
        flask_session[DEEP_LINK_KEY] = message.get_launch_id()
    log.info("LTI launch: user %s (%s) in course %s", user.id, role, context.course_id)
    return redirect(target)


def _remember_services(context: LtiContext, data: dict) -> None:
    context.deployment_id = data.get(C + "deployment_id") or context.deployment_id
    endpoint = data.get(AGS_CLAIM) or {}
    if endpoint.get("lineitems"):
        context.lineitems_url = endpoint["lineitems"]
        context.ags_scopes = list(endpoint.get("scope") or [])
    roster = data.get(NRPS_CLAIM) or {}
    if roster.get("context_memberships_url"):
        context.memberships_url = roster["context_memberships_url"]


def _resource_target(session, context: LtiContext, data: dict, role: str) -> str:
    slug = (data.get(C + "custom") or {}).get("assignment")
    course = context.course
    if not slug:
        return url_for("instructor.course" if role == "instructor" else "student.course",
                       course=course.slug)
    ca = courses.find_course_assignment(session, course, slug)
    if ca is None:
        raise NotFound(f"The assignment {slug!r} is not enabled in this course.")
    item = _line_item(session, context, ca)
    item.resource_link_id = (data.get(C + "resource_link") or {}).get("id") \
        or item.resource_link_id
    lineitem_url = (data.get(AGS_CLAIM) or {}).get("lineitem")
    if lineitem_url:
        item.url = lineitem_url
    endpoint = "instructor.assignment" if role == "instructor" else "student.assignment"
    return url_for(endpoint, course=course.slug, slug=slug)


def _line_item(session, context: LtiContext, ca: CourseAssignment) -> LtiLineItem:
    item = session.scalar(select(LtiLineItem).where(LtiLineItem.context_id == context.id,
                                                    LtiLineItem.course_assignment_id == ca.id))
    if item is None:
        item = LtiLineItem(context_id=context.id, course_assignment_id=ca.id,
                           resource_id=ags.resource_id(ca.id))
        session.add(item)
        session.flush()
    return item


# --- deep linking ----------------------------------------------------------------------------

def _deep_link_launch() -> FlaskMessageLaunch:
    launch_id = flask_session.get(DEEP_LINK_KEY)
    if not launch_id:
        raise BadRequest("Open this page from your LMS (add an activity → neurograde).")
    try:
        # pylti1p3 annotates from_cache with the base class; it returns an instance of cls
        return FlaskMessageLaunch.from_cache(  # type: ignore[return-value]
            launch_id, FlaskRequest(), _conf(), launch_data_storage=_storage())
    except LtiException:
        raise BadRequest("This LMS request has expired; start again from the LMS.") from None


def _deep_link_context(message: FlaskMessageLaunch) -> LtiContext:
    data = message.get_launch_data()
    platform = find_platform(get_session(), data["iss"], message.get_client_id())
    if platform is None:  # the launch was validated against it; it was removed since
        raise BadRequest("This LMS is no longer registered with neurograde.")
    return accounts.bind_context(get_session(), platform, data, "instructor")


@bp.get("/lti/deep-link")
@login_required
def deep_link():
    message = _deep_link_launch()
    context = _deep_link_context(message)
    registry = get_state().registry
    items = sorted(registry.assignments.values(), key=lambda a: (a.order, a.slug))
    settings = message.get_launch_data().get(DL_SETTINGS) or {}
    return render_template("lti/deep_link.html", assignments=items, course=context.course,
                           multiple=str(settings.get("accept_multiple", "true")) != "false")


@bp.post("/lti/deep-link")
@login_required
def deep_link_choose():
    message = _deep_link_launch()
    session = get_session()
    context = _deep_link_context(message)
    registry = get_state().registry
    slugs = [s for s in request.form.getlist("assignment") if s in registry.assignments]
    if not slugs:
        flash("Choose an assignment.", "error")
        return redirect(url_for("lti.deep_link"))
    resources = []
    for slug in slugs:
        ca = courses.find_course_assignment(session, context.course, slug) \
            or courses.enable_assignment(session, registry, context.course, slug)
        item = _line_item(session, context, ca)
        title = registry.assignment(slug).title
        line = (LineItem().set_label(title).set_resource_id(item.resource_id)
                .set_score_maximum(_max_points(ca)))
        resources.append(DeepLinkResource().set_url(url_for("lti.launch", _external=True))
                         .set_title(title).set_custom_params({"assignment": slug})
                         .set_lineitem(line))
    deep_link = message.get_deep_link()
    token = deep_link.get_response_jwt(resources)
    return_url = message.get_launch_data()[DL_SETTINGS]["deep_link_return_url"]
    session.commit()
    flask_session.pop(DEEP_LINK_KEY, None)
    response = Response(render_template("lti/deep_link_return.html", action=return_url,
                                        jwt=token, titles=[r.to_dict()["title"] for r in
                                                           resources]))
    # the form goes back to the LMS: allow exactly that origin as a form target
    parts = urlsplit(return_url)
    response.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")
    return response


def _max_points(ca: CourseAssignment) -> float:
    registry = get_state().registry
    assignment = registry.assignment(ca.assignment_slug)
    rubric = registry.rubric_for(ca.assignment_slug, ca.rubric_name)
    return float(sum(rubric.points.get(c.name, c.points) for c in assignment.checks))


# --- admin page ------------------------------------------------------------------------------

def _require_staff() -> None:
    if not current_user.is_instructor:
        abort(403)


@bp.get("/lti/admin")
@login_required
def admin():
    _require_staff()
    session = get_session()
    contexts = list(session.scalars(select(LtiContext).order_by(LtiContext.id)))
    jobs = list(session.scalars(select(LtiPassback).order_by(LtiPassback.id.desc()).limit(50)))
    history = list(session.scalars(select(LtiPassbackLog).order_by(LtiPassbackLog.id.desc())
                                   .limit(50)))
    urls = {"login": url_for("lti.login", _external=True),
            "launch": url_for("lti.launch", _external=True),
            "jwks": url_for("lti.jwks", _external=True)}
    return render_template("lti/admin.html", platforms=platforms.list_platforms(session),
                           contexts=contexts, jobs=jobs, history=history, urls=urls,
                           policies=SCORE_POLICIES)


@bp.post("/lti/admin/platforms")
@login_required
def register():
    _require_staff()
    form = request.form
    platforms.register_platform(
        get_session(), issuer=form.get("issuer", ""), client_id=form.get("client_id", ""),
        deployment_ids=form.get("deployment_ids", "").replace(",", " ").split(),
        auth_login_url=form.get("auth_login_url", ""),
        auth_token_url=form.get("auth_token_url", ""), key_set_url=form.get("key_set_url", ""),
        name=form.get("name", ""), auth_audience=form.get("auth_audience"))
    get_session().commit()
    flash("Platform registered.", "success")
    return redirect(url_for("lti.admin"))


def _staff_context(context_id: int) -> LtiContext:
    _require_staff()
    context = get_session().get(LtiContext, context_id)
    if context is None:
        abort(404)
    return context


@bp.post("/lti/admin/contexts/<int:context_id>")
@login_required
def context_settings(context_id: int):
    context = _staff_context(context_id)
    policy = request.form.get("score_policy", "best")
    if policy not in SCORE_POLICIES:
        raise BadRequest(f"Unknown score policy {policy!r}.")
    context.score_policy = policy
    get_session().commit()
    flash("Saved.", "success")
    return redirect(url_for("lti.admin"))


@bp.post("/lti/admin/contexts/<int:context_id>/roster")
@login_required
def sync_roster(context_id: int):
    context = _staff_context(context_id)
    try:
        outcome = nrps.sync_roster(get_session(), context, tool_keys(current_app.instance_path))
    except LtiException as exc:
        raise BadRequest(f"The LMS refused the roster request: {exc}") from None
    get_session().commit()
    flash(f"Roster synced: {len(outcome.enrolled)} enrolled, {len(outcome.ignored)} ignored.",
          "success")
    return redirect(url_for("lti.admin"))


@bp.post("/lti/admin/retry")
@login_required
def retry_failed():
    _require_staff()
    count = passback.retry_failed(get_session())
    get_session().commit()
    flash(f"{count} failed passback(s) queued again.", "success")
    return redirect(url_for("lti.admin"))
