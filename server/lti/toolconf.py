"""Platform registrations from the database, in the form PyLTI1p3 reads them."""

from __future__ import annotations

from typing import Any

from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.lti.keys import ToolKeys
from server.lti.models import LtiPlatform


def registration_of(platform: LtiPlatform, keys: ToolKeys) -> Registration:
    reg = (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
           .set_auth_login_url(platform.auth_login_url)
           .set_auth_token_url(platform.auth_token_url)
           .set_key_set_url(platform.key_set_url)
           .set_tool_private_key(keys.private_pem).set_tool_public_key(keys.public_pem))
    if platform.auth_audience:
        reg.set_auth_audience(platform.auth_audience)
    return reg


def find_platform(session: Session, issuer: str, client_id: str | None) -> LtiPlatform | None:
    """The registration for (issuer, client id); without a client id (it is optional in
    the login initiation), the issuer's only registration."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        return session.scalar(query.where(LtiPlatform.client_id == client_id))
    found = list(session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


class DbToolConf(ToolConfAbstract):
    """Every issuer may have several client ids (one per registration)."""

    def __init__(self, session: Session, keys: ToolKeys) -> None:
        self.session = session
        self.keys = keys

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    # pylti1p3 declares a Registration but handles None ("Registration not found")
    def find_registration_by_issuer(  # type: ignore[override]
            self, iss: str, *args: Any, **kwargs: Any) -> Registration | None:
        return self.find_registration_by_params(iss, None, *args, **kwargs)

    def find_registration_by_params(  # type: ignore[override]  # see above
            self, iss: str, client_id: str | None, *args: Any,
                                    **kwargs: Any) -> Registration | None:
        platform = find_platform(self.session, iss, client_id)
        return None if platform is None else registration_of(platform, self.keys)

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None,
                                  *args: Any, **kwargs: Any) -> Deployment | None:
        platform = find_platform(self.session, iss, client_id)
        if platform is None or deployment_id not in (platform.deployment_ids or []):
            return None
        return Deployment().set_deployment_id(deployment_id)
