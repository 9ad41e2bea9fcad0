"""The known-device cookie: proof that this browser logged in to an account before.

After a successful login the browser gets a signed cookie listing, for up to
`MAX_ACCOUNTS` accounts, the account's id and a random device nonce. A login attempt
that brings a valid entry for the account it names is judged on that device's own
failure counter instead of the account's and the address's (`server.services.throttle`),
so nobody else's failures can keep a student out of her own browser.

The cookie proves nothing about the password; it is signed with the app's secret key
(a forged one is ignored) and expires `MAX_AGE_DAYS` after the last login.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "neurograde_device"
SALT = "neurograde-known-device"
MAX_ACCOUNTS = 8  #: a shared lab computer remembers the last few accounts only
MAX_AGE_DAYS = 180


def _serializer(secret_key: str | bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def read(secret_key: str | bytes, raw: str | None) -> dict[int, str]:
    """The cookie's {account id: device nonce}; empty if absent, forged or expired."""
    if not raw:
        return {}
    try:
        entries = _serializer(secret_key).loads(raw, max_age=MAX_AGE_DAYS * 86400)
    except BadSignature:
        return {}
    if not isinstance(entries, list):
        return {}
    return {int(uid): str(nonce) for uid, nonce in entries
            if isinstance(uid, int) and isinstance(nonce, str)}


def remember(entries: dict[int, str], user_id: int) -> tuple[dict[int, str], str]:
    """The entries with `user_id` most recent (keeping its nonce if it had one)."""
    nonce = entries.get(user_id) or secrets.token_urlsafe(16)
    kept = [(uid, n) for uid, n in entries.items() if uid != user_id]
    kept = kept[-(MAX_ACCOUNTS - 1):] + [(user_id, nonce)]
    return dict(kept), nonce


def dump(secret_key: str | bytes, entries: dict[int, str]) -> str:
    return _serializer(secret_key).dumps([[uid, nonce] for uid, nonce in entries.items()])
