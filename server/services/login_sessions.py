"""Login sessions kept on the server: a cookie is worth something only while its row exists.

The session cookie (signed by Flask) holds ``"<user id>:<key>"``; the database holds the
key's sha256. Logout deletes the row, so a copied cookie replayed afterwards is refused
(with a signed cookie alone it would stay valid until the browser drops it). Rows older
than the maximum age are refused and pruned at every login, which bounds the table.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.db import rowcount
from server.models import LoginSession, User, utcnow
from server.services.grades import as_utc

#: a session ends this long after the login even if the browser keeps its cookie
DEFAULT_MAX_AGE = timedelta(days=14)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(session: Session, user: User, max_age: timedelta = DEFAULT_MAX_AGE) -> str:
    """A new session for `user`; sets `user.login_session_key` (what `get_id` returns)."""
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.created_at < now - max_age))
    key = secrets.token_urlsafe(24)
    session.add(LoginSession(key_hash=_hash(key), user_id=user.id, created_at=now))
    user.login_session_key = key
    return key


def load(session: Session, cookie_id: str, max_age: timedelta = DEFAULT_MAX_AGE) -> User | None:
    """The user of a live session, or None (unknown, ended or expired). One query: it runs
    on every request."""
    user_id, _, key = cookie_id.partition(":")
    if not key or not user_id.isdigit():
        return None
    found = session.execute(
        select(User, LoginSession.created_at).join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.key_hash == _hash(key), User.id == int(user_id))).first()
    if found is None or _expired(found.created_at, max_age):
        return None
    user = found.User
    user.login_session_key = key
    return user


def _expired(created: datetime, max_age: timedelta) -> bool:
    return datetime.now(UTC) - as_utc(created) > max_age


def end(session: Session, user: User) -> None:
    """End the session `user` was loaded for."""
    if user.login_session_key:
        session.execute(delete(LoginSession).where(
            LoginSession.key_hash == _hash(user.login_session_key)))


def end_others(session: Session, user: User) -> int:
    """End every session of `user` except the current one; returns how many ended."""
    keep = _hash(user.login_session_key or "")
    result = session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.key_hash != keep))
    return rowcount(result) or 0

