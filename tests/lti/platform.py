"""A small LTI 1.3 platform (an LMS as the tool sees it), served over real HTTP.

It follows the IMS specifications the tool relies on, with its own RSA key:
- LTI Core 1.3: third-party initiated login (the launch page), the OIDC authorization
  endpoint that checks client id, redirect URI and login hint and answers with a signed
  id_token posted to the tool (form_post), its JWKS;
- LTI Advantage security: the OAuth2 client-credentials token endpoint, which accepts
  only a client assertion signed with the key the tool publishes at its JWKS URL;
- Deep Linking 2.0: settings in the deep-linking launch, and a return URL that verifies
  the tool's signed response and creates the resource links and their line items;
- Assignment and Grade Services 2.0: line items (filter by resource_id and
  resource_link_id) and scores; like Canvas it answers 422 for a user who is not a
  learner of the context;
- Names and Role Provisioning 2.0: the context's memberships, paged with Link headers.
"""

from __future__ import annotations

import html
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, abort, jsonify, request
from jwcrypto.jwk import JWK
from werkzeug.serving import make_server

C = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
AGS = "https://purl.imsglobal.org/spec/lti-ags/"
SCOPES = [AGS + "scope/lineitem", AGS + "scope/result.readonly", AGS + "scope/score"]
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


@dataclass
class Member:
    sub: str
    name: str
    email: str
    roles: list[str]


