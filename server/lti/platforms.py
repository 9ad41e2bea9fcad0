"""Registering an LMS (issuer, client id, deployment ids, endpoints): CLI and admin page."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import ValidationError
from server.lti.models import LtiPlatform

URL_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url")


def register_platform(session: Session, *, issuer: str, client_id: str,
                      deployment_ids: Iterable[str], auth_login_url: str, auth_token_url: str,
                      key_set_url: str, name: str = "", auth_audience: str | None = None
                      ) -> LtiPlatform:
    """Create the registration for (issuer, client id) or update it; deployment ids are
    added to those already known (an LMS adds one per install)."""
    issuer, client_id = issuer.strip(), client_id.strip()
    urls = {"auth_login_url": auth_login_url.strip(), "auth_token_url": auth_token_url.strip(),
            "key_set_url": key_set_url.strip()}
    if not issuer or not client_id:
        raise ValidationError("A platform needs its issuer and the client id it gave the tool.")
    for label, url in urls.items():
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValidationError(f"{label.replace('_', ' ')} must be an http(s) URL.")
    deployments = [d.strip() for d in deployment_ids if d.strip()]
    if not deployments:
        raise ValidationError("Give at least one deployment id.")
    platform = session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == issuer,
                                                        LtiPlatform.client_id == client_id))
    if platform is None:
        platform = LtiPlatform(issuer=issuer, client_id=client_id, deployment_ids=[])
        session.add(platform)
    for key, value in urls.items():
        setattr(platform, key, value)
    platform.name = name.strip() or platform.name or urlsplit(issuer).netloc or issuer
    platform.auth_audience = (auth_audience or "").strip() or None
    platform.deployment_ids = sorted(set(platform.deployment_ids or []) | set(deployments))
    session.flush()
    return platform


def list_platforms(session: Session) -> list[LtiPlatform]:
    return list(session.scalars(select(LtiPlatform).order_by(LtiPlatform.name)))
