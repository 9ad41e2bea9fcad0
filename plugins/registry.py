"""The validated view of everything the installed plugins provide.

Built once per app/worker from a plugin manager (never a module-level global).
Each plugin's hook is called on its own, so one broken plugin is reported by
name and the rest still register.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from plugins.types import AssignmentDef, CheckDef, DatasetDef, RubricDef

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
    ):
        for impl in hook.get_hookimpls():
            for item in _call_plugin(registry, impl.plugin_name, impl.function):
                error = _validated(validate, item, kind)
                if error:
                    _record(registry, impl.plugin_name, error)
                    continue
                key = item.slug if kind == "assignment" else item.name
                if key in target:
                    first = registry.owners[(kind, key)]
                    raise PluginConflict(
                        f"{kind} {key!r} is registered by both plugin {first!r} and plugin "
                        f"{impl.plugin_name!r}; uninstall one of them or rename it",
                        kind, key, (first, impl.plugin_name),
                    )
                target[key] = item
                registry.owners[(kind, key)] = impl.plugin_name
    for name, rubric in list(registry.rubrics.items()):
        if rubric.assignment not in registry.assignments:
            _record(registry, registry.owners[("rubric", name)],
                    f"rubric {name!r} refers to unknown assignment {rubric.assignment!r}")
    return registry


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
    problems = list(validate(item))
    return f"malformed {kind} {item!r:.80}: " + "; ".join(problems) if problems else None


def _check_assignment(a: Any) -> Iterable[str]:
    if not isinstance(a, AssignmentDef):
        yield f"expected AssignmentDef, got {type(a).__name__}"
        return
    if not a.slug or not a.slug.replace("-", "").isalnum() or a.slug.lower() != a.slug:
        yield f"slug {a.slug!r} must be lower-case letters, digits and dashes"
    if not a.checks:
        yield "has no checks"
    names = [c.name for c in a.checks]
    if len(set(names)) != len(names):
        yield "check names must be unique"
    for c in a.checks:
        if not isinstance(c, CheckDef) or not callable(c.run):
            yield f"check {c!r:.60} is not a CheckDef with a callable run"
        elif c.visibility not in ("visible", "hidden") or c.points < 0:
            yield f"check {c.name!r} has bad visibility or negative points"
    if not a.reference_path.is_file():
        yield f"reference solution {a.reference_path} does not exist"


def _check_dataset(d: Any) -> Iterable[str]:
    if not isinstance(d, DatasetDef):
        yield f"expected DatasetDef, got {type(d).__name__}"
    elif not d.name or not callable(d.load):
        yield "needs a name and a callable load"


def _check_rubric(r: Any) -> Iterable[str]:
    if not isinstance(r, RubricDef):
        yield f"expected RubricDef, got {type(r).__name__}"
    elif not r.name or not r.assignment:
        yield "needs a name and an assignment"
    elif not 0 <= r.late_penalty_per_day <= 1:
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
