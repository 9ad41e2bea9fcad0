"""Small helpers shared by the built-in assignment packages."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plugins import CheckDef, RubricDef


def read_text(package_dir: Path, name: str) -> str:
    return (package_dir / name).read_text(encoding="utf-8")


def default_rubric(slug: str, checks: tuple[CheckDef, ...], **params: Any) -> RubricDef:
    """`<slug>-default`: the checks' own points and the given parameters."""
    return RubricDef(name=f"{slug}-default", assignment=slug,
                     points={c.name: c.points for c in checks}, params=params,
                     description="the course's default: points per check as in the handout")


class PerRun:
    """Memoise a value per grading context, so several checks share one computation.

    Contexts that cannot be weakly referenced simply recompute.
    """

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        self._compute = compute
        self._values: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __call__(self, ctx: Any) -> Any:
        try:
            cached = self._values.get(ctx)
        except TypeError:
            return self._compute(ctx)
        if cached is None:
            try:
                cached = (True, self._compute(ctx))
            except Exception as exc:  # a student's failure is shared by every check using it
                cached = (False, exc)
            self._values[ctx] = cached
        ok, value = cached
        if not ok:
            raise value
        return value
