"""Pre-started single-use children, so a submission does not wait for the sandbox and numpy.

Each pooled child has started its sandbox and imported numpy, and waits for exactly one
submission; it is never reused. Children are started by one long-lived thread (bwrap's
`--die-with-parent` follows the thread that started it), per (limits, forbidden
imports) key, and are discarded after `max_idle_seconds`. Nothing of a submission ever
exists in a child before it is taken, so no state can leak between submissions.

Memory is bounded: at most `size` children per key (one by default) and `max_keys` keys
(the least recently used key's children are closed first), each child ~30–40 MiB
(an interpreter with numpy), gone after `max_idle_seconds` unused. Grading workers turn
it on (`NEUROGRADE_WARM_POOL=1` unless set); a one-shot `neurograde grade` does not.
`NEUROGRADE_WARM_POOL=0` turns it off.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

from grader.session import Session
from plugins.types import Limits

log = logging.getLogger(__name__)

Key = tuple[Limits, tuple[str, ...]]


class WarmPool:
    """Up to `size` ready children per key."""

    def __init__(self, size: int = 1, max_idle_seconds: float = 60.0, max_keys: int = 4) -> None:
        self.size, self.max_idle, self.max_keys = size, max_idle_seconds, max_keys
        self._ready: dict[Key, list[tuple[float, Session]]] = {}
        self._lock = threading.Lock()
        self._requests: queue.Queue[Key | None] = queue.Queue()
        self._thread = threading.Thread(target=self._starter, name="neurograde-warm-pool",
                                        daemon=True)
        self._thread.start()

    def take(self, limits: Limits, forbidden: tuple[str, ...]) -> Session | None:
        """A ready session for these limits (or None), and start its replacement."""
        key = (limits, tuple(forbidden))
        session = None
        with self._lock:
            ready = self._ready.setdefault(key, [])
            while ready and session is None:
                born, candidate = ready.pop(0)
                if time.monotonic() - born < self.max_idle and candidate.alive():
                    session = candidate
                else:
                    candidate.close()
        self._requests.put(key)
        return session

    def warm(self, limits: Limits, forbidden: tuple[str, ...]) -> None:
        """Ask for a child for this key ahead of the first submission."""
        self._requests.put((limits, tuple(forbidden)))

    def wait_ready(self, limits: Limits, forbidden: tuple[str, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._ready.get((limits, tuple(forbidden))):
                    return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=5)
        with self._lock:
            sessions = [s for ready in self._ready.values() for _, s in ready]
            self._ready.clear()
        for session in sessions:
            session.close()

    def _starter(self) -> None:
        while True:
            key = self._requests.get()
            if key is None:
                return
            self._expire()
            with self._lock:
                self._ready[key] = self._ready.pop(key, [])  # most recently used last
                if len(self._ready[key]) >= self.size:
                    continue
                evicted = self._evict_beyond_max_keys()
            for old in evicted:
                old.close()
            session = Session("", key[0], forbidden=key[1])
            try:
                session.launch()
            except Exception as exc:  # the submission path reports it; keep the pool alive
                log.warning("could not pre-start a grading child: %s", exc)
                session.close()
                continue
            with self._lock:
                self._ready[key].append((time.monotonic(), session))

    def _evict_beyond_max_keys(self) -> list[Session]:
        """Drop the least recently used keys beyond `max_keys` (call with the lock held)."""
        evicted: list[Session] = []
        while len(self._ready) > self.max_keys:
            oldest = next(iter(self._ready))
            evicted += [s for _, s in self._ready.pop(oldest)]
        return evicted

    def _expire(self) -> None:
        now, stale = time.monotonic(), []
        with self._lock:
            for ready in self._ready.values():
                stale += [s for born, s in ready if now - born >= self.max_idle]
                ready[:] = [(born, s) for born, s in ready if now - born < self.max_idle]
        for session in stale:
            session.close()


_default: WarmPool | None = None
_default_lock = threading.Lock()


def default_pool() -> WarmPool | None:
    """The process's pool when `NEUROGRADE_WARM_POOL` is a positive number, else None."""
    global _default
    size = int(os.environ.get("NEUROGRADE_WARM_POOL", "0") or 0)
    if size <= 0:
        return None
    with _default_lock:
        if _default is None:
            _default = WarmPool(size)
        return _default
