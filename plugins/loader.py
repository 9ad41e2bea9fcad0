"""The assignment folder convention, loaded by one call.

    my_assignment/
        __init__.py     neurograde_register_assignments = assignment_hook(__file__, slug=...)
        handout.md      what students read (handout.<lang>.md: translations)
        starter.py      what students download
        reference.py    the trusted solution (never sandboxed, never shown)
        checks.py       @check functions, collected in definition order
        cases/          known-bad solutions + expected.json (`neurograde verify`)

`assignment_hook` makes the package's `neurograde_register_assignments` hook
implementation from the folder, so a package that is one assignment is that one call
(the built-in course is written so); `load_assignment` gives the `AssignmentDef` alone,
for a plugin that registers several.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from plugins import hookimpl
from plugins.checks import collect_checks
from plugins.handouts import LANGUAGE_CODE
from plugins.types import AssignmentDef, Limits, Metric, RubricDef

_TRANSLATION = re.compile(rf"^handout\.({LANGUAGE_CODE.pattern})\.md$")


def load_assignment(anchor: str | Path, *, slug: str, title: str, order: int = 100,
                    limits: Limits | None = None, params: Mapping[str, Any] | None = None,
                    rubrics: Mapping[str, Mapping[str, Any]] | None = None,
                    metric: Metric | str | None = None, **fields: Any) -> AssignmentDef:
    """The `AssignmentDef` of the package whose `__init__.py` is `anchor` (`__file__`).

    Checks come from the package's `checks.py`. The rubric `<slug>-default` (the
    assignment's default) gives every check its own points and hands `params` to the
    checks as `ctx.params`; `rubrics` adds more, by suffix: `{"strict": {"params":
    {...}, "description": "..."}}` becomes `<slug>-strict`, its params laid over
    `params`. Other `AssignmentDef` fields (summary, datasets, forbidden_imports, ...)
    pass through `fields`.
    """
    folder = Path(anchor).resolve().parent
    checks = collect_checks(_checks_module(folder))
    points = {c.name: c.points for c in checks}
    made = [_rubric(slug, "default", points, dict(params or {}), spec)
            for spec in [(rubrics or {}).get("default", {})]]
    made += [_rubric(slug, suffix, points, dict(params or {}), spec)
             for suffix, spec in (rubrics or {}).items() if suffix != "default"]
    cases = folder / "cases"
    return AssignmentDef(
        slug=slug, title=title, order=order, limits=limits or Limits(), metric=metric,
        handout=_read(folder / "handout.md"), handouts=_translations(folder),
        starter=_read(folder / "starter.py"), reference_path=folder / "reference.py",
        checks=checks, default_rubric=f"{slug}-default", rubrics=tuple(made),
        cases_dir=cases if cases.is_dir() else None, **fields)


def assignment_hook(anchor: str | Path, **arguments: Any) -> Callable[[], list[AssignmentDef]]:
    """`neurograde_register_assignments`, as a `@hookimpl`, registering the assignment
    `load_assignment(anchor, **arguments)` reads; that definition is its `.assignment`.

        neurograde_register_assignments = assignment_hook(__file__, slug="my-relu", ...)
    """
    assignment = load_assignment(anchor, **arguments)

    @hookimpl
    def neurograde_register_assignments() -> list[AssignmentDef]:
        return [assignment]

    neurograde_register_assignments.assignment = assignment  # type: ignore[attr-defined]
    return neurograde_register_assignments


def _rubric(slug: str, suffix: str, points: dict[str, float], params: dict[str, Any],
            spec: Mapping[str, Any]) -> RubricDef:
    spec = dict(spec)
    return RubricDef(
        name=f"{slug}-{suffix}", assignment=slug,
        points={**points, **spec.pop("points", {})},
        params={**params, **spec.pop("params", {})},
        description=spec.pop("description",
                             "the course's default: points per check as in the handout"),
        **spec)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _translations(folder: Path) -> dict[str, str]:
    found = {}
    for path in sorted(folder.glob("handout.*.md")):
        match = _TRANSLATION.match(path.name)
        if match:
            found[match.group(1)] = _read(path)
    return found


def _checks_module(folder: Path) -> ModuleType:
    """`checks.py` as the package's submodule (so its relative imports work); a folder
    that is not an imported package is loaded by path."""
    package = _package_named(folder)
    if package is not None:
        return importlib.import_module(f"{package}.checks")
    name = f"_neurograde_checks_{abs(hash(str(folder))):x}"
    spec = importlib.util.spec_from_file_location(name, folder / "checks.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {folder / 'checks.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _package_named(folder: Path) -> str | None:
    init = folder / "__init__.py"
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve() == init:
            return name
    return None
