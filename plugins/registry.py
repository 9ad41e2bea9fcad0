"""The validated view of everything the installed plugins provide.

Built once per app/worker from a plugin manager (never a module-level global).
Each plugin's hook is called on its own, so one broken plugin is reported by
name and the rest still register.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pluggy

from plugins.handouts import language_code_problem
from plugins.types import (
    AssignmentDef,
    CheckDef,
    DatasetDef,
    Limits,
    Metric,
    RendererDef,
    RubricDef,
)

log = logging.getLogger(__name__)


class PluginConflict(Exception):
    """Two plugins registered the same name (assignment slug, dataset or rubric).

    `plugins` is (the plugin registered first, the one that clashed with it).
    """

    def __init__(self, message: str, kind: str = "", key: str = "",
                 plugins: tuple[str, str] = ("?", "?")) -> None:
        super().__init__(message)
        self.kind, self.key, self.plugins = kind, key, plugins


@dataclass
class Registry:
    assignments: dict[str, AssignmentDef] = field(default_factory=dict)
    datasets: dict[str, DatasetDef] = field(default_factory=dict)
    rubrics: dict[str, RubricDef] = field(default_factory=dict)
    #: artifact key -> the renderer that draws it
    renderers: dict[str, RendererDef] = field(default_factory=dict)
    #: plugin name -> plugin providing each entry, for messages and provenance
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    #: plugin name -> human-readable reason it (partly) failed
    errors: dict[str, str] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)

    def assignment(self, slug: str) -> AssignmentDef:
        try:
            return self.assignments[slug]
        except KeyError:
            known = ", ".join(sorted(self.assignments)) or "none"
            raise KeyError(f"unknown assignment {slug!r} (installed: {known})") from None

    def rubric_for(self, slug: str, name: str | None = None) -> RubricDef:
        """The rubric `name` (or the assignment's default) for assignment `slug`."""
        assignment = self.assignment(slug)
        name = name or assignment.default_rubric
        if name is None:
            return RubricDef(name=f"{slug}-default", assignment=slug)
        rubric = self.rubrics.get(name)
        if rubric is None or rubric.assignment != slug:
            choices = ", ".join(self.rubric_names(slug)) or "none"
            raise KeyError(f"no rubric {name!r} for {slug!r} (available: {choices})")
        return rubric

    def rubric_names(self, slug: str) -> list[str]:
        return sorted(n for n, r in self.rubrics.items() if r.assignment == slug)

    def plugin_of(self, kind: str, name: str) -> str:
        return self.owners.get((kind, name), "?")


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Collect and validate all registrations; errors are recorded, never raised,
    except for duplicate names, which are a configuration error naming both plugins."""
    registry = Registry()
    report = getattr(pm, "neurograde_load_report", None)
    if report is not None:
        registry.errors.update(report.errors)
    registry.plugins = sorted(n for n, p in pm.list_name_plugin() if p is not None)
    for kind, hook, target, validate in (
        ("dataset", pm.hook.neurograde_register_datasets, registry.datasets, _check_dataset),
        ("assignment", pm.hook.neurograde_register_assignments, registry.assignments,
         _check_assignment),
        ("rubric", pm.hook.neurograde_register_rubrics, registry.rubrics, _check_rubric),
        ("renderer", pm.hook.neurograde_register_renderers, registry.renderers,
         _check_renderer),
    ):
        for impl in hook.get_hookimpls():
            try:
                _register_items(registry, kind, target, validate, impl)
            except PluginConflict:
                raise
            except Exception as exc:  # a bug of ours or the plugin's: isolate the plugin
                _record(registry, impl.plugin_name, f"{kind} registration failed "
                        f"({type(exc).__name__}: {exc})")
    for name, rubric in list(registry.rubrics.items()):
        if rubric.assignment not in registry.assignments:
            _record(registry, registry.owners[("rubric", name)],
                    f"rubric {name!r} refers to unknown assignment {rubric.assignment!r}")
    return registry


def _register_items(registry: Registry, kind: str, target: dict[str, Any],
                    validate: Callable[[Any], Iterable[str]], impl: Any) -> None:
    for item in _call_plugin(registry, impl.plugin_name, impl.function):
        error = _validated(validate, item, kind)
        if error:
            _record(registry, impl.plugin_name, error)
            continue
        _add(registry, target, kind, item, impl.plugin_name)
        if kind == "assignment":  # an assignment's own rubrics register with it
            for rubric in item.rubrics:
                _add(registry, registry.rubrics, "rubric", rubric, impl.plugin_name)


def _add(registry: Registry, target: dict[str, Any], kind: str, item: Any,
         plugin: str) -> None:
    key = {"assignment": "slug", "renderer": "key"}.get(kind, "name")
    key = getattr(item, key)
    if key in target:
        first = registry.owners[(kind, key)]
        raise PluginConflict(
            f"{kind} {key!r} is registered by both plugin {first!r} and plugin "
            f"{plugin!r}; uninstall one of them or rename it", kind, key, (first, plugin))
    target[key] = item
    registry.owners[(kind, key)] = plugin


def _call_plugin(registry: Registry, plugin: str, function: Callable[[], Any]) -> list[Any]:
    try:
        result = function()
        return list(result or [])
    except Exception as exc:
        _record(registry, plugin, f"raised {type(exc).__name__}: {exc}")
        return []


def _record(registry: Registry, plugin: str, reason: str) -> None:
    log.error("plugin %r: %s", plugin, reason)
    previous = registry.errors.get(plugin)
    registry.errors[plugin] = f"{previous}; {reason}" if previous else reason


def _validated(validate: Callable[[Any], Iterable[str]], item: Any, kind: str) -> str | None:
    """The reason `item` is unusable, or None. Never raises: a definition whose checking
    itself blows up (odd types, a property that raises) is reported like any other."""
    try:
        problems = list(validate(item))
    except Exception as exc:
        problems = [f"could not be validated ({type(exc).__name__}: {exc})"]
    if not problems:
        return None
    return f"malformed {kind} {_describe(item)}: " + "; ".join(problems)


def _describe(item: Any) -> str:
    for attribute in ("slug", "name"):
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return repr(value)
    try:
        return f"{item!r:.80}"
    except Exception:
        return f"<{type(item).__name__}>"


def _wrong_type(owner: str, value: Any, expected: type | tuple[type, ...]) -> str | None:
    if isinstance(value, expected):
        return None
    names = expected if isinstance(expected, tuple) else (expected,)
    wanted = " or ".join("None" if t is type(None) else t.__name__ for t in names)
    return f"{owner} must be {wanted}, got {type(value).__name__}"


def _field_types(item: Any, fields: dict[str, type | tuple[type, ...]]) -> list[str]:
    problems = (_wrong_type(name, getattr(item, name), expected)
                for name, expected in fields.items())
    return [p for p in problems if p]


def _sequence_of(owner: str, value: Any, expected: type) -> Iterable[str]:
    if not isinstance(value, tuple | list):
        yield f"{owner} must be a tuple, got {type(value).__name__}"
    elif not all(isinstance(v, expected) for v in value):
        yield f"{owner} must hold only {expected.__name__} values"


_NUMBER = (int, float)
_ASSIGNMENT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "slug": str, "title": str, "handout": str, "starter": str, "reference_path": Path,
    "limits": Limits, "default_rubric": (str, type(None)), "order": int,
    "metric": (str, Metric, type(None)), "metric_higher_is_better": bool,
    "cases_dir": (Path, type(None)), "summary": str,
}


def _check_assignment(a: Any) -> Iterable[str]:
    if not isinstance(a, AssignmentDef):
        yield f"expected AssignmentDef, got {type(a).__name__}"
        return
    problems = _field_types(a, _ASSIGNMENT_FIELDS)
    problems += _sequence_of("datasets", a.datasets, str)
    problems += _sequence_of("forbidden_imports", a.forbidden_imports, str)
    problems += _sequence_of("rubrics", a.rubrics, RubricDef)
    problems += [f"rubric {r.name!r} is for assignment {r.assignment!r}"
                 for r in a.rubrics if isinstance(r, RubricDef) and r.assignment != a.slug]
    problems += _check_handouts(a.handouts)
    if isinstance(a.slug, str) and (not a.slug or not a.slug.replace("-", "").isalnum()
                                    or a.slug.lower() != a.slug):
        problems.append(f"slug {a.slug!r} must be lower-case letters, digits and dashes")
    problems += _check_checks(a.checks)
    if isinstance(a.limits, Limits):
        problems += [f"limits.{f.name} must be a number" for f in fields(Limits)
                     if not isinstance(getattr(a.limits, f.name), _NUMBER)]
    if isinstance(a.reference_path, Path) and not a.reference_path.is_file():
        problems.append(f"reference solution {a.reference_path} does not exist")
    yield from problems


def _check_handouts(handouts: Any) -> list[str]:
    if not isinstance(handouts, Mapping) or not all(isinstance(v, str)
                                                    for v in handouts.values()):
        return ["handouts must map language codes to Markdown text"]
    return [f"handouts: {problem}" for problem in map(language_code_problem, handouts)
            if problem]


def _check_checks(checks: Any) -> list[str]:
    if not isinstance(checks, tuple | list):
        return [f"checks must be a tuple of CheckDef, got {type(checks).__name__}"]
    if not checks:
        return ["has no checks"]
    problems = []
    for c in checks:
        if not isinstance(c, CheckDef):
            problems.append(f"check {_describe(c)} is not a CheckDef")
            continue
        problems += _field_types(c, {"name": str, "points": _NUMBER, "hint": str})
        if not callable(c.run):
            problems.append(f"check {c.name!r} has no callable run")
        if c.visibility not in ("visible", "hidden"):
            problems.append(f"check {c.name!r} has visibility {c.visibility!r}")
        if isinstance(c.points, _NUMBER) and c.points < 0:
            problems.append(f"check {c.name!r} has negative points")
    names = [c.name for c in checks if isinstance(c, CheckDef)]
    if len(set(names)) != len(names):
        problems.append("check names must be unique")
    return problems


def _check_dataset(d: Any) -> Iterable[str]:
    if not isinstance(d, DatasetDef):
        yield f"expected DatasetDef, got {type(d).__name__}"
        return
    yield from _field_types(d, {"name": str, "description": str, "license": str})
    if isinstance(d.name, str) and not d.name:
        yield "needs a name"
    if not callable(d.load):
        yield "load must be callable"
    if not isinstance(d.hidden, frozenset | set) or not all(isinstance(h, str)
                                                           for h in d.hidden):
        yield "hidden must be a frozenset of array names"


def _check_renderer(r: Any) -> Iterable[str]:
    if not isinstance(r, RendererDef):
        yield f"expected RendererDef, got {type(r).__name__}"
        return
    yield from _field_types(r, {"key": str, "title": str, "caption": str, "order": int})
    if isinstance(r.key, str) and not r.key.replace("_", "").isalnum():
        yield f"artifact key {r.key!r} must be letters, digits and underscores"
    if not callable(r.render):
        yield "render must be callable"
    if r.alt is not None and not callable(r.alt):
        yield "alt must be callable or None"


def _check_rubric(r: Any) -> Iterable[str]:
    if not isinstance(r, RubricDef):
        yield f"expected RubricDef, got {type(r).__name__}"
        return
    problems = _field_types(r, {"name": str, "assignment": str, "points": Mapping,
                                "params": Mapping, "late_penalty_per_day": _NUMBER,
                                "description": str})
    yield from problems
    if problems:
        return
    if not r.name or not r.assignment:
        yield "needs a name and an assignment"
    if not all(isinstance(k, str) and isinstance(v, _NUMBER) for k, v in r.points.items()):
        yield "points must map check names to numbers"
    if r.forbidden_imports is not None:
        yield from _sequence_of("forbidden_imports", r.forbidden_imports, str)
    if not 0 <= r.late_penalty_per_day <= 1:
        yield "late_penalty_per_day must be between 0 and 1"


def build_registry_disabling_conflicts(pm: pluggy.PluginManager) -> Registry:
    """Like `build_registry`, but never raises for a duplicate name: the plugin registered
    later (installed plugins load after the built-ins) is unregistered from `pm` as a
    whole and reported in `registry.errors` with a message naming both plugins."""
    disabled: dict[str, str] = {}
    while True:
        try:
            registry = build_registry(pm)
            break
        except PluginConflict as conflict:
            loser = conflict.plugins[1]
            if pm.get_plugin(loser) is None:
                raise
            pm.unregister(name=loser)
            disabled[loser] = f"disabled: {conflict}"
    for name, reason in disabled.items():
        _record(registry, name, reason)
    return registry


def load_registry(load_entrypoints: bool = True, extra: Iterable[str] = ()
                  ) -> tuple[pluggy.PluginManager, Registry]:
    """A fresh plugin manager and its registry, never failing on a bad plugin: what the
    web app, the grading workers and the command line all use, so a duplicate name or a
    broken plugin disables only that plugin everywhere alike."""
    from plugins.manager import get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=load_entrypoints, extra=extra)
    return pm, build_registry_disabling_conflicts(pm)
