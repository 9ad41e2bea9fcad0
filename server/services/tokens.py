"""Personal API tokens: shown once in plain text, stored as sha256."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import ApiToken, User, utcnow

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


def lookup_token(session: Session, plaintext: str) -> User | None:
    """The user owning `plaintext` (and mark the token used), or None."""
    if not plaintext or not plaintext.startswith(PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None:
        return None
    token.last_used_at = utcnow()
    return token.user


def revoke_token(session: Session, token: ApiToken) -> None:
    session.delete(token)
    session.flush()
