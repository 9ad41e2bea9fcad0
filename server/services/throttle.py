"""Login throttling that slows guessing down without letting anyone lock out someone else.

Three kinds of counters, all rows of `login_throttles` (shared by every web process):

- **account** (the typed username, existing or not): after `account_free_failures`
  failures, each further one delays the next attempt on that account, doubling from
  `account_base_delay` up to `account_max_delay`. A delay, never a lockout: once it has
  passed, one more attempt is allowed, so a guesser gets about one try per
  `account_max_delay` while the owner waits at most that long on a new device.
- **device**: a browser where the account logged in before carries a signed device
  cookie (`server.services.devices`). Attempts from it skip the account and address
  counters, so a correct password from her own device always passes however many
  failures others caused; its own failures count on the device's counter, with the same
  delays (someone at a shared lab computer gains nothing).
- **address**: failures only, at most `address_limit` per `window` from one client
  address; past that, attempts without a known device are refused until the window has
  passed. It stops one machine from guessing across many usernames.

Counters start over after `window` seconds without a failure; expired rows are pruned,
and the table is capped at `max_rows`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from server.models import LoginThrottle, utcnow
from server.services.grades import as_utc

ACCOUNT, DEVICE, ADDRESS = "account", "device", "address"
#: one failure in PRUNE_ONE_IN also enforces `max_rows` (counting rows is not free)
PRUNE_ONE_IN = 64


@dataclass(frozen=True)
class ThrottlePolicy:
    account_free_failures: int = 5
    account_base_delay: float = 2.0
    account_max_delay: float = 60.0
    address_limit: int = 100
    window: float = 900.0
    max_rows: int = 100_000

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> ThrottlePolicy:
        """From the app's ``LOGIN_THROTTLE`` mapping; unknown names are an error."""
        config = dict(config or {})
        unknown = set(config) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"LOGIN_THROTTLE: unknown settings {', '.join(sorted(unknown))}")
        return cls(**config)

    def delay_after(self, kind: str, failures: int) -> float:
        """Seconds to refuse further attempts after the `failures`-th failure (0 = none)."""
        if kind == ADDRESS:
            return self.window if failures >= self.address_limit else 0.0
        extra = failures - self.account_free_failures
        if extra <= 0:
            return 0.0
        return min(self.account_base_delay * 2 ** min(extra - 1, 30), self.account_max_delay)


def key(kind: str, *parts: object) -> str:
    """The stored key: a sha256, so neither addresses nor typed names are kept."""
    raw = "\x00".join([kind, *(str(p) for p in parts)])
    return hashlib.sha256(raw.encode()).hexdigest()


def account_key(username: str) -> str:
    return key(ACCOUNT, username.strip().casefold())


def device_key(user_id: int, nonce: str) -> str:
    return key(DEVICE, user_id, nonce)


def address_key(address: str) -> str:
    return key(ADDRESS, address)


def wait_seconds(session: Session, keys: Iterable[str], now: datetime | None = None) -> int:
    """Whole seconds until none of `keys` is blocked (0 = an attempt may go ahead)."""
    now = now or utcnow()
    until = session.scalars(select(LoginThrottle.blocked_until).where(
        LoginThrottle.key_hash.in_(list(keys)), LoginThrottle.blocked_until > now)).all()
    latest = max((as_utc(u) for u in until if u is not None), default=None)
    if latest is None:
        return 0
    return max(1, int((latest - now).total_seconds() + 0.999))


def record_failure(session: Session, policy: ThrottlePolicy, kind: str, key_hash: str,
                   now: datetime | None = None) -> int:
    """Count one failure under `key_hash` (atomically, whichever process records it);
    block the key if the policy says so. Returns the failure count."""
    now = now or utcnow()
    stale = now - timedelta(seconds=policy.window)
    insert = _insert_for(session)
    statement = insert(LoginThrottle).values(
        key_hash=key_hash, failures=1, last_failure_at=now, blocked_until=None)
    table = LoginThrottle.__table__
    restart = table.c.last_failure_at < stale
    statement = statement.on_conflict_do_update(index_elements=["key_hash"], set_={
        "failures": case((restart, 1), else_=table.c.failures + 1),
        "last_failure_at": now,
    }).returning(table.c.failures)
    failures = int(session.execute(statement).scalar_one())
    delay = policy.delay_after(kind, failures)
    if delay:
        session.execute(update(LoginThrottle).where(LoginThrottle.key_hash == key_hash)
                        .values(blocked_until=now + timedelta(seconds=delay)))
    return failures


def _insert_for(session: Session) -> Any:
    """The dialect's INSERT, which has ON CONFLICT … DO UPDATE (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def clear(session: Session, keys: Iterable[str]) -> None:
    """Forget the failures under `keys` (after a successful login)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash.in_(list(keys))))


def prune(session: Session, policy: ThrottlePolicy, now: datetime | None = None, *,
          enforce_cap: bool | None = None) -> None:
    """Delete counters that no longer matter; keep at most `max_rows` (newest first)."""
    now = now or utcnow()
    stale = now - timedelta(seconds=policy.window)
    session.execute(delete(LoginThrottle).where(and_(
        LoginThrottle.last_failure_at < stale,
        or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now))))
    if enforce_cap is None:
        enforce_cap = secrets.randbelow(PRUNE_ONE_IN) == 0
    if not enforce_cap:
        return
    rows = session.scalar(select(func.count()).select_from(LoginThrottle)) or 0
    excess = rows - policy.max_rows
    if excess > 0:
        oldest = select(LoginThrottle.key_hash).order_by(
            LoginThrottle.last_failure_at).limit(excess).scalar_subquery()
        session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash.in_(oldest)))
