"""PyLTI1p3's launch state in the database instead of the Flask session.

The platform's launch is a cross-site POST: a SameSite=Lax session cookie does not come
with it, so nonces kept in the session would never be found. Here they are server-side
and single-use (a replayed id_token finds its nonce gone). The state value still travels
in PyLTI1p3's own short-lived cookie (SameSite=None; Secure over https), which binds the
launch to the browser that started the login.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.db import rowcount
from server.lti.models import LtiKeyValue
from server.models.base import utcnow
from server.services.grades import as_utc

DEFAULT_LIFETIME = 86400


class DbLaunchDataStorage(LaunchDataStorage[Any]):
    # keys are global (nonces and launch ids are random), so no session-id cookie
    _session_cookie_name = ""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        row = self.session.get(LtiKeyValue, self._prepare_key(key))
        if row is None or as_utc(row.expires_at) < utcnow():
            return None
        return row.value

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        now = utcnow()
        self.session.execute(delete(LtiKeyValue).where(LtiKeyValue.expires_at < now))
        row = self.session.get(LtiKeyValue, self._prepare_key(key))
        if row is None:
            row = LtiKeyValue(key=self._prepare_key(key))
            self.session.add(row)
        row.value = value
        row.expires_at = now + timedelta(seconds=exp or DEFAULT_LIFETIME)
        self.session.flush()

    def check_value(self, key: str) -> bool:
        """Used for nonces only: true once, then the nonce is spent."""
        key = self._prepare_key(key)
        found = self.session.scalar(select(LtiKeyValue.key).where(
            LtiKeyValue.key == key, LtiKeyValue.expires_at >= utcnow()))
        if found is None:
            return False
        return rowcount(self.session.execute(
            delete(LtiKeyValue).where(LtiKeyValue.key == key))) == 1
