"""Personal API tokens: shown once in plain text, stored as sha256."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.models import ApiToken, User, utcnow
from server.services.grades import as_utc

#: a recognisable prefix lets people (and secret scanners) spot leaked tokens
PREFIX = "ngt_"


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_token(session: Session, user: User, label: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`; the plaintext is returned here and never stored."""
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=hash_token(plaintext), label=label)
    session.add(token)
    session.flush()
    return token, plaintext


#: `last_used_at` is written at most this often: clients poll every second, and a write
#: on every read would compete with the grading workers for the database
TOUCH_SECONDS = 60


def lookup_token(session: Session, plaintext: str) -> User | None:
    """The user owning `plaintext`, or None; one query, no write (see `touch_token`)."""
    if not plaintext or not plaintext.startswith(PREFIX):
        return None
    found = session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(plaintext))).first()
    if found is None:
        return None
    user, token_id, last_used = found
    session.info["api_token"] = (token_id, last_used)
    return user


def touch_token(session: Session) -> bool:
    """Record that the token `lookup_token` found was used, if it was not within the last
    `TOUCH_SECONDS`; True if a write was made (the caller commits)."""
    token_id, last_used = session.info.pop("api_token", (None, None))
    now = utcnow()
    if token_id is None or (last_used is not None and
                            (now - as_utc(last_used)).total_seconds() < TOUCH_SECONDS):
        return False
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return True


def revoke_token(session: Session, token: ApiToken) -> None:
    session.delete(token)
    session.flush()