@dataclass
class Platform:
    """State of the test LMS; `url` is set once its server runs."""

    client_id: str = "neurograde-client"
    deployment_id: str = "deployment-1"
    context: dict[str, Any] = field(default_factory=lambda: {
        "id": "ctx-42", "label": "NN101", "title": "Neural networks (LMS)",
        "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]})
    members: dict[str, Member] = field(default_factory=dict)
    #: the tool's endpoints, as registered in this LMS
    tool_login_url: str = ""
    tool_launch_url: str = ""
    tool_jwks_url: str = ""
    url: str = ""
    line_items: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    #: (user sub, HTTP status) of every score POST, including refused ones
    score_posts: list[tuple[str, int]] = field(default_factory=list)
    resource_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)
    nonces_seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.jwk = json.loads(JWK.from_pem(self.private_pem.encode()).export_public())
        self.jwk.update(alg="RS256", use="sig", kid="platform-key-1")
        self._ids = itertools.count(1)
        self.lock = threading.Lock()

    # --- what the tool is told at registration ---
    @property
    def issuer(self) -> str:
        return self.url

    def registration(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "client_id": self.client_id,
                "deployment_ids": [self.deployment_id],
                "auth_login_url": self.url + "/auth", "auth_token_url": self.url + "/token",
                "key_set_url": self.url + "/jwks", "name": "Test LMS"}

    def add_member(self, sub: str, name: str, role: str) -> Member:
        member = Member(sub, name, f"{sub}@lms.example", [LIS + role])
        self.members[sub] = member
        return member

    def launch_url(self, sub: str, link: str | None = None) -> str:
        """The page an LMS user opens: it starts the tool's login (resource link `link`,
        or deep linking when None)."""
        return f"{self.url}/start/{sub}?" + urlencode({"link": link or ""})

    def scores_for(self, sub: str) -> list[dict[str, Any]]:
        return [s for s in self.scores if s["userId"] == sub]

    def is_learner(self, sub: str) -> bool:
        member = self.members.get(sub)
        return member is not None and LIS + "Learner" in member.roles

    def next_id(self) -> int:
        return next(self._ids)


def create_platform_app(p: Platform) -> Flask:
    app = Flask("test_lms")

    @app.get("/jwks")
    def jwks():
        return jsonify({"keys": [p.jwk]})

    @app.get("/start/<sub>")
    def start(sub: str):
        # third-party initiated login: the LMS page sends the browser to the tool
        hint = request.args.get("link") or "deep-link"
        params = {"iss": p.issuer, "login_hint": sub, "target_link_uri": p.tool_launch_url,
                  "lti_message_hint": hint, "client_id": p.client_id,
                  "lti_deployment_id": p.deployment_id}
        return _autopost(p.tool_login_url, params, "Opening neurograde…")

    @app.route("/auth", methods=["GET", "POST"])
    def auth():
        args = request.values
        checks = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                  "prompt": "none", "client_id": p.client_id,
                  "redirect_uri": p.tool_launch_url}
        for name, wanted in checks.items():
            if args.get(name) != wanted:
                abort(400, f"{name} must be {wanted!r}, got {args.get(name)!r}")
        if not args.get("nonce") or args["nonce"] in p.nonces_seen or not args.get("state"):
            abort(400, "missing or reused nonce, or no state")
        p.nonces_seen.add(args["nonce"])
        member = p.members.get(args.get("login_hint", ""))
        if member is None:
            abort(403, "unknown login_hint")
        claims = _id_token_claims(p, member, args["nonce"], args.get("lti_message_hint", ""))
        token = jwt.encode(claims, p.private_pem, algorithm="RS256",
                           headers={"kid": p.jwk["kid"]})
        return _autopost(args["redirect_uri"], {"id_token": token, "state": args["state"]},
                         "Signing in…")

    @app.post("/token")
    def token():
        form = request.form
        bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        if form.get("grant_type") != "client_credentials" \
                or form.get("client_assertion_type") != bearer:
            return jsonify(error="unsupported_grant_type"), 400
        try:
            claims = _verify_tool_jwt(p, form.get("client_assertion", ""), p.url + "/token")
        except jwt.InvalidTokenError as exc:
            return jsonify(error="invalid_client", error_description=str(exc)), 401
        if claims.get("iss") != p.client_id or claims.get("sub") != p.client_id:
            return jsonify(error="invalid_client"), 401
        granted = [s for s in form.get("scope", "").split() if s in SCOPES + [NRPS_SCOPE]]
        access = uuid.uuid4().hex
        p.tokens[access] = granted
        return jsonify(access_token=access, token_type="bearer", expires_in=3600,
                       scope=" ".join(granted))

    def require(scope: str) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or scope not in p.tokens.get(auth[7:], []):
            abort(401)

    @app.get("/lineitems")
    def lineitems():
        require(AGS + "scope/lineitem")
        items = p.line_items
        for arg, key in (("resource_id", "resourceId"), ("resource_link_id", "resourceLinkId")):
            if request.args.get(arg):
                items = [i for i in items if i.get(key) == request.args[arg]]
        return Response(json.dumps(items),
                        mimetype="application/vnd.ims.lis.v2.lineitemcontainer+json")

    @app.post("/lineitems")
    def create_lineitem():
        require(AGS + "scope/lineitem")
        body = request.get_json(force=True)
        if not body.get("label") or not body.get("scoreMaximum"):
            abort(400, "label and scoreMaximum are required")
        return jsonify(_new_line_item(p, body)), 201

    @app.get("/lineitems/<int:n>")
    def lineitem(n: int):
        require(AGS + "scope/lineitem")
        return jsonify(_line_item(p, n))

    @app.post("/lineitems/<int:n>/scores")
    def score(n: int):
        require(AGS + "scope/score")
        if request.mimetype != "application/vnd.ims.lis.v1.score+json":
            abort(415)
        item = _line_item(p, n)
        body = request.get_json(force=True)
        with p.lock:
            if not p.is_learner(body.get("userId", "")):
                p.score_posts.append((body.get("userId", ""), 422))
                return jsonify(errors={"type": "unprocessable_entity",
                                       "message": "User not found in course or is not a "
                                                  "student"}), 422
            for name in ("scoreGiven", "scoreMaximum", "timestamp", "activityProgress",
                         "gradingProgress"):
                if name not in body:
                    abort(400, f"{name} missing")
            p.score_posts.append((body["userId"], 200))
            p.scores.append({**body, "lineitem": item["id"]})
        return "", 200

    @app.get("/memberships")
    def memberships():
        require(NRPS_SCOPE)
        members = [{"user_id": m.sub, "name": m.name, "email": m.email, "roles": m.roles,
                    "status": "Active"} for m in p.members.values()]
        page = int(request.args.get("page", "1"))
        chunk = members[(page - 1) * 2: page * 2]
        body = {"id": request.url, "context": {"id": p.context["id"]}, "members": chunk}
        response = Response(json.dumps(body),
                            mimetype="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
        if page * 2 < len(members):
            response.headers["Link"] = f'<{p.url}/memberships?page={page + 1}>; rel="next"'
        return response

    @app.post("/deep_link_return")
    def deep_link_return():
        try:
            claims = _verify_tool_jwt(p, request.form.get("JWT", ""), p.issuer)
        except jwt.InvalidTokenError as exc:
            abort(400, f"bad deep linking response: {exc}")
        if claims.get(C + "message_type") != "LtiDeepLinkingResponse" \
                or claims.get(C + "deployment_id") != p.deployment_id \
                or claims.get("iss") != p.client_id \
                or claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/data") != "dl-data-7":
            abort(400, "not a deep linking response for this deployment")
        titles = []
        for item in claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", []):
            if item.get("type") != "ltiResourceLink":
                continue
            link_id = f"rl-{p.next_id()}"
            link = {"id": link_id, "title": item.get("title"), "url": item.get("url"),
                    "custom": item.get("custom") or {}, "lineitem": None}
            if item.get("lineItem"):
                created = _new_line_item(p, {**item["lineItem"], "resourceLinkId": link_id,
                                             "label": item["lineItem"].get("label")
                                             or item.get("title")})
                link["lineitem"] = created["id"]
            p.resource_links[link_id] = link
            titles.append(item.get("title") or link_id)
        return (f"<!doctype html><title>LMS</title><h1 id='added'>Added: "
                f"{html.escape(', '.join(titles))}</h1>")

    return app


def _new_line_item(p: Platform, body: dict[str, Any]) -> dict[str, Any]:
    with p.lock:
        n = p.next_id()
        item = {**body, "id": f"{p.url}/lineitems/{n}"}
        p.line_items.append(item)
        return item


def _line_item(p: Platform, n: int) -> dict[str, Any]:
    for item in p.line_items:
        if item["id"] == f"{p.url}/lineitems/{n}":
            return item
    abort(404)


def _id_token_claims(p: Platform, member: Member, nonce: str, hint: str) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": p.issuer, "aud": p.client_id, "azp": p.client_id, "sub": member.sub,
        "exp": now + 300, "iat": now, "nonce": nonce, "name": member.name,
        "email": member.email,
        C + "version": "1.3.0", C + "deployment_id": p.deployment_id,
        C + "target_link_uri": p.tool_launch_url, C + "roles": member.roles,
        C + "context": p.context,
        C + "tool_platform": {"guid": "test-lms", "name": "Test LMS"},
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": p.url + "/memberships", "service_versions": ["2.0"]},
    }
    ags = {"scope": SCOPES, "lineitems": p.url + "/lineitems"}
    if hint == "deep-link":
        claims[C + "message_type"] = "LtiDeepLinkingRequest"
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "deep_link_return_url": p.url + "/deep_link_return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True, "data": "dl-data-7"}
    else:
        link = p.resource_links[hint]
        claims[C + "message_type"] = "LtiResourceLinkRequest"
        claims[C + "resource_link"] = {"id": link["id"], "title": link["title"]}
        claims[C + "custom"] = link["custom"]
        if link["lineitem"]:
            ags["lineitem"] = link["lineitem"]
    claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = ags
    return claims


