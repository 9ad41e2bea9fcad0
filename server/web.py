"""The web tier of `neurograde serve`: N pre-forked processes with a thread pool each,
behind one listening socket (gunicorn's arbiter and threaded workers), and overload
answered at once with ``503`` and ``Retry-After`` instead of a silent wait.

One Python process cannot use more than about one core (the GIL), so `processes`
defaults to the number of CPUs. Each process accepts up to `connections` clients and
hands requests to `threads` threads; a request that waited longer than `max_wait_ms`
for a thread is answered ``503 Service Unavailable`` without running the app (and
logged), so a class refreshing pages at a deadline gets a quick answer to retry
instead of a connection that hangs. The settings come from ``NEUROGRADE_WEB_*``
(see `WebSettings.from_env`) and `serve`'s options; docs/operations.md has the figures
they are sized by.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: seconds a shed client is asked to wait before retrying
RETRY_AFTER_SECONDS = 2


def cpu_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class WebSettings:
    """How the web tier is sized; defaults measured with `bench/web_load.py`."""

    host: str = "127.0.0.1"
    port: int = 5000
    #: web processes (0: one per CPU)
    processes: int = 0
    #: request threads per process: enough to overlap database waits, few enough that
    #: the GIL is not thrashed
    threads: int = 8
    #: open client connections per process (kept-alive ones included)
    connections: int = 1000
    #: connections the kernel queues before any process accepts them
    backlog: int = 2048
    #: a request that waited longer than this for a thread is answered 503
    max_wait_ms: int = 1000
    #: seconds an idle kept-alive connection stays open
    keepalive: int = 5

    @classmethod
    def from_env(cls, **overrides: Any) -> WebSettings:
        """`NEUROGRADE_WEB_PROCESSES`, `_THREADS`, `_CONNECTIONS`, `_BACKLOG`,
        `_MAX_WAIT_MS`, `_KEEPALIVE`, then `overrides` (None values are ignored)."""
        base = cls()
        values: dict[str, Any] = {
            name: _env_int(f"NEUROGRADE_WEB_{name.upper()}", getattr(base, name))
            for name in ("processes", "threads", "connections", "backlog",
                         "max_wait_ms", "keepalive")}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(base, **values).checked()

    def checked(self) -> WebSettings:
        for name in ("threads", "connections", "backlog"):
            if getattr(self, name) < 1:
                raise ValueError(f"web {name} must be at least 1")
        if self.processes < 0 or self.max_wait_ms < 0 or self.keepalive < 0:
            raise ValueError("web processes, max wait and keepalive must be 0 or more")
        if self.connections <= self.threads:
            raise ValueError("web connections must be more than threads (kept-alive "
                             "connections need room beside the busy ones)")
        return self

    @property
    def process_count(self) -> int:
        return self.processes or cpu_count()


# --- overload -----------------------------------------------------------------------------

#: per request thread: how long the current request waited for the thread
_waited = threading.local()


class Overload:
    """WSGI middleware: a request that waited more than `max_wait_ms` for a thread gets
    ``503`` with ``Retry-After`` at once; the app is not run. Logged at most once a
    second per process, with the number shed since the last line."""

    def __init__(self, app: WSGIApp, max_wait_ms: int) -> None:
        self.app, self.max_wait = app, max_wait_ms / 1000
        self._lock = threading.Lock()
        self._shed, self._logged_at = 0, 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        waited = getattr(_waited, "seconds", 0.0)
        if waited <= self.max_wait:
            return self.app(environ, start_response)
        self._log(waited)
        body = (b"The server is busy; please try again in a few seconds.\n")
        start_response("503 Service Unavailable", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Retry-After", str(RETRY_AFTER_SECONDS)), ("Cache-Control", "no-store")])
        return [body]

    def _log(self, waited: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._shed += 1
            if now - self._logged_at < 1.0:
                return
            shed, self._shed, self._logged_at = self._shed, 0, now
        log.warning("overloaded: answered %d request(s) with 503 (the last waited %.0f ms "
                    "for a thread; limit %.0f ms): add web processes, threads or machines",
                    shed, waited * 1000, self.max_wait * 1000)


class Worker(ThreadWorker):
    """gunicorn's threaded worker that notes when each request was queued for a thread,
    so `Overload` can tell how long it waited (the time a new connection takes to send
    its request does not count)."""

    def enqueue_req(self, conn: Any) -> None:
        conn.neurograde_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        queued = getattr(conn, "neurograde_queued_at", None)
        _waited.seconds = 0.0 if queued is None else time.monotonic() - queued
        try:
            return super().handle(conn)
        finally:
            _waited.seconds = 0.0


# --- the arbiter --------------------------------------------------------------------------

class _Application(BaseApplication):
    def __init__(self, load: Callable[[], WSGIApp], settings: WebSettings,
                 after_fork: Callable[[WSGIApp], None] | None) -> None:
        self._load, self._settings, self._after_fork = load, settings, after_fork
        self._app: WSGIApp | None = None
        super().__init__()

    def load_config(self) -> None:
        s = self._settings
        options = {
            "bind": f"{s.host}:{s.port}", "workers": s.process_count, "threads": s.threads,
            "worker_class": Worker, "worker_connections": s.connections, "backlog": s.backlog,
            "keepalive": s.keepalive, "preload_app": True, "proc_name": "neurograde-web",
            "accesslog": None, "errorlog": "-", "loglevel": "warning",
            # let the app own logging; gunicorn's error log goes to stderr
            "post_fork": lambda _arbiter, _worker: self._forked(),
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        if self._app is None:
            self._app = self._load()
        return Overload(self._app, self._settings.max_wait_ms)

    def _forked(self) -> None:
        if self._after_fork is not None and self._app is not None:
            self._after_fork(self._app)


def run(load: Callable[[], WSGIApp], settings: WebSettings,
        after_fork: Callable[[WSGIApp], None] | None = None) -> None:
    """Serve the app `load()` builds (once, before forking) until SIGTERM or SIGINT.

    `after_fork(app)` runs in each web process after the fork (e.g. to drop database
    connections inherited from the parent)."""
    _Application(load, settings, after_fork).run()
