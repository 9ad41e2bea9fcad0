"""Server-side state of logins: the sessions a browser holds, and the failure counters
that throttle password guessing. Both live in the database so every web process (on any
machine) sees the same state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, utcnow


class LoginSession(Base):
    """One logged-in browser. The session cookie carries the key; only its sha256 is
    stored, so a database reader cannot take over a session. Deleting the row ends the
    session (logout, password change)."""

    __tablename__ = "login_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)


class LoginThrottle(Base):
    """Failed logins counted under one key: an account, a known device or a client
    address (the key is a sha256, so neither addresses nor typed names are stored)."""

    __tablename__ = "login_throttles"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                      index=True)
    #: attempts (except those that bypass this key) are refused until then
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
