"""Configuration of the web app, read from `NEUROGRADE_*` environment variables.

Every setting has a default that works on a laptop: an `./instance` folder with
a SQLite database and a generated secret key. A `config` mapping passed to
`create_app` overrides the environment (tests use this).
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret_key"
DEFAULT_MAX_UPLOAD_KB = 1024


def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def default_database_url(instance: Path) -> str:
    return f"sqlite:///{instance / 'neurograde.sqlite3'}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def load_secret_key(instance: Path) -> str:
    """The persisted secret key of this instance, generated on first run (mode 0600).

    The key is written completely to a temporary file and then hard-linked into place,
    which fails if the file exists: when several processes start at once exactly one
    key wins, and nobody can read a half-written one.
    """
    path = instance / SECRET_KEY_FILE
    if not path.exists():
        _publish_secret_key(path, secrets.token_hex(32))
    return _read_secret_key(path)


def _publish_secret_key(path: Path, key: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
        log.info("generated a new secret key in %s", path)
    except FileExistsError:
        pass  # another process was first; its key is the instance's key
    finally:
        os.unlink(tmp)


def _read_secret_key(path: Path, wait_seconds: float = 5.0) -> str:
    # a key file created in place by an older version may still be being written
    deadline = time.monotonic() + wait_seconds
    while True:
        key = path.read_text().strip()
        if key:
            return key
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} is empty; delete it to generate a new secret key")
        time.sleep(0.05)


def extra_plugins(config: Mapping[str, Any]) -> list[str]:
    """The modules to register as plugins on top of the built-in and installed ones:
    `EXTRA_PLUGINS` (a list, or a comma-separated string) or else the environment's
    `NEUROGRADE_EXTRA_PLUGINS`."""
    value = config.get("EXTRA_PLUGINS") or os.environ.get("NEUROGRADE_EXTRA_PLUGINS", "")
    names = value.split(",") if isinstance(value, str) else value
    return [name.strip() for name in names if name.strip()]


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The app configuration: environment, then `overrides`, then derived defaults."""
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_PATH")
                    or os.environ.get("NEUROGRADE_INSTANCE_PATH", "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": os.environ.get("NEUROGRADE_DATABASE_URL") or default_database_url(instance),
        "SECRET_KEY": os.environ.get("NEUROGRADE_SECRET_KEY") or None,
        "DATASETS_DIR": str(instance / "datasets"),
        "SANDBOX": os.environ.get("NEUROGRADE_SANDBOX", "bwrap"),
        "EMBEDDED_WORKERS": _env_int("NEUROGRADE_WORKERS", None),
        "MAX_CONTENT_LENGTH": 1024 * (_env_int("NEUROGRADE_MAX_UPLOAD_KB", DEFAULT_MAX_UPLOAD_KB)
                                      or DEFAULT_MAX_UPLOAD_KB),
        "LOAD_PLUGIN_ENTRYPOINTS": os.environ.get("NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD") != "1",
        #: reverse proxies in front of the app whose X-Forwarded-* headers are believed
        "TRUSTED_PROXIES": _env_int("NEUROGRADE_TRUSTED_PROXIES", 0),
    }
    config.update(overrides)
    config["INSTANCE_PATH"] = str(instance)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_secret_key(instance)
    if int(config.get("TRUSTED_PROXIES") or 0) < 0:
        raise ValueError("NEUROGRADE_TRUSTED_PROXIES must be 0 or more")
    if config.get("EMBEDDED_WORKERS") is None:
        config["EMBEDDED_WORKERS"] = default_workers(config["DATABASE_URL"])
    return config


def default_workers(database_url: str) -> int:
    """Embedded grading workers of `neurograde serve`: one per CPU on SQLite, none on
    PostgreSQL (run `neurograde worker` processes there instead)."""
    if not is_sqlite(database_url):
        return 0
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
