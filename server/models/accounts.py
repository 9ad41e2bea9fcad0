"""Users and their API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, utcnow

ROLES = ("student", "instructor", "admin")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    #: site-wide role; per-course role lives on Enrollment
    role: Mapped[str] = mapped_column(String(16), default="student")
    pseudonym: Mapped[str] = mapped_column(String(64), default="")
    leaderboard_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user",
                                                  cascade="all, delete-orphan")

    @property
    def is_instructor(self) -> bool:
        return self.role in ("instructor", "admin")

    # The user protocol of Flask-Login, spelled out so the models stay free of Flask.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    #: the key of the login session this object was loaded for (not a column: set by
    #: `server.services.login_sessions`, which keeps the sessions in the database)
    login_session_key = None  # type: str | None

    def get_id(self) -> str:
        """The id a login session cookie stores: the user's id and the session's key, so
        ending the session on the server (logout, password change) ends the cookie too."""
        return f"{self.id}:{self.login_session_key or ''}"


class ApiToken(Base):
    """A personal API token; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="tokens")
