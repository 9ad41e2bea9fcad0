"""Small helpers shared by the built-in assignment packages."""

from __future__ import annotations

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