def _verify_tool_jwt(p: Platform, token: str, audience: str) -> dict[str, Any]:
    """Verify a JWT the tool signed, with the key published at its JWKS URL (fetched over
    HTTP as an LMS does)."""
    header = jwt.get_unverified_header(token)
    keys = requests.get(p.tool_jwks_url, timeout=10).json()["keys"]
    key = next((k for k in keys if k.get("kid") == header.get("kid")), None)
    if key is None:
        raise jwt.InvalidTokenError("unknown kid")
    public = jwt.PyJWK(key).key
    return jwt.decode(token, public, algorithms=["RS256"], audience=audience,
                      options={"require": ["exp", "iat"]})


def _autopost(action: str, fields: dict[str, str], text: str) -> str:
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in fields.items())
    return (f"<!doctype html><title>LMS</title><p>{html.escape(text)}</p>"
            f'<form id="f" method="post" action="{html.escape(action)}">{inputs}'
            '<button type="submit">Continue</button></form>'
            '<script>document.getElementById("f").submit()</script>')


class ServedPlatform:
    """The platform on a werkzeug server in a thread (host 127.0.0.1, a free port)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.server = make_server("127.0.0.1", 0, create_platform_app(platform), threaded=True)
        platform.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Platform:
        self.thread.start()
        return self.platform

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
